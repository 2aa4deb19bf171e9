"""Where `--expect` compares an answer with the derivative when SymPy cannot show them equal.

A wrong answer may differ from the derivative only somewhere: for x > 5 (`2x - 1` for the derivative of
x² + |x - 5|), or beyond x = 10 (`2x + heaviside(x - 10)` for that of x²).  So the points are spread over
scales (0, ±1e-6, ±0.3, ±1, ±3.7, ±50, ±1e4, ±1e8 and seeded random ones) and placed on both sides of
every breakpoint of f, the derivative and the answer: where the argument of abs, sign, heaviside or
DiracDelta is 0, that of floor or ceiling an integer, a condition's (Piecewise, `if`) two sides meet,
two arguments of max or min tie, and domain edges (the argument of log, sqrt, asin, … at the edge of its
domain, a denominator at 0).  Each breakpoint is solved for by SymPy (`solveset` on the real line, within
a budget) and found numerically by the sign changes of its argument on a wide grid, refined by
bisection; in several variables, along lines through some of the points.  No point lies on a breakpoint,
where the derivative does not exist.

Both sides are evaluated at 30 digits (SymPy's evalf, mpmath); where they differ there, again at 50, and
the difference between the two precisions is the rounding the 30-digit values carry (cancellation of
large terms): they agree when the 50-digit values differ by no more than that allows.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations
from typing import Any, Literal

import mpmath
import sympy as sp

from ..limits.budget import OverBudget, time_budget
from ..symbolic.exact import evaluated

DIGITS = 30
CHECK_DIGITS = 50  # the second evaluation, where the 30-digit values differ
SCALES = (0.3, 1.0, 3.7, 1e-6, 50.0, 1e4, 1e8)  # each with both signs, and 0 first
RANDOM_POINTS = 10
NEAR = (1e-9, 1e-6, 1e-3, 0.1, 1.0)  # a breakpoint b's neighbours: b ± r·|b| (± r at b = 0)
LARGE = 1e3  # points with a coordinate beyond it are compared last (the counterexample shown stays readable)
LINES = 6  # in several variables: the points through which breakpoints are looked for along each axis
MAX_ROOTS = 40  # breakpoints kept per argument and line
MAX_INTEGERS = 24  # integers kept where floor or ceiling jumps
MAX_POINTS = 600
SOLVE_SECONDS = 0.5  # one solveset
SOLVING_SECONDS = 2.0  # all of them
POINT_SECONDS = 1.0  # one point (a double exponential at 1e8 never finishes)
_GRID: list[float] = sorted({0.0, *(s * 10.0 ** (k / 10) for k in range(-90, 96) for s in (1, -1)),
                             *(k / 20 for k in range(-200, 201))})

Point = dict[sp.Symbol, float]


@dataclass
class Comparison:
    """What the points said: how many were compared (both sides finite and real), the first where the two
    differ, the breakpoints used (as text), and which points were left out for time."""

    compared: int = 0
    counterexample: dict[str, Any] | None = None
    breakpoints: list[str] = field(default_factory=list)
    complete: bool = True  # False: the time ran out before the last point
    slow: float | None = None  # points this far out (max |coordinate|) took over POINT_SECONDS and were left out


def compare_at_points(derivative: sp.Expr, answer: sp.Expr, function: sp.Expr, seconds: float,
                      seed: int = 0) -> Comparison:
    """Compare `answer` with `derivative` at points over every scale and on both sides of every breakpoint
    (of f too), up to the first point where they differ and f is defined."""
    deadline = time.monotonic() + seconds
    symbols = sorted(function.free_symbols | derivative.free_symbols | answer.free_symbols, key=str)
    expressions = [_defined(expression) for expression in (function, derivative, answer)]
    points, breakpoints = sample(expressions, symbols, seed, deadline)
    comparison = Comparison(breakpoints=breakpoints)
    for point in points:
        size = max(map(abs, point.values()), default=0.0)
        if comparison.slow is not None and size >= comparison.slow:
            continue
        if time.monotonic() > deadline:
            comparison.complete = False
            break
        try:
            with time_budget(POINT_SECONDS):
                verdict = compare(derivative, answer, point)
        except OverBudget:  # and points farther out would take longer still
            comparison.slow = size
            continue
        if verdict is None or verdict is not True and value_at(function, point) is None:
            continue  # either side undefined, or f (acosh at x < -1, where its derivative's formula is real)
        comparison.compared += 1
        if verdict is True:
            continue
        found = {"point": {str(symbol): value for symbol, value in point.items()}, **verdict}
        if all(isinstance(value, float) for value in verdict.values()):
            comparison.counterexample = found
            return comparison
        comparison.counterexample = comparison.counterexample or found  # (one shown with floats is looked for)
    return comparison


def compare(derivative: sp.Expr, answer: sp.Expr, point: Point) -> Literal[True] | dict[str, float | str] | None:
    """None where either side is not a finite real number, True where they agree, else both values."""
    truth, yours = value_at(derivative, point), value_at(answer, point)
    if truth is None or yours is None:
        return None
    if abs(truth - yours) <= sp.Float(10, DIGITS) ** (5 - DIGITS) * max(abs(truth), abs(yours)):
        return True
    truth_again, yours_again = value_at(derivative, point, CHECK_DIGITS), value_at(answer, point, CHECK_DIGITS)
    if truth_again is None or yours_again is None:
        return None
    rounding = abs(truth - truth_again) + abs(yours - yours_again)
    if abs(truth_again - yours_again) <= max(1000 * rounding, sp.Float(10, CHECK_DIGITS) ** (5 - CHECK_DIGITS)
                                             * max(abs(truth_again), abs(yours_again))):
        return True
    return dict(zip(("yours", "derivative"), plain_numbers(yours_again, truth_again)))


def _signed(expression: sp.Expr, digits: int) -> sp.Expr:
    """DiracDelta, Heaviside and sign of an argument that is a number clearly away from 0, replaced by their
    value.  SymPy leaves them standing where it cannot sign an exact argument (DiracDelta(27*sigmoid(tan(
    …))/5 - 27/10) at a rational point), and then evalf gives no number at any point."""
    def settle(node: sp.Expr) -> sp.Expr:
        argument = evaluated(node.args[0], digits)
        if argument is None or not (argument.is_Number and argument.is_real
                                    and abs(argument) > sp.Float(10, digits) ** (5 - digits)):
            return node
        if isinstance(node, sp.DiracDelta):
            return sp.S.Zero
        positive = argument > 0
        return sp.S.One if positive else sp.S.Zero if isinstance(node, sp.Heaviside) else sp.S.NegativeOne
    return expression.replace(lambda node: isinstance(node, (sp.DiracDelta, sp.Heaviside, sp.sign)), settle)


def value_at(expression: sp.Expr, point: dict[Any, Any], digits: int = DIGITS) -> sp.Float | None:
    """The expression at the point to `digits` digits, or None where that is not a finite real number (an
    unevaluated DiracDelta(0) is no number).  Python floats in the point are taken exactly."""
    exact = {symbol: sp.Float(value, digits) if isinstance(value, float) else value for symbol, value in point.items()}
    value = evaluated(_signed(expression.xreplace(exact), digits), digits)
    if value is None or not value.is_Number or not value.is_real or not value.is_finite:
        return None
    return value


def plain_numbers(*values: sp.Float) -> list[float | str]:
    """Floats where they fit and tell the values apart, else decimal texts with the digits that do (2x and
    2x·(1 + 1e-25) round to the same float)."""
    floats = [float(value) for value in values]
    if all(map(math.isfinite, floats)) and len(set(floats)) == len(floats):
        return list(floats)
    with mpmath.workdps(CHECK_DIGITS):
        numbers = [mpmath.mpf(value._mpf_) for value in values]
        for digits in range(17, CHECK_DIGITS):
            texts = [mpmath.nstr(number, digits, strip_zeros=False, min_fixed=-5, max_fixed=17) for number in numbers]
            if len(set(texts)) == len(texts):
                break
    return list(texts)


# ---------------------------------------------------------------------------------------------- sampling
def sample(expressions: list[sp.Expr], symbols: list[sp.Symbol], seed: int, deadline: float
           ) -> tuple[list[Point], list[str]]:
    """The points to compare at, in the order to compare them (moderate ones first), and the breakpoints
    they surround, as text."""
    if not symbols:
        return [{}], []
    rng = random.Random(seed)
    scales = [0.0, *(sign * scale for scale in SCALES for sign in (1, -1))]
    randoms = [float(f"{rng.choice((1, -1)) * 10.0 ** rng.uniform(-3, 6):.3g}") for _ in range(RANDOM_POINTS)]
    axis = scales + randoms
    orders = [list(range(len(axis)))] + [rng.sample(range(len(axis)), len(axis)) for _ in symbols[1:]]
    bases = [{symbol: axis[order[i]] for symbol, order in zip(symbols, orders)} for i in range(len(axis))]
    arguments = _integer_crossings(arguments_of(expressions, symbols), bases)
    solved = _solved(arguments, deadline)
    near: list[Point] = []
    lines: dict[tuple[Any, ...], dict[float, str]] = {}  # the breakpoints on each line, found once
    texts: dict[str, float] = {}  # -> the order to show them in: nearest 0 first
    for argument in arguments:
        for symbol in sorted(argument.free_symbols, key=str):
            for base in [{}] if len(symbols) == 1 else bases[:LINES]:
                line = (argument, symbol, *(base[s] for s in sorted(argument.free_symbols - {symbol}, key=str)))
                if line not in lines:
                    lines[line] = _roots(argument, symbol, base, solved.get((argument, symbol), []))
                near += [{**base, symbol: value} for value in neighbours(sorted(lines[line]))]
                if len(symbols) == 1:
                    texts.update((f"{symbol} = {text}", abs(value)) for value, text in lines[line].items())
        if len(symbols) > 1:
            texts[f"{argument} = 0"] = len(texts)
    kinds = [(0, base) for base in bases[:len(scales)]] + [(1, point) for point in near] + \
            [(2, base) for base in bases[len(scales):]]
    ordered = sorted(kinds, key=lambda kind: (max(map(abs, kind[1].values())) > LARGE, kind[0]))
    points = _distinct([point for _, point in ordered], arguments)
    return points[:MAX_POINTS], sorted(texts, key=texts.__getitem__)


def neighbours(roots: list[float]) -> list[float]:
    """Both sides of each breakpoint, near and far, and the middle between neighbouring ones."""
    values = [root + sign * r * (abs(root) or 1.0) for root in roots for r in NEAR for sign in (1, -1)]
    return values + [(a + b) / 2 for a, b in zip(roots, roots[1:])]


def _distinct(points: list[Point], arguments: list[sp.Expr]) -> list[Point]:
    """The points once each, without those on a breakpoint (where the derivative has no value to compare)."""
    numeric = [function for function in map(_numeric, arguments) if function is not None]
    seen: set[tuple[float, ...]] = set()
    kept = []
    for point in points:
        key = tuple(point.values())
        if key in seen or not all(map(math.isfinite, key)):
            continue
        seen.add(key)
        size = max(1.0, *map(abs, key))
        if not any(_on(function, point, size) for function in numeric):
            kept.append(point)
    return kept


def _on(argument: tuple[Callable[..., Any], list[sp.Symbol]], point: Point, size: float) -> bool:
    function, names = argument
    return abs(_float(function, [point[name] for name in names])) <= 1e-12 * size


def _float(function: Callable[..., Any], args: list[float]) -> float:
    """A lambdified function's value as a float; NaN where it raises or is not real."""
    try:
        return float(function(*args))
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return math.nan


