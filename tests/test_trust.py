"""Answers you can trust: where a value or a derivative is not finite, derivcli names the operation
that made it so, with its column and the reason."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import derivcli


def only(result):
    assert len(result.diagnosis) == 1, result.diagnosis
    return result.diagnosis[0]


@pytest.mark.parametrize(("text", "point", "node", "column", "reason"), [
    ("log(x - 2)", {"x": 1.0}, "log(x - 2)", 1, "gets -1, outside log's domain"),
    ("2 + log(x)", {"x": 0.0}, "log(x)", 5, "where log is -inf"),
    ("x + sqrt(x - 3)", {"x": 1.0}, "sqrt(x - 3)", 5, "a negative number to the power 1/2 is not real"),
    ("exp(x) + 1", {"x": 1000.0}, "exp(x)", 1, "overflows float64 at 1000"),
    ("1/x + 2", {"x": 0.0}, "1/x", 1, "divides by zero"),
    ("asin(x)", {"x": 2.0}, "asin(x)", 1, "outside asin's domain"),
    ("y + x/y", {"x": 0.0, "y": 0.0}, "x/y", 5, "divides by zero (0/0)"),
])
def test_the_first_non_finite_operation_is_named_with_its_column(text, point, node, column, reason):
    diagnosis = only(derivcli.grad(text, point))
    assert diagnosis.of == "value" and diagnosis.node == node and diagnosis.column == column
    assert reason in diagnosis.reason


def test_a_non_finite_derivative_is_traced_to_the_slope_that_made_it():
    result = derivcli.grad("1 + sqrt(x)", {"x": 0.0})
    assert result.value == 1.0
    diagnosis = only(result)
    assert (diagnosis.of, diagnosis.result, diagnosis.node, diagnosis.column) == ("d/dx", "inf", "sqrt(x)", 5)
    assert "infinite slope where its argument is 0" in diagnosis.reason
    assert "d/dx is inf: sqrt(x) at column 5 has an infinite slope where its argument is 0" in result.warnings


def test_a_tensor_names_its_first_non_finite_element_and_the_number_there():
    diagnosis = only(derivcli.grad("sum(log(x))", {"x": [1.0, -2.0, 3.0]}))
    assert diagnosis.element == [1] and "gets -2" in diagnosis.reason


def test_a_large_finite_value_is_not_diagnosed():
    """tan at the float nearest pi/2 is about 1.6e16: finite, so nothing to explain."""
    import math

    result = derivcli.grad("tan(x)", {"x": math.pi / 2})
    assert result.value > 1e16 and result.diagnosis == [] and result.warnings == []


def test_a_finite_answer_costs_no_diagnosis():
    assert derivcli.grad("log(x)", {"x": 2.0}).diagnosis == []


def test_the_diagnosis_is_in_the_json_and_on_stderr():
    done = subprocess.run([sys.executable, "-m", "derivcli", "grad", "log(x - 2)", "--x", "1", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["diagnosis"] == [{"of": "value", "result": "nan", "node": "log(x - 2)", "column": 1,
                                  "reason": "gets -1, outside log's domain", "element": None}]
    assert done.stderr == "warning: the value is nan: log(x - 2) at column 1 gets -1, outside log's domain\n"
