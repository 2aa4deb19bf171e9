"""plot: f and f' on a grid by one batched autograd pass, the tangent (and none at a kink), gaps at poles
and outside the domain, y ranges that a spike cannot flatten, the braille terminal plot, figure files
(when matplotlib is installed), and the command's errors and help."""

from __future__ import annotations

import importlib.util
import json
import math
import re

import pytest
import typer.main
from typer.testing import CliRunner

from derivcli.cli import app
from derivcli.errors import DerivcliError
from derivcli.explore.plotting import plot_data, save_figure, terminal_plot
from derivcli.explore.plotting.terminal import COLORS as _COLORS

ANSI = re.compile(r"\x1b\[[0-9;]*m")
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
needs_matplotlib = pytest.mark.skipif(not HAS_MATPLOTLIB, reason="matplotlib is not installed")


def wave(x: float) -> float:
    return math.sin(x) * math.exp(-x * x / 4)


def wave_slope(x: float) -> float:
    return (math.cos(x) - x / 2 * math.sin(x)) * math.exp(-x * x / 4)


# --------------------------------------------------------------------------- data
def test_derivative_matches_the_formula_on_the_grid():
    data = plot_data("sin(x)*exp(-x**2/4)", {"x": 1})
    assert (data.start, data.end) == (-1.0, 3.0) and len(data.x) == 400
    assert data.f == pytest.approx([wave(x) for x in data.x], abs=1e-12)
    assert data.df == pytest.approx([wave_slope(x) for x in data.x], abs=1e-12)


def test_tangent_touches_at_the_point():
    data = plot_data("sin(x)*exp(-x**2/4)", {"x": 1})
    assert data.value == pytest.approx(wave(1)) and data.slope == pytest.approx(wave_slope(1))
    assert data.tangent(1.0) == pytest.approx(wave(1))
    assert data.tangent(2.0) - data.tangent(1.0) == pytest.approx(wave_slope(1))


def test_pole_is_a_gap():
    data = plot_data("1/x", {"x": 1})
    near = [f for x, f in zip(data.x, data.f) if abs(x) < 0.02]
    assert any(math.isnan(f) for f in near)
    assert not any(math.isnan(f) for x, f in zip(data.x, data.f) if abs(x) > 0.1)
    assert any("pole" in note for note in data.notes)
    low, high = data.y_range
    assert -50 < low < -1 and 1 < high < 50  # robust, not ±400 from the samples beside the pole


def test_outside_the_domain_is_nan():
    data = plot_data("log(x)", {"x": 1})
    assert all(math.isnan(f) for x, f in zip(data.x, data.f) if x <= 0)
    assert all(math.isnan(d) for x, d in zip(data.x, data.df) if x <= 0)  # not autograd's 1/x there
    assert all(math.isfinite(f) for x, f in zip(data.x, data.f) if x > 0)
    assert any("undefined" in note for note in data.notes)


def test_growth_is_drawn_in_full():
    data = plot_data("exp(x)", {"x": 10})
    assert data.y_range[1] >= math.exp(20)
    assert not any("pole" in note for note in data.notes)


def test_interval_options():
    data = plot_data("x**2", {"x": 0}, start=-1, end=1, samples=5)
    assert data.x == [-1.0, -0.5, 0.0, 0.5, 1.0] and data.f == [1.0, 0.25, 0.0, 0.25, 1.0]
    assert data.df == [-2.0, -1.0, 0.0, 1.0, 2.0]
    with pytest.raises(DerivcliError, match="--from must be below --to"):
        plot_data("x", {"x": 0}, start=1, end=1)
    with pytest.raises(DerivcliError, match="samples"):
        plot_data("x", {"x": 0}, samples=1)


def test_other_variables_are_held():
    data = plot_data("a*x**2", {"a": 3}, start=0, end=1, samples=3)  # x is the one without a value
    assert data.variable == "x" and data.held == {"a": 3.0}
    assert data.f == [0.0, 0.75, 3.0] and data.point == 0.5
    data = plot_data("a*x**2", {"a": 3, "x": 2}, wrt="x")
    assert data.value == 12.0 and data.slope == 12.0


