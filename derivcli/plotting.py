"""f, f' and the tangent line over an interval: the data (one batched autograd pass), a braille plot
for the terminal, and a matplotlib figure (optional dependency) for files.

Poles and domain edges must not ruin the picture: non-finite values are NaN gaps, a sign-flipping jump
across a pole is cut, and each curve's y range comes from its own central quantiles, not min..max, so a
spike (1/x near 0, log's derivative near 0) is clipped, and said to be, instead of flattening the rest to
a line.  f' gets a panel of its own when its range would dwarf f's; and where f is not differentiable
at the point (|x| at 0) there is no tangent, and the plot says why.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import DerivcliError
from .results import ParseInfo

if TYPE_CHECKING:
    import torch

    from .api import Setup
    from .kinks import Kink

MAX_SAMPLES = 100_000
LARGEST = 1.7976931348623157e308  # float64's largest: an interval or y range is kept inside ±LARGEST
MIN_PLOT_COLUMNS = 10  # braille cells across, at the least
MIN_PLOT_ROWS = 3
POLE_FACTOR = 20.0  # beyond the quartiles by this many interquartile ranges: a pole's values
VIEW_FACTOR = 3.0  # with a pole, show the quartiles widened by this many interquartile ranges
CENTRAL = 0.02  # otherwise a curve's range is its 2nd to 98th percentile ...
REACH = 1.0  # ... widened to its min (max) where that lies within this many of those ranges beyond
MARGIN = 0.05  # of a range's span, added on each side
DWARF = 4.0  # f' shares f's panel unless that would make the panel more than this many times f's range
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


@dataclass
class Clip:
    """A run of samples beyond the panel's y range, by its farthest sample."""

    curve: str  # "f" or "df"
    x: float
    value: float


@dataclass
class PlotData:
    expression: str
    variable: str  # the x axis
    point: float  # where the tangent touches
    value: float  # f(point)
    slope: float  # f'(point)
    held: dict[str, float]  # the other variables, at their given values
    start: float
    end: float
    x: list[float]
    f: list[float]  # NaN where f is undefined, infinite, or cut at a pole
    df: list[float]  # f' by autograd, NaN likewise
    y_range: tuple[float, float]  # the y range of f's panel (with the tangent, and f' unless df_range)
    df_range: tuple[float, float] | None  # f' in a panel of its own, with this y range
    clipped: list[Clip]  # where a curve goes beyond its panel's y range
    no_tangent: str  # why there is no tangent line ('' when there is one)
    nondifferentiable: list[Kink]  # at the point
    dtype: str
    parse: ParseInfo
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def has_tangent(self) -> bool:
        return not self.no_tangent

    def tangent(self, x: float) -> float:
        return self.value + self.slope * (x - self.point)

    def to_json(self, explain_parse: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "expression": self.expression,
            "variable": self.variable,
            "point": {self.variable: self.point},
            "value": self.value,
            "slope": self.slope,
            "tangent": {"value": self.value, "slope": self.slope} if self.has_tangent else None,
            "no_tangent": self.no_tangent or None,
            "nondifferentiable": [kink.to_json() for kink in self.nondifferentiable],
            "held": dict(self.held),
            "interval": [self.start, self.end],
            "x": self.x,
            "f": self.f,
            "df": self.df,
            "y_range": list(self.y_range),
            "df_range": None if self.df_range is None else list(self.df_range),
            "clipped": [{"curve": clip.curve, "x": clip.x, "value": clip.value} for clip in self.clipped],
            "dtype": self.dtype,
            "notes": self.notes,
            "warnings": self.warnings,
        }
        if explain_parse:
            data["parse"] = self.parse.to_json()
        return data


