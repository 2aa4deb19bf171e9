"""Higher order: hessian, diff (formulas, mixed partials, values at a point), taylor, LaTeX input."""

from __future__ import annotations

import json
import math
import time

import pytest
from typer.testing import CliRunner

import derivcli
from derivcli.cli import app
from derivcli.errors import DerivcliError

MISSION = "exp(-(x**2-x+1)/cos(log(x))**2)"


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


# --------------------------------------------------------------------------- hessian
def test_hessian_of_u2_v3_uv():
    result = derivcli.hessian("u**2 + v**3 + u*v", u=2, v=4)
    assert result.variables == ["u", "v"]
    assert result.hessian == [[2.0, 1.0], [1.0, 24.0]]
    assert result.gradient == [8.0, 50.0]
    assert "not a critical point" in result.verdict


def test_rosenbrock_minimum():
    result = derivcli.hessian("(1-x)**2 + 100*(y-x**2)**2", x=1, y=1)
    assert result.hessian == [[802.0, -400.0], [-400.0, 200.0]]
    assert result.value == 0.0
    assert all(e > 0 for e in result.eigenvalues)
    assert result.verdict.startswith("a local minimum")


@pytest.mark.parametrize("text, verdict", [
    ("x**2 - y**2", "a saddle point"), ("-(x**2) - y**2", "a local maximum"), ("x**4 + y**2", "a critical point where"),
])
def test_verdicts_at_critical_points(text, verdict):
    assert derivcli.hessian(text, x=0, y=0).verdict.startswith(verdict)


def test_hessian_of_tensor_variables_is_flattened():
    result = derivcli.hessian("sum(x**3) + x[0]*x[1]", x=[1.0, 2.0])
    assert result.variables == ["x[0]", "x[1]"]
    assert result.hessian == [[6.0, 1.0], [1.0, 12.0]]


def test_hessian_cli_json_and_table():
    data = json.loads(cli("hessian", "(1-x)**2 + 100*(y-x**2)**2", "--x", "1", "--y", "1", "--json").stdout)
    assert set(data) >= {"variables", "value", "gradient", "hessian", "eigenvalues", "verdict"}
    table = cli("hessian", "(1-x)**2 + 100*(y-x**2)**2", "--x", "1", "--y", "1", "--format", "table").stdout
    assert "eigenvalues" in table and "local minimum" in table and "802.0" in table


SKEW = "x^2 y + sin(x y)"  # autograd's two orders of differentiation round its mixed partial differently
SKEW_MIXED = 2 + math.cos(2) - 2 * math.sin(2)  # d2/dxdy at (1, 2)


@pytest.mark.parametrize("by_jacfwd", [False, True])
def test_a_hessian_is_symmetric_to_the_last_digit(by_jacfwd, monkeypatch):
    """(H + Hᵀ)/2, by double backward and by jacfwd alike, and its eigenvalues are the printed matrix's."""
    import torch

    from derivcli.differentiate import higher

    if by_jacfwd:
        monkeypatch.setattr(higher, "BACKWARD_HESSIAN_MAX", 0)
    result = derivcli.hessian(SKEW, x=1, y=2)
    assert result.hessian[0][1] == result.hessian[1][0]
    assert result.hessian[0][1] == pytest.approx(SKEW_MIXED, rel=1e-15)
    eigenvalues = torch.linalg.eigvalsh(torch.tensor(result.hessian, dtype=torch.float64)).tolist()
    assert result.eigenvalues == eigenvalues


def test_symmetrizing_leaves_a_non_finite_pair_as_computed():
    import torch

    from derivcli.differentiate.higher import symmetric

    matrix = torch.tensor([[1.0, math.nan], [2.0, 3.0]], dtype=torch.float64)
    assert symmetric(matrix)[1, 0].item() == 2.0 and math.isnan(symmetric(matrix)[0, 1].item())


