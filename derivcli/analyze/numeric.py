"""`derivcli analyze`'s torch side: f and its derivatives by autograd on many points at once, roots found
by sign changes on a grid and refined by Newton's steps (kept inside their bracket by bisection), and the
checks every claim passes before it is printed.

A root c of F (f, f′ or f″) is believed when |F(c)| is below ROOT_TOLERANCE of F's size at c ± δ and F
shrinks towards c from both sides (so torch's subgradient 0 of |x² − 4| at 2 is no root of f′: the
slopes beside it stay ±4).  One-sided limits of f′ tell a corner (two finite slopes), a cusp (±∞ on
opposite sides) and a vertical tangent (the same infinity on both).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

GRID = 2000  # cells on the window
NEWTON_STEPS = 80
ROOT_TOLERANCE = 1e-6  # |F(c)| against F's size at c ± δ
NEAR = 1e-4  # δ = NEAR * max(1, |c|)
SHRINK = 0.5  # F at c ± δ/100 must be at most this fraction of F at c ± δ (F → 0 towards a root)
DECADES = (3, 4, 5, 6, 7, 8)  # one-sided limits from δ = 10^-k * max(1, |c|)
SAME = 1e-6  # one-sided slopes this close (relatively) are one slope


class Curve:
    """f of one variable as torch computes it (the lowered Program, the other variables held), with its
    derivatives by nested autograd, at many points at once."""

    def __init__(self, program: Any, variables: Sequence[str], name: str, held: dict[str, float]) -> None:
        self.program, self.variables, self.name, self.held = program, list(variables), name, held

    def at(self, points: Sequence[float], order: int) -> list[list[float]]:
        """[f, f′, …, f⁽ᵒʳᵈᵉʳ⁾] at the points, each a list of floats (NaN where torch's is not finite)."""
        import torch

        x = torch.tensor(list(points), dtype=torch.float64, requires_grad=True)
        inputs = [x if variable == self.name else torch.tensor(self.held[variable], dtype=torch.float64)
                  for variable in self.variables]
        with torch.enable_grad():
            value = self.program(inputs, torch.float64, torch.device("cpu"))
            value = value.expand_as(x) if value.shape != x.shape else value
            found = [value]
            for k in range(order):
                current = found[-1]
                if not current.requires_grad:
                    found.append(torch.zeros_like(x))
                    continue
                (derivative,) = torch.autograd.grad(current.sum(), x, create_graph=k < order - 1, allow_unused=True,
                                                    materialize_grads=True)
                found.append(derivative)
        return [[number if math.isfinite(number) else math.nan for number in _stored(values).tolist()]
                for values in found]

    def one(self, point: float, k: int) -> float:
        return self.at([point], k)[k][0]


def _stored(values: Any) -> Any:
    """A derivative with memory of its own: autograd gives the derivative of sign(u) (and so f⁗ of |x²|) as
    torch's efficient zero tensor, which has no storage for `tolist` to read."""
    import torch

    values = values.detach()
    return torch.zeros(values.shape, dtype=values.dtype) if values._is_zerotensor() else values


def grid(lo: float, hi: float, extra: Sequence[float] = ()) -> list[float]:
    """GRID + 1 points from lo to hi, with the extra points (exact candidates) among them."""
    points = {lo + (hi - lo) * i / GRID for i in range(GRID + 1)} | {p for p in extra if lo <= p <= hi}
    return sorted(points)


def sign_changes(xs: Sequence[float], values: Sequence[float]) -> list[tuple[float, float]]:
    """Brackets [a, b] of neighbouring points where the values change sign (both finite, or across one
    point where the value is not), and [c, c] where a value is exactly 0."""
    brackets = [(x, x) for x, value in zip(xs, values) if value == 0]
    for (a, fa), (b, fb) in zip(zip(xs, values), zip(xs[1:], values[1:])):
        if math.isfinite(fa) and math.isfinite(fb) and fa * fb < 0:
            brackets.append((a, b))
    for i in range(1, len(xs) - 1):  # across one point where the value is not finite (0/0 as written)
        fa, fb = values[i - 1], values[i + 1]
        if not math.isfinite(values[i]) and math.isfinite(fa) and math.isfinite(fb) and fa * fb < 0:
            brackets.append((xs[i - 1], xs[i + 1]))
    return brackets


def turning(xs: Sequence[float], values: Sequence[float], slopes: Sequence[float]) -> list[tuple[float, float]]:
    """Brackets where F has a local minimum of |F| (its slope changes sign) with F not changing sign: where a
    root that only touches 0 (x² at 0) may sit."""
    found = []
    for i in range(len(xs) - 1):
        a, b = slopes[i], slopes[i + 1]
        if math.isfinite(a) and math.isfinite(b) and a * b < 0 and math.isfinite(values[i]) \
                and math.isfinite(values[i + 1]) and values[i] * values[i + 1] > 0:
            found.append((xs[i], xs[i + 1]))
    return found


def refine(curve: Curve, k: int, brackets: Sequence[tuple[float, float]]) -> list[float]:
    """Each bracket's root of f⁽ᵏ⁾ by Newton's steps with f⁽ᵏ⁺¹⁾ from autograd, all brackets at once; a step
    that leaves its bracket, or has no finite slope, is a bisection instead."""
    work = [[a, b, (a + b) / 2] for a, b in brackets if a != b]
    done = [a for a, b in brackets if a == b]
    for _ in range(NEWTON_STEPS):
        if not work:
            break
        values = curve.at([item[2] for item in work] + [item[0] for item in work], k + 1)
        count = len(work)
        following: list[list[float]] = []
        for index, (a, b, x) in enumerate(work):
            fx, slope, fa = values[k][index], values[k + 1][index], values[k][count + index]
            if fx == 0:
                done.append(x)
                continue
            if not math.isfinite(fx):  # a pole or a hole inside the bracket: no root, but a point to look at
                done.append(x)
                continue
            a, b = (x, b) if math.isfinite(fa) and (fa > 0) == (fx > 0) else (a, x)
            step = x - fx / slope if math.isfinite(slope) and slope != 0 else math.nan
            guess = step if a < step < b else (a + b) / 2
            if abs(guess - x) <= 2 * _ulp(x) or b - a <= 4 * _ulp(x):
                done.append(guess)
            else:
                following.append([a, b, guess])
        work = following
    return sorted(done + [item[2] for item in work])


def _ulp(x: float) -> float:
    return math.ulp(max(abs(x), 1e-300))


@dataclass
class Side:
    """f⁽ᵏ⁾ approaching a point from one side: its limit (a number, ±inf, or None where the values neither
    settle nor grow, or are not finite there), how far the nearest value may still be from it, and how far
    the values come towards f⁽ᵏ⁾ at the point itself (the last and first distances, for continuity)."""

    limit: float | None
    error: float = 0.0
    values: tuple[float, ...] = ()

    def reaches(self, value: float) -> bool:
        """Whether the values close in on `value` (continuity there): the nearest distance at most half
        the farthest, or already within rounding."""
        if not self.values or not all(math.isfinite(v) for v in self.values):
            return True
        near, far = abs(self.values[-1] - value), abs(self.values[0] - value)
        return near <= 0.5 * far or near <= 1e-12 * max(1.0, abs(value))


def one_sided(curve: Curve, c: float, k: int) -> tuple[Side, Side]:
    """f⁽ᵏ⁾'s limits from the left and from the right of c, from its values at c ∓ 10⁻³…10⁻⁸·max(1, |c|)."""
    scale = max(1.0, abs(c))
    steps = [10.0 ** -decade * scale for decade in DECADES]
    values = curve.at([c - h for h in steps] + [c + h for h in steps], k)[k]
    return _limit(values[:len(steps)]), _limit(values[len(steps):])


def _limit(values: list[float]) -> Side:
    """Values approaching a point, a decade apart: magnitudes that keep growing by steps that do not shrink
    (x^-1/3, and ln|x| too) are an infinity; differences that shrink are a limit (the nearest value)."""
    if not all(math.isfinite(value) for value in values):
        return Side(None)
    magnitudes = [abs(value) for value in values[-4:]]
    rises = [later - earlier for earlier, later in zip(magnitudes, magnitudes[1:])]
    if all(rise > 0 for rise in rises) and rises[-1] >= 0.5 * rises[0] \
            and len({math.copysign(1, value) for value in values[-4:]}) == 1:
        return Side(math.copysign(math.inf, values[-1]), values=tuple(values))
    gaps = [abs(b - a) for a, b in zip(values, values[1:])]
    if gaps[-1] <= max(gaps[0], 1e-300) * 0.5 or gaps[-1] <= 1e-9 * max(1.0, abs(values[-1])):
        return Side(_aitken(values), gaps[-1], tuple(values))
    return Side(None, values=tuple(values))


def _aitken(values: list[float]) -> float:
    """The limit of values converging at a steady rate, by Aitken's Δ² (the slopes 4 − 4·10⁻⁸k of |x² − 4|
    beside 2 give 4, and 2·10⁻⁸ beside a corner's flat side gives 0); the nearest value where that is no
    closer to them."""
    a, b, c = values[-3:]
    bend = c - 2 * b + a
    if bend == 0:
        return c
    limit = c - (c - b) * (c - b) / bend  # (a float's ** raises OverflowError where * gives inf)
    return limit if abs(limit - c) <= abs(c - b) else c


def same_limit(left: Side, right: Side) -> bool:
    """Two finite one-sided limits that are one number, within what their convergence leaves open."""
    assert left.limit is not None and right.limit is not None
    room = 10 * (left.error + right.error) + SAME * max(1.0, abs(left.limit), abs(right.limit))
    return abs(left.limit - right.limit) <= room


def is_root(curve: Curve, k: int, c: float) -> bool:
    """Whether f⁽ᵏ⁾(c) = 0 checks with autograd: small against its values at c ± δ, and shrinking towards c
    from each side where it is defined (f⁽ᵏ⁾ is continuous there and passes 0, not a jump across it).  Where
    autograd's f⁽ᵏ⁾(c) is NaN (f′ of (acos(x)/(2x))**-2 at 0, as written), its limit from each side must be 0."""
    delta = NEAR * max(1.0, abs(c))
    value, *sides = [abs(v) for v in curve.at([c, c - delta, c - delta / 100, c + delta, c + delta / 100], k)[k]]
    pairs = [(far, near) for far, near in (sides[:2], sides[2:]) if math.isfinite(far) and math.isfinite(near)]
    if not pairs:
        return False
    size = max(far for far, _ in pairs)
    if size == 0:  # flat: zero on a whole interval, no point of its own
        return False
    if not math.isfinite(value):  # f⁽ᵏ⁾ of the text as written is NaN at c: a root if it tends to 0 from both sides
        return len(pairs) == 2 and all(side.limit is not None and math.isfinite(side.limit)
                                       and abs(side.limit) <= 10 * side.error + ROOT_TOLERANCE * size
                                       for side in one_sided(curve, c, k))
    return value <= ROOT_TOLERANCE * size and all(near <= SHRINK * far for far, near in pairs)


def merge(points: Sequence[float]) -> list[float]:
    """Points closer than 1e-9·max(1, |x|) are one point (the first of them)."""
    kept: list[float] = []
    for point in sorted(points):
        if not kept or point - kept[-1] > 1e-9 * max(1.0, abs(point)):
            kept.append(point)
    return kept


def sign_of(value: float, size: float) -> str | None:
    """'+', '-' or '0' (zero against the values' size), None where not finite."""
    if not math.isfinite(value):
        return None
    if abs(value) <= 1e-12 * size:
        return "0"
    return "+" if value > 0 else "-"
