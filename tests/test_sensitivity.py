"""`derivcli sensitivity`: elasticities and rankings against hand-computed values, the derivative-based
global measure against its closed form, ranges read before torch loads."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from derivcli.cli import app
from derivcli.errors import DerivcliError
from derivcli.science.sensitivity import sensitivity


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_elasticities_by_hand():
    # f = x²y + sin z at (3, 2, 1): ∂f/∂x = 2xy = 12, ∂f/∂y = x² = 9, ∂f/∂z = cos 1
    f = 18 + math.sin(1)
    result = sensitivity("x**2*y + sin(z)", {"x": 3, "y": 2, "z": 1})
    assert result.value == f
    rows = {row.name: row for row in result.local}
    assert rows["x"].elasticity == pytest.approx(12 * 3 / f, rel=1e-15)
    assert rows["y"].elasticity == pytest.approx(9 * 2 / f, rel=1e-15)
    assert rows["z"].elasticity == pytest.approx(math.cos(1) / f, rel=1e-15)
    assert [row.name for row in result.local] == ["x", "y", "z"]


def test_a_power_law_has_its_exponents_as_elasticities():
    result = sensitivity("c*m**0.5*k**(-1.5)", {"c": 2.3, "m": 7.0, "k": 0.4})
    assert {row.name: row.elasticity for row in result.local} == pytest.approx({"c": 1.0, "m": 0.5, "k": -1.5},
                                                                              rel=1e-14)
    assert [row.name for row in result.local] == ["k", "c", "m"]


def test_where_f_is_zero_elasticities_are_undefined_and_the_ranking_stays():
    result = sensitivity("x**2 - 2*y", {"y": 2, "x": 2})  # |∂f/∂x·x| = 8, |∂f/∂y·y| = 4
    assert result.value == 0 and [row.elasticity for row in result.local] == [None, None]
    assert [row.name for row in result.local] == ["x", "y"] and "undefined" in result.warnings[0]


def test_global_measure_against_its_closed_form():
    # f = x + 2y + xz, x, y ~ U(0, 1), z ~ U(0, 2): E[(1 + z)²] = 13/3, E[2²] = 4, E[x²] = 1/3
    samples = 100_000
    result = sensitivity("x + 2*y + x*z", {}, {"x": (0, 1), "y": (0, 1), "z": (0, 2)}, samples=samples, seed=5)
    nu = {row.name: row.dgsm for row in result.global_}
    assert nu["y"] == 4.0
    assert nu["x"] == pytest.approx(13 / 3, abs=5 * math.sqrt(1.2 / samples) * 4)
    assert nu["z"] == pytest.approx(1 / 3, abs=5 * math.sqrt(0.09 / samples))
    # Var f = Var(x(1 + z)) + 4 Var y = E[x²]E[(1+z)²] - (E[x]E[1+z])² + 4/12 = 13/9 - 1 + 1/3
    assert result.variance == pytest.approx(13 / 9 - 1 + 1 / 3, rel=0.03)
    bound = {row.name: row.sobol_bound for row in result.global_}
    assert bound["y"] == pytest.approx(4 / (math.pi**2 * result.variance), rel=1e-12)
    assert [row.name for row in result.global_][-1] == "z"


def test_ranges_are_read_before_torch_and_checked():
    for text in ("0:", ":2", "0:1:2", "a:b"):
        result = run("sensitivity", "x*y", "--x", text, "--y", "1")
        assert result.exit_code == 2 and result.stderr.startswith("error: --x"), result.stderr
    with pytest.raises(DerivcliError, match="low one first"):
        sensitivity("x", {}, {"x": (2.0, 1.0)})


def test_views():
    table = run("sensitivity", "x**2*y", "--x", "3", "--y", "2", "--format", "table")
    assert table.exit_code == 0 and "elasticity" in table.stdout and "2" in table.stdout
    plain = run("sensitivity", "x**2*y", "--x", "3", "--y", "2").stdout.splitlines()
    assert plain == ["value\t18.0", "input\tx\t3.0\t12.0\t2.0", "input\ty\t2.0\t9.0\t1.0"]
    data = json.loads(run("sensitivity", "x*y", "--x", "0:pi", "--y", "2", "--seed", "1", "--json",
                          "--samples", "1000").stdout)
    assert data["global"]["inputs"][0]["range"] == [0.0, math.pi] and data["point"] == {"y": 2.0}
    assert data["global"]["inputs"][0]["dgsm"] == 4.0
