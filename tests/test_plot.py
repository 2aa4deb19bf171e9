"""plot: f and f' on a grid by one batched autograd pass, the tangent, gaps at poles and outside the
domain, the braille terminal plot, and figure files (when matplotlib is installed)."""

from __future__ import annotations

import importlib.util
import json
import math
import re

import pytest

from derivcli.errors import DerivcliError
from derivcli.plotting import plot_data, save_figure, terminal_plot

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
    with pytest.raises(DerivcliError, match="empty"):
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
    data = json.loads(json.dumps(plot_data("1/x", {"x": 1}, samples=41).to_json()))
    assert data["variable"] == "x" and len(data["x"]) == len(data["f"]) == len(data["df"]) == 41
    assert None in data["f"]  # x = 0 is on this grid: infinite, so a gap, so null
    assert data["slope"] == -1.0


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
