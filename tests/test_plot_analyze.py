"""plot --analyze (issue 25.1): the marks are at the analysis's points (read from the data and the figure
the plotting layer builds, not from pixels), against hand-computed truth; the terminal plot puts each glyph
in the cell of its point; --json carries analyze's own JSON; the mistakes are one error line."""

from __future__ import annotations

import importlib.util
import json
import math

import pytest
from test_schemas import validate
from typer.testing import CliRunner

from derivcli.analyze.report import analyze
from derivcli.cli import app
from derivcli.explore.plotting import terminal_plot
from derivcli.explore.plotting.marks import KINDS, analyzed_plot, marks_of

needs_matplotlib = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None,
                                      reason="matplotlib is not installed")
ROOT3 = math.sqrt(3)


@pytest.fixture(scope="module")
def cubic():
    """x³ − 3x on [−2.5, 2.5]: max (−1, 2), min (1, −2), zeros 0 and ±√3, inflection (0, 0), global max
    f(2.5) = 8.125 and min f(−2.5) = −8.125."""
    return analyzed_plot("x^3 - 3x", start="-2.5", end="2.5", samples=101)


@pytest.fixture(scope="module")
def rational():
    """(x² − 1)/(x² − 4) on [−10, 10]: poles ±2, y = 1 at ±∞, max (0, 1/4), zeros ±1."""
    return analyzed_plot("(x^2 - 1)/(x^2 - 4)", samples=101)


def cli(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "80", "DERIVCLI_NO_SERVER": "1"})


def by_kind(marks, kind):
    return sorted((round(mark.x, 12), round(mark.y, 12)) for mark in marks.points if mark.kind == kind)


# ------------------------------------------------------------------------------------------------ the data
def test_the_marks_are_the_textbook_points(cubic):
    marks = marks_of(cubic.analysis)
    assert by_kind(marks, "maximum") == [(-1.0, 2.0)] and by_kind(marks, "minimum") == [(1.0, -2.0)]
    assert by_kind(marks, "zero") == [(round(-ROOT3, 12), 0.0), (0.0, 0.0), (round(ROOT3, 12), 0.0)]
    assert by_kind(marks, "inflection") == [(0.0, 0.0)]
    assert by_kind(marks, "global maximum") == [(2.5, 8.125)] and by_kind(marks, "global minimum") == [(-2.5, -8.125)]
    assert [(run.direction, run.start, run.end) for run in marks.runs] == [
        ("increasing", -2.5, -1.0), ("decreasing", -1.0, 1.0), ("increasing", 1.0, 2.5)]
    assert not marks.guides and (cubic.start, cubic.end) == (-2.5, 2.5)  # the analysis's interval is plotted


def test_every_mark_comes_from_the_analysis_result(rational):
    """Nothing recomputed: each critical point, zero and asymptote of the result is a mark, as it says."""
    result, marks = rational.analysis, marks_of(rational.analysis)
    assert [(m.x, m.y, m.kind) for m in marks.points if m.kind in ("maximum", "minimum", "neither")] == [
        (point.at.x, point.value.value, point.kind) for point in result.critical_points]
    assert [guide.text for guide in marks.guides] == ["x = −2", "x = 2", "y = 1"]
    assert [(guide.at, guide.slope, guide.intercept) for guide in marks.guides] == [
        (-2.0, 0.0, 0.0), (2.0, 0.0, 0.0), (None, 0.0, 1.0)]
    assert by_kind(marks, "maximum") == [(0.0, 0.25)] and by_kind(marks, "zero") == [(-1.0, 0.0), (1.0, 0.0)]
    assert not by_kind(marks, "global maximum")  # f grows without bound near the poles


def test_corners_carry_f_there():
    result = analyze("abs(x^2 - 4)", "-3", "3")
    assert [(point.at.x, point.kind, point.value.value, point.value.text) for point in result.nondifferentiable] == [
        (-2.0, "corner", 0.0, "0"), (2.0, "corner", 0.0, "0")]
    marks = marks_of(result)
    assert by_kind(marks, "corner") == [(-2.0, 0.0), (2.0, 0.0)]
    assert by_kind(marks, "global maximum") == [(-3.0, 5.0), (3.0, 5.0)]


def test_the_terminal_plot_puts_each_glyph_in_its_points_cell(cubic):
    width, height = 80, 30
    lines = terminal_plot(cubic, width=width, height=height, color=False).splitlines()
    assert len(lines) == height and all(len(line) <= width for line in lines)
    rows = [line for line in lines if "┤" in line[:12] or "│" in line[:12]]
    margin = rows[0].index("┤")
    columns = width - margin - 1
    low, high = cubic.y_range

    def cell(x: float, y: float) -> tuple[int, int]:  # the canvas's own arithmetic, done by hand
        px = round((x - cubic.start) / (cubic.end - cubic.start) * (2 * columns - 1))
        py = round((high - y) / (high - low) * (4 * len(rows) - 1))
        return px // 2, py // 4

    for glyph, (x, y) in (("▲", (-1.0, 2.0)), ("▼", (1.0, -2.0))):
        column, row = cell(x, y)
        assert rows[row][margin + 1 + column] == glyph
    assert any(line.startswith("○ zeros −√3, 0, √3") for line in lines)
    assert "▲ max −1" in "\n".join(lines) and "★ global max 5/2" in "\n".join(lines)
    arrows = next(line for line in lines if "↗" in line).strip()
    assert arrows.startswith("↗") and "↘" in arrows and arrows.endswith("↗")