def plot_data(
    expression: str,
    point: Mapping[str, Any],
    *,
    wrt: str | None = None,
    start: float | None = None,
    end: float | None = None,
    samples: int = 400,
    dtype: str = "float64",
) -> PlotData:
    """f and f' at `samples` points of [start, end] (default: the point ± max(2, |point|)), and the
    tangent at the point.

    The x axis is `wrt`, else the one variable without a value in `point` (its point defaults to the
    interval's middle, or 0), else the expression's only variable.  Other variables are held at their values.
    """
    from .api import prepare, reading_context
    from .derivatives import gradient
    from .kinks import find_kinks
    from .parsing import parse

    parsed = parse(expression, reading_context(list(point), [wrt] if wrt else None))
    values = dict(point)
    variable = _axis_variable(parsed.variables, values, wrt)
    if variable not in values:  # no point given: the middle of the interval, or 0
        values[variable] = 0.0
        if start is not None and end is not None:
            values[variable] = _finite("--from", start) / 2 + _finite("--to", end) / 2  # no overflow at ±1e308
    setup = prepare(expression, values, [variable], dtype, "cpu")
    for name, value in setup.values.items():
        if not isinstance(value, float):
            raise DerivcliError(f"plot draws scalar functions of one number; {name} is a tensor",
                                hint="use 'derivcli grad' or 'derivcli jacobian' for tensor variables")
    center = setup.values[variable]
    if not math.isfinite(center):
        raise DerivcliError(f"the point {variable} = {center} is not a finite number")
    start, end = _interval(center, start, end)
    if isinstance(samples, bool) or not isinstance(samples, int) or not 2 <= samples <= MAX_SAMPLES:
        raise DerivcliError(f"--samples must be a whole number from 2 to {MAX_SAMPLES:,}, got {samples!r}")

    value_tensor, (slope_tensor,) = gradient(setup.program, setup.inputs, setup.wrt_indices, setup.dtype,
                                             setup.device)
    value, slope = float(value_tensor.detach()), float(slope_tensor)
    kinks = find_kinks(setup, {variable: slope_tensor})
    if kinks:
        no_tangent = kinks[0].message()
    elif not (math.isfinite(value) and math.isfinite(slope)):
        no_tangent = f"f({variable}) = {value} and f'({variable}) = {slope} at {variable} = {center:g}"
    else:
        no_tangent = ""
    xs, f, df = _sample(setup, variable, start, end, samples)
    notes: list[str] = []
    tangent = [] if no_tangent else [value + slope * (x - center) for x in (start, end)]
    f, df, y_range, df_range, clipped = _shape_for_drawing(xs, f, df, tangent, variable, notes)
    if no_tangent:
        notes.append(f"no tangent: {no_tangent}")
    if not start <= center <= end:
        notes.append(f"the point {variable} = {center:g} is outside the interval [{start:g}, {end:g}]")
    return PlotData(
        expression=setup.parsed.canonical, variable=variable, point=center, value=value, slope=slope,
        held={name: v for name, v in setup.values.items() if name != variable},
        start=start, end=end, x=xs, f=f, df=df, y_range=y_range, df_range=df_range, clipped=clipped,
        no_tangent=no_tangent, nondifferentiable=kinks, dtype=dtype, parse=setup.parse_info(),
        notes=notes, warnings=list(setup.warnings),
    )


def _axis_variable(variables: Sequence[str], values: Mapping[str, Any], wrt: str | None) -> str:
    if wrt is not None:
        if variables and wrt not in variables:
            raise DerivcliError(f"--wrt {wrt}: '{wrt}' is not a variable of the expression",
                                hint=f"its variables are {', '.join(variables)}")
        return wrt
    unbound = [name for name in variables if name not in values]
    if len(unbound) == 1:
        return unbound[0]
    if len(unbound) > 1:
        raise DerivcliError(f"plot draws functions of one variable, and {', '.join(unbound)} have no values",
                            hint="bind all but one with --NAME VALUE: " + " ".join(f"--{n} VALUE" for n in unbound[1:]))
    if len(variables) == 1:
        return variables[0]
    if not variables:
        return "x"
    raise DerivcliError(f"plot draws functions of one variable; say which of {', '.join(variables)} is the "
                        "x axis with --wrt NAME", hint="the others are held at their values")


