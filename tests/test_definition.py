"""`derivcli steps --definition` (issue 25.2): f′ from the limit of the difference quotient on a dozen
functions, each result equal to SymPy's derivative and every line checked; at a point the secant slopes
for h = 1e-1 … 1e-8 converging on autograd's f′, each row's regime as the error estimates say."""

from __future__ import annotations

import json
import math

import mpmath
import pytest
import sympy as sp
from servers import script
from typer.testing import CliRunner

import derivcli
from derivcli.cli import app
from derivcli.errors import DerivcliError
from derivcli.parsing import parse
from derivcli.steps import definition
from derivcli.steps.definition import check

pytestmark = pytest.mark.usefixtures("warm_env")  # the real processes here run warm (conftest)

FUNCTIONS = ["x^2", "3x^2 + 2x + 1", "x^3 - x", "1/x", "x/(x + 1)", "(x^2 + 1)/(x - 1)", "sqrt(x)", "sqrt(2x + 1)",
             "cbrt(x)", "x^(1/4)", "sin x", "cos(3x)", "e^x", "2e^(3x + 1)", "x^2 + sin x", "5sin(2x - 1) + 1/x"]


@pytest.mark.parametrize("text", FUNCTIONS)
def test_the_limit_gives_sympy_s_derivative_and_every_line_checks(text):
    result = definition(text)
    parsed = parse(text)
    x = parsed.symbols["x"]
    assert result.verified is True
    derivative = parse(result.derivative.text, None).expr.subs(sp.Symbol("x", real=True), x)
    assert sp.simplify(derivative - sp.diff(parsed.expr, x)) == 0
    for derivation in result.derivations:
        lines = derivation.lines
        assert lines[0].limit and not lines[-1].limit and all(line.check != "FAILED" for line in lines)
        assert [line.check for line in lines][:1] == ["the definition"] and lines[-1].check == "limit"
        assert lines[0].reason == "write f(x + h) and f(x)" and lines[-1].reason.startswith("let h → 0")


@pytest.mark.parametrize("text, kind", [
    ("x^2", "expand f(x + h): the terms of f(x) cancel"), ("1/x", "one fraction: a common denominator"),
    ("sqrt(x)", "multiply above and below by the conjugate"), ("sin x", "sin(u + v) = sin(u)*cos(v)"),
    ("cos x", "cos(u + v) = cos(u)*cos(v) - sin(u)*sin(v)"), ("e^x", "e**(u + v) = e**u*e**v"),
])
def test_each_kind_of_function_takes_its_own_road(text, kind):
    reasons = [line.reason for line in definition(text).derivations[0].lines]
    assert any(reason.startswith(kind) for reason in reasons), reasons


def test_the_board_writes_f_of_x_plus_h_as_a_teacher_does():
    lines = [line.text("h") for line in definition("x^2").derivations[0].lines]
    assert lines == ["lim(h->0) ((x + h)**2 - x**2)/h", "lim(h->0) (h**2 + 2*h*x)/h", "lim(h->0) (h + 2*x)", "2*x"]
    pretty = [line.text("h", "pretty") for line in definition("sin x").derivations[0].lines]
    assert pretty[0] == "lim h→0 (sin(x + h) − sin(x))/h" and pretty[-1] == "cos(x)"
    assert definition("x^2").derivations[0].lines[0].text("h", "latex") == \
        r"\lim_{h \to 0} \frac{\left(x + h\right)^{2} - x^{2}}{h}"


def test_a_wrong_line_fails_its_check():
    result = definition("x^2")
    derivation = result.derivations[0]
    x, h = sp.Symbol("x", real=True), sp.Symbol("h", real=True)
    derivation.lines[2].value = 2 * x + 2 * h  # not (x + h)² - x² over h
    assert check(derivation, x, h) is False and derivation.lines[2].check == "FAILED"


def test_h_is_renamed_when_f_uses_it():
    result = definition("h^2 + x", wrt="h")
    assert result.step == "k" and result.derivative.text == "2*h"


