"""`derivcli analyze`: what f′ and f″ say about a function of one variable on an interval.

SymPy answers exactly where it can within its budget (`symbolic`, forked children running while
torch works); torch's autograd finds every root numerically on a grid and refines it by Newton's steps
(`numeric`); each exact answer is matched with a numeric one or checked with autograd at its
point, and a claim that fails the check is left out with a note, never printed as true.  The shape of f
(sign charts, monotonicity, concavity, asymptotes, extrema, the tangent) is in `shape` and `ends`, the
problem itself in `problem`.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack

from .problem import Problem, constant, sp_zero
from .result import AnalysisResult


def analyze(expression: str, start: str | None = None, end: str | None = None, *, at: str | None = None,
            wrt: str | None = None, values: Mapping[str, str] | None = None) -> AnalysisResult:
    """f's domain, zeros, critical points, inflection points, sign charts, monotonicity, concavity,
    asymptotes and extrema on [start, end] (texts of exact constants; default DEFAULT_INTERVAL), and with
    `at` the tangent and normal lines there.  `values`: the other variables' values, as texts.

    >>> [point.kind for point in analyze("x**3 - 3*x").critical_points]
    ['maximum', 'minimum']
    """
    from ..results import ParseInfo
    from ..steps.textbook import textbook
    from . import ends, shape
    from .numeric import grid
    from .symbolic import SOLVE_SECONDS, limits_at_infinity, solve_domain, solve_zeros, started, values_at

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
