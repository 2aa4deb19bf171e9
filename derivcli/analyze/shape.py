"""The facts of `derivcli analyze`, each checked with autograd before it is kept: the domain, the roots of
f, f′ and f″ (exact where SymPy's solution checks, else numeric), the points where f′ does not exist, the
sign charts and what they say (monotonicity, concavity, critical and inflection points), asymptotes, the
global extrema on the interval, and the tangent at a point."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import numeric
from .problem import Found, is_close, spot
from .result import (
    Amount,
    Chart,
    Critical,
    Inflection,
    Span,
    Spot,
    Unsmooth,
)
from .symbolic import Exact

if TYPE_CHECKING:
    from .problem import Problem

KINDS = {("+", "-"): "maximum", ("-", "+"): "minimum"}


def _exact(expr: Any) -> Exact:
    return Exact(expr, str(expr), float(expr))


class Facts:
    def __init__(self, problem: Problem, xs: list[float], table: list[list[float]], answers: dict[str, Any]) -> None:
        self.p, self.xs, self.table, self.answers = problem, xs, table, answers
        self.curve = problem.curve
        self.notes = problem.notes
        self.sizes = [max([abs(v) for v in values if math.isfinite(v)] or [0.0]) or 1.0 for values in table]
        self.interval = Span(spot(problem.a, _exact(problem.lo)), spot(problem.b, _exact(problem.hi)), (True, True))
        self.rejected: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._domain(answers.get("domain") or {})
        self.zeros = self.solutions(0, answers.get("zeros"), "the zero of f at")
        self.stationary = self.solutions(1, answers.get("critical"), "the solution of f′ = 0 at")
        self.flat = self.solutions(2, answers.get("inflection"), "the solution of f″ = 0 at")
        self._holes()
        self.unsmooth = self._unsmooth()
        self.unsmooth_points = [point for _, point in self.unsmooth]
        self.charts = [self._chart(1), self._chart(2)]
        self.critical = self._critical()

    # ------------------------------------------------------------------------------------------ domain
    def _domain(self, answer: dict[str, Any]) -> None:
        """SymPy's domain where it matches torch's values on the grid, else the grid's own."""
        pieces = answer.get("window")
        exact = pieces is not None and self._matches(pieces)
        if pieces is not None and not exact:
            self.notes.append("SymPy's domain does not match where torch computes f; the domain shown is torch's")
        if pieces is not None and exact:
            self.pieces = [(float(lo), float(hi), left, right) for lo, hi, left, right in pieces]
            self.domain = [Span(spot(float(lo), _exact(lo)), spot(float(hi), _exact(hi)), (left, right))
                           for lo, hi, left, right in pieces]
        else:
            self.pieces = self._grid_domain()
            self.domain = [Span(spot(lo), spot(hi), (left, right)) for lo, hi, left, right in self.pieces]
        self.domain_exact = exact
        self.kinks = [kink for kink in answer.get("kinks") or [] if self.inside(kink.value)] if exact else []

    def _holes(self) -> None:
        """Points inside the domain where f is undefined after all, found where a sign change of f, f′ or f″
        on the grid was no root: a pole no grid point hit (lgamma(2x) at -2.5, where torch's lgamma(-5) is
        inf and its neighbours are finite).  Each splits its piece, so the charts and intervals stop there."""
        candidates = numeric.merge(self.rejected[0] + self.rejected[1] + self.rejected[2])
        holes = [x for x in candidates if self.p.a < x < self.p.b and self._within_domain(x) and self._pole(x)]
        if not holes:
            return
        if self.domain_exact:
            self.notes.append("SymPy's domain misses where torch finds f undefined (x = " +
                              ", ".join(f"{x:.12g}" for x in holes) + "); the domain shown is split there")
        spots = {end.x: end for span in self.domain for end in (span.start, span.end)}
        pieces: list[tuple[float, float, bool, bool]] = []
        for lo, hi, left, right in self.pieces:
            ends = [lo, *(x for x in holes if lo < x < hi), hi]
            pieces += [(a, b, left if a == lo else False, right if b == hi else False) for a, b in zip(ends, ends[1:])]
        self.pieces = pieces
        self.domain = [Span(spots.get(lo) or spot(lo), spots.get(hi) or spot(hi), (left, right))
                       for lo, hi, left, right in pieces]
        self.domain_exact = False

    def _pole(self, x: float) -> bool:
        """Whether f is undefined at x: not finite there, or growing without bound towards it (the float
        nearest a pole of gamma(1.5 - 5/x) gives a finite f)."""
        if not math.isfinite(self.curve.one(x, 0)):
            return True
        return any(side.limit is not None and math.isinf(side.limit) for side in numeric.one_sided(self.curve, x, 0))

    def _matches(self, pieces: list[tuple[Any, Any, bool, bool]]) -> bool:
        floats = [(float(lo), float(hi), left, right) for lo, hi, left, right in pieces]
        for x, value in zip(self.xs, self.table[0]):
            near_edge = any(is_close(x, edge) for lo, hi, _, _ in floats for edge in (lo, hi))
            if not near_edge and _within(floats, x) != math.isfinite(value):
                return False
        return True

    def _grid_domain(self) -> list[tuple[float, float, bool, bool]]:
        """Runs of grid points where f is finite, each edge refined by bisection."""
        finite = [math.isfinite(value) for value in self.table[0]]
        pieces: list[tuple[float, float, bool, bool]] = []
        start: int | None = None
        for index, ok in enumerate([*finite, False]):
            if ok and start is None:
                start = index
            elif not ok and start is not None:
                lo = self.xs[start] if start == 0 else self._edge(self.xs[start - 1], self.xs[start])
                end = index - 1
                hi = self.xs[end] if end == len(self.xs) - 1 else self._edge(self.xs[end + 1], self.xs[end])
                pieces.append((lo, hi, True, True))
                start = None
        return self._isolated_points_open(pieces)

    def _isolated_points_open(self, pieces: list[tuple[float, float, bool, bool]]
                              ) -> list[tuple[float, float, bool, bool]]:
        """Two pieces that meet around one grid point where f is not finite (or a piece that stops beside
        the window's end where f is not): the domain without that point, open there.  Refined by bisection,
        such edges are the floats beside the point (lgamma(2x) beside -1.5, where f is 33.6), which made a
        pole a closed edge, a "maximum" and a "jump"."""
        opened = list(pieces)
        for i in range(len(opened) - 1):
            (lo, hi, left, _), (next_lo, next_hi, _, next_right) = opened[i], opened[i + 1]
            between = [x for x in self.xs if hi < x < next_lo]
            if len(between) == 1 and is_close(hi, between[0], 1e-12) and is_close(next_lo, between[0], 1e-12):
                opened[i] = (lo, between[0], left, False)
                opened[i + 1] = (between[0], next_hi, False, next_right)
        first, last = self.xs[0], self.xs[-1]  # the same at an end of the window (lgamma(2x) on [-3, 0])
        if opened and opened[0][0] != first and is_close(opened[0][0], first, 1e-12):
            opened[0] = (first, opened[0][1], False, opened[0][3])
        if opened and opened[-1][1] != last and is_close(opened[-1][1], last, 1e-12):
            opened[-1] = (opened[-1][0], last, opened[-1][2], False)
        return opened

    def _edge(self, outside: float, inside: float) -> float:
        for _ in range(60):
            middle = (outside + inside) / 2
            if middle in (outside, inside):
                break
            outside, inside = (outside, middle) if math.isfinite(self.curve.one(middle, 0)) else (middle, inside)
        return inside

    def inside(self, x: float) -> bool:
        """In the domain, and not a rounding away from an edge it excludes (a float beside π/2 for tan)."""
        return self._within_domain(x) and math.isfinite(self.curve.one(x, 0))

    def _within_domain(self, x: float) -> bool:
        excluded = [edge for lo, hi, left, right in self.pieces for edge, closed in ((lo, left), (hi, right))
                    if not closed]
        return _within(self.pieces, x) and not any(is_close(x, edge, 1e-12) for edge in excluded)

    def edges(self) -> list[Found]:
        """The domain's edges within the interval (an isolated hole is an edge of both its pieces)."""
        found = []
        for span in self.domain:
            for end in (span.start, span.end):
                if self.p.a < end.x < self.p.b or (end.x in (self.p.a, self.p.b) and not _closed_at(span, end)):
                    found.append(Found(end.x, _exact(end.expr) if end.exact else None))
        return _unique(found)

    def interior(self, x: float) -> bool:
        delta = numeric.NEAR * max(1.0, abs(x))
        return self.p.a < x < self.p.b and all(self.inside(point) for point in (x - delta, x, x + delta))

    # ------------------------------------------------------------------------------------------ roots
    def solutions(self, k: int, exact: list[Exact] | None, what: str) -> list[Found]:
        """The roots of f⁽ᵏ⁾ in the domain: SymPy's that check with autograd, and the grid's that SymPy did
        not give (refined by Newton's steps, checked the same way)."""
        curve, xs, values = self.curve, self.xs, self.table
        candidates = numeric.refine(curve, k, numeric.sign_changes(xs, values[k]))
        candidates += numeric.refine(curve, k + 1, numeric.turning(xs, values[k], values[k + 1]))
        found: list[Found] = []
        for item in exact or []:
            if not (self.p.a <= item.value <= self.p.b and self.inside(item.value)):
                continue
            if numeric.is_root(curve, k, item.value):
                found.append(Found(item.value, item))
            elif not (k == 1 and any(is_close(kink.value, item.value) for kink in self.kinks)):
                self.p.wrong(what, Found(item.value, item), curve.one(item.value, k), f"f{'′' * k} is")
        for x in numeric.merge(candidates):
            if any(is_close(x, point.x, 1e-7) for point in found):
                continue
            if self.p.a <= x <= self.p.b and self.inside(x) and numeric.is_root(curve, k, x):
                known = self._exact_near(x)
                found.append(Found(known.value, known) if known is not None and numeric.is_root(curve, k, known.value)
                             else Found(x))
            else:
                self.rejected[k].append(x)
        return sorted(found, key=lambda point: point.x)

    # ------------------------------------------------------------------------------ where f′ is not
    def _unsmooth(self) -> list[tuple[Found, Unsmooth]]:
        """Corners, cusps, vertical tangents and jumps: classified by f′'s one-sided limits at each candidate
        (SymPy's kinks, the grid's f′ and f″ sign changes that were no roots, points where f′ is not finite,
        and the domain's closed edges)."""
        candidates = [Found(kink.value, kink) for kink in self.kinks]
        candidates += [Found(x) for x in self.rejected[1] + self.rejected[2]]
        candidates += [Found(x) for x, f, slope in zip(self.xs, self.table[0], self.table[1])
                       if math.isfinite(f) and not math.isfinite(slope)]
        candidates += [edge for edge in self.edges() if self.inside(edge.x)]
        found = []
        for candidate in _unique(candidates):
            if self.inside(candidate.x) and self.p.a <= candidate.x <= self.p.b:
                kind = self.classify(candidate.x)
                if kind is not None:
                    value = self.amount(candidate.exact, self.curve.one(candidate.x, 0))
                    found.append((candidate, Unsmooth(candidate.spot(), *kind, value)))
        return found

    def classify(self, c: float) -> tuple[str, float | None, float | None] | None:
        """(kind, left slope, right slope) where f′(c) does not exist, None where it does."""
        value = self.curve.one(c, 0)
        left_f, right_f = numeric.one_sided(self.curve, c, 0)
        left, right = numeric.one_sided(self.curve, c, 1)
        if not (left_f.reaches(value) and right_f.reaches(value)):
            return "jump", left.limit, right.limit
        if left_f.limit is None or right_f.limit is None:  # an edge of the domain: one side only
            side = left if left_f.limit is not None else right
            infinite = side.limit is not None and math.isinf(side.limit)
            return ("vertical tangent", left.limit, right.limit) if infinite else None
        if left.limit is None or right.limit is None:  # f′ neither settles nor grows: nothing to say
            return None
        if math.isfinite(left.limit) and math.isfinite(right.limit):
            return None if numeric.same_limit(left, right) else ("corner", left.limit, right.limit)
        if math.isinf(left.limit) and math.isinf(right.limit):
            kind = "vertical tangent" if left.limit == right.limit else "cusp"
            return kind, left.limit, right.limit
        return "corner", left.limit, right.limit

    def _smooth(self, c: float, k: int) -> bool:
        """Whether f⁽ᵏ⁾ exists at c: one finite limit from both sides."""
        left, right = numeric.one_sided(self.curve, c, k)
        if left.limit is None or right.limit is None or math.isinf(left.limit) or math.isinf(right.limit):
            return False
        return numeric.same_limit(left, right)

    # ------------------------------------------------------------------------------------ sign charts
    def _chart(self, k: int) -> Chart:
        """f⁽ᵏ⁾'s sign between the points where it may change: the interval's ends, the domain's edges, its
        roots, and where f′ (and for f″, f″) does not exist."""
        points = [Found(self.p.a, _exact(self.p.lo)), Found(self.p.b, _exact(self.p.hi)), *self.edges(),
                  *(self.stationary if k == 1 else self.flat),
                  *(found for found, _ in self.unsmooth)]
        if k == 2:
            points += [Found(x) for x in self.rejected[2] if self.inside(x) and not self._smooth(x, 2)]
        points = _unique(points)
        middles = [(a.x + b.x) / 2 for a, b in zip(points, points[1:])]
        values = self.curve.at(middles, k)[k] if middles else []
        sizes = [self._size(k, a.x, b.x) for a, b in zip(points, points[1:])]
        signs = [self._sign(k, value, size, a.x, b.x) if self.inside(middle) else None
                 for middle, value, size, a, b in zip(middles, values, sizes, points, points[1:])]
        self._check_chart(k, points, signs, sizes)
        if k == 1:
            self.notes += [f"f is constant on ({a.spot().text}, {b.spot().text}) (f′ = 0 there): every point of it "
                           "is critical, and its value is attained all along" for (a, b), sign in
                           zip(zip(points, points[1:]), signs) if sign == "0"]
        return Chart("f'" if k == 1 else "f''", [point.spot() for point in points], signs)

    def _sign(self, k: int, value: float, size: float, a: float, b: float) -> str | None:
        """f⁽ᵏ⁾'s sign on (a, b) from its value between them; "0" (f⁽ᵏ⁻¹⁾ constant there) only where the grid's
        f⁽ᵏ⁻¹⁾ does not change on (a, b) either: beside a pole, f′ of gamma(1.5 - 5/x) is small against its
        own size there and yet far from 0."""
        sign = numeric.sign_of(value, size)
        if sign != "0":
            return sign
        below = [v for x, v in zip(self.xs, self.table[k - 1]) if a < x < b and math.isfinite(v)]
        if len(below) < 2 or max(below) - min(below) <= 1e-9 * max(abs(v) for v in below):
            return sign
        return "+" if value > 0 or value == 0 and below[-1] > below[0] else "-"

    def _size(self, k: int, a: float, b: float) -> float:
        """f⁽ᵏ⁾'s size between a and b: the largest finite |value| on the grid there (the whole window's where
        no grid point falls between).  Against the window's size, a pole elsewhere made f′ of 1e3 look 0,
        and a stretch of gamma(1.5 - 5/x) "constant"."""
        inside = [abs(value) for x, value in zip(self.xs, self.table[k]) if a < x < b and math.isfinite(value)]
        return max(inside) if inside else self.sizes[k]

    def _check_chart(self, k: int, points: list[Found], signs: list[str | None], sizes: list[float]) -> None:
        """Every grid point between two chart points has the segment's sign (or is too small to have one)."""
        for (a, b), sign, size in zip(zip(points, points[1:]), signs, sizes):
            if sign is None:
                continue
            for x, value in zip(self.xs, self.table[k]):
                if a.x < x < b.x and not is_close(x, a.x, 1e-6) and not is_close(x, b.x, 1e-6):
                    shown = numeric.sign_of(value, size)
                    if shown not in (None, sign, "0") and abs(value) > 1e-6 * size:
                        self.notes.append(f"f{'′' * k} seems to change sign between {a.spot().text} and "
                                          f"{b.spot().text} where no root was found: the chart may miss one")
                        break

    def runs(self, which: int, sign: str) -> list[Span]:
        """Where f increases ('+' of f′) or decreases, is concave up ('+' of f″) or down: the chart's
        segments of that sign, joined across points where f is continuous (for concavity, also
        differentiable: a cusp's two sides are concave down apart, not together)."""
        chart = self.charts[which]
        breaks = {point.x for point in self.edges()} | {point.at.x for point in self.unsmooth_points
                                                       if point.kind == "jump" or which == 1}
        spans: list[Span] = []
        for (a, b), shown in zip(zip(chart.points, chart.points[1:]), chart.signs):
            if shown != sign:
                continue
            if spans and spans[-1].end.x == a.x and a.x not in breaks:
                spans[-1] = Span(spans[-1].start, b)
            else:
                spans.append(Span(a, b))
        return spans

    def _signs_beside(self, c: float) -> tuple[str | None, str | None]:
        """f′'s signs just left and right of c (the first-derivative test), nearer than any other point where
        f′ may change sign; None on a side where f is not defined."""
        others = [point.x for point in (*self.stationary, *(found for found, _ in self.unsmooth)) if point.x != c]
        gap = min([abs(other - c) for other in others], default=math.inf)
        delta = min(numeric.NEAR * max(1.0, abs(c)), gap / 4)
        left, right = self.curve.at([c - delta, c + delta], 1)[1]
        return tuple(None if not math.isfinite(v) else "0" if v == 0 else "+" if v > 0 else "-"  # type: ignore
                     for v in (left, right))

    # --------------------------------------------------------------------------- critical, inflection
    def critical_points(self) -> list[Critical]:
        return self.critical

    def _critical(self) -> list[Critical]:
        points = [(found.spot(), "zero", found.exact) for found in self.stationary if self.interior(found.x)]
        points += [(point.at, "undefined", found.exact) for found, point in self.unsmooth if self.interior(point.at.x)]
        found = []
        for at, derivative, exact in sorted(points, key=lambda item: item[0].x):
            signs = self._signs_beside(at.x)
            second, test = None, None
            if derivative == "zero":
                delta = numeric.NEAR * max(1.0, abs(at.x))
                second, *beside = self.curve.at([at.x, at.x - delta, at.x + delta], 2)[2]
                shown = numeric.sign_of(second, max(abs(v) for v in beside if math.isfinite(v)) if any(
                    math.isfinite(v) for v in beside) else 1.0)
                test = {"+": "minimum", "-": "maximum", "0": "inconclusive"}.get(shown or "")
            value = self.curve.one(at.x, 0)
            kind = KINDS.get((signs[0] or "", signs[1] or ""), "neither")
            found.append(Critical(at, kind, self.amount(exact, value), derivative, signs,
                                  second if second is not None and math.isfinite(second) else None, test))
        return found

    def inflection_points(self) -> list[Inflection]:
        chart = self.charts[1]
        jumps = {point.at.x for point in self.unsmooth_points if point.kind == "jump"}
        found = []
        for index, point in enumerate(chart.points[1:-1], 1):
            left, right = chart.signs[index - 1], chart.signs[index]
            if {left, right} == {"+", "-"} and point.x not in jumps and self.interior(point.x):
                value = self.curve.one(point.x, 0)
                found.append(Inflection(point, self.amount(self._exact_at(point.x), value),
                                        (left, right)))  # type: ignore[arg-type]
        return found

    def _exact_near(self, x: float) -> Exact | None:
        """An exact point SymPy gave for another question (a kink, a domain edge) where a numeric root is."""
        for item in self._known():
            if is_close(item.value, x, 1e-7):
                return item
        return None

    def _known(self) -> list[Exact]:
        answers = [self.answers.get(key) or [] for key in ("zeros", "critical", "inflection")]
        edges = [_exact(span_end.expr) for span in self.domain for span_end in (span.start, span.end) if span_end.exact]
        return [item for group in answers for item in group] + list(self.kinks) + edges

    def _exact_at(self, x: float) -> Exact | None:
        """SymPy's answer for this point, where one of its solutions (with f's value) is here."""
        return next((item for item in self._known() if item.value == x and item.f_text is not None), None)

    def amount(self, exact: Exact | None, value: float) -> Amount:
        """f's value at a point, exactly too where SymPy gave it for an exact point and it checks with torch's."""
        if exact is None or exact.f_text is None:
            return Amount(value)
        return self.checked(exact.f_expr, value, f"f({exact.text})")

    def checked(self, exact: Any, value: float, what: str) -> Amount:
        from ..steps.textbook import textbook

        if exact is None:
            return Amount(value)
        if is_close(float(exact), value, 1e-9):
            return Amount(value, str(exact), textbook(exact))
        self.notes.append(f"SymPy's value {what} = {exact} does not check with autograd's {value:.10g}; left out")
        return Amount(value)

    def y_intercept(self) -> Amount | None:
        value = self.curve.one(0.0, 0)
        if not math.isfinite(value):
            return None
        return self.checked((self.answers.get("values") or {}).get("0", (None, None))[0], value, "f(0)")


def _within(pieces: Sequence[tuple[float, float, bool, bool]], x: float) -> bool:
    return any(lo < x < hi or (x == lo and left) or (x == hi and right) for lo, hi, left, right in pieces)


def _closed_at(span: Span, end: Spot) -> bool:
    return span.closed[0] if end is span.start else span.closed[1]


def _unique(points: Sequence[Found]) -> list[Found]:
    """Sorted, one per place (an exact one preferred)."""
    kept: list[Found] = []
    for point in sorted(points, key=lambda item: (item.x, item.exact is None)):
        if kept and is_close(point.x, kept[-1].x):
            continue
        kept.append(point)
    return kept


def _unique_spots(spots: Sequence[Spot]) -> list[Spot]:
    kept: list[Spot] = []
    for item in sorted(spots, key=lambda s: s.x):
        if not kept or not is_close(item.x, kept[-1].x):
            kept.append(item)
    return kept