def test_every_view_and_batch_print_the_hessian_symmetric(warm_env):

    from servers import script

    data = json.loads(cli("hessian", SKEW, "--x", "1", "--y", "2", "--json").stdout)
    assert data["hessian"][0][1] == data["hessian"][1][0] == pytest.approx(SKEW_MIXED, rel=1e-15)
    table = cli("hessian", SKEW, "--x", "1", "--y", "2", "--format", "table", "--digits", "full").stdout
    shown = repr(data["hessian"][0][1])
    assert table.count(shown) == 2, table
    batch = CliRunner().invoke(app, ["batch"], input=json.dumps(
        {"expression": SKEW, "point": {"x": 1, "y": 2}, "command": "hessian"}) + "\n")
    record = json.loads(batch.stdout)
    assert record["hessian"][0][1] == record["hessian"][1][0] == data["hessian"][0][1]
    done = script("hessian", SKEW, "--x", "1", "--y", "2", "--format", "plain")  # a real process (warm)
    rows = [line.split("\t") for line in done.stdout.splitlines() if line.startswith("hessian")]
    assert rows[0][3] == rows[1][2] == shown, done.stdout


# --------------------------------------------------------------------------- diff: formulas
def test_formula_and_latex():
    result = derivcli.diff("x**3*sin(x)", "x", 2)
    assert result.order == 2 and result.wrt == ["x", "x"]
    assert result.derivative == "x*(-x**2*sin(x) + 6*x*cos(x) + 6*sin(x))"
    assert "\\sin" in result.latex


def test_mixed_partials():
    result = derivcli.diff("x**2*y**3", ["x", "y", "y"], x=1, y=2)
    assert result.derivative == "12*x*y"
    assert result.derivative_value == 24.0 and result.agree is True
    data = json.loads(cli("diff", "x**2*y**3", "--wrt", "x", "--wrt", "y", "--json").stdout)
    assert data["wrt"] == ["x", "y"] and data["order"] == 2 and data["derivative"] == "6*x*y**2"


def test_diff_json_contract_with_a_point():
    data = json.loads(cli("diff", MISSION, "--wrt", "x", "--order", "3", "--x", "1.3", "--json").stdout)
    assert set(data) >= {"wrt", "order", "derivative", "latex", "value", "derivative_value"}
    assert data["order"] == 3 and data["check"]["agree"] is True
    assert data["derivative_value"] == pytest.approx(3.716012186536261, rel=1e-12)


def test_slow_simplification_falls_back_to_the_cse_form_in_time():
    start = time.perf_counter()
    result = derivcli.diff(MISSION, "x", 3)
    assert time.perf_counter() - start < 20
    assert result.derivative is not None
    if result.notes:  # simplify ran out of its budget: common subexpressions are named x0, x1, …
        assert "x0 = " in result.derivative and "unsimplified" in result.notes[0]


def test_huge_symbolic_formula_is_refused_without_a_point_and_noted_with_one():
    product = "*".join(f"sin({k}x)" for k in range(1, 700))
    with pytest.raises(DerivcliError, match="too large to build") as refused:
        derivcli.diff(product, "x", 1)
    assert "give a point" in (refused.value.hint or "")
    result = derivcli.diff(product, "x", 1, x=0.001)
    assert result.derivative is None and "too large" in result.notes[0] and result.derivative_value is not None


# --------------------------------------------------------------------------- diff: high orders
@pytest.mark.parametrize("n", [1, 2, 5, 10, 15, 20])
def test_nth_derivatives_of_closed_forms(n):
    assert derivcli.diff("exp(2*x)", "x", n, x=0.5).derivative_value == pytest.approx(2**n * math.e, rel=1e-12)
    assert derivcli.diff("sin(x)", "x", n, x=0.7).derivative_value == pytest.approx(
        math.sin(0.7 + n * math.pi / 2), rel=1e-10, abs=1e-12)
    expected_log = (-1) ** (n - 1) * math.factorial(n - 1) / 2.0**n
    assert derivcli.diff("log(x)", "x", n, x=2).derivative_value == pytest.approx(expected_log, rel=1e-10)
    expected_rational = (-1) ** n * math.factorial(n) / 3.0 ** (n + 1)
    assert derivcli.diff("1/(1+x)", "x", n, x=2).derivative_value == pytest.approx(expected_rational, rel=1e-10)