# -------------------------------------------------------------------------------------------- breakpoints
def arguments_of(expressions: Iterable[sp.Expr], symbols: list[sp.Symbol]) -> dict[sp.Expr, bool]:
    """The arguments whose zeros are breakpoints (-> False), or whose integer crossings are (-> True)."""
    found: dict[sp.Expr, bool] = {}
    for expression in expressions:
        for node in sp.preorder_traversal(expression):
            for argument, integer in _arguments(node):
                argument = argument if integer else _zeros_of(argument, found)
                if argument.free_symbols and argument.free_symbols <= set(symbols):
                    found[argument] = found.get(argument, False) or integer
    return found


def _zeros_of(argument: sp.Expr, found: dict[sp.Expr, bool]) -> sp.Expr:
    """The argument with the same zeros, once: |u| and u**2 as u, -u as u where u is already found."""
    while isinstance(argument, sp.Abs) or isinstance(argument, sp.Pow) and argument.exp.is_positive:
        argument = argument.args[0]
    return -argument if -argument in found else argument


def _arguments(node: Any) -> list[tuple[sp.Expr, bool]]:
    """The breakpoint arguments one node brings (see the module docstring)."""
    name = type(node).__name__
    args = node.args
    if isinstance(node, (sp.Abs, sp.sign, sp.Heaviside, sp.DiracDelta)):
        return [(args[0], False)]
    if isinstance(node, (sp.floor, sp.ceiling, sp.frac)):
        return [(args[0], True)]
    if isinstance(node, (sp.Max, sp.Min)):
        return [(a - b, False) for a, b in combinations(args, 2)]
    if isinstance(node, sp.core.relational.Relational):
        return [(node.lhs - node.rhs, False)]
    if isinstance(node, sp.Pow) and not (node.exp.is_Integer and node.exp >= 0):
        return [(node.base, False)]
    if isinstance(node, (sp.asin, sp.acos, sp.atanh, sp.acoth, sp.asec, sp.acsc, sp.acosh)):
        return [(args[0] - 1, False), (args[0] + 1, False)]
    if isinstance(node, sp.asech):
        return [(args[0], False), (args[0] - 1, False)]
    if isinstance(node, sp.atan2):
        return [(args[0], False), (args[1], False)]
    if isinstance(node, sp.polygamma):
        return [(args[1], False)]
    if name == "log1p":
        return [(args[0] + 1, False)]
    if isinstance(node, (sp.log, sp.acot, sp.acsch, sp.gamma, sp.loggamma, sp.factorial)) or name in ("log2", "log10"):
        return [(args[0], False)]
    return []