def test_asymptotes_are_drawn_dashed_in_the_terminal(rational):
    text = terminal_plot(rational, width=80, height=30, color=False)
    assert "asymptote x = −2, x = 2, y = 1" in text


@needs_matplotlib
def test_the_figure_marks_the_analysis_points(cubic, rational):
    from derivcli.explore.plotting.figure import build_figure

    axes = build_figure(cubic).axes[0]
    marked = {line.get_gid(): list(zip(line.get_xdata(), line.get_ydata())) for line in axes.lines
              if (line.get_gid() or "").startswith("mark:")}
    assert marked["mark:maximum"] == [(-1.0, 2.0)] and marked["mark:minimum"] == [(1.0, -2.0)]
    assert marked["mark:inflection"] == [(0.0, 0.0)] and len(marked["mark:zero"]) == 3
    assert {line.get_marker() for line in axes.lines if (line.get_gid() or "").startswith("mark:")} >= {"^", "v"}
    shaded = [patch.get_gid() for patch in axes.patches if (patch.get_gid() or "").startswith("run:")]
    assert shaded == ["run:increasing", "run:decreasing", "run:increasing"]
    guides = [line for line in build_figure(rational).axes[0].lines if line.get_gid() == "asymptote"]
    assert sorted(tuple(line.get_xdata())[0] for line in guides if line.get_xdata()[0] == line.get_xdata()[1]) == [
        -2.0, 2.0]
    assert any(list(line.get_ydata()) == [1.0, 1.0] for line in guides)


def test_every_kind_has_its_own_terminal_glyph_or_shares_only_with_its_family():
    families = {"jump": "x", "corner": "x", "cusp": "x", "vertical tangent": "x", "global minimum": "*",
                "global maximum": "*"}
    glyphs: dict[str, set[str]] = {}
    for kind, (glyph, _, _) in KINDS.items():
        glyphs.setdefault(glyph, set()).add(families.get(kind, kind))
    assert all(len(kinds) == 1 for kinds in glyphs.values())


# ---------------------------------------------------------------------------------------------- the command
def test_json_carries_analyzes_own_json():
    plotted = json.loads(cli("plot", "x e^-x", "--analyze", "--samples", "5", "--json").stdout)
    alone = json.loads(cli("analyze", "x e^-x", "--json").stdout)
    assert plotted["analysis"] == alone and plotted["interval"] == [-10.0, 10.0]
    validate(plotted, "plot")
    validate(plotted["analysis"], "analyze")


@pytest.mark.parametrize("argv, message", [
    (["x*y"], "error: analyze studies a function of one variable; say which with --wrt"),
    (["x*y", "--wrt", "x"], "error: analyze studies a function of one variable; y has no value"),
    (["x^2 + y^2 = 25", "--implicit", "--x", "3", "--y", "4"], "error: --analyze studies a function of one"),
    (["x^2", "--from", "2pi", "--to", "1"], "error: --from 2*pi must be less than --to 1"),
])
def test_mistakes_are_one_error_line(argv, message):
    shown = cli("plot", *argv[:1], "--analyze", *argv[1:])
    assert shown.exit_code == 2 and shown.stdout == ""
    assert shown.stderr.startswith(message) and len(shown.stderr.splitlines()) == 1


def test_plot_reads_constants_in_from_and_to():
    data = json.loads(cli("plot", "sin x", "--from", "0", "--to", "2pi", "--samples", "3", "--json").stdout)
    assert data["interval"] == [0.0, 2 * math.pi]


def test_a_real_process_draws_the_marks(warm_env):
    from servers import script

    shown = script("plot", "sin x", "--analyze", "--from", "0", "--to", "2pi", env={"COLUMNS": "80", "LINES": "30"})
    assert shown.returncode == 0, shown.stderr
    assert "▲ max π/2" in shown.stdout and "▼ min 3π/2" in shown.stdout and "◇ inflection π" in shown.stdout


def test_a_point_beyond_the_y_range_is_said_in_a_note():
    """1/(x² + 1/1000): its maximum f(0) = 1000 is a spike the y range clips."""
    data = analyzed_plot("1/(x^2 + 1/1000)", start="-1", end="1", samples=201)
    assert data.y_range[1] < 1000
    (note,) = [note for note in data.notes if note.startswith("not marked")]
    assert "max x = 0 (f = 1000)" in note and "global max x = 0 (f = 1000)" in note