def test_whole_tensor_functions_are_evaluated_point_by_point():
    data = plot_data("sum(x)*x", {"x": 1}, start=0, end=2, samples=3)  # sum over a batch would mix points
    assert data.f == [0.0, 1.0, 4.0] and data.df == [0.0, 2.0, 4.0]


def test_constant_function():
    data = plot_data("3", {})
    assert set(data.f) == {3.0} and set(data.df) == {0.0}


@pytest.mark.parametrize(("expression", "point", "message"), [
    ("x*y", {}, "one variable"),
    ("x*y", {"x": 1}, "no value for variable y"),
    ("x*y", {"x": 1, "y": 2}, "--wrt"),
    ("sum(x)", {"x": [1, 2]}, "tensor"),
])
def test_more_than_one_free_variable_or_a_tensor_is_an_error(expression, point, message):
    with pytest.raises(DerivcliError, match=message):
        plot_data(expression, point, wrt=None if message != "no value for variable y" else "x")


def test_json():
    plot = plot_data("1/x", {"x": 1}, samples=5)
    data = plot.to_json()
    assert data["x"] == [-1.0, 0.0, 1.0, 2.0, 3.0] and len(data["f"]) == len(data["df"]) == 5
    assert math.isnan(plot.f[1])  # x = 0 is on this grid: infinite, so a gap
    assert data["point"] == {"x": 1.0} and data["held"] == {}  # an object, as every command's point
    assert data["slope"] == -1.0 and data["tangent"] == {"value": 1.0, "slope": -1.0} and data["no_tangent"] is None
    assert data["nondifferentiable"] == [] and isinstance(data["clipped"], list)
    assert data["df_range"] is None or len(data["df_range"]) == 2


# --------------------------------------------------------------------------- y ranges
def test_a_spike_at_the_end_does_not_flatten_the_rest():
    # log's derivative is 100 at x = 0.01: min..max would make f and the tangent flat lines
    data = plot_data("log(x)", {"x": 2}, start=0.01, end=5)
    low, high = data.y_range
    assert low < math.log(0.01) and high >= data.tangent(5)  # f and the tangent in full ...
    assert high < 20 and len(data.clipped) == 1  # ... f' cut near 0.01
    assert (data.clipped[0].curve, data.clipped[0].x, data.clipped[0].value) == ("df", 0.01, 100.0)
    assert "f'(x) is clipped (marked ^) near x = 0.01 (to 100)" in data.notes
    lines = terminal_plot(data, width=80, height=24, color=True).split("\n")
    rows = lines[:21]
    assert sum(_COLORS["f"] in line for line in rows) >= len(rows) // 3  # log's shape, not a line
    assert sum(_COLORS["tangent"] in line for line in rows) >= 3
    assert "^" in ANSI.sub("", rows[0])  # where f' leaves the top
    assert "^ v clipped" in lines[-1]


def test_a_derivative_that_dwarfs_f_gets_a_panel_of_its_own():
    data = plot_data("100 + sin(x)", {"x": 1})  # f within 99..101, f' within -1..1: one panel would flatten both
    assert data.df_range is not None
    assert 98.9 < data.y_range[0] < 99.2 and 101.8 < data.y_range[1] < 102.1  # f and the tangent
    assert -1.2 < data.df_range[0] < -0.98 and 1.0 <= data.df_range[1] < 1.2
    text = ANSI.sub("", terminal_plot(data, width=70, height=20, color=True))
    lines = text.split("\n")
    assert len(lines) == 20 and all(len(line) <= 70 for line in lines)
    divider = [index for index, line in enumerate(lines) if "├─" in line]
    assert len(divider) == 1 and lines[divider[0] - 1].split()[0] < "99.1"  # f's panel, then f''s
    assert lines[divider[0] + 1].split()[0].startswith("1.")
    shared = plot_data("sin(x)*exp(-x**2/4)", {"x": 1})
    assert shared.df_range is None and not any("├" in line for line in terminal_plot(shared).split("\n"))