def _finite(option: str, value: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DerivcliError(f"{option} must be a number, got {value!r:.40}") from None
    if not math.isfinite(number):
        raise DerivcliError(f"{option} must be a finite number, got {value}")
    return number


def _interval(center: float, start: float | None, end: float | None) -> tuple[float, float]:
    """The given ends, or the point ± max(2, |point|), kept finite (a point at 1e308 still gets an interval)."""
    half = max(2.0, abs(center))
    low = max(center - half, -LARGEST) if start is None else _finite("--from", start)
    high = min(center + half, LARGEST) if end is None else _finite("--to", end)
    if start is None and end is not None and low >= high:
        low = max(high - 2 * half, -LARGEST)
    if end is None and start is not None and high <= low:
        high = min(low + 2 * half, LARGEST)
    if not low < high:
        raise DerivcliError(f"--from must be below --to, got the interval [{low:g}, {high:g}]")
    return low, high


def _sample(setup: Setup, variable: str, start: float, end: float, samples: int
            ) -> tuple[list[float], list[float], list[float]]:
    """f and f' on the grid: one batched pass where every step is elementwise (the Program broadcasts),
    point by point where a whole-tensor operation (sum, dot, …) would mix the batch."""
    import torch

    from .derivatives import gradient

    index = setup.variables.index(variable)
    if math.isfinite(end - start):
        grid = torch.linspace(start, end, samples, dtype=setup.dtype)
    else:  # wider than float64 holds (-1e308 to 1e308): weigh the ends instead of stepping by inf
        weights = torch.linspace(0, 1, samples, dtype=torch.float64)
        grid = (start * (1 - weights) + end * weights).to(setup.dtype)
    fixed = [value.detach() for value in setup.inputs]
    if not _has_tensor_functions(setup.parsed.expr):
        xs = grid.clone().requires_grad_(True)
        inputs = fixed[:index] + [xs] + fixed[index + 1:]
        ys = setup.program(inputs, dtype=setup.dtype, device=setup.device)
        if ys.shape == xs.shape or ys.dim() == 0:
            ys = ys.expand(samples)
            if ys.requires_grad:
                (dys,) = torch.autograd.grad(ys, xs, torch.ones_like(ys), allow_unused=True, materialize_grads=True)
            else:
                dys = torch.zeros_like(grid)
            return grid.tolist(), _finite_or_nan(ys), _finite_or_nan(dys)
    f: list[float] = []
    df: list[float] = []
    for x in grid:
        inputs = fixed[:index] + [x.clone().requires_grad_(True)] + fixed[index + 1:]
        value, (slope,) = gradient(setup.program, inputs, [index], setup.dtype, setup.device)
        f.append(float(value.detach()))
        df.append(float(slope))
    return grid.tolist(), _nan_for_inf(f), _nan_for_inf(df)


def _has_tensor_functions(expr: Any) -> bool:
    import sympy as sp

    from .sympy_forms import TensorFunction

    return any(isinstance(node, TensorFunction) for node in sp.preorder_traversal(expr))


def _finite_or_nan(values: torch.Tensor) -> list[float]:
    return _nan_for_inf(values.detach().tolist())


def _nan_for_inf(values: list[float]) -> list[float]:
    return [v if math.isfinite(v) else math.nan for v in values]


def _shape_for_drawing(xs: list[float], f: list[float], df: list[float], tangent: list[float], variable: str,
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


# --------------------------------------------------------------------------- the terminal plot
_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))  # braille bit of dot (row, column) in a cell
_COLORS = {"f": "\x1b[36m", "df": "\x1b[35m", "tangent": "\x1b[33m", "point": "\x1b[1;31m"}
_RESET = "\x1b[0m"
_PRIORITY = ("f", "df", "tangent")  # which curve's colour a shared cell takes


