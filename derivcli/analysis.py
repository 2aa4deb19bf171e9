"""`derivcli analyze`: what f′ and f″ say about a function of one variable on an interval.

SymPy answers exactly where it can within its budget (`analysis_symbolic`, forked children running while
torch works); torch's autograd finds every root numerically on a grid and refines it by Newton's steps
(`analysis_numeric`); each exact answer is matched with a numeric one or checked with autograd at its
point, and a claim that fails the check is left out with a note, never printed as true.  The shape of f
(sign charts, monotonicity, concavity, asymptotes, extrema, the tangent) is in `analysis_shape`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from .analysis_result import AnalysisResult, Spot
from .errors import DerivcliError

DEFAULT_INTERVAL = ("-10", "10")  # when neither --from nor --to is given (said in the output)
EXACT_MATCH = 1e-9  # a numeric root this close (relatively) to an exact one is that one


@dataclass
class Found:
    """A point found: where, and SymPy's exact form where there is one (analysis_symbolic.Exact)."""

    x: float
    exact: Any = None

    def spot(self) -> Spot:
        return spot(self.x, self.exact)


def spot(x: float, exact: Any = None) -> Spot:
    """A point's texts: SymPy's exact form (plain, textbook), or the float."""
    from .render.numbers import number
    from .steps.textbook import textbook

    if exact is not None:
        return Spot(x, exact.text, textbook(exact.expr), True, exact.expr)
    return Spot(x, number(x), f"{x:.10g}", False)


class Problem:
    """One analysis: f as SymPy reads it and as torch computes it, the window, and the facts found so far."""

    def __init__(self, expression: str, start: str | None, end: str | None, wrt: str | None,
                 values: Mapping[str, str]) -> None:
        import sympy as sp

        from .analysis_numeric import Curve
        from .api.setup import compile_text, reading_context
        from .sympy_forms import TensorFunction

        names = [name for name in values]
        context = reading_context(names, [wrt] if wrt else None)
        self.parsed, program = compile_text(expression, (), context)
        parsed = self.parsed
        self.name = _variable(parsed.variables, wrt, values)
        self.x = parsed.symbols.get(self.name, sp.Symbol(self.name, real=True))
        held = {name: constant(values[name], f"--{name}") for name in parsed.variables if name != self.name}
        missing = [name for name in parsed.variables if name != self.name and name not in values]
        if missing:
            raise DerivcliError(f"analyze studies a function of one variable; {', '.join(missing)} has no value",
                                hint="give " + " ".join(f"--{name} VALUE" for name in missing) + f" (or --wrt "
                                     f"{missing[0]} to study that one)")
        if any(isinstance(node, TensorFunction) for node in sp.preorder_traversal(parsed.expr)):
            raise DerivcliError("analyze studies a function of one real variable, not a tensor expression")
        self.f = parsed.expr.xreplace({parsed.symbols[name]: value for name, value in held.items()})
        self.df = sp.diff(self.f, self.x)
        self.d2f = sp.diff(self.df, self.x)
        self.default = start is None and end is None
        self.lo = constant(start if start is not None else DEFAULT_INTERVAL[0], "--from")
        self.hi = constant(end if end is not None else DEFAULT_INTERVAL[1], "--to")
        self.a, self.b = float(self.lo), float(self.hi)
        if not self.a < self.b:
            raise DerivcliError(f"--from {self.lo} must be less than --to {self.hi}")
        self.window = sp.Interval(self.lo, self.hi)
        self.curve = Curve(program, parsed.variables, self.name, {name: float(value) for name, value in held.items()})
        self.notes: list[str] = [_odd_root_note(power) for power in sp.preorder_traversal(self.f)
                                 if isinstance(power, sp.Pow) and power.base.has(self.x) and power.exp.is_Rational
                                 and power.exp.q % 2 == 1 and power.exp.q > 1]

    def wrong(self, what: str, point: Found, value: float, why: str) -> None:
        """A claim that failed its check: left out, and said so."""
        self.notes.append(f"{what} x = {point.spot().text} (from SymPy) does not check with autograd: {why} "
                          f"{value:.3g} there; left out")


def _odd_root_note(power: Any) -> str:
    """x**(2/3) is real for x ≥ 0 only, as Python and torch compute it; a textbook means the real cube root."""
    base, exponent = power.base, power.exp
    if exponent.q == 3:
        real = f"cbrt({base})" + ("" if exponent.p == 1 else f"**{exponent.p}")
    else:
        real = ("" if exponent.p % 2 == 0 else f"sign({base})*") + f"|{base}|**({exponent})"
    return (f"{power} is computed for {base} >= 0 only (as Python and torch compute powers); for the real root on "
            f"the whole line write {real}")


