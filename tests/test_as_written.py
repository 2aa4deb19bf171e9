"""torch computes the expression as written, not SymPy's automatic simplification of it; the table shows
both where they differ, and --check compares like with like."""

from __future__ import annotations

import json
import math

import pytest
from servers import script

import derivcli
from derivcli.parsing import Context, parse

pytestmark = pytest.mark.usefixtures("warm_env")  # the real processes here run warm (conftest)


def test_x_over_x_at_zero_is_nan_as_torch_computes_it_with_the_division_named():
    result = derivcli.grad("x/x", {"x": 0.0})
    assert math.isnan(result.value) and math.isnan(result.gradient["x"])
    assert result.expression == "1" and result.parse.as_written == "x/x"
    assert result.diagnosis[0].node == "x/x" and "divides by zero (0/0)" in result.diagnosis[0].reason
    assert not any("is not in the expression" in warning for warning in result.warnings)


def test_away_from_zero_x_over_x_is_one_with_derivative_zero():
    result = derivcli.grad("x/x", {"x": 2.0}, check=True)
    assert result.value == 1.0 and result.gradient == {"x": 0.0} and result.check.agree


def test_sqrt_squared_is_undefined_below_zero():
    result = derivcli.grad("sqrt(x)**2", {"x": -1.0}, check=True)
    assert math.isnan(result.value)
    assert result.check.verdict("x") == "undefined" and not result.failed


def test_a_variable_that_cancels_keeps_its_row():
    result = derivcli.grad("x - x + y", {"x": 1.0, "y": 2.0})
    assert result.gradient == {"x": 0.0, "y": 1.0} and result.warnings == []
    assert result.to_json()["as_written"] == "-x + x + y" and result.expression == "y"


@pytest.mark.parametrize("text", ["x**2 + 1", "sin(x)*exp(-x)", "exp(-(x**2-x+1)/cos(log(x))**2)", "(x+1)(x-1)",
                                  "x - 1", "1/(1 + exp(-x))"])
def test_where_nothing_simplifies_nothing_is_said(text):
    parsed = parse(text, Context(frozenset({"x"})))
    assert parsed.as_written is None


def test_the_readme_example_keeps_its_numbers():
    result = derivcli.grad("exp(-(x**2-x+1)/cos(log(x))**2)", {"x": 1.0})
    assert (result.value, result.gradient["x"]) == (0.36787944117144233, -0.36787944117144233)


def test_the_table_shows_both_forms_and_json_carries_the_written_one():
    table = script("grad", "2x + 3x", "--x", "1", "--format", "table", env={"COLUMNS": "200"})
    assert table.returncode == 0, table.stderr
    assert "as written: 2*x + 3*x" in table.stdout and "simplifies it to 5*x" in table.stdout
    plain = script("grad", "2x + 3x", "--x", "1", "--explain-parse")
    assert "as-written\t2*x + 3*x" in plain.stdout
    data = json.loads(script("grad", "2x + 3x", "--x", "1", "--json").stdout)
    assert data["expression"] == "5*x" and data["as_written"] == "2*x + 3*x"


def test_the_check_differentiates_what_was_written():
    result = derivcli.grad("x*x/x", {"x": 3.0}, check=True)
    assert result.check.agree and result.gradient == {"x": 1.0}


@pytest.mark.parametrize("text", ["9**9**9", "(2*x)**99999999999", "2**10000*x", "factorial(10**7)"])
def test_the_bounds_still_refuse_the_bombs(text):
    with pytest.raises(derivcli.DerivcliError):
        parse(text)
