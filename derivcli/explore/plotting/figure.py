"""A matplotlib figure (an optional dependency: derivcli[plot]) for --output files."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from ...errors import DerivcliError
from .data import FIGURE_SUFFIXES, PlotData
from .marks import KINDS, Marks, marks_of
from .terminal import PRIORITY, no_tangent_reason, panel_ranges, tick

RUN_COLORS = {"increasing": "tab:green", "decreasing": "tab:red"}


# --------------------------------------------------------------------------- files
def save_figure(data: PlotData, path: str | os.PathLike[str]) -> None:
    """Write the plot as PNG, SVG or PDF (by the suffix) with matplotlib's Agg canvas, without pyplot's
    global state."""
    from ...inputs.files import check_files_allowed

    check_files_allowed("--output")
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in FIGURE_SUFFIXES:
        raise DerivcliError(f"cannot write a figure to '{target.name}': unknown file type '{suffix or '(none)'}'",
                            hint="name the file .png, .svg or .pdf")
    import warnings

    with warnings.catch_warnings():  # matplotlib's overflow warnings at the ends of float64: the errors say it
        warnings.simplefilter("ignore", RuntimeWarning)
        figure = build_figure(data)
        try:
            figure.savefig(target, format=suffix[1:])
        except OSError as error:
            raise DerivcliError(f"cannot write {target}: {error.strerror or error}") from None
        except (ValueError, OverflowError, RuntimeError) as error:  # matplotlib at the ends of float64
            text = str(error).strip().splitlines()
            raise DerivcliError(f"cannot draw the figure for {target}: {text[0] if text else type(error).__name__}",
                                hint="try a narrower --from/--to") from None


def build_figure(data: PlotData) -> Any:
    """The panels of the terminal plot, as axes one above the other sharing x: the same ranges, the same
    ^ and v marks where a curve is clipped, a footnote when there is no tangent, and with an analysis its
    marks (each kind's artist has the gid `mark:KIND`), asymptotes and shaded runs."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise DerivcliError("--output needs matplotlib: pip install 'derivcli[plot]'") from None

    panels = panel_ranges(data)
    figure = Figure(figsize=(8, 5 if len(panels) == 1 else 7), layout="constrained")
    FigureCanvasAgg(figure)
    grid = figure.subplots(len(panels), 1, sharex=True, squeeze=False,
                           gridspec_kw={"height_ratios": [3, 2][:len(panels)]})
    name = data.variable
    styles = {"f": {"color": "tab:blue", "linewidth": 2, "label": f"f({name})"},
              "df": {"color": "tab:purple", "linestyle": ":", "linewidth": 1.8, "label": f"f'({name})"}}
    for (axes,), ((low, high), curves) in zip(grid, panels):
        axes.axhline(0, color="0.75", linewidth=0.8)
        for curve in sorted(curves, key=PRIORITY.index):  # legend order; the drawing order is the zorder
            depth = 2 + curves.index(curve)
            if curve == "tangent":
                if data.has_tangent:
                    axes.plot([data.start, data.end], [data.tangent(data.start), data.tangent(data.end)],
                              color="tab:orange", linestyle="--", linewidth=1.4, zorder=depth,
                              label=f"tangent at {name} = {tick(data.point)}")
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
                      label=f"({tick(data.point)}, {tick(data.value)})")
        if "f" in curves and data.analysis is not None:
            _draw_marks(axes, data, marks_of(data.analysis))
        axes.set_ylim(low, high)
        axes.grid(True, alpha=0.3)
        axes.legend(loc="best", fontsize=8 if data.analysis is not None else None)
    grid[0][0].set_xlim(data.start, data.end)
    grid[-1][0].set_xlabel(name)
    grid[0][0].set_title(f"f({name}) = {_shorten(data.expression)}")
    if not data.has_tangent:
        figure.supxlabel(f"no tangent: {no_tangent_reason(data)}", fontsize=9, color="0.3")
    return figure


def _draw_marks(axes: Any, data: PlotData, marks: Marks) -> None:
    """The analysis on f's axes: runs shaded (green rising, red falling), asymptotes dashed, each kind of
    point with its own marker and its x labelled."""
    for run in marks.runs:
        axes.axvspan(run.start, run.end, color=RUN_COLORS[run.direction], alpha=0.06, linewidth=0, zorder=0,
                     gid=f"run:{run.direction}")
    for index, guide in enumerate(marks.guides):
        label = "asymptotes" if index == 0 else None
        if guide.at is not None:
            axes.axvline(guide.at, color="0.4", linestyle=(0, (4, 3)), linewidth=1, zorder=1, label=label,
                         gid="asymptote")
        else:
            axes.plot([data.start, data.end], [guide.y(data.start), guide.y(data.end)], color="0.4",
                      linestyle=(0, (4, 3)), linewidth=1, zorder=1, label=label, gid="asymptote")
    for kind, (_, marker, name) in KINDS.items():
        points = [mark for mark in marks.points if mark.kind == kind]
        if not points:
            continue
        glob = kind.startswith("global")
        axes.plot([mark.x for mark in points], [mark.y for mark in points], marker, linestyle="none",
                  markersize=14 if glob else 8, color="gold" if glob else "tab:green",
                  markeredgecolor="0.2", zorder=7 if glob else 8, label=name, gid=f"mark:{kind}")
        if kind not in ("zero", "jump", "global minimum", "global maximum"):  # those are plain to see
            for mark in points:
                axes.annotate(f"x = {mark.text}", (mark.x, mark.y), textcoords="offset points", fontsize=8,
                              xytext=(0, -14 if kind == "minimum" else 8), ha="center", color="0.25", zorder=9,
                              annotation_clip=True)


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."
