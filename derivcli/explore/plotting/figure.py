"""A matplotlib figure (an optional dependency: derivcli[plot]) for --output files."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from ...errors import DerivcliError
from .data import FIGURE_SUFFIXES, PlotData
from .terminal import PRIORITY, no_tangent_reason, panel_ranges, tick


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
        axes.set_ylim(low, high)
        axes.grid(True, alpha=0.3)
        axes.legend(loc="best")
    grid[0][0].set_xlim(data.start, data.end)
    grid[-1][0].set_xlabel(name)
    grid[0][0].set_title(f"f({name}) = {_shorten(data.expression)}")
    if not data.has_tangent:
        figure.supxlabel(f"no tangent: {no_tangent_reason(data)}", fontsize=9, color="0.3")
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
