"""`plot --analyze`: what `derivcli analyze` found, as marks on the plot of f.

The analysis runs once (`derivcli.analyze`), and the plot is drawn over its interval; every mark's place is
read from that result (its points, f's values there, its asymptotes' lines, its monotonicity runs), so the
plot shows exactly what `analyze` says and computes none of it again.  The terminal plot and the figure
both draw from `Marks`, in the order of `KINDS` (a later kind wins a shared terminal cell).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .data import PlotData, plot_data

if TYPE_CHECKING:
    from ...analyze.result import AnalysisResult, Extreme

# kind: (terminal glyph, matplotlib marker, legend text); drawn in this order
KINDS = {
    "zero": ("○", "o", "zeros"),
    "inflection": ("◇", "D", "inflection"),
    "jump": ("×", "X", "jump"),
    "corner": ("×", "X", "corner"),
    "cusp": ("×", "X", "cusp"),
    "vertical tangent": ("×", "X", "vertical tangent"),
    "neither": ("◆", "d", "critical (neither)"),
    "minimum": ("▼", "v", "min"),
    "maximum": ("▲", "^", "max"),
    "global minimum": ("★", "*", "global min"),
    "global maximum": ("★", "*", "global max"),
}


@dataclass(frozen=True)
class Mark:
    """A point the analysis found: what it is, where (f's value there from the analysis), its x as text."""

    kind: str
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Guide:
    """An asymptote: x = `at` (vertical), else y = slope·x + intercept, drawn dashed."""

    kind: str
    text: str
    at: float | None = None
    slope: float = 0.0
    intercept: float = 0.0

    def y(self, x: float) -> float:
        return self.slope * x + self.intercept


@dataclass(frozen=True)
class Run:
    """An interval where f increases or decreases."""

    direction: str  # increasing, decreasing
    start: float
    end: float


@dataclass
class Marks:
    points: list[Mark] = field(default_factory=list)
    guides: list[Guide] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)


def marks_of(result: AnalysisResult) -> Marks:
    """Every point, asymptote and monotonicity run of the analysis, in drawing order."""
    points = [Mark("zero", zero.x, 0.0, zero.pretty) for zero in result.zeros]
    points += [Mark("inflection", point.at.x, point.value.value, point.at.pretty) for point in result.inflection_points]
    points += [Mark(point.kind, point.at.x, point.value.value, point.at.pretty) for point in result.nondifferentiable]
    points += [Mark(point.kind, point.at.x, point.value.value, point.at.pretty) for point in result.critical_points]
    points += _extremes("global minimum", result.minimum) + _extremes("global maximum", result.maximum)
    points.sort(key=lambda mark: list(KINDS).index(mark.kind))
    guides = [Guide(line.kind, line.pretty, line.at) if line.kind == "vertical" else
              Guide(line.kind, line.pretty, None, line.slope or 0.0, line.intercept or 0.0)
              for line in result.asymptotes]
    runs = [Run(direction, span.start.x, span.end.x) for direction, spans in
            (("increasing", result.increasing), ("decreasing", result.decreasing)) for span in spans]
    return Marks(points, guides, sorted(runs, key=lambda run: run.start))


def _extremes(kind: str, extreme: Extreme) -> list[Mark]:
    if extreme.value is None or not math.isfinite(extreme.value.value):
        return []
    return [Mark(kind, point.x, extreme.value.value, point.pretty) for point in extreme.points]


def analyzed_plot(expression: str, values: Mapping[str, str] | None = None, *, wrt: str | None = None,
                  start: str | None = None, end: str | None = None, samples: int = 400,
                  dtype: str = "float64") -> PlotData:
    """f and f′ over the analysis's interval (--from/--to as texts of constants, else analyze's default),
    with the analysis attached for the marks and `--json`.  `values`: the bindings as written; the
    variable's own value is the tangent's point, as in plot and analyze."""
    from ...analyze.report import analyze
    from ...inputs.bindings import parse_value

    result = analyze(expression, start, end, wrt=wrt, values=values)
    point = {name: parse_value(name, text) for name, text in (values or {}).items()}
    data = plot_data(expression, point, wrt=result.variable, start=result.interval.start.x,
                     end=result.interval.end.x, samples=samples, dtype=dtype)
    data.analysis = result
    low, high = data.y_range
    beyond = [f"{KINDS[mark.kind][2]} {data.variable} = {mark.text} (f = {mark.y:.4g})"
              for mark in marks_of(result).points if not low <= mark.y <= high]
    if beyond:
        data.notes.append("not marked, beyond the plot's y range: " + ", ".join(beyond))
    return data