def test_growth_and_poles_keep_their_ranges_finite_and_their_notes_true():
    for expression, point in (("tan(x)", 1), ("1/x**2", 1), ("exp(x)", 10), ("x", 1e308)):
        data = plot_data(expression, {"x": point})
        ranges = [data.y_range, *([data.df_range] if data.df_range else [])]
        assert all(math.isfinite(end) and low < high for low, high in ranges for end in (low, high))
        for clip in data.clipped:  # every clip is a sample beyond its panel
            low, high = data.df_range if clip.curve == "df" and data.df_range else data.y_range
            assert not low <= clip.value <= high


# --------------------------------------------------------------------------- no tangent at a kink
def test_no_tangent_where_f_is_not_differentiable():
    data = plot_data("abs(x)", {"x": 0})
    assert not data.has_tangent and data.slope == 0.0  # autograd's subgradient, not a slope
    assert data.no_tangent.startswith("f is not differentiable at x = 0 (abs(x) at column 1): left derivative -1, "
                                      "right derivative 1")
    assert f"no tangent: {data.no_tangent}" in data.notes
    payload = data.to_json()
    assert payload["tangent"] is None and payload["no_tangent"] == data.no_tangent
    assert [(kink["left"], kink["right"], kink["node"]) for kink in payload["nondifferentiable"]] == [(-1.0, 1.0,
                                                                                                      "abs(x)")]
    text = terminal_plot(data, color=True)
    assert _COLORS["tangent"] not in text and "● (0, 0)" in ANSI.sub("", text)
    assert "no tangent: f is not differentiable at x=0" in ANSI.sub("", text.split("\n")[-1])
    assert plot_data("abs(x)", {"x": 0.5}).has_tangent  # away from the kink there is one


def test_no_tangent_across_a_jump():
    data = plot_data("floor(x)", {"x": 1})
    assert not data.has_tangent and "f is not continuous at x = 1" in data.no_tangent
    assert "no tangent: f is not continuous at x=1" in terminal_plot(data, color=False).split("\n")[-1]


# --------------------------------------------------------------------------- terminal
def test_terminal_plot_size_and_braille():
    text = terminal_plot(plot_data("sin(x)*exp(-x**2/4)", {"x": 1}), width=60, height=15, color=False)
    lines = text.split("\n")
    assert len(lines) == 15
    assert all(len(line) <= 60 for line in lines)
    assert any("\u2800" < char <= "\u28ff" for char in text)
    assert "●" in text and not ANSI.search(text)
    assert "f'(x)" in lines[-1] and "tangent at x=1" in lines[-1]
    assert lines[-2].split() == ["-1", "x=1", "3"]


def test_terminal_plot_colour():
    data = plot_data("sin(x)*exp(-x**2/4)", {"x": 1})
    text = terminal_plot(data, color=True)
    assert ANSI.search(text)
    plain = ANSI.sub("", text)
    assert plain == terminal_plot(data, color=False)
    assert len(plain.split("\n")) == 24 and max(len(line) for line in plain.split("\n")) <= 80


def test_terminal_plot_with_gaps_does_not_fail():
    for expression in ("1/x", "log(x)", "tan(x)", "sqrt(x)", "3"):
        text = terminal_plot(plot_data(expression, {"x": 1}), width=50, height=10, color=False)
        assert len(text.split("\n")) == 10


def test_terminal_plot_too_small():
    with pytest.raises(DerivcliError, match="at least"):
        terminal_plot(plot_data("x", {"x": 1}), width=12, height=4)


# --------------------------------------------------------------------------- files
def test_unknown_suffix_is_an_error(tmp_path):
    with pytest.raises(DerivcliError, match="unknown file type '.jpg'") as error:
        save_figure(plot_data("x", {"x": 1}), tmp_path / "plot.jpg")
    assert error.value.one_line().endswith("name the file .png, .svg or .pdf")
    assert not (tmp_path / "plot.jpg").exists()


