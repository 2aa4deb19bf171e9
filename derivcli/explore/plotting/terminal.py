"""The braille plot for the terminal: one or two panels (f' gets its own when its range dwarfs f's),
labels, legend and marks for clipped points."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ...errors import DerivcliError
from .data import PlotData
from .marks import KINDS, Marks, marks_of

MIN_PLOT_COLUMNS = 10  # braille cells across, at the least
MIN_PLOT_ROWS = 3


# --------------------------------------------------------------------------- the terminal plot
_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))  # braille bit of dot (row, column) in a cell
COLORS = {"f": "\x1b[36m", "df": "\x1b[35m", "tangent": "\x1b[33m", "point": "\x1b[1;31m", "asymptote": "\x1b[2m",
          "mark": "\x1b[1;32m", "increasing": "\x1b[32m", "decreasing": "\x1b[31m"}
_RESET = "\x1b[0m"
PRIORITY = ("f", "df", "tangent", "asymptote")  # which curve's colour a shared cell takes
PATTERNS: dict[str, Any] = {"f": lambda k: True, "df": lambda k: k % 2 == 0, "tangent": lambda k: (k // 3) % 2 == 0,
                            "asymptote": lambda k: k % 3 == 0}
ARROWS = {"increasing": "↗", "decreasing": "↘"}
MARK_LEGEND_LINES = 3  # plot --analyze: the most lines its legend takes


def terminal_plot(data: PlotData, width: int = 80, height: int = 24, color: bool = True) -> str:
    """f (solid), f' (dotted) and the tangent (dashed) in braille dots, f' in a panel of its own below
    f's when it has its own range, and with an analysis its marks, asymptotes and where f rises and falls:
    exactly `height` lines, none wider than `width` characters; ANSI colours only with `color`."""
    panels = panel_ranges(data)
    margin = _margin(data)
    marks = marks_of(data.analysis) if data.analysis is not None else None
    columns = width - margin - 1
    arrows = [" " * (margin + 1) + _arrows(marks, data, columns, color)] if marks is not None and marks.runs else []
    below = _marks_legend(marks, width, color) if marks is not None else []
    extra = len(arrows) + len(below)
    rows = height - 3 - (len(panels) - 1) - extra  # (a divider between panels)
    if columns < MIN_PLOT_COLUMNS or rows < MIN_PLOT_ROWS * len(panels):
        least = 3 + (len(panels) - 1) + MIN_PLOT_ROWS * len(panels) + extra
        raise DerivcliError(f"a terminal plot needs at least {smallest_width(data)}×{least} characters, "
                            f"got {width}×{height}")
    heights = [rows] if len(panels) == 1 else [rows - rows // 2, rows // 2]
    canvases = [_Canvas(columns, height, (data.start, data.end), y_range)
                for (y_range, _), height in zip(panels, heights)]
    lines: list[str] = []
    for canvas, (_, curves) in zip(canvases, panels):
        if lines:
            lines.append(" " * margin + "├" + "─" * columns)
        lines += _panel_lines(data, canvas, curves, margin, color, marks)
    point_column = canvases[-1].cell_of(data.point, canvases[-1].y_range[0])
    axis = ["─"] * columns
    if point_column is not None:
        axis[point_column[0]] = "┴"
    lines.append(" " * margin + "└" + "".join(axis))
    lines.append(" " * (margin + 1) + _x_labels(data, columns, point_column[0] if point_column else None))
    lines += arrows
    lines.append(_legend(data, width, color))
    return "\n".join(lines + below)


def panel_ranges(data: PlotData) -> list[tuple[tuple[float, float], tuple[str, ...]]]:
    """Each panel's y range and curves, in drawing order (the last drawn wins a shared cell's colour)."""
    if data.df_range is None:
        return [(data.y_range, ("tangent", "df", "f"))]
    return [(data.y_range, ("tangent", "f")), (data.df_range, ("df",))]


def _panel_lines(data: PlotData, canvas: _Canvas, curves: tuple[str, ...], margin: int, color: bool,
                 analysis: Marks | None) -> list[str]:
    """One panel's rows: its curves, the point (with f), ^ and v where a curve leaves the panel, the
    analysis's asymptotes and marks (with f), and its y labels (top, bottom, and 0 where it is inside)."""
    low, high = canvas.y_range
    if analysis is not None and "f" in curves:
        for guide in analysis.guides:
            xs = [guide.at, guide.at] if guide.at is not None else [data.start, data.end]
            canvas.polyline(xs, [low, high] if guide.at is not None else [guide.y(x) for x in xs], "asymptote",
                            PATTERNS["asymptote"])
    for curve in curves:
        if curve == "tangent":
            if data.has_tangent:
                canvas.polyline([data.start, data.end], [data.tangent(data.start), data.tangent(data.end)],
                                curve, PATTERNS[curve])
        else:
            canvas.polyline(data.x, data.f if curve == "f" else data.df, curve, PATTERNS[curve])
    marks: dict[tuple[int, int], tuple[str, str]] = {}
    for clip in data.clipped:
        cell = canvas.cell_of(clip.x, high if clip.value > high else low) if clip.curve in curves else None
        if cell is not None:
            marks[cell] = ("^" if clip.value > high else "v", clip.curve)
    marker = canvas.cell_of(data.point, data.value) if "f" in curves and math.isfinite(data.value) else None
    if marker is not None:
        marks[marker] = ("●", "point")
    for mark in analysis.points if analysis is not None and "f" in curves else []:
        cell = canvas.cell_of(mark.x, mark.y)
        if cell is not None:
            marks[cell] = (KINDS[mark.kind][0], "mark")
    labels = {0: tick(high), canvas.rows - 1: tick(low)}
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
    return max(len(tick(end)) for end in ends) + 1


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
        if current is None or PRIORITY.index(curve) < PRIORITY.index(current):
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
    return f"{COLORS[owner]}{text}{_RESET}" if color and owner else text


