"""For learners (issue 15): --expect checks an answer worked out by hand, --exact gives exact values at an
exact point, taylor prints SymPy's exact coefficients and expands around 0 without a point."""

from __future__ import annotations

import json

import pytest
import sympy as sp
from typer.testing import CliRunner

import derivcli
from derivcli.cli import app
from derivcli.learn.expect import check_expected, is_number
from derivcli.parsing import parse


def run(*args: str):
    return CliRunner().invoke(app, list(args))


# --------------------------------------------------------------------------- --expect
@pytest.mark.parametrize("expression, answer", [
    ("x^2 sin(x)", "2x sin(x) + x^2 cos(x)"),
    ("sin^2 x", "2 sin x cos x"),          # the product form ...
    ("sin^2 x", "sin(2x)"),                # ... and the double angle: both are right
    ("lg x", "1/(x ln 10)"),
    ("exp(x^x)", "x^x (ln x + 1) e^(x^x)"),
    ("sqrt(1 + sin x)", "cos x / (2 sqrt(1 + sin x))"),
    ("|x|", "x/|x|"),
])
def test_a_right_answer_in_any_form_is_accepted(expression, answer):
    result = run("diff", expression, "--wrt", "x", "--expect", answer)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "expect\tagree\tyour answer" in result.stdout


def test_a_wrong_answer_exits_1_and_names_a_point_where_it_differs():
    result = run("diff", "x^2 sin(x)", "--wrt", "x", "--expect", "2x sin(x)", "--json")
    assert result.exit_code == 1
    verdict = json.loads(result.stdout)["expect"]
    assert verdict["agree"] is False
    where = verdict["counterexample"]
    x = where["point"]["x"]
    assert where["yours"] == pytest.approx(2 * x * float(sp.sin(x)))
    assert where["derivative"] == pytest.approx(2 * x * float(sp.sin(x)) + x * x * float(sp.cos(x)))


def test_the_counterexample_reads_as_a_sentence():
    parsed = parse("x**2")
    verdict = check_expected("3x", parsed, sp.diff(parsed.expr, parsed.symbols["x"]))
    assert verdict.message().startswith("your answer gives ") and ", the derivative is " in verdict.message()


def test_an_answer_in_a_variable_f_does_not_have_is_an_error():
    result = run("diff", "x^2", "--wrt", "x", "--expect", "2t")
    assert result.exit_code == 2
    assert "your answer uses t, which f does not have" in result.stderr


def test_a_bad_answer_is_a_one_line_error():
    result = run("diff", "x^2", "--wrt", "x", "--expect", "2x +")
    assert result.exit_code == 2 and result.stderr.startswith("error: --expect: ")


@pytest.mark.parametrize("answer, code", [("0.5", 0), ("1/2", 0), ("0.5403", 0), ("0.6", 1)])
def test_grad_takes_a_number_at_the_point(answer, code):
    result = run("grad", "sin(x)", "--x", "pi/3" if answer != "0.5403" else "1", "--expect", answer)
    assert result.exit_code == code, (result.stdout, result.stderr)


def test_expect_at_a_point_checks_the_formula_too():
    result = derivcli.grad("x**3", x=2.0, expect="3x^2")
    assert result.expect.agree and not result.failed
    assert derivcli.grad("x**3", x=2.0, expect="3x").failed


def test_numbers_and_formulas_are_told_apart_by_the_syntax():
    assert is_number("0.5") and is_number("sqrt(3)/2") and is_number("pi/4")
    assert not is_number("2x") and not is_number("cos(x)")


def test_expect_needs_one_derivative():
    result = run("grad", "x*y", "--x", "1", "--y", "2", "--expect", "y")
    assert result.exit_code == 2 and "one derivative" in result.stderr
    assert run("grad", "x*y", "--x", "1", "--y", "2", "--wrt", "x", "--expect", "y").exit_code == 0


