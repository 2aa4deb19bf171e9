"""The ends of `derivcli analyze`'s facts: the asymptotes (checked against torch's values far out), the
global extrema on the interval (the best value attained, unless f comes closer to beating it near an edge it
does not reach, or the grid finds better), and the tangent, normal and linear approximation at a point."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from . import numeric
from .problem import is_close, spot
from .result import Amount, Asymptote, Extreme, Spot, Tangent
from .shape import Facts, _exact, _unique_spots

FAR = (1e3, 1e6)  # where a line at ±∞ is checked: f's distance to it must shrink from the first to the second


# ---------------------------------------------------------------------------------- asymptotes
def asymptotes(facts: Facts) -> list[Asymptote]:
    return _vertical(facts) + _lines(facts)

def _vertical(facts: Facts) -> list[Asymptote]:
    found = []
    for edge in facts.edges():
        left, right = numeric.one_sided(facts.curve, edge.x, 0)
        limits = (left.limit, right.limit)
        if any(limit is not None and math.isinf(limit) for limit in limits):
            where = edge.spot()
            found.append(Asymptote("vertical", f"x = {where.text}", f"x = {where.pretty}", where.text, edge.x,
                                   limits=limits))
    return found

def _lines(facts: Facts) -> list[Asymptote]:
    import sympy as sp

    from ..steps.textbook import textbook

    lines, domain = facts.answers.get("lines") or {}, facts.answers.get("domain") or {}
    kept: dict[str, tuple[Any, Any]] = {}
    for side, reaches in (("+", domain.get("above")), ("-", domain.get("below"))):
        line = lines.get(side)
        if line is None or reaches is False:
            continue
        if _approaches(facts, side, float(line[0]), float(line[1])):
            kept[side] = line
        else:
            facts.notes.append(f"SymPy's asymptote y = {line[0]}*x + {line[1]} at {side}∞ does not check with "
                              "torch's values; left out")
    sides = [("both", kept["+"])] if kept.get("+") is not None and kept.get("+") == kept.get("-") else \
        [(f"{side}inf", line) for side, line in kept.items()]
    found = []
    for side, (slope, intercept) in sides:
        line = sp.expand(slope * facts.p.x + intercept)
        found.append(Asymptote("horizontal" if slope == 0 else "oblique", f"y = {sp.sstr(line, order='lex')}",
                               f"y = {textbook(line)}",
                               side, slope=float(slope), intercept=float(intercept)))
    return found

def _approaches(facts: Facts, side: str, slope: float, intercept: float) -> bool:
    sign = 1.0 if side == "+" else -1.0
    far = [sign * distance for distance in FAR]
    values = facts.curve.at(far, 0)[0]
    gaps = [abs(value - (slope * x + intercept)) for x, value in zip(far, values)]
    if not all(math.isfinite(gap) for gap in gaps):
        return False
    return gaps[1] < gaps[0] or gaps[1] <= 1e-9 * max(1.0, abs(slope * far[1] + intercept))

def extreme(facts: Facts, pick: Callable[..., Any]) -> Extreme:
    """The global maximum (pick = max) or minimum on the interval: the best value attained at a critical
    point or an end that belongs to the domain, unless f comes closer to beating it near an edge it
    does not reach (a pole, an open end) or the grid finds a better value (then: none, with why)."""
    name = "maximum" if pick is max else "minimum"
    attained = [(point.value.value, point.at) for point in facts.critical_points()]
    attained += [(facts.curve.one(end.x, 0), end) for end in (facts.interval.start, facts.interval.end)
                 if facts.inside(end.x)]
    attained += [(facts.curve.one(span_end.x, 0), span_end) for span in facts.domain
                 for span_end, closed in ((span.start, span.closed[0]), (span.end, span.closed[1]))
                 if closed and facts.p.a <= span_end.x <= facts.p.b and facts.inside(span_end.x)]
    attained = [(value, at) for value, at in attained if math.isfinite(value)]
    if not attained:
        return Extreme([], None, "f is not defined on the interval")
    best = pick(value for value, _ in attained)
    tolerance = 1e-9 * max(1.0, abs(best))
    for edge in facts.edges():
        for side in numeric.one_sided(facts.curve, edge.x, 0):
            if side.limit is None or not facts.p.a <= edge.x <= facts.p.b:
                continue
            if pick(side.limit, best) == side.limit and abs(side.limit - best) > tolerance:
                verb = "grows" if side.limit > best else "falls"
                why = (f"f {verb} without bound near x = {edge.spot().text}" if math.isinf(side.limit) else
                       f"f approaches {side.limit:.10g} near x = {edge.spot().text} but does not reach it")
                return Extreme([], None, f"no global {name}: {why}")
    grid_best = pick((value for value in facts.table[0] if math.isfinite(value)), default=best)
    if pick(grid_best, best) == grid_best and abs(grid_best - best) > 1e-6 * max(1.0, abs(best)):
        facts.notes.append(f"the {name} found ({best:.10g}) is beaten on the grid ({grid_best:.10g}); left out")
        return Extreme([], None, "not determined: a point was missed")
    where = _unique_spots([at for value, at in attained if abs(value - best) <= tolerance])
    amounts = [_amount_at(facts, at) for at in where]
    return Extreme(where, next((amount for amount in amounts if amount.text is not None), Amount(best)))

def _amount_at(facts: Facts, at: Spot) -> Amount:
    for point in facts.critical_points():
        if point.at.x == at.x:
            return point.value
    value = facts.curve.one(at.x, 0)
    known = facts._exact_at(at.x)
    if known is not None:
        return facts.amount(known, value)
    values = facts.answers.get("values") or {}
    for key, end in (("from", facts.interval.start), ("to", facts.interval.end)):
        if end.x == at.x:
            return facts.checked(values.get(key, (None, None))[0], value, f"f({end.text})")
    return Amount(value)

def tangent(facts: Facts, at: Any) -> Tangent | None:
    """The tangent and normal lines at x = at, and the linear approximation's error at at + 0.1."""
    import sympy as sp

    from ..steps.textbook import textbook

    a = float(at)
    if not facts.inside(a):
        facts.notes.append(f"no tangent: f is not defined at x = {at}")
        return None
    if not facts._smooth(a, 1):
        left, right = numeric.one_sided(facts.curve, a, 1)
        facts.notes.append(f"no tangent at x = {at}: f′ does not exist there (left {left.limit}, right "
                          f"{right.limit})")
        return None
    (value, near), (slope, _) = facts.curve.at([a, a + 0.1], 1)[:2]
    exact = (facts.answers.get("values") or {}).get("at", (None, None))
    x = facts.p.x
    if all(part is not None for part in exact) and is_close(float(exact[0]), value, 1e-9) \
            and is_close(float(exact[1]), slope, 1e-9):
        fa, dfa = exact
    else:
        fa, dfa = sp.Float(value, 17), sp.Float(slope, 17)
    tangent = sp.expand(fa + dfa * (x - at))
    normal = sp.Eq(x, at) if dfa == 0 else sp.expand(fa - (x - at) / dfa)
    texts = [f"y = {sp.sstr(line, order='lex')}" if not isinstance(line, sp.Eq) else f"{x} = {at}"
             for line in (tangent, normal)]
    pretty = [f"y = {textbook(line)}" if not isinstance(line, sp.Eq) else f"{x} = {textbook(at)}"
              for line in (tangent, normal)]
    return Tangent(spot(a, _exact(at)), value, slope, texts[0], texts[1], a + 0.1, near, value + slope * 0.1,
                   pretty[0], pretty[1])