def _defined(expression: sp.Expr) -> sp.Expr:
    """derivcli's own functions (relu, elu, hardtanh, cbrt, …) in plain SymPy, so that their kinks show."""
    from ..table.sympy_forms import _RealFunction

    return expression.replace(lambda node: isinstance(node, _RealFunction), lambda node: node.definition())


def _integer_crossings(arguments: dict[sp.Expr, bool], bases: list[Point]) -> list[sp.Expr]:
    """Each breakpoint argument; for floor(u), which jumps where u crosses an integer, u - n for the
    integers n next to u's values at the points."""
    plain = [argument for argument, integer in arguments.items() if not integer]
    for argument in [argument for argument, integer in arguments.items() if integer]:
        numeric = _numeric(argument)
        integers: dict[int, None] = dict.fromkeys((-1, 0, 1))
        values = [_float(numeric[0], [base[name] for name in numeric[1]]) for base in bases] if numeric else []
        for value in values:
            if math.isfinite(value) and abs(value) < 1e15:
                integers.update(dict.fromkeys((math.floor(value), math.floor(value) + 1)))
        plain += [argument - n for n in list(integers)[:MAX_INTEGERS]]
    return plain


def _solved(arguments: list[sp.Expr], deadline: float) -> dict[tuple[sp.Expr, sp.Symbol], list[sp.Expr]]:
    """SymPy's real solutions of each argument = 0 for each of its variables (in terms of the others),
    as far as SOLVING_SECONDS allow."""
    stop = min(deadline, time.monotonic() + SOLVING_SECONDS)
    solved: dict[tuple[sp.Expr, sp.Symbol], list[sp.Expr]] = {}
    for argument in arguments:
        for symbol in sorted(argument.free_symbols, key=str):
            left = stop - time.monotonic()
            if left <= 0:
                return solved
            try:
                with time_budget(min(SOLVE_SECONDS, left)):
                    solved[(argument, symbol)] = _finite(sp.solveset(argument, symbol, sp.S.Reals))
            except OverBudget:
                continue
            except Exception:  # SymPy's solvers raise many kinds on what they cannot do
                continue
    return solved


