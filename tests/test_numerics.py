"""Numbers that must be right to float64's last digits: the digamma/polygamma kernels (torch's trigamma is
good to ~5e-10 only), Taylor coefficients at singular points, symmetric Hessians, and the budgets of the
exact computations."""

from __future__ import annotations

import json
import math
import random
import subprocess

import mpmath
import pytest
import torch
from servers import script
from typer.testing import CliRunner

from derivcli.cli import app
from derivcli.table import gamma_kernels

pytestmark = pytest.mark.usefixtures("warm_env")  # the real processes here run warm (conftest)


def run(*args: str, input: str | None = None):  # noqa: A002 - the CliRunner's own name
    return CliRunner().invoke(app, list(args), input=input)


def cold(*args: str) -> subprocess.CompletedProcess[str]:
    """The real console script (answered by the shared warm server)."""
    return script(*args)


def polygamma_truth(n: int, x: float) -> mpmath.mpf:
    """mpmath's polygamma at the float's exact value; mpmath's own reflection cancels for high orders at
    negative x (it gives 5.9e32 for psi^(50)(-8.5) at 40 digits, the truth being -4.2e14), so the working
    precision grows with n."""
    with mpmath.workdps(40 + 3 * n):
        return mpmath.polygamma(n, mpmath.mpf(x))


def relative_error(value: float, truth: mpmath.mpf) -> float:
    return float(abs((mpmath.mpf(value) - truth) / truth))


def points(seed: int) -> list[float]:
    """Positive and negative arguments over many scales, next to poles and next to half-integers."""
    draw = random.Random(seed)
    spread = [draw.uniform(0, 20) for _ in range(40)] + [10 ** draw.uniform(-8, 12) for _ in range(40)]
    spread += [10 ** draw.uniform(12, 300) for _ in range(10)]
    negative = [draw.uniform(-40, 0) for _ in range(40)] + [-(10 ** draw.uniform(2, 3.5)) for _ in range(10)]
    near = [-k + d for k in (1, 2, 7, 26) for d in (1e-9, 1e-6, 1e-3, 0.5, 1 - 1e-6)]
    return spread + negative + near


# --------------------------------------------------------------------------------- the kernels
def test_trigamma_is_good_to_1e_14_everywhere_on_the_real_line():
    xs = points(1)
    values = gamma_kernels.polygamma(1, torch.tensor(xs, dtype=torch.float64)).tolist()
    worst = max((relative_error(v, polygamma_truth(1, x)), x) for x, v in zip(xs, values))
    assert worst[0] < 1e-14, worst
    # torch's own kernel, for the record of why: ~5e-10 at x = 1.14
    assert relative_error(torch.polygamma(1, torch.tensor(1.135619916463928, dtype=torch.float64)).item(),
                          polygamma_truth(1, 1.135619916463928)) > 1e-11


@pytest.mark.parametrize("n", [0, 2, 3, 4, 5, 6, 8, 11, 20])
def test_polygamma_of_every_order_is_good_to_1e_13(n):
    xs = points(n)
    if n == 0:  # relative error is unbounded next to psi's zeros (1.4616…, and one between each two poles)
        xs = [x for x in xs if abs(float(polygamma_truth(0, x))) > 0.05]
    values = gamma_kernels.polygamma(n, torch.tensor(xs, dtype=torch.float64)).tolist()
    worst = max((relative_error(v, polygamma_truth(n, x)), x) for x, v in zip(xs, values)
                if 1e-300 < abs(polygamma_truth(n, x)) < 1e300)  # (beyond: 0 or inf in float64)
    assert worst[0] < 1e-13, worst


def test_even_orders_at_negative_half_integers_are_right_where_torch_is_not():
    """psi^(n)(-k - 1/2) = psi^(n)(k + 3/2) for even n (the reflection's cot term vanishes); torch's
    Hurwitz zeta sums through the cancelling poles there (150x off at n = 10)."""
    for n in (2, 10, 50):
        for x in (-1.5, -8.5, -28.5):
            value = gamma_kernels.polygamma(n, torch.tensor(x, dtype=torch.float64)).item()
            assert relative_error(value, polygamma_truth(n, x)) < 1e-13
            assert value == pytest.approx(gamma_kernels.polygamma(n, torch.tensor(1 - x, dtype=torch.float64)).item(),
                                          rel=1e-14)
    assert relative_error(torch.polygamma(10, torch.tensor(-28.5, dtype=torch.float64)).item(),
                          polygamma_truth(10, -28.5)) > 1


