"""Each curve's y range from its own central quantiles, poles cut, spikes clipped and said to be: so a
spike (1/x near 0, log's derivative near 0) does not flatten the rest to a line."""

from __future__ import annotations

import math
from dataclasses import dataclass

LARGEST = 1.7976931348623157e308  # float64's largest: an interval or y range is kept inside ±LARGEST


@dataclass
class Clip:
    """A run of samples beyond the panel's y range, by its farthest sample."""

    curve: str  # "f" or "df"
    x: float
    value: float
POLE_FACTOR = 20.0  # beyond the quartiles by this many interquartile ranges: a pole's values
VIEW_FACTOR = 3.0  # with a pole, show the quartiles widened by this many interquartile ranges
CENTRAL = 0.02  # otherwise a curve's range is its 2nd to 98th percentile ...
REACH = 1.0  # ... widened to its min (max) where that lies within this many of those ranges beyond
MARGIN = 0.05  # of a range's span, added on each side
DWARF = 4.0  # f' shares f's panel unless that would make the panel more than this many times f's range


def shape_for_drawing(xs: list[float], f: list[float], df: list[float], tangent: list[float], variable: str,
                       notes: list[str]
                       ) -> tuple[list[float], list[float], tuple[float, float], tuple[float, float] | None,
                                  list[Clip]]:
    """Cut the jumps across poles and choose each panel's y range from the curves' own ranges: f's,
    widened for the tangent (its two ends) and then for f', unless either would dwarf f; such an f' gets
    a panel of its own.  Say what was done in `notes`."""
    undefined = sum(1 for v in f if math.isnan(v))
    if undefined:
        notes.append(f"f is undefined (NaN or infinite) at {undefined} of {len(f)} samples: outside its domain "
                     "or at a pole; those are gaps")
    # autograd still computes a formula where f is undefined (d/dx log(x) = 1/x at x < 0): not a derivative
    df = [math.nan if math.isnan(y) else slope for y, slope in zip(f, df)]
    f, poles = _cut_poles(f)
    df, derivative_poles = _cut_poles(df)
    if poles:
        where = ", ".join(f"{(xs[i - 1] + xs[i]) / 2:.4g}" for i in sorted(poles)[:5])
        notes.append(f"f jumps across a pole near {variable} = {where}: the curve is broken there")
    pole = bool(poles) or _has_spike(f)
    f_range = _padded(_view(f, pole))
    df_range = _padded(_view(df, pole or bool(derivative_poles) or _has_spike(df)))
    if tangent:  # a steep tangent leaves the panel rather than flatten f
        f_range = _unless_dwarfed(f_range, _padded((min(tangent), max(tangent))))
    y_range = _unless_dwarfed(f_range, df_range)
    own_range = None if y_range == _joined(f_range, df_range) else df_range
    views = {"f": y_range, "df": own_range or y_range}
    clipped = [clip for curve, values in (("f", f), ("df", df)) for clip in _clips(xs, values, curve, views[curve])]
    for curve in ("f", "df"):
        runs = [clip for clip in clipped if clip.curve == curve]
        if runs:
            marks = " and ".join(mark for mark, above in (("^", True), ("v", False))
                                 if any((clip.value > views[curve][1]) == above for clip in runs))
            where = ", ".join(f"{clip.x:.4g} (to {clip.value:.4g})" for clip in runs[:3])
            more = f" and {len(runs) - 3} more places" if len(runs) > 3 else ""
            notes.append(f"{_NAMES[curve]}({variable}) is clipped (marked {marks}) near {variable} = {where}{more}")
    return f, df, y_range, own_range, clipped
_NAMES = {"f": "f", "df": "f'"}


def _padded(view: tuple[float, float] | None) -> tuple[float, float]:
    """The range with MARGIN on each side (a single value gets ±10% of itself, at least ±1), kept within
    ±LARGEST; no values at all get -1..1."""
    if view is None:
        return -1.0, 1.0
    low, high = view
    pad = _half_span(view) * 2 * MARGIN or max(abs(low) * 0.1, 1.0)
    return max(low - pad, -LARGEST), min(high + pad, LARGEST)


def _half_span(view: tuple[float, float]) -> float:
    """(high - low) / 2, by halves: no overflow when the range spans ±1e308."""
    return view[1] / 2 - view[0] / 2