def _finite(solutions: Any) -> list[sp.Expr]:
    """The finitely many solutions a solveset answer lists (periodic and implicit ones are left to the
    numeric search)."""
    if isinstance(solutions, sp.FiniteSet):
        return list(solutions)
    if isinstance(solutions, (sp.Intersection, sp.Union)):
        return [item for part in solutions.args for item in _finite(part)]
    return []


def _roots(argument: sp.Expr, symbol: sp.Symbol, base: Point, exact: list[sp.Expr]) -> dict[float, str]:
    """The breakpoints on the line through `base` along `symbol`: value -> its text (exact where SymPy
    solved it)."""
    others = {s: sp.Float(v, DIGITS) for s, v in base.items() if s != symbol}
    roots: dict[float, str] = {}
    for solution in exact:
        value = value_at(solution, others)
        if value is not None and abs(value) < 1e300:
            roots[float(value)] = str(solution) if solution.is_number else f"{float(value):.10g}"
    for value in _sign_changes(argument, symbol, base):
        if not any(abs(value - known) <= 1e-9 * max(1.0, abs(value)) for known in roots) \
                and _crosses(argument, {**others, symbol: value}, symbol):
            roots[value] = f"{value:.10g}"
    return dict(list(roots.items())[:MAX_ROOTS])