def test_mission_high_orders_are_fast_and_use_taylor_mode():
    for n in (10, 20):
        start = time.perf_counter()
        result = derivcli.diff(MISSION, "x", n, x=1.3)
        assert time.perf_counter() - start < 30  # a hang, not a speed: it takes milliseconds
        assert result.method == "Taylor mode" and result.derivative is None


def test_mission_derivatives_against_mpmath():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    f = lambda x: mpmath.exp(-(x**2 - x + 1) / mpmath.cos(mpmath.log(x)) ** 2)  # noqa: E731
    for n in range(1, 11):
        reference = float(mpmath.diff(f, mpmath.mpf("1.3"), n))
        value = derivcli.diff(MISSION, "x", n, x=1.3, formula=False).derivative_value  # autograd's alone:
        assert value == pytest.approx(reference, rel=1e-8), n  # (SymPy's formula is other tests' subject)


def test_huge_order_is_rejected_quickly():
    start = time.perf_counter()
    result = cli("diff", "x**2", "--wrt", "x", "--order", "100000", "--x", "1")
    assert time.perf_counter() - start < 30  # refused up front, not after building derivatives
    assert result.exit_code == 2 and "too high" in result.stderr


def test_diff_errors():
    assert "--wrt" in cli("diff", "x*y", "--order", "2").stderr
    assert cli("diff", "x*y", "--wrt", "x,y", "--order", "2").exit_code == 2
    assert "tensor" in cli("diff", "sum(x)", "--wrt", "x", "--x", "[1, 2]").stderr


# --------------------------------------------------------------------------- taylor
def test_taylor_of_sin_matches_sympy_series():
    result = derivcli.taylor("sin(x)", x=0, order=7)
    expected = [0, 1, 0, -1 / 6, 0, 1 / 120, 0, -1 / 5040]
    assert result.coefficients == pytest.approx(expected, abs=1e-15)
    assert result.sympy_coefficients == pytest.approx(expected, abs=1e-15)
    assert result.agree is True
    assert result.polynomial == "x - x**3/6 + x**5/120 - x**7/5040"  # SymPy's exact coefficients
    assert result.exact_coefficients == ["0", "1", "0", "-1/6", "0", "1/120", "0", "-1/5040"]


def test_taylor_cli_side_by_side():
    table = cli("taylor", "sin(x)", "--x", "0", "--order", "7", "--format", "table")
    assert table.exit_code == 0 and "SymPy series" in table.stdout
    data = json.loads(cli("taylor", "x**2*y", "--x", "1", "--y", "3", "--wrt", "x", "--order", "3", "--json").stdout)
    assert data["coefficients"] == [3.0, 6.0, 3.0, 0.0] and data["agree"] is True


# --------------------------------------------------------------------------- LaTeX input
def test_latex_input():
    result = derivcli.grad(r"\frac{\sin x}{x}", x=2)
    assert result.expression == "sin(x)/x"
    assert result.gradient["x"] == pytest.approx(math.cos(2) / 2 - math.sin(2) / 4)
    assert derivcli.grad(r"e^{x}", x=1).gradient["x"] == pytest.approx(math.e)


@pytest.mark.parametrize("text, fragment", [
    (r"9^{9^{9^{9}}}", "too large"),
    (r"\frac{d}{dx} x", "derivative"),
    (r"\int x dx", "integral"),
    (r"\frac{1}{", "cannot read the LaTeX"),
])
def test_latex_input_is_as_safe_as_the_main_parser(text, fragment):
    result = cli("grad", text, "--x", "1")
    assert result.exit_code == 2 and fragment in result.stderr and "Traceback" not in result.stderr