@needs_matplotlib
def test_png_and_svg(tmp_path):
    data = plot_data("sin(x)*exp(-x**2/4)", {"x": 1})
    save_figure(data, tmp_path / "plot.png")
    save_figure(data, str(tmp_path / "plot.SVG"))
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (tmp_path / "plot.SVG").read_text()


@needs_matplotlib
def test_figure_with_gaps(tmp_path):
    save_figure(plot_data("1/x", {"x": 1}), tmp_path / "pole.pdf")
    assert (tmp_path / "pole.pdf").read_bytes()[:4] == b"%PDF"


def svg_of(data, tmp_path) -> str:
    """The figure as SVG, its text kept as text (not glyph paths) so that it can be read."""
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none"}):
        save_figure(data, tmp_path / "plot.svg")
    return (tmp_path / "plot.svg").read_text()


@needs_matplotlib
def test_figure_panels_clips_and_tangent(tmp_path):
    assert svg_of(plot_data("100 + sin(x)", {"x": 1}), tmp_path).count('<g id="axes_') == 2
    svg = svg_of(plot_data("log(x)", {"x": 2}, start=0.01, end=5), tmp_path)
    assert svg.count('<g id="axes_') == 1 and "f'(x) clipped" in svg and "tangent at x = 2" in svg
    svg = svg_of(plot_data("abs(x)", {"x": 0}), tmp_path)
    assert "no tangent: f is not differentiable at x=0" in svg and "tangent at" not in svg


@needs_matplotlib
def test_unwritable_path_is_an_error(tmp_path):
    with pytest.raises(DerivcliError, match="cannot write"):
        save_figure(plot_data("x", {"x": 1}), tmp_path / "missing" / "plot.png")


def test_missing_matplotlib_is_a_clear_error(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib...` raise ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(DerivcliError, match=r"pip install 'derivcli\[plot\]'"):
        save_figure(plot_data("x", {"x": 1}), tmp_path / "plot.png")


# --------------------------------------------------------------------------- the command
def cli(*args: str, columns: int = 80):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns)})


@pytest.mark.parametrize("args", [["--from", "3", "--to", "0"], ["--from", "nan"], ["--to", "inf"], ["--samples", "1"],
                                  ["--samples", "100001"], ["--wrt", "y"], ["--x", "[1, 2]"], ["--output", "f.gif"]])
def test_errors_name_options_that_plot_has(args):
    result = cli("plot", "x", *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: ")
    options = {opt for param in typer.main.get_command(app).commands["plot"].params for opt in param.opts}
    named = set(re.findall(r"--[a-z][a-z-]*", result.stderr))
    assert named <= options, named - options


def test_from_below_to_is_said_with_those_names():
    result = cli("plot", "x", "--from", "3", "--to", "0")
    assert result.stderr == "error: --from must be below --to, got the interval [3, 0]\n"


@pytest.mark.parametrize("command", ["plot", "minimize"])
def test_help_fits_80_columns_and_keeps_examples_whole(command):
    from rich.cells import cell_len

    text = cli(command, "--help").stdout
    assert all(cell_len(line) <= 80 for line in text.splitlines())
    epilog = typer.main.get_command(app).commands[command].epilog
    examples = [line.strip() for line in epilog.splitlines() if line.strip().startswith(("derivcli", "--"))]
    assert examples and all(example in text for example in examples)  # none wrapped


def test_help_names_the_plot_extra():
    text = cli("plot", "--help").stdout
    assert "pip install 'derivcli[plot]'" in text and "pip install 'derivcli'" not in text


def test_json_point_is_an_object():
    data = json.loads(cli("plot", "x**2*y", "--x", "1", "--y", "3", "--wrt", "x", "--samples", "3", "--json").stdout)
    assert data["point"] == {"x": 1.0} and data["held"] == {"y": 3.0} and data["x"] == [-1.0, 1.0, 3.0]