def tick(value: float) -> str:
    text = f"{value:.4g}"
    return "0" if text in ("-0", "0") else text


def _x_labels(data: PlotData, columns: int, point_column: int | None) -> str:
    line = [" "] * columns
    left, right = tick(data.start), tick(data.end)
    line[:len(left)] = left
    line[columns - len(right):] = right
    if point_column is not None:
        middle = f"{data.variable}={tick(data.point)}"
        first = max(0, min(columns - len(middle), point_column - len(middle) // 2))
        if first > len(left) and first + len(middle) < columns - len(right):
            line[first:first + len(middle)] = middle
    return "".join(line).rstrip()


def _legend(data: PlotData, width: int, color: bool) -> str:
    """What each glyph is, as many entries as fit in `width`."""
    name = data.variable
    entries: list[tuple[str, str, str | None]] = [("⠒⠒⠒", f"f({name})", "f"), ("⠂⠂⠂", f"f'({name})", "df")]
    if data.has_tangent:
        entries.append(("⠒ ⠒", f"tangent at {name}={tick(data.point)}", "tangent"))
    else:
        entries.append(("", f"no tangent: {no_tangent_reason(data)}", None))
    if math.isfinite(data.value):
        entries.append(("●", f"({tick(data.point)}, {tick(data.value)})", "point"))
    if data.clipped:
        entries.append(("^ v", "clipped", None))
    return _fitted(entries, width, color, 1)[0]


def _fitted(entries: list[tuple[str, str, str | None]], width: int, color: bool, most: int) -> list[str]:
    """The entries (glyph, text, owner) on at most `most` lines of `width`, as many as fit, in order."""
    lines: list[tuple[str, str]] = [("", "")]
    for glyph, text, owner in entries:
        piece = f"{glyph} {text}".strip()
        plain, painted = lines[-1]
        separator = "  " if plain else ""
        if len(plain) + len(separator) + len(piece) > width:
            if len(lines) == most or len(piece) > width:
                break
            lines.append(("", ""))
            plain, painted, separator = "", "", ""
        lines[-1] = (plain + separator + piece,
                     painted + separator + (_paint(glyph, owner, color) + " " if glyph else "") + text)
    return [painted for _, painted in lines]


def _marks_legend(marks: Marks, width: int, color: bool) -> list[str]:
    """plot --analyze: each kind of mark with where it is, the asymptotes, the arrows."""
    entries: list[tuple[str, str, str | None]] = []
    for kind, (glyph, _, name) in KINDS.items():
        places = [mark.text for mark in marks.points if mark.kind == kind]
        if places:
            entries.append((glyph, f"{name} {', '.join(dict.fromkeys(places))}", "mark"))
    if marks.guides:
        entries.append(("⠁ ⠁", "asymptote " + ", ".join(guide.text for guide in marks.guides), "asymptote"))
    directions = [direction for direction in ARROWS if any(run.direction == direction for run in marks.runs)]
    if directions:
        entries.append((" ".join(ARROWS[direction] for direction in directions),
                        ", ".join({"increasing": "rising", "decreasing": "falling"}[d] for d in directions), None))
    return [line for line in _fitted(entries, width, color, MARK_LEGEND_LINES) if line] if entries else []


def _arrows(marks: Marks, data: PlotData, columns: int, color: bool) -> str:
    """↗ under each column where f increases, ↘ where it decreases (the analysis's runs)."""
    step = (data.end - data.start) / columns
    row = []
    for column in range(columns):
        middle = data.start + (column + 0.5) * step
        run = next((run for run in marks.runs if run.start <= middle <= run.end), None)
        row.append(_paint(ARROWS[run.direction], run.direction, color) if run is not None else " ")
    return "".join(row).rstrip()


def no_tangent_reason(data: PlotData) -> str:
    """The short form of `no_tangent`, for the legend and the figure."""
    kinks = data.nondifferentiable
    what = "f or f' is not finite" if not kinks else "f is not continuous" if kinks[0].jump is not None \
        else "f is not differentiable"
    return f"{what} at {data.variable}={tick(data.point)}"
