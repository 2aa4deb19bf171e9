"""A student's own notation (issue 25.4): vulgar fractions as exact rationals, subscript digits as part of a
name (`log₂`, `log₁₀`, `x₁`), and a note where `x^1/2` is read as x/2."""

from __future__ import annotations

import math

import pytest
import sympy as sp
from typer.testing import CliRunner

import derivcli
from derivcli.cli import app
from derivcli.errors import DerivcliError
from derivcli.parsing import parse
from derivcli.parsing.unicode import ascii_binding_name

X = sp.Symbol("x", real=True)


@pytest.mark.parametrize("text, expected", [
    ("½x²", X**2 / 2),
    ("⅓x³ + ¾x", X**3 / 3 + sp.Rational(3, 4) * X),
    ("¼x - ⅔", X / 4 - sp.Rational(2, 3)),
    ("⅞(x + 1)", sp.Rational(7, 8) * (X + 1)),
])
def test_vulgar_fractions_are_exact_rationals(text, expected):
    parsed = parse(text)
    assert sp.simplify(parsed.expr - expected) == 0
    assert all(isinstance(number, sp.Rational) for number in parsed.expr.atoms(sp.Number))  # never 0.5
    assert any("read as (" in note for note in parsed.notes)


def test_a_fraction_s_derivative_is_the_exact_one():
    result = derivcli.grad("½x²", x=3)
    assert (result.value, result.gradient["x"]) == (4.5, 3.0)


@pytest.mark.parametrize("text, base", [("log₂x", 2), ("log₁₀(x + 1)", 10), ("log₂ x", 2)])
def test_subscript_digits_after_log_are_its_base(text, base):
    parsed = parse(text)
    argument = X + 1 if "+" in text else X
    assert sp.simplify(parsed.expr - sp.log(argument) / sp.log(base)) == 0
    gradient = derivcli.grad(text, x=5).gradient["x"]
    assert gradient == pytest.approx(1 / (float(argument.subs(X, 5)) * math.log(base)), rel=1e-15)


def test_subscript_digits_after_a_variable_make_its_name():
    parsed = parse("x₁^2 + x₂")
    assert sorted(parsed.variables) == ["x_1", "x_2"]
    assert ascii_binding_name("x₁") == "x_1" and ascii_binding_name("θ₂") == "theta_2"
    result = derivcli.grad("x₁^2 + x₂", x_1=3, x_2=1)
    assert result.gradient == {"x_1": 6.0, "x_2": 1.0}


@pytest.mark.parametrize("text, message", [
    ("2½", "'2½' reads two ways: 2 + 1/2 or 2*(1/2)"),
    ("₂x", "a subscript belongs to the name before it"),
    ("(x)₁", "a subscript belongs to the name before it"),
])
def test_readings_that_are_not_clear_are_errors_with_their_column(text, message):
    with pytest.raises(DerivcliError) as caught:
        parse(text)
    assert caught.value.message.startswith(message) and caught.value.span is not None


@pytest.mark.parametrize("text, note", [
    ("x^1/2", "'x^1/2' read as (x^1)/2, as Python reads it; write x^(1/2) for the power 1/2 (the square root)"),
    ("x**1/3", "'x**1/3' read as (x**1)/3, as Python reads it; write x**(1/3) for the power 1/3 (the cube root)"),
    ("x^2/3 + 1", "'x^2/3' read as (x^2)/3, as Python reads it; write x^(2/3) for the power 2/3"),
])
def test_a_power_over_a_number_is_read_as_python_reads_it_with_a_note(text, note):
    parsed = parse(text)
    assert note in parsed.notes
    numerator, denominator = text.split("+")[0].strip().replace("^", "**").split("/")
    assert sp.simplify(parsed.expr - (parse(numerator).expr / int(denominator) + (1 if "+" in text else 0))) == 0


@pytest.mark.parametrize("text", ["x^(1/2)", "x^(1)/2", "x²/3", "x^1/y"])
def test_no_note_where_the_writing_is_unambiguous(text):
    assert not any("as Python reads it" in note for note in parse(text).notes)


def test_the_cli_reads_a_fraction_and_shows_the_note():
    result = CliRunner().invoke(app, ["grad", "x^1/2", "--x", "4", "--format", "plain", "--explain-parse"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "d/dx\t0.5" in lines and any("write x^(1/2) for the power 1/2" in line for line in lines)