# --------------------------------------------------------------------------- --exact
@pytest.mark.parametrize("expression, at, read, value, derivative", [
    ("sin(x)", "pi/3", "pi/3", "sqrt(3)/2", "1/2"),
    ("sin(x)", "pi/4", "pi/4", "sqrt(2)/2", "sqrt(2)/2"),
    ("x**2", "1/2", "1/2", "1/4", "1"),
    ("x**2", "0.5", "1/2", "1/4", "1"),  # a decimal is the fraction it writes
    ("log(x)", "sqrt(2)", "sqrt(2)", "log(2)/2", "sqrt(2)/2"),
])
def test_exact_values_at_an_exact_point(expression, at, read, value, derivative):
    for command in (["grad", expression, "--x", at], ["diff", expression, "--wrt", "x", "--x", at]):
        data = json.loads(run(*command, "--exact", "--json").stdout)
        assert data["exact"] == {"point": {"x": read}, "values": {"f": value, "d/dx": derivative}, "skipped": None}


def test_exact_lines_in_plain_output():
    assert "exact\tf\tsqrt(3)/2\nexact\td/dx\t1/2\n" in run("diff", "sin(x)", "--wrt", "x", "--x", "pi/3",
                                                             "--exact").stdout


def test_exact_needs_a_point_in_diff():
    result = run("diff", "sin(x)", "--wrt", "x", "--exact")
    assert result.exit_code == 2 and "--exact needs a point" in result.stderr


# --------------------------------------------------------------------------- taylor
def test_taylor_prints_sympys_exact_coefficients():
    result = derivcli.taylor("sin(x)", x=0, order=5)
    assert result.polynomial == "x - x**3/6 + x**5/120"
    assert result.exact_coefficients[3] == "-1/6" and result.coefficients[3] == pytest.approx(-1 / 6)


def test_taylor_without_a_point_expands_around_zero_and_says_so():
    result = run("taylor", "exp(x)", "--order", "3", "--json")
    data = json.loads(result.stdout)
    assert data["around"] == 0.0 and data["polynomial"] == "1 + x + x**2/2 + x**3/6"
    assert any("Maclaurin" in note for note in data["notes"])
    assert json.loads(run("taylor", "x**2*y + x", "--y", "2", "--order", "2", "--json").stdout)["variable"] == "x"


# --------------------------------------------------------------------------- implicit
@pytest.mark.parametrize("equation, derivative, second", [
    ("x^2 + y^2 = 25", "-x/y", "(-x**2 - y**2)/y**3"),
    ("x^2/4 + y^2/9 = 1", "-9*x/(4*y)", None),
    ("x*y = 1", "-y/x", "2*y/x**2"),
])
def test_implicit_derivatives_of_curves(equation, derivative, second):
    from derivcli.learn.implicit import implicit

    result = implicit(equation)
    assert result.derivative == derivative
    x, y = sp.symbols("x y")
    left, right = equation.split("=")
    curve = sp.sympify(left.replace("^", "**")) - sp.sympify(right)  # (the test's own, trusted text)
    assert sp.simplify(sp.sympify(derivative) + sp.diff(curve, x) / sp.diff(curve, y)) == 0  # -F_x / F_y
    if second is not None:
        assert implicit(equation, order=2).derivative == second
        assert sp.simplify(sp.sympify(second) - sp.idiff(curve, y, x, 2)) == 0


@pytest.mark.parametrize("equation, point, slope, tangent", [
    ("x^2 + y^2 = 25", ["--x", "3", "--y", "4"], -0.75, "y = 4.0 - 0.75*(x - 3.0)"),
    ("x*y = 1", ["--x", "2", "--y", "0.5"], -0.25, "y = 0.5 - 0.25*(x - 2.0)"),
    ("x^2/4 + y^2/9 = 1", ["--x", "0", "--y", "3"], 0.0, "y = 3.0 + 0.0*(x - 0.0)"),
])
def test_implicit_at_a_point_gives_the_slope_and_the_tangent(equation, point, slope, tangent):
    data = json.loads(run("implicit", equation, *point, "--json").stdout)
    assert data["value"] == pytest.approx(slope) and data["tangent"] == tangent and data["residual"] == 0.0