def test_orders_past_170_keep_finite_values_whose_factorial_overflows():
    for n, x in ((171, 2085.08), (200, 2085.08), (200, 100.5), (200, -99.5)):
        value = gamma_kernels.polygamma(n, torch.tensor(x, dtype=torch.float64)).item()
        assert math.isfinite(value) and relative_error(value, polygamma_truth(n, x)) < 1e-13
    assert gamma_kernels.polygamma(200, torch.tensor(0.5, dtype=torch.float64)).item() == -math.inf


def gamma_derivative_factor(a: float, n: int) -> mpmath.mpf:
    """Γ^(n)/Γ from psi = Γ'/Γ: 1, psi, psi² + psi', psi³ + 3 psi psi' + psi''."""
    psi, psi1, psi2 = (polygamma_truth(k, a) for k in range(3))
    return (1, psi, psi**2 + psi1, psi**3 + 3 * psi * psi1 + psi2)[n]


def test_the_torch_forms_differentiate_to_the_last_digits():
    """digamma, loggamma and gamma through autograd (three times), against mpmath: their derivatives are
    derivcli's kernels, never torch's trigamma."""
    from derivcli.table import torch_forms

    xs = [0.3, 1.0, 1.7, 5.5, 33.1, -0.4, -2.7, -15.999999, 1e-5]
    x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    truths = {
        "digamma": lambda a, n: polygamma_truth(n, a),
        "loggamma": lambda a, n: mpmath.re(mpmath.loggamma(a)) if n == 0 else polygamma_truth(n - 1, a),
        "gamma": lambda a, n: mpmath.gamma(a) * gamma_derivative_factor(a, n),
    }
    for name, truth in truths.items():
        values = getattr(torch_forms, name)(x)
        for n in range(4):
            for a, value in zip(xs, values.tolist()):
                reference = truth(a, n)
                error = abs(value - reference) / max(abs(reference), 1e-300) if reference else abs(value)
                assert error < 2e-14, (name, n, a, value, reference)
            if n < 3:
                (values,) = torch.autograd.grad(values.sum(), x, create_graph=True)


def test_the_kernels_work_under_torch_func_and_in_float32():
    from derivcli.table import torch_forms

    def f(v: torch.Tensor) -> torch.Tensor:
        return (torch_forms.digamma(v) + torch_forms.loggamma(v) + torch_forms.polygamma(torch.tensor(2.0), v)).sum()

    at = torch.tensor([0.7, -1.3, 3.0], dtype=torch.float64)
    hessian = torch.func.jacfwd(torch.func.grad(f))(at)
    for a, entry in zip(at.tolist(), hessian.diagonal().tolist()):
        truth = polygamma_truth(2, a) + polygamma_truth(1, a) + polygamma_truth(4, a)
        assert relative_error(entry, truth) < 1e-14
    single = torch_forms.digamma(torch.tensor([2.5, -0.5], dtype=torch.float32))
    assert single.dtype == torch.float32
    assert single.tolist() == pytest.approx([float(polygamma_truth(0, 2.5)), float(polygamma_truth(0, -0.5))], rel=1e-7)


def test_taylor_mode_polygamma_coefficients_left_of_zero():
    import sympy as sp

    from derivcli.differentiate.taylor_mode import derivatives

    x = sp.Symbol("x", real=True)
    for at in (-2.5, -7.5, -0.3):
        actual = derivatives(sp.digamma(x), "x", {"x": at}, 12)
        for n, value in enumerate(actual):
            assert relative_error(value, polygamma_truth(n, at)) < 1e-13, (at, n)


# ------------------------------------------------------------------------ through the commands
DIGAMMA_SLOPE = float(polygamma_truth(1, 1.0) - mpmath.mpf("1.6"))  # 0.044934066848226436…


