"""The float64 reference for `derivcli check`: a directional derivative by central differences.

phi(h) = F(x + h·v) is the user's function re-run in float64 along a direction v.  Central differences
D(h) at steps h = 0.1·scale·4⁻ᵏ are combined by Richardson extrapolation, R = (16·D(h/4) − D(h))/15, which
cancels the h² term; consecutive R agree on the plateau, between truncation (large h) and rounding (small
h), and their difference there is the estimate's error.  The one-sided quotients give the kink test: for
smooth f, (phi(h) − 2·phi(0) + phi(−h))/h shrinks with h (as h·phi''), at a kink it stays the jump
between the right and left derivatives.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

EPSILON = 2.0 ** -52
STEPS = 12  # 0.1·4⁻ᵏ for k < 12: from 0.1 down to about 2e-8 (times the scale)
RATIO = 4.0


@dataclass
class Derivative:
    """The directional derivative's estimate, its error, the middle of the three steps it came from (the
    step to search around for a similar direction), and where the function has a kink along the
    direction, its (left, right) derivatives."""

    value: float
    error: float
    step: float
    one_sided: tuple[float, float] | None = None

    @property
    def finite(self) -> bool:
        return math.isfinite(self.value)


class Differences:
    """phi sampled at ±h on demand, each step once (the evaluations are the cost: one run of the user's
    function each)."""

    def __init__(self, phi: Callable[[float], float], base: float) -> None:
        self.phi = phi
        self.base = base
        self.samples: dict[float, tuple[float, float]] = {}

    def at(self, h: float) -> tuple[float, float]:
        if h not in self.samples:
            self.samples[h] = (self.phi(h), self.phi(-h))
        return self.samples[h]

    def central(self, h: float) -> float:
        plus, minus = self.at(h)
        return (plus - minus) / (2 * h)

    def curvature(self, h: float) -> float:
        """The right derivative minus the left one at step h."""
        plus, minus = self.at(h)
        return (plus - 2 * self.base + minus) / h

    def noise(self, h: float) -> float:
        """What rounding alone puts into a quotient at step h."""
        plus, minus = self.at(h)
        return 4 * EPSILON * max(abs(plus), abs(minus), abs(self.base)) / h


def directional(phi: Callable[[float], float], base: float, scale: float, near: float | None = None,
                fixed: bool = False) -> Derivative:
    """The derivative of phi at 0 on its plateau of steps: the steps are 0.1·scale·4⁻ᵏ, searched from the
    largest down until rounding takes over, or (with `near`, the step a similar direction's derivative came
    from) from there towards the smaller gap between consecutive extrapolations, until it grows; `fixed`:
    at that step alone (three central differences, for the blocks of one tensor)."""
    search = Search(Differences(phi, base), scale)
    if near is None:
        best = search.scan()
    else:
        start = round(math.log(0.1 * scale / near, RATIO)) - 1 if near > 0 else 0
        start = min(max(start, 0), STEPS - 3)
        best = start if fixed else search.descend(start)
    if not math.isfinite(search.gap(best)):  # no two finite estimates agree: the last finite one, if any
        finite = [search.extrapolated(k) for k in sorted(search.gaps)]
        finite = [estimate for estimate in finite if math.isfinite(estimate)]
        return Derivative(finite[-1] if finite else math.nan, math.inf, search.step(best + 1))
    # extrapolated(best + 1) comes from steps best+1 and best+2: the smaller pair of the agreeing two
    error = max(search.gap(best), search.differences.noise(search.step(best + 2)))
    return Derivative(search.extrapolated(best + 1), error, search.step(best + 1),
                      _kink(search.differences, [search.step(k) for k in range(best, best + 3)]))


class Search:
    """Richardson extrapolations on the grid of steps, and the gaps between consecutive ones, on demand."""

    def __init__(self, differences: Differences, scale: float) -> None:
        self.differences = differences
        self.scale = scale
        self.gaps: dict[int, float] = {}

    def step(self, k: int) -> float:
        return 0.1 * self.scale * RATIO ** -k

    def extrapolated(self, k: int) -> float:
        """From the central differences at steps k and k+1."""
        coarse, fine = self.differences.central(self.step(k)), self.differences.central(self.step(k + 1))
        return (RATIO ** 2 * fine - coarse) / (RATIO ** 2 - 1)

    def gap(self, k: int) -> float:
        if k not in self.gaps:
            gap = abs(self.extrapolated(k) - self.extrapolated(k + 1))
            self.gaps[k] = gap if math.isfinite(gap) else math.inf
        return self.gaps[k]

    def scan(self) -> int:
        """From the largest step down, until the gaps have grown twice in a row well past the smallest."""
        for k in range(STEPS - 2):
            self.gap(k)
            if k >= 3:
                recent = [self.gaps[k - 2], self.gaps[k - 1], self.gaps[k]]
                if recent[2] > recent[1] > recent[0] and recent[1] > 4 * min(self.gaps[j] for j in range(k - 1)):
                    break
        return min(self.gaps, key=self.gaps.__getitem__)

    def descend(self, k: int) -> int:
        """From step k to the neighbouring step with the smaller gap, while there is one."""
        last = STEPS - 3
        direction = 1 if k < last and self.gap(k + 1) < self.gap(k) else -1
        while 0 <= k + direction <= last and self.gap(k + direction) < self.gap(k):
            k += direction
        return k


def _kink(differences: Differences, steps: list[float]) -> tuple[float, float] | None:
    """(left, right) derivatives where the last three steps' jumps neither shrink (a smooth function's,
    as h) nor are rounding (which grows as 1/h), else None."""
    if len(steps) < 3:
        return None
    jumps = [differences.curvature(h) for h in steps[-3:]]
    if not all(math.isfinite(jump) and jump != 0 for jump in jumps):
        return None
    steady = all(0.5 <= abs(b / a) <= 2 and a * b > 0 for a, b in zip(jumps, jumps[1:]))
    if not steady or abs(jumps[-1]) <= 100 * differences.noise(steps[-1]):
        return None

    def sides(h: float) -> tuple[float, float]:
        plus, minus = differences.at(h)
        return (differences.base - minus) / h, (plus - differences.base) / h

    # one-sided quotients are off by O(h): extrapolated from the last two steps, as (4·D(h/4) − D(h))/3
    (coarse_left, coarse_right), (left, right) = sides(steps[-2]), sides(steps[-1])
    return ((RATIO * left - coarse_left) / (RATIO - 1), (RATIO * right - coarse_right) / (RATIO - 1))