def test_a_point_off_the_curve_is_an_error_with_the_residual():
    result = run("implicit", "x^2 + y^2 = 25", "--x", "3", "--y", "5")
    assert result.exit_code == 2
    assert "the point x = 3, y = 5 is not on the curve" in result.stderr and "off by 9" in result.stderr


def test_a_vertical_tangent_is_said_not_divided_by_zero():
    data = json.loads(run("implicit", "x^2 + y^2 = 25", "--x", "5", "--y", "0", "--json").stdout)
    assert data["value"] is None and any("vertical" in note for note in data["notes"])


@pytest.mark.parametrize("equation, said, column", [
    ("x^2 + y^2", "an implicit curve is an equation with one '='", None),
    ("x^2 + y^2 = 25 = 3", "more than one '='", "column 16"),
    ("x^2 + y^2 = 25 +", "ends too early", "column 17"),
    ("x^2 + z^2 + y = 25", "say which variable depends on x", None),
    (" = 25", "a side of the equation is empty", None),
])
def test_bad_equations_are_one_line_errors(equation, said, column):
    result = run("implicit", equation)
    assert result.exit_code == 2 and result.stderr.startswith("error: ") and said in result.stderr
    assert column is None or column in result.stderr.splitlines()[0]


def test_implicit_with_a_named_dependent_and_the_latex_view():
    assert run("implicit", "x^2 + z^2 + y = 25", "--dependent", "z").stdout.splitlines()[1] == "derivative\t-x/z"
    assert "\\frac{x}{y}" in run("implicit", "x^2 + y^2 = 25", "--latex").stdout


# --------------------------------------------------------------------------- diff --forms
def test_forms_show_the_double_angle_and_the_product():
    data = json.loads(run("diff", "sin(x)**2", "--wrt", "x", "--forms", "--json").stdout)
    assert data["forms"]["trig combined"] == "sin(2*x)" and data["forms"]["trig expanded"] == "2*sin(x)*cos(x)"
    assert set(data["forms"]) == {"simplified", "expanded", "factored", "trig combined", "trig expanded"}


def test_forms_in_plain_output():
    lines = run("diff", "(x + 1)**2", "--wrt", "x", "--forms").stdout.splitlines()
    assert "form\texpanded\t2*x + 2" in lines and "form\tfactored\t2*(x + 1)" in lines


# --------------------------------------------------------------------------- plot --implicit
def test_plot_implicit_draws_the_curve_and_its_tangent():
    data = json.loads(run("plot", "--implicit", "x^2 + y^2 = 25", "--x", "3", "--y", "4", "--json").stdout)
    assert data["slope"] == pytest.approx(-0.75) and data["x_range"] == [-2.0, 8.0]
    assert len(data["points"]) > 100
    assert all(abs(x * x + y * y - 25) < 0.5 for x, y in data["points"])  # on the circle, to the grid's step


def test_plot_implicit_in_the_terminal_marks_the_point_and_says_the_slope():
    result = CliRunner().invoke(app, ["plot", "--implicit", "x*y = 1", "--x", "2", "--y", "0.5"],
                                env={"COLUMNS": "60", "LINES": "20"})
    assert result.exit_code == 0 and "●" in result.stdout and "tangent, slope -0.25" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 60


@pytest.mark.parametrize("argv, said", [
    (["--x", "3", "--y", "5"], "not on the curve"),
    (["--x", "3", "--y", "4", "--output", "c.png"], "--output figures are for functions"),
    (["--x", "3", "--y", "4", "--from", "2", "--to", "1"], "--from must be below --to"),
])
def test_plot_implicit_errors(argv, said):
    result = run("plot", "--implicit", "x^2 + y^2 = 25", *argv)
    assert result.exit_code == 2 and said in result.stderr


def test_steps_exact_gives_exact_values_beside_the_steps():
    data = json.loads(run("steps", "sin(x)", "--x", "pi/3", "--exact", "--json").stdout)
    assert data["exact"] == {"point": {"x": "pi/3"}, "values": {"f": "sqrt(3)/2", "d/dx": "1/2"}, "skipped": None}
    assert data["gradient"]["x"] == pytest.approx(0.5)
    assert "--exact needs a point" in run("steps", "sin(x)", "--exact").stderr