@pytest.mark.parametrize("text", ["tan x", "x^x", "sin(x^2)"])
def test_what_it_cannot_take_the_limit_of_is_one_error(text):
    with pytest.raises(DerivcliError, match="steps --definition does not know how"):
        definition(text)


# -------------------------------------------------------------------------------- the secant table
@pytest.mark.parametrize("text, a", [("x^2", 3.0), ("sin x", 1.0), ("e^x", 0.5), ("1/x", 2.0), ("sqrt(x)", 4.0),
                                     ("x^3 - x", -1.5)])
def test_secant_slopes_converge_on_autograd_and_their_regimes_follow_the_estimates(text, a):
    result = definition(text, point={"x": a})
    x = mpmath.mpf(a)
    f = sp.lambdify(parse(text).symbols["x"], parse(text).expr, "mpmath")
    slope, second = mpmath.diff(f, x), mpmath.diff(f, x, 2)
    assert result.gradient == derivcli.grad(text, x=a).gradient["x"]  # autograd's number, as grad gives it
    assert result.gradient == pytest.approx(float(slope), rel=1e-14)
    assert [row.h for row in result.secants] == [10.0**-k for k in range(1, 9)]
    eps = 2.0**-52
    for row in result.secants:
        exact_quotient = (f(mpmath.mpf(a) + mpmath.mpf(row.h)) - f(x)) / row.h  # the quotient without round-off
        rounding = 8 * eps * (abs(float(f(x))) + abs(a * float(slope)) + 1) / row.h
        assert abs(row.slope - float(exact_quotient)) <= rounding + 1e-300  # only round-off separates them
        assert row.error == row.slope - result.gradient
    first, last = result.secants[0], result.secants[-1]
    assert first.regime == "truncation" and abs(first.error) == pytest.approx(abs(float(second)) * 0.1 / 2, rel=0.2)
    assert last.regime == "round-off" and abs(last.error) < 1e-6 * max(1.0, abs(result.gradient))


# ------------------------------------------------------------------------------------------- the CLI
def cli(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["steps", *args], env={"COLUMNS": "80", "NO_COLOR": "1"})


def test_plain_and_json_views():
    plain = cli("x^2", "--definition", "--x", "3", "--format", "plain").stdout.splitlines()
    assert plain[:3] == ["f\tx**2", "definition\tf'(x) = lim(h->0) (f(x + h) - f(x))/h",
                         "line\tlim(h->0) ((x + h)**2 - x**2)/h\twrite f(x + h) and f(x)"]
    assert "derivative\t2*x" in plain and plain[-1] == "d/dx\t6.0"
    assert [line.split("\t")[-1] for line in plain if line.startswith("secant")][-1] == "round-off"
    data = json.loads(cli("x^2 + sin x", "--definition", "--x", "1", "--json").stdout)
    assert [term["term"] for term in data["definition"]["terms"]] == ["x**2", "sin(x)"]
    assert data["definition"]["derivative"] == "2*x + cos(x)" and data["definition"]["verified"] is True
    assert len(data["secants"]) == 8 and data["gradient"] == {"x": 2 + math.cos(1)}


def test_the_terminal_board_at_80_columns():
    shown = cli("sqrt(x)", "--definition", "--x", "4", "--format", "table").stdout
    assert "f′(x) = lim h→0 (f(x + h) − f(x))/h" in shown and "f′(x) = 1/(2√x)" in shown
    assert max(len(line) for line in shown.splitlines()) <= 80 and "autograd: f′ = 0.25" in shown


def test_a_mistake_is_one_error_line_and_exit_2():
    result = cli("tan x", "--definition")
    assert result.exit_code == 2 and result.stderr.startswith("error: steps --definition does not know how")
    assert cli("x^2", "--definition", "--exact", "--x", "1").exit_code == 2


def test_a_real_process():
    shown = script("steps", "cos x", "--definition", "--format", "plain")
    assert shown.returncode == 0 and "derivative\t-sin(x)" in shown.stdout.splitlines()