def terminal_plot(data: PlotData, width: int = 80, height: int = 24, color: bool = True) -> str:
    """f (solid), f' (dotted) and the tangent (dashed) in braille dots, f' in a panel of its own below
    f's when it has its own range: exactly `height` lines, none wider than `width` characters; ANSI
    colours only with `color`."""
    panels = _panels(data)
    margin = _margin(data)
    columns, rows = width - margin - 1, height - 3 - (len(panels) - 1)  # (a divider between panels)
    if columns < MIN_PLOT_COLUMNS or rows < MIN_PLOT_ROWS * len(panels):
        least = 3 + (len(panels) - 1) + MIN_PLOT_ROWS * len(panels)
        raise DerivcliError(f"a terminal plot needs at least {smallest_width(data)}×{least} characters, "
                            f"got {width}×{height}")
    heights = [rows] if len(panels) == 1 else [rows - rows // 2, rows // 2]
    canvases = [_Canvas(columns, height, (data.start, data.end), y_range)
                for (y_range, _), height in zip(panels, heights)]
    lines: list[str] = []
    for canvas, (_, curves) in zip(canvases, panels):
        if lines:
            lines.append(" " * margin + "├" + "─" * columns)
        lines += _panel_lines(data, canvas, curves, margin, color)
    point_column = canvases[-1].cell_of(data.point, canvases[-1].y_range[0])
    axis = ["─"] * columns
    if point_column is not None:
        axis[point_column[0]] = "┴"
    lines.append(" " * margin + "└" + "".join(axis))
    lines.append(" " * (margin + 1) + _x_labels(data, columns, point_column[0] if point_column else None))
    lines.append(_legend(data, width, color))
    return "\n".join(lines)


def _panels(data: PlotData) -> list[tuple[tuple[float, float], tuple[str, ...]]]:
    """Each panel's y range and curves, in drawing order (the last drawn wins a shared cell's colour)."""
    if data.df_range is None:
        return [(data.y_range, ("tangent", "df", "f"))]
    return [(data.y_range, ("tangent", "f")), (data.df_range, ("df",))]


def _panel_lines(data: PlotData, canvas: _Canvas, curves: tuple[str, ...], margin: int, color: bool) -> list[str]:
    """One panel's rows: its curves, the point (with f), ^ and v where a curve leaves the panel, and its
    y labels (top, bottom, and 0 where it is inside)."""
    patterns = {"f": lambda k: True, "df": lambda k: k % 2 == 0, "tangent": lambda k: (k // 3) % 2 == 0}
    for curve in curves:
        if curve == "tangent":
            if data.has_tangent:
                canvas.polyline([data.start, data.end], [data.tangent(data.start), data.tangent(data.end)],
                                curve, patterns[curve])
        else:
            canvas.polyline(data.x, data.f if curve == "f" else data.df, curve, patterns[curve])
    low, high = canvas.y_range
    marks: dict[tuple[int, int], tuple[str, str]] = {}
    for clip in data.clipped:
        cell = canvas.cell_of(clip.x, high if clip.value > high else low) if clip.curve in curves else None
        if cell is not None:
            marks[cell] = ("^" if clip.value > high else "v", clip.curve)
    marker = canvas.cell_of(data.point, data.value) if "f" in curves and math.isfinite(data.value) else None
    if marker is not None:
        marks[marker] = ("●", "point")
    labels = {0: _tick(high), canvas.rows - 1: _tick(low)}
    zero_row = canvas.cell_of(data.start, 0.0)
    if zero_row is not None and 0 < zero_row[1] < canvas.rows - 1:
        labels[zero_row[1]] = "0"
    lines = []
    for row in range(canvas.rows):
        label = labels.get(row, "")
        runs: list[tuple[str | None, str]] = []  # (owner, text): one colour code per run, not per cell
        for column in range(canvas.columns):
            char, owner = marks.get((column, row)) or canvas.char(column, row)
            if runs and runs[-1][0] == owner:
                runs[-1] = (owner, runs[-1][1] + char)
            else:
                runs.append((owner, char))
        lines.append(f"{label:>{margin - 1}} {'┤' if label else '│'}"
                     + "".join(_paint(text, owner, color) for owner, text in runs))
    return lines


def smallest_width(data: PlotData) -> int:
    """The narrowest terminal plot of `data`: what a terminal narrower than that (COLUMNS=10) gets instead
    of a refusal."""
    return _margin(data) + 1 + MIN_PLOT_COLUMNS


def _margin(data: PlotData) -> int:
    ends = [*data.y_range, *(data.df_range or ())]
    return max(len(_tick(end)) for end in ends) + 1


class _Canvas:
    """Braille cells: 2×4 dots each, y up; remembers which curve drew in each cell."""

    def __init__(self, columns: int, rows: int, x_range: tuple[float, float], y_range: tuple[float, float]) -> None:
        self.columns, self.rows = columns, rows
        self.width, self.height = 2 * columns, 4 * rows
        self.x_range, self.y_range = x_range, y_range
        self.bits = [[0] * columns for _ in range(rows)]
        self.owner: list[list[str | None]] = [[None] * columns for _ in range(rows)]

    def pixel(self, x: float, y: float) -> tuple[float, float]:
        """Canvas coordinates, by halves (exact, and no overflow when a range spans ±1e308), kept within
        ±1e9 so a far-off point still gives a finite, clippable segment."""
        (x0, x1), (y0, y1) = self.x_range, self.y_range
        px = (x / 2 - x0 / 2) / (x1 / 2 - x0 / 2) * (self.width - 1)
        py = (y1 / 2 - y / 2) / (y1 / 2 - y0 / 2) * (self.height - 1)
        return min(max(px, -1e9), 1e9), min(max(py, -1e9), 1e9)

    def cell_of(self, x: float, y: float) -> tuple[int, int] | None:
        if not (math.isfinite(x) and math.isfinite(y)):
            return None
        px, py = (int(round(c)) for c in self.pixel(x, y))
        return (px // 2, py // 4) if 0 <= px < self.width and 0 <= py < self.height else None

    def polyline(self, xs: Sequence[float], ys: Sequence[float], curve: str, pattern: Any) -> None:
        """Segments between neighbouring defined samples, clipped to the canvas; `pattern(k)` says whether
        the k-th distinct pixel along the curve is drawn (dotted, dashed)."""
        pixels: list[tuple[int, int]] = []
        for (xa, ya), (xb, yb) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
            if not all(math.isfinite(v) for v in (xa, ya, xb, yb)):  # a gap, or a tangent beyond float64
                continue
            segment = _clip(*self.pixel(xa, ya), *self.pixel(xb, yb), self.width - 1, self.height - 1)
            if segment is None:
                continue
            ax, ay, bx, by = segment
            steps = max(1, int(math.ceil(max(abs(bx - ax), abs(by - ay)))))
            for k in range(steps + 1):
                pixel = (int(round(ax + (bx - ax) * k / steps)), int(round(ay + (by - ay) * k / steps)))
                if not pixels or pixels[-1] != pixel:
                    pixels.append(pixel)
        for k, (px, py) in enumerate(pixels):
            if pattern(k):
                self.set(px, py, curve)

    def set(self, px: int, py: int, curve: str) -> None:
        column, row = px // 2, py // 4
        self.bits[row][column] |= _DOTS[py % 4][px % 2]
        current = self.owner[row][column]
        if current is None or _PRIORITY.index(curve) < _PRIORITY.index(current):
            self.owner[row][column] = curve

    def char(self, column: int, row: int) -> tuple[str, str | None]:
        bits = self.bits[row][column]
        return (chr(0x2800 + bits), self.owner[row][column]) if bits else (" ", None)


def _clip(ax: float, ay: float, bx: float, by: float, width: float, height: float
          ) -> tuple[float, float, float, float] | None:
    """Liang–Barsky: the part of segment a-b inside [0, width] × [0, height], or None."""
    t0, t1 = 0.0, 1.0
    dx, dy = bx - ax, by - ay
    for p, q in ((-dx, ax), (dx, width - ax), (-dy, ay), (dy, height - ay)):
        if p == 0:
            if q < 0:
                return None
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return None
    return ax + t0 * dx, ay + t0 * dy, ax + t1 * dx, ay + t1 * dy


def _paint(text: str, owner: str | None, color: bool) -> str:
    return f"{_COLORS[owner]}{text}{_RESET}" if color and owner else text


def _tick(value: float) -> str:
    text = f"{value:.4g}"
    return "0" if text in ("-0", "0") else text


def _x_labels(data: PlotData, columns: int, point_column: int | None) -> str:
    line = [" "] * columns
    left, right = _tick(data.start), _tick(data.end)
    line[:len(left)] = left
    line[columns - len(right):] = right
    if point_column is not None:
        middle = f"{data.variable}={_tick(data.point)}"
        first = max(0, min(columns - len(middle), point_column - len(middle) // 2))
        if first > len(left) and first + len(middle) < columns - len(right):
            line[first:first + len(middle)] = middle
    return "".join(line).rstrip()


def _legend(data: PlotData, width: int, color: bool) -> str:
    """What each glyph is, as many entries as fit in `width`."""
    name = data.variable
    entries: list[tuple[str, str, str | None]] = [("⠒⠒⠒", f"f({name})", "f"), ("⠂⠂⠂", f"f'({name})", "df")]
    if data.has_tangent:
        entries.append(("⠒ ⠒", f"tangent at {name}={_tick(data.point)}", "tangent"))
    else:
        entries.append(("", f"no tangent: {_no_tangent_reason(data)}", None))
    if math.isfinite(data.value):
        entries.append(("●", f"({_tick(data.point)}, {_tick(data.value)})", "point"))
    if data.clipped:
        entries.append(("^ v", "clipped", None))
    plain, painted = "", ""
    for glyph, text, owner in entries:
        piece = f"{glyph} {text}".strip()
        separator = "  " if plain else ""
        if len(plain) + len(separator) + len(piece) > width:
            break
        plain += separator + piece
        painted += separator + (_paint(glyph, owner, color) + " " if glyph else "") + text
    return painted


def _no_tangent_reason(data: PlotData) -> str:
    """The short form of `no_tangent`, for the legend and the figure."""
    kinks = data.nondifferentiable
    what = "f or f' is not finite" if not kinks else "f is not continuous" if kinks[0].jump is not None \
        else "f is not differentiable"
    return f"{what} at {data.variable}={_tick(data.point)}"


# --------------------------------------------------------------------------- files
def save_figure(data: PlotData, path: str | os.PathLike[str]) -> None:
    """Write the plot as PNG, SVG or PDF (by the suffix) with matplotlib's Agg canvas, without pyplot's
    global state."""
    from .files import check_files_allowed

    check_files_allowed("--output")
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in FIGURE_SUFFIXES:
        raise DerivcliError(f"cannot write a figure to '{target.name}': unknown file type '{suffix or '(none)'}'",
                            hint="name the file .png, .svg or .pdf")
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise DerivcliError("--output needs matplotlib: pip install 'derivcli[plot]'") from None

    import warnings

    with warnings.catch_warnings():  # matplotlib's overflow warnings at the ends of float64: the errors say it
        warnings.simplefilter("ignore", RuntimeWarning)
        _draw_figure(data, target, suffix, Figure, FigureCanvasAgg)


def _draw_figure(data: PlotData, target: Path, suffix: str, Figure: Any, FigureCanvasAgg: Any) -> None:
    """The panels of the terminal plot, as axes one above the other sharing x: the same ranges, the same
    ^ and v marks where a curve is clipped, and a footnote when there is no tangent."""
    panels = _panels(data)
    figure = Figure(figsize=(8, 5 if len(panels) == 1 else 7), layout="constrained")
    FigureCanvasAgg(figure)
    grid = figure.subplots(len(panels), 1, sharex=True, squeeze=False,
                           gridspec_kw={"height_ratios": [3, 2][:len(panels)]})
    name = data.variable
    styles = {"f": {"color": "tab:blue", "linewidth": 2, "label": f"f({name})"},
              "df": {"color": "tab:purple", "linestyle": ":", "linewidth": 1.8, "label": f"f'({name})"}}
    for (axes,), ((low, high), curves) in zip(grid, panels):
        axes.axhline(0, color="0.75", linewidth=0.8)
        for curve in sorted(curves, key=_PRIORITY.index):  # legend order; the drawing order is the zorder
            depth = 2 + curves.index(curve)
            if curve == "tangent":
                if data.has_tangent:
                    axes.plot([data.start, data.end], [data.tangent(data.start), data.tangent(data.end)],
                              color="tab:orange", linestyle="--", linewidth=1.4, zorder=depth,
                              label=f"tangent at {name} = {_tick(data.point)}")
                continue
            axes.plot(data.x, data.f if curve == "f" else data.df, zorder=depth, **styles[curve])
            clips = [clip for clip in data.clipped if clip.curve == curve]
            above = [clip.x for clip in clips if clip.value > high]
            below = [clip.x for clip in clips if clip.value < low]
            for k, (marker, edge, xs) in enumerate([("^", high, above), ("v", low, below)]):
                if xs:  # one legend entry for both edges
                    axes.plot(xs, [edge] * len(xs), marker, color=styles[curve]["color"], clip_on=False, zorder=6,
                              label=f"{styles[curve]['label']} clipped" if k == 0 or not above else None)
        if "f" in curves and math.isfinite(data.value):
            axes.plot([data.point], [data.value], "o", color="tab:red", zorder=5,
                      label=f"({_tick(data.point)}, {_tick(data.value)})")
        axes.set_ylim(low, high)
        axes.grid(True, alpha=0.3)
        axes.legend(loc="best")
    grid[0][0].set_xlim(data.start, data.end)
    grid[-1][0].set_xlabel(name)
    grid[0][0].set_title(f"f({name}) = {_shorten(data.expression)}")
    if not data.has_tangent:
        figure.supxlabel(f"no tangent: {_no_tangent_reason(data)}", fontsize=9, color="0.3")
    try:
        figure.savefig(target, format=suffix[1:])
    except OSError as error:
        raise DerivcliError(f"cannot write {target}: {error.strerror or error}") from None
    except (ValueError, OverflowError, RuntimeError) as error:  # matplotlib at the ends of float64
        text = str(error).strip().splitlines()
        raise DerivcliError(f"cannot draw the figure for {target}: {text[0] if text else type(error).__name__}",
                            hint="try a narrower --from/--to") from None


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."