def constant(text: str, option: str) -> Any:
    """An exact real constant from its text (2*pi, 1/2, -10, 0.1), by derivcli's parser."""
    from .parsing import parse

    expr = parse(text).expr
    if expr.free_symbols or not (expr.is_real and expr.is_finite):
        raise DerivcliError(f"{option} {text}: expected a finite real number or constant expression such as 2*pi")
    return expr


def _variable(variables: list[str], wrt: str | None, values: Mapping[str, str]) -> str:
    """--wrt, else the one variable without a value, else the only variable (its value is the tangent's point)."""
    if wrt is not None:
        if variables and wrt not in variables:
            raise DerivcliError(f"--wrt {wrt}: '{wrt}' is not a variable of the expression",
                                hint=f"its variables are {', '.join(variables)}")
        return wrt
    free = [name for name in variables if name not in values]
    if len(free) == 1 or (not free and len(variables) == 1):
        return (free or variables)[0]
    if not variables:
        return "x"
    raise DerivcliError("analyze studies a function of one variable; say which with --wrt",
                        hint=f"the variables are {', '.join(variables)}; give the others values (--NAME VALUE)")


def analyze(expression: str, start: str | None = None, end: str | None = None, *, at: str | None = None,
            wrt: str | None = None, values: Mapping[str, str] | None = None) -> AnalysisResult:
    """f's domain, zeros, critical points, inflection points, sign charts, monotonicity, concavity,
    asymptotes and extrema on [start, end] (texts of exact constants; default DEFAULT_INTERVAL), and with
    `at` the tangent and normal lines there.  `values`: the other variables' values, as texts.

    >>> [point.kind for point in analyze("x**3 - 3*x").critical_points]
    ['maximum', 'minimum']
    """
    from . import analysis_ends as ends
    from . import analysis_shape as shape
    from .analysis_numeric import grid
    from .analysis_symbolic import SOLVE_SECONDS, limits_at_infinity, solve_domain, solve_zeros, started, values_at
    from .results import ParseInfo
    from .steps.textbook import textbook

    values = dict(values or {})
    p = Problem(expression, start, end, wrt, values)
    at = at if at is not None else values.get(p.name)
    tangent_point = constant(at, f"--{p.name}") if at is not None else None
    x = p.x
    points = {"0": sp_zero(), "from": p.lo, "to": p.hi, **({"at": tangent_point} if at is not None else {})}
    with ExitStack() as stack:
        children = {key: stack.enter_context(started(function, args, SOLVE_SECONDS)) for key, function, args in (
            ("domain", solve_domain, (p.f, x, p.window, SOLVE_SECONDS)),
            ("zeros", solve_zeros, (p.f, p.f, x, p.window, SOLVE_SECONDS)),
            ("critical", solve_zeros, (p.df, p.f, x, p.window, SOLVE_SECONDS)),
            ("inflection", solve_zeros, (p.d2f, p.f, x, p.window, SOLVE_SECONDS)),
            ("lines", limits_at_infinity, (p.f, x)),
            ("values", values_at, (p.f, p.df, x, points)))}
        xs = grid(p.a, p.b)
        table = p.curve.at(xs, 4)  # f … f⁗ on the grid, while SymPy works
        answers = {key: child.outcome()[1] for key, child in children.items()}
    facts = shape.Facts(p, xs, table, answers)
    return AnalysisResult(
        expression=p.parsed.canonical, pretty=textbook(p.f), variable=p.name, interval=facts.interval,
        default_interval=p.default,
        domain=facts.domain, domain_exact=facts.domain_exact, zeros=[found.spot() for found in facts.zeros],
        y_intercept=facts.y_intercept(), critical_points=facts.critical_points(),
        nondifferentiable=facts.unsmooth_points, inflection_points=facts.inflection_points(), charts=facts.charts,
        increasing=facts.runs(0, "+"), decreasing=facts.runs(0, "-"), concave_up=facts.runs(1, "+"),
        concave_down=facts.runs(1, "-"), asymptotes=ends.asymptotes(facts), maximum=ends.extreme(facts, max),
        minimum=ends.extreme(facts, min), tangent=None if tangent_point is None else ends.tangent(facts, tangent_point),
        parse=ParseInfo(p.parsed.source, p.parsed.canonical, p.parsed.notes, p.parsed.as_written),
        notes=facts.notes)


def sp_zero() -> Any:
    import sympy as sp

    return sp.S.Zero


def is_close(a: float, b: float, tolerance: float = EXACT_MATCH) -> bool:
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= tolerance * max(1.0, abs(a), abs(b))