def _sign_changes(argument: sp.Expr, symbol: sp.Symbol, base: Point) -> list[float]:
    """Where the argument changes sign (a zero, or a pole) along the grid, refined by bisection in floats."""
    numeric = _numeric(argument)
    if numeric is None:
        return []
    function, names = numeric

    def at(value: float) -> float:
        return _float(function, [value if name == symbol else base[name] for name in names])

    values = [at(x) for x in _GRID]
    roots = [x for x, v in zip(_GRID, values) if v == 0]
    brackets = [(a, fa, b) for (a, fa), (b, fb) in zip(zip(_GRID, values), zip(_GRID[1:], values[1:])) if fa * fb < 0]
    for a, fa, b in sorted(brackets, key=lambda bracket: min(abs(bracket[0]), abs(bracket[2])))[:MAX_ROOTS]:
        for _ in range(200):
            middle = (a + b) / 2
            if middle in (a, b):
                break
            fm = at(middle)
            if not math.isfinite(fm):
                break
            if fm == 0:
                a = b = middle
                break
            a, b, fa = (a, middle, fa) if fa * fm < 0 else (middle, b, fm)
        roots.append((a + b) / 2)
    return roots


def _crosses(argument: sp.Expr, point: dict[sp.Symbol, Any], symbol: sp.Symbol) -> bool:
    """Whether the argument really changes sign at the point (at 30 digits: a float's sign change may be
    rounding, as in x + sqrt(x**2 + 1) at x = -3e9)."""
    step = 1e-9 * max(1.0, abs(point[symbol]))
    sides = [value_at(argument, {**point, symbol: point[symbol] + sign * step}) for sign in (-1, 1)]
    return sides[0] is not None and sides[1] is not None and sides[0] * sides[1] <= 0


@lru_cache(maxsize=512)
def _numeric(argument: sp.Expr) -> tuple[Callable[..., Any], list[sp.Symbol]] | None:
    """The argument as a float function of its variables (Python's math: no overflow warnings, errors
    raised), or None where SymPy cannot print it for Python."""
    names = sorted(argument.free_symbols, key=str)
    try:
        return sp.lambdify(names, argument, modules=["math", "mpmath"]), names
    except Exception:  # lambdify's printers raise many kinds on functions they do not know
        return None