def test_grad_of_digamma_minus_a_line_is_right_through_the_console_script():
    done = cold("grad", "digamma(x) - 1.6*x", "--x", "1", "--check", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["gradient"]["x"] == pytest.approx(DIGAMMA_SLOPE, rel=1e-14)
    assert answer["check"]["verdicts"]["x"] == "agree"


def test_grad_of_digamma_through_batch_and_diff_in_process():
    request = {"expression": "digamma(x) - 1.6*x", "point": {"x": 1}}
    second = {"expression": "loggamma(x)", "point": {"x": 1.3}, "command": "diff", "wrt": ["x"], "order": 3}
    result = run("batch", input=json.dumps(request) + "\n" + json.dumps(second) + "\n")
    assert result.exit_code == 0, result.output
    first, other = (json.loads(line) for line in result.stdout.splitlines())
    assert first["gradient"]["x"] == pytest.approx(DIGAMMA_SLOPE, rel=1e-14)
    assert relative_error(other["derivative_value"], polygamma_truth(2, 1.3)) < 1e-14
    plain = run("diff", "digamma(x)", "--x", "-3.7", "--order", "2", "--format", "plain")
    assert plain.exit_code == 0, plain.output
    line = next(line for line in plain.stdout.splitlines() if line.startswith("d2/dx2"))
    assert relative_error(float(line.split("\t")[1]), polygamma_truth(2, -3.7)) < 1e-13


# ------------------------------------------------------------------------------- budgets
def exp_square_derivative(n: int) -> float:
    """d^n/dx^n exp(x²) at x = 1, exactly: exp(x²) = e·exp(2h + h²) at x = 1 + h, whose Taylor
    coefficients b_k satisfy k·b_k = 2·b_(k-1) + 2·b_(k-2)."""
    from fractions import Fraction

    b = [Fraction(1), Fraction(2)]
    for k in range(2, n + 1):
        b.append((2 * b[k - 1] + 2 * b[k - 2]) / k)
    exact = b[n] * math.factorial(n)
    return float(mpmath.e * mpmath.mpf(exact.numerator) / exact.denominator)


def test_exact_values_past_their_budget_are_skipped_and_said_with_the_rest_printed(monkeypatch):
    """`diff --order 200 --exact` took 130 s: SymPy built the 200th derivative of exp(x²) outside the
    5 s budget.  Now the building is inside it; a shortened budget shows the note without a race (the
    work takes ~50 s)."""
    monkeypatch.setattr("derivcli.learn.exact.EXACT_SECONDS", 0.3)
    arguments = ["diff", "exp(x^2)", "--wrt", "x", "--order", "200", "--x", "1", "--exact"]
    data = json.loads(run(*arguments, "--json").stdout)
    assert data["exact"]["skipped"] == "past the 0.3 s budget"
    assert data["derivative_value"] == pytest.approx(exp_square_derivative(200), rel=1e-10)
    plain = run(*arguments, "--format", "plain")
    assert plain.exit_code == 0 and "exact\tskipped\tpast the 0.3 s budget" in plain.stdout.splitlines()
    table = run(*arguments, "--format", "table")
    assert "exact values skipped: past the 0.3 s budget" in table.stdout


def test_exact_values_within_the_budget_are_built_in_the_child():
    data = json.loads(run("diff", "sin(x)^2", "--wrt", "x", "--order", "3", "--x", "pi/4", "--exact", "--json").stdout)
    assert data["exact"] == {"point": {"x": "pi/4"}, "values": {"f": "1/2", "d3/dx3": "-4"}, "skipped": None}


def test_forms_of_a_derivative_not_built_at_the_point_are_built_within_their_budget(monkeypatch):
    small = json.loads(run("diff", "sin(x)^2", "--wrt", "x", "--order", "5", "--x", "1", "--forms", "--json").stdout)
    assert small["forms"]["trig combined"] == "16*sin(2*x)"
    monkeypatch.setattr("derivcli.learn.forms.FORM_SECONDS", 0.3)
    data = json.loads(run("diff", "exp(x^2)", "--wrt", "x", "--order", "200", "--x", "1", "--forms", "--json").stdout)
    assert set(data["forms"].values()) == {None} and "some forms did not finish within their budget" in data["notes"]
    assert data["derivative_value"] == pytest.approx(exp_square_derivative(200), rel=1e-10)
