"""`derivcli analyze`'s SymPy side: exact answers where SymPy finds them within a budget.

Each question runs in a forked child of its own (`symbolic.Budgeted`), all at once, while torch works in
the parent: the domain and the points where f may not be differentiable, the zeros of f, f′ and f″, the
limits at ±∞ (the asymptotes), and then the one-sided limits at the domain's edges.  A child past its
budget is killed and its question answered numerically instead; nothing here is believed before
`analysis` has checked it with autograd at the point.

The domain is derivcli's, not SymPy's: a power with a fractional exponent is real for a base ≥ 0 only
(torch's pow and Python's `**` give NaN for (-8)**(2/3)), so the constraints are read from the nodes
(fractional powers, logarithms, denominators, asin, tan, …) and solved one by one on the window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.functions.elementary.piecewise import ExprCondPair

from ..symbolic.exact import evaluated

SOLVE_SECONDS = 4.0  # each child: a solveset, or the limits at ±∞
LIMIT_SECONDS = 3.0  # the one-sided limits at the domain's edges, after the domain is known
MAX_POINTS = 40  # exact roots kept per equation (more: the window holds a periodic pattern; numeric then)
VALUE_SHARE = 0.5  # of a child's budget: past it, exact values f(c) are left out (the roots still count)

# Functions defined for every real argument (their nodes add no constraint to the domain).
EVERYWHERE = ("sin", "cos", "exp", "Abs", "sign", "cbrt", "atan", "acot", "sinh", "cosh", "tanh", "asinh", "erf",
              "erfc", "sigmoid", "relu", "softplus", "Heaviside", "Max", "Min", "sech", "leaky_relu", "elu",
              "gelu", "silu", "softsign", "hardtanh", "held", "floor", "ceiling")
# Where the derivative may not exist: the argument's zeros (kinks, jumps and roots' tips).
KINKED = ("Abs", "sign", "Heaviside", "relu", "leaky_relu", "hardtanh", "cbrt", "elu")


@dataclass
class Exact:
    """An exact point: SymPy's expression, its text, its value as a float, and f there (exact, or None
    where it was not simplified in time)."""

    expr: Any
    text: str
    value: float
    f_text: str | None = None
    f_expr: Any = None


def constraints(f: sp.Expr, x: sp.Symbol) -> list[sp.Basic] | None:
    """The conditions on x under which every node of f is real and finite, or None where f holds a
    function whose domain this does not know (then the domain is found numerically)."""
    conditions: list[sp.Basic] = []
    for node in sp.preorder_traversal(f):
        if not isinstance(node, sp.Basic) or not node.has(x):
            continue
        if isinstance(node, sp.Pow):
            base, exponent = node.args
            if not base.has(x):
                if exponent.has(x) and not (base.is_positive or base == sp.E):
                    return None
            elif exponent.is_Integer:
                if exponent < 0:
                    conditions.append(sp.Ne(base, 0))
            elif exponent.is_number and exponent.is_real:
                conditions.append(base > 0 if exponent.is_negative else base >= 0)
            else:
                conditions.append(base > 0)
        elif isinstance(node, sp.log):
            conditions.append(node.args[0] > 0)
        elif isinstance(node, (sp.asin, sp.acos)):
            conditions += [node.args[0] >= -1, node.args[0] <= 1]
        elif isinstance(node, sp.acosh):
            conditions.append(node.args[0] >= 1)
        elif isinstance(node, sp.atanh):
            conditions += [node.args[0] > -1, node.args[0] < 1]
        elif isinstance(node, (sp.tan, sp.sec)):
            conditions.append(sp.Ne(sp.cos(node.args[0]), 0))
        elif isinstance(node, (sp.cot, sp.csc)):
            conditions.append(sp.Ne(sp.sin(node.args[0]), 0))
        elif isinstance(node, (sp.coth, sp.csch)):
            conditions.append(sp.Ne(node.args[0], 0))
        elif isinstance(node, (sp.Add, sp.Mul, sp.Symbol, sp.Piecewise, ExprCondPair, sp.Number)) \
                or node.is_Relational or node.is_Boolean:
            continue
        elif type(node).__name__ not in EVERYWHERE:
            return None
    return conditions


def domain_on(f: sp.Expr, x: sp.Symbol, where: sp.Set) -> sp.Set | None:
    """The set of x in `where` at which f is real and finite, or None where SymPy cannot say."""
    found = constraints(f, x)
    if found is None:
        return None
    domain = where
    for condition in found:
        if isinstance(condition, sp.Ne):
            domain = domain - sp.solveset(condition.lhs - condition.rhs, x, where)
        else:
            domain = domain & sp.solveset(condition, x, where)
    return domain if isinstance(domain, (sp.Interval, sp.Union, sp.FiniteSet)) or domain is sp.S.EmptySet else None


def intervals(domain: sp.Set) -> list[tuple[Any, Any, bool, bool]] | None:
    """A set as its intervals (lo, hi, lo closed, hi closed), or None where it is something else."""
    pieces = domain.args if isinstance(domain, sp.Union) else () if domain is sp.S.EmptySet else (domain,)
    found = []
    for piece in pieces:
        if isinstance(piece, sp.Interval):
            found.append((piece.start, piece.end, not piece.left_open, not piece.right_open))
        elif isinstance(piece, sp.FiniteSet):
            found += [(point, point, True, True) for point in piece]
        else:
            return None
    return sorted(found, key=lambda item: float(item[0]))


def roots(expr: sp.Expr, x: sp.Symbol, window: sp.Interval) -> list[Any] | None:
    """The exact solutions of expr = 0 in the window, or None where SymPy gives no finite list."""
    solution = sp.solveset(expr, x, window)
    if solution is sp.S.EmptySet:
        return []
    if not isinstance(solution, sp.FiniteSet) or len(solution) > MAX_POINTS:
        return None
    return sorted(solution, key=lambda point: float(point))


def kink_arguments(f: sp.Expr, x: sp.Symbol) -> list[sp.Expr]:
    """Expressions whose zeros are where f may not be differentiable: the arguments of |u|, sign, relu, …,
    the bases of fractional powers, the differences of max/min's arguments and of a condition's sides."""
    found: list[sp.Expr] = []
    for node in sp.preorder_traversal(f):
        if not isinstance(node, sp.Basic) or not node.has(x):
            continue
        name = type(node).__name__
        if name in KINKED:
            found.append(node.args[0])
        elif isinstance(node, sp.Pow) and node.exp.is_number and not node.exp.is_Integer:
            found.append(node.base)
        elif isinstance(node, (sp.Max, sp.Min)):
            found += [a - b for index, a in enumerate(node.args) for b in node.args[index + 1:]]
        elif isinstance(node, sp.Piecewise):
            found += [c.lhs - c.rhs for _, c in node.args if getattr(c, "is_Relational", False)]
    return [argument for argument in dict.fromkeys(found) if argument.has(x)]


def exact_points(points: list[Any], f: sp.Expr, x: sp.Symbol, deadline: float) -> list[Exact]:
    """The points with their texts and floats, and f's exact value at each while time allows."""
    found = []
    for point in points:
        value = float(sp.N(point, 30))
        item = Exact(point, str(point), value)
        if time.monotonic() < deadline:
            item.f_expr = shortest(f.subs(x, point))
            item.f_text = str(item.f_expr) if _number(item.f_expr) else None
        found.append(item)
    return found


