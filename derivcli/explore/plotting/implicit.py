"""`plot --implicit "x^2 + y^2 = 25" --x 3 --y 4`: the curve F = 0 with its tangent line at the point.

F is lowered to torch like any expression and evaluated on a grid around the point; the curve is where
F changes sign between neighbouring grid points (the crossing placed by linear interpolation), which
finds every branch in the window without solving for y.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import DerivcliError
from .terminal import _Canvas, _paint, tick

GRID = 400  # grid points along each axis


@dataclass
class CurvePlot:
    equation: str
    curve: str  # F, with the curve F = 0
    wrt: str
    dependent: str
    point: dict[str, float]
    slope: float | None  # None: a vertical tangent
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    points: list[tuple[float, float]] = field(default_factory=list)  # on the curve, in the window
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"equation": self.equation, "curve": self.curve, "wrt": self.wrt, "dependent": self.dependent,
                "point": self.point, "slope": self.slope, "x_range": list(self.x_range),
                "y_range": list(self.y_range), "points": [list(point) for point in self.points], "notes": self.notes}


def curve_plot(equation: str, point: Mapping[str, float], wrt: str | None = None, dependent: str | None = None,
               start: float | None = None, end: float | None = None) -> CurvePlot:
    """The curve around the point (which must lie on it), from --from to --to across (default: the point
    ± 5), the same span up and down."""
    import torch

    from ...learn.implicit import implicit, read_curve
    from ...lowering.program import lower

    axis = wrt or "x"
    checked = implicit(equation, wrt=axis, dependent=dependent, point=point)  # the point is on the curve
    curve, x, y, _ = read_curve(equation, axis, dependent, point)
    if {str(symbol) for symbol in curve.free_symbols} != {str(x), str(y)}:
        raise DerivcliError("plot --implicit draws a curve in two variables", hint="fix the others in the equation")
    x0, y0 = float(point[str(x)]), float(point[str(y)])
    low, high = (x0 - 5.0 if start is None else start), (x0 + 5.0 if end is None else end)
    if not low < high:
        raise DerivcliError(f"--from must be below --to, got the interval [{low:g}, {high:g}]")
    half = (high - low) / 2
    y_range = (y0 - half, y0 + half)
    program = lower(curve, [str(x), str(y)])
    xs = torch.linspace(low, high, GRID, dtype=torch.float64)
    ys = torch.linspace(*y_range, GRID, dtype=torch.float64)
    grid_x, grid_y = torch.meshgrid(xs, ys, indexing="ij")
    values = program([grid_x, grid_y], dtype=torch.float64, device=torch.device("cpu")).detach()
    values = values.expand(GRID, GRID) if values.dim() == 0 else values
    return CurvePlot(equation, checked.curve, str(x), str(y), {str(x): x0, str(y): y0}, checked.value,
                     (low, high), y_range, _crossings(xs.tolist(), ys.tolist(), values.tolist()),
                     notes=list(checked.notes))


def _crossings(xs: list[float], ys: list[float], values: list[list[float]]) -> list[tuple[float, float]]:
    """Where F changes sign between grid neighbours, along x and along y."""
    found = []
    for i in range(len(xs)):
        for j in range(len(ys)):
            here = values[i][j]
            if not math.isfinite(here):
                continue
            for di, dj in ((1, 0), (0, 1)):
                if i + di < len(xs) and j + dj < len(ys):
                    there = values[i + di][j + dj]
                    if math.isfinite(there) and (here == 0 or here * there < 0):
                        share = here / (here - there) if here != there else 0.0
                        found.append((xs[i] + share * (xs[i + di] - xs[i]), ys[j] + share * (ys[j + dj] - ys[j])))
    return found


def terminal_curve(data: CurvePlot, width: int = 80, height: int = 24, color: bool = True) -> str:
    """The curve (solid), the tangent at the point (dashed, or a note where it is vertical) and the point,
    in braille, with the axes' ends labelled."""
    margin = max(len(tick(end)) for end in data.y_range) + 1
    columns, rows = width - margin - 1, height - 3
    if columns < 10 or rows < 3:
        raise DerivcliError(f"a terminal plot needs at least {margin + 11}×6 characters, got {width}×{height}")
    canvas = _Canvas(columns, rows, data.x_range, data.y_range)
    if data.slope is not None:
        x0, y0 = data.point[data.wrt], data.point[data.dependent]
        ends = list(data.x_range)
        canvas.polyline(ends, [y0 + data.slope * (end - x0) for end in ends], "tangent",
                        lambda k: (k // 3) % 2 == 0)
    for x, y in data.points:
        cell = canvas.pixel(x, y)
        px, py = int(round(cell[0])), int(round(cell[1]))
        if 0 <= px < canvas.width and 0 <= py < canvas.height:
            canvas.set(px, py, "f")
    marker = canvas.cell_of(data.point[data.wrt], data.point[data.dependent])
    lines = []
    for row in range(rows):
        label = tick(data.y_range[1]) if row == 0 else tick(data.y_range[0]) if row == rows - 1 else ""
        cells = ["●" if marker == (column, row) else canvas.char(column, row)[0] for column in range(columns)]
        owners = ["point" if marker == (column, row) else canvas.char(column, row)[1] for column in range(columns)]
        lines.append(f"{label:>{margin - 1}} {'┤' if label else '│'}"
                     + "".join(_paint(char, owner, color) for char, owner in zip(cells, owners)))
    lines.append(" " * margin + "└" + "─" * columns)
    left, right = tick(data.x_range[0]), tick(data.x_range[1])
    lines.append(" " * (margin + 1) + left + " " * max(1, columns - len(left) - len(right)) + right)
    tangent = "no tangent: it is vertical here" if data.slope is None else \
        f"tangent, slope {tick(data.slope)}"
    legend = f"{data.equation} (solid)   {tangent} (dashed)   ● ({tick(data.point[data.wrt])}, " \
             f"{tick(data.point[data.dependent])})"
    lines.append(legend)
    return "\n".join(lines)
