"""The minimize, plot and graph commands, through the CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from derivcli.cli import app


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


def test_minimize_json_contract_and_the_tutorials_descent():
    data = json.loads(cli("minimize", "(x-1.5)**2", "--x", "4", "--lr", "0.1", "--steps", "100", "--tol", "0",
                          "--json").stdout)
    assert {"point", "value", "converged", "steps", "trace"} <= set(data)
    assert data["point"]["x"] == pytest.approx(1.5, abs=1e-8)
    assert [entry["point"]["x"] for entry in data["trace"][:4]] == pytest.approx([4.0, 3.5, 3.1, 2.78])
    assert set(data["trace"][0]) == {"step", "value", "point", "grad_norm"}
    manual = json.loads(cli("minimize", "(x-1.5)**2", "--x", "4", "--steps", "100", "--tol", "0", "--manual",
                            "--json").stdout)
    assert manual["trace"] == data["trace"]


def test_minimize_table_tol_and_divergence():
    table = cli("minimize", "(1-x)**2 + 100*(y-x**2)**2", "--x", "-1.2", "--y", "1", "--optimizer", "lbfgs",
                "--tol", "1e-9", "--format", "table")
    assert table.exit_code == 0 and "converged" in table.stdout
    diverged = cli("minimize", "x**2", "--x", "1", "--lr", "1.5", "--json")
    data = json.loads(diverged.stdout)
    assert data["converged"] is False and data["stopped"].startswith("diverged")
    assert "warning:" in diverged.stderr
    assert cli("minimize", "x**2", "--x", "1", "--optimizer", "newton").exit_code == 2


def test_graph_tree_and_dot():
    tree = cli("graph", "x**2 + sin(x)", "--x", "1")
    assert tree.exit_code == 0
    for name in ("PowBackward0", "SinBackward0", "AddBackward0"):
        assert name in tree.stdout
    dot = cli("graph", "x**2 + sin(x)", "--x", "1", "--dot").stdout
    assert dot.startswith("digraph") and "->" in dot
    data = json.loads(cli("graph", "exp(-(x**2-x+1)/cos(log(x))**2)", "--x", "1", "--json").stdout)
    assert data["root"]["name"] == "ExpBackward0"


def test_plot_in_the_terminal_and_errors():
    result = cli("plot", "sin(x)*exp(-x**2/4)", "--x", "1")
    assert result.exit_code == 0 and "tangent" in result.stdout and "\x1b[" not in result.stdout
    assert any("\u2800" <= char <= "\u28ff" for char in result.stdout)
    bad = cli("plot", "x*y*z", "--x", "1")  # two variables without values: which is the x axis?
    assert bad.exit_code == 2 and bad.stderr.startswith("error: ")
    assert cli("plot", "x", "--x", "1", "--output", "f.gif").exit_code == 2


@pytest.mark.parametrize("suffix, signature", [(".png", b"\x89PNG"), (".svg", b"<svg"), (".pdf", b"%PDF")])
def test_plot_files(tmp_path, suffix, signature):
    pytest.importorskip("matplotlib")
    path = tmp_path / f"plot{suffix}"
    result = cli("plot", "1/x", "--x", "1", "--output", str(path))
    assert result.exit_code == 0, result.stderr
    assert signature in path.read_bytes()[:400]