# ------------------------------------------------------------------------------------- the children's work
def solve_zeros(expr: sp.Expr, f: sp.Expr, x: sp.Symbol, window: sp.Interval, seconds: float) -> list[Exact] | None:
    deadline = time.monotonic() + seconds * VALUE_SHARE
    found = roots(expr, x, window)
    return None if found is None else exact_points(found, f, x, deadline)


def solve_domain(f: sp.Expr, x: sp.Symbol, window: sp.Interval, seconds: float) -> dict[str, Any]:
    """The domain on the window and on the whole line, and the points where f may not be differentiable."""
    deadline = time.monotonic() + seconds * VALUE_SHARE
    on_window = domain_on(f, x, window)
    everywhere = domain_on(f, x, sp.S.Reals)
    kinks: list[Any] = []
    for argument in kink_arguments(f, x):
        found = roots(argument, x, window)
        if found is None:
            kinks = None  # type: ignore[assignment]
            break
        kinks += found
    return {"window": None if on_window is None else intervals(on_window),
            "below": None if everywhere is None else bool(everywhere.inf == -sp.oo),
            "above": None if everywhere is None else bool(everywhere.sup == sp.oo),
            "kinks": None if kinks is None else exact_points(sorted(set(kinks), key=float), f, x, deadline)}


def limits_at_infinity(f: sp.Expr, x: sp.Symbol) -> dict[str, tuple[Any, Any] | None]:
    """Per side ('+', '-'): (slope, intercept) of the line f approaches, None where there is none (f grows
    faster than a line, oscillates, or SymPy cannot tell)."""
    lines: dict[str, tuple[Any, Any] | None] = {}
    for side, end in (("+", sp.oo), ("-", -sp.oo)):
        slope = sp.limit(f / x, x, end)
        intercept = sp.limit(f - slope * x, x, end) if _number(slope) else None
        lines[side] = (slope, intercept) if _number(slope) and intercept is not None and _number(intercept) else None
    return lines


def one_sided_limits(f: sp.Expr, x: sp.Symbol, points: list[Any]) -> dict[tuple[str, str], Any]:
    """f's limits from the left ('-') and the right ('+') at each point, by the point's text: a number,
    ±oo, or None where there is none."""
    found: dict[tuple[str, str], Any] = {}
    for point in points:
        for side in "-+":
            limit = sp.limit(f, x, point, side)
            found[(str(point), side)] = limit if limit in (sp.oo, -sp.oo) or _number(limit) else None
    return found


def shortest(value: sp.Expr) -> sp.Expr:
    """The value as SymPy evaluates it or simplified, whichever is shorter to read (10*log(10), not
    log(10000000000))."""
    simplified = sp.simplify(value)
    return min((value, simplified), key=lambda form: len(str(form)))


def values_at(f: sp.Expr, df: sp.Expr, x: sp.Symbol, points: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """f and f′ at each named point, exactly (simplified), or None where not a finite real number."""
    found = {}
    for key, point in points.items():
        pair = [shortest(expr.subs(x, point)) for expr in (f, df)]
        found[key] = tuple(value if _number(value) else None for value in pair)
    return found


def _number(value: Any) -> bool:
    """A finite real number: an expression without symbols, infinities or AccumBounds (what SymPy gives for
    sin at ∞) whose 30-digit value is real (derivcli's own real functions do not all say is_real)."""
    if not isinstance(value, sp.Expr) or value.free_symbols or value.has(sp.oo, -sp.oo, sp.zoo, sp.nan, sp.AccumBounds,
                                                                          sp.Limit):
        return False
    number = evaluated(value)
    return bool(number is not None and number.is_Number and number.is_finite and number.is_real)


def started(function: Callable[..., Any], args: tuple[Any, ...], seconds: float) -> Any:
    """The function running in a forked child under its budget (see `symbolic.Budgeted`)."""
    from ..symbolic.budgeted import Budgeted

    return Budgeted(function, args, seconds)