def _joined(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    return min(a[0], b[0]), max(a[1], b[1])


def _unless_dwarfed(main: tuple[float, float], other: tuple[float, float]) -> tuple[float, float]:
    """`main` widened to take in `other`, unless that would make it more than DWARF times as tall."""
    joined = _joined(main, other)
    return joined if _half_span(joined) <= DWARF * _half_span(main) else main


def _clips(xs: list[float], values: list[float], curve: str, view: tuple[float, float]) -> list[Clip]:
    """One Clip for each run of neighbouring samples above (or below) `view`, at its farthest sample."""
    from itertools import groupby

    low, high = view
    side = [0 if math.isnan(v) or low <= v <= high else 1 if v > high else -1 for v in values]
    clips = []
    for where, run in groupby(range(len(values)), key=lambda i: side[i]):
        if where:
            far = max(run, key=lambda i: values[i] * where)
            clips.append(Clip(curve, xs[far], values[far]))
    return clips


def _quartiles(values: list[float]) -> tuple[float, float] | None:
    finite = sorted(v for v in values if not math.isnan(v))
    if not finite:
        return None
    return _quantile(finite, 0.25), _quantile(finite, 0.75)


def _quantile(ordered: list[float], p: float) -> float:
    return ordered[round(p * (len(ordered) - 1))]


def _scale(q1: float, q3: float) -> float:
    return (q3 - q1) or max(abs(q1), abs(q3), 1.0)


def _cut_poles(f: list[float]) -> tuple[list[float], set[int]]:
    """Where f changes sign with a jump of POLE_FACTOR interquartile ranges between neighbours (1/x, tan
    across their poles), blank the sample with the larger |f|, so no line joins -inf to +inf."""
    quartiles = _quartiles(f)
    if quartiles is None:
        return f, set()
    jump = POLE_FACTOR * _scale(*quartiles)
    cut = list(f)
    poles: set[int] = set()
    for i in range(1, len(f)):
        a, b = f[i - 1], f[i]
        if a * b < 0 and abs(b - a) > jump:
            cut[i if abs(b) > abs(a) else i - 1] = math.nan
            poles.add(i)
    return cut, poles


def _has_spike(f: list[float]) -> bool:
    """A pole inside the interval, or at a gap, with no sign change (1/x**2): a run of values beyond
    POLE_FACTOR interquartile ranges that touches a gap or lies inside the interval.  A run reaching an end
    of the interval is growth (exp), drawn in full."""
    quartiles = _quartiles(f)
    if quartiles is None:
        return False
    q1, q3 = quartiles
    low, high = q1 - POLE_FACTOR * _scale(q1, q3), q3 + POLE_FACTOR * _scale(q1, q3)
    outside = [not math.isnan(v) and not low <= v <= high for v in f]
    i = 0
    while i < len(f):
        if not outside[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(f) and outside[j + 1]:
            j += 1
        touches_gap = (i > 0 and math.isnan(f[i - 1])) or (j + 1 < len(f) and math.isnan(f[j + 1]))
        if touches_gap or (i > 0 and j < len(f) - 1):
            return True
        i = j + 1
    return False


def _view(values: list[float], pole: bool) -> tuple[float, float] | None:
    """The part of a curve's values to show (None: it has none): with a pole, the quartiles widened by
    VIEW_FACTOR interquartile ranges; otherwise the central quantiles (CENTRAL to 1 - CENTRAL), out to
    the min and max where those are within REACH of that range (a curve growing to an end of the
    interval, like exp, is shown in full; a spike at an end, like 1/x near 0, is not)."""
    finite = sorted(v for v in values if not math.isnan(v))
    if not finite:
        return None
    if pole:
        q1, q3 = _quantile(finite, 0.25), _quantile(finite, 0.75)
        scale = _scale(q1, q3)
        return max(finite[0], q1 - VIEW_FACTOR * scale), min(finite[-1], q3 + VIEW_FACTOR * scale)
    low, high = _quantile(finite, CENTRAL), _quantile(finite, 1 - CENTRAL)
    reach = REACH * _scale(low, high)
    return (finite[0] if finite[0] >= low - reach else low), (finite[-1] if finite[-1] <= high + reach else high)
