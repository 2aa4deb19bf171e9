"""A verdict says `agree` only when the number is close to the truth (issue 21).

`--check` judges autograd against the 30-digit value by the dtype's tolerance alone: a cancellation that
autograd and SymPy's float formula share is `inaccurate`, NaN or inf where the truth is finite is
`non-finite`, each naming the step of f where precision is lost.  `--fd` judges on the plateau where the
central differences agree with each other, not at the step closest to autograd.  Kinks, ties of max and
min included, are said on every answer.  The truths here come from mpmath on its own, at 50 digits.
"""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import mpmath
import pytest
from servers import script
from typer.testing import CliRunner

import derivcli
from derivcli.cli import app

pytestmark = pytest.mark.usefixtures("warm_env")  # the real processes here run warm (conftest)

ROOT = Path(__file__).resolve().parent.parent
CANCELLING = "(1 - cos(x))/x^2"


def truth(function: Callable[[mpmath.mpf], mpmath.mpf], x: float) -> float:
    """f'(x) at the float's exact value, by mpmath at 50 digits, independently of derivcli."""
    with mpmath.workdps(50):
        return float(mpmath.diff(function, mpmath.mpf(x)))


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return script(*argv, cwd=ROOT)


# ------------------------------------------------------------------- 1. a shared cancellation
def test_a_cancellation_autograd_and_the_formula_share_is_inaccurate_not_agree():
    """Both float64 evaluations of (1 - cos x)/x² at 1e-4 cancel alike: autograd 4.4e-5, the truth
    -8.3e-6.  Agreeing with each other is not agreeing with the truth."""
    result = derivcli.grad(CANCELLING, {"x": 1e-4}, check=True)
    true = truth(lambda x: (1 - mpmath.cos(x)) / x**2, 1e-4)
    assert true == pytest.approx(-1e-4 / 12, rel=1e-6)
    check = result.check
    assert check.reference["x"] == pytest.approx(true, rel=1e-12)
    assert abs(result.gradient["x"] - true) > 1e-6 and check.gradient["x"] == pytest.approx(result.gradient["x"])
    assert check.verdict("x") == "inaccurate" and check.agree is False and result.failed
    assert (check.cause.kind, check.cause.node, check.cause.column) == ("cancellation", "1 - cos(x)", 2)
    warning = next(w for w in result.warnings if w.startswith("inaccurate: d/dx"))
    assert f"{true:.12g}" in warning and "cancellation at 1 - cos(x) at column 2" in warning
    data = result.to_json()["check"]
    assert data["verdicts"] == {"x": "inaccurate"} and data["agree"] is False
    assert data["cause"]["kind"] == "cancellation" and data["cause"]["true_text"] == "4.99999999583e-09"


def test_the_same_expression_where_nothing_cancels_agrees():
    result = derivcli.grad(CANCELLING, {"x": 0.7}, check=True)
    assert result.check.verdict("x") == "agree" and result.check.agree is True and result.check.cause is None
    assert result.gradient["x"] == pytest.approx(truth(lambda x: (1 - mpmath.cos(x)) / x**2, 0.7), rel=1e-12)


def test_the_cli_exits_1_on_an_inaccurate_derivative():
    done = cli("grad", CANCELLING, "--x", "1e-4", "--check", "--format", "plain")
    assert done.returncode == 1, done.stderr
    assert "\ncheck\tx\tinaccurate\t" in done.stdout and "warning: inaccurate: d/dx" in done.stderr


def test_a_jacobian_that_cancels_alike_is_inaccurate():
    result = derivcli.jacobian(f"{CANCELLING} * [1, 2]", {"x": 1e-4}, check=True)
    assert result.check.verdict == "inaccurate" and result.check.agree is False and result.failed
    assert "cancellation at 1 - cos(x)" in result.check.cause
    assert any(w.startswith("inaccurate: entries of the Jacobian") for w in result.warnings)


# ------------------------------------------------------------- 2. NaN never agrees with a number
@pytest.mark.parametrize(("text", "x", "value", "column"), [("log(exp(x))", 800.0, 800.0, 5),
                                                            ("exp(x)/exp(x) + x", 710.0, 711.0, 1)])
def test_nan_where_the_truth_is_finite_is_non_finite(text, x, value, column):
    result = derivcli.grad(text, {"x": x}, check=True, fd=True)
    assert math.isnan(result.gradient["x"])
    check = result.check
    assert check.verdict("x") == "non-finite" and check.reference["x"] == 1.0 and check.agree is False
    assert check.value_verdict == "non-finite" and check.value_reference == value and result.failed
    assert (check.cause.kind, check.cause.node, check.cause.column) == ("overflow", "exp(x)", column)
    assert any(w.startswith("non-finite: d/dx is nan where the true value is 1: exp(x)") for w in result.warnings)
    fd = result.finite_differences.verdicts["x"]  # the differences overflow too: they cannot say, and never agree
    assert fd.agree is None and fd.verdict == "not finite"
    data = result.to_json()
    assert data["check"]["verdicts"] == {"x": "non-finite"} and data["check"]["agree"] is False


def test_where_the_derivative_is_infinite_in_fact_equal_infinities_are_undefined_not_agree():
    result = derivcli.grad("sqrt(x)", {"x": 0.0}, check=True)
    assert result.gradient["x"] == math.inf and result.check.verdict("x") == "undefined"
    assert result.check.agree is None and not result.failed


def test_outside_the_domain_as_written_there_is_no_derivative():
    """sqrt(x)**2 simplifies to x, but over the reals it is undefined at -1: step by step, sqrt(-1) is not real."""
    result = derivcli.grad("sqrt(x)**2", {"x": -1.0}, check=True)
    assert result.check.undefined and result.check.agree is None and not result.failed


def test_nan_never_agrees_in_a_hessian_or_jacobian():
    hessian = derivcli.hessian("log(exp(x)) + y**2", {"x": 800.0, "y": 1.0}, check=True)
    assert hessian.check.verdict == "non-finite" and hessian.check.agree is False and hessian.failed
    assert "exp(x) at column 5 overflows" in hessian.check.cause
    jacobian = derivcli.jacobian("log(exp(x)) * [1, 2]", {"x": 800.0}, check=True)
    assert jacobian.check.verdict == "non-finite" and jacobian.failed
    undefined = derivcli.hessian("sqrt(x)**2 + y", {"x": -1.0, "y": 1.0}, check=True, fd=True)
    assert undefined.check.verdict == undefined.finite_differences.verdict == "undefined" and not undefined.failed


def test_the_cli_exits_1_on_nan_with_a_finite_truth():
    done = cli("grad", "exp(x)/exp(x) + x", "--x", "710", "--check", "--json")
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert data["check"]["verdicts"] == {"x": "non-finite"} and data["check"]["value_reference"] == 711.0
    assert data["check"]["cause"]["node"] == "exp(x)" and data["check"]["agree"] is False


# --------------------------------------------------- 3. finite differences judge on their plateau
@pytest.fixture
def wrong_softplus(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """softplus with its true values and a backward 1% too large (1.01·sigmoid), in a copy of the table."""
    import torch

    from derivcli import api
    from derivcli.table import functions

    def softplus(x: torch.Tensor) -> torch.Tensor:
        exact = torch.nn.functional.softplus(x)
        return exact.detach() + 1.01 * (exact - exact.detach())

    forms = {cls: softplus if cls.__name__ == "softplus" else form
             for cls, form in functions.torch_form_by_sympy_class().items()}
    monkeypatch.setattr("derivcli.lowering.program.torch_form_by_sympy_class", lambda: forms)
    api.compile_text.cache_clear()
    yield
    api.compile_text.cache_clear()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("x", [-3.0, -1.0, 0.5, 2.0])
def test_a_backward_1_percent_wrong_is_caught_by_fd_alone(wrong_softplus, dtype, x):
    result = derivcli.grad("softplus(x)", {"x": x}, fd=True, dtype=dtype)
    sigmoid = 1 / (1 + math.exp(-x))
    assert result.gradient["x"] == pytest.approx(1.01 * sigmoid, rel=1e-6)
    verdict = result.finite_differences.verdicts["x"]
    assert verdict.verdict == "DISAGREE" and result.finite_differences.agree is False and result.failed
    assert verdict.estimate == pytest.approx(sigmoid, rel=1e-4)  # the differences give the true slope
    assert verdict.plateau is not None and verdict.plateau[0] > verdict.plateau[1]


def test_the_lucky_step_no_longer_decides(wrong_softplus):
    """At x = -3 the step closest to autograd is h = 0.1, whose truncation happens to cancel part of the
    planted error; judged there, with the large allowance truncation has at 0.1, the 1% passed."""
    result = derivcli.grad("softplus(x)", {"x": -3.0}, fd=True)
    table = result.finite_differences
    assert table.best_h["central"]["x"] == 0.1
    assert table.verdicts["x"].best_h < 0.1 and table.verdicts["x"].verdict == "DISAGREE"


def test_the_cli_exits_1_when_fd_alone_finds_a_wrong_backward(wrong_softplus):
    done = CliRunner().invoke(app, ["grad", "softplus(x)", "--x", "-3", "--fd", "--format", "plain"])
    assert done.exit_code == 1
    assert "\nfd-verdict\tx\tDISAGREE\t" in done.stdout


def _smooth_corpus() -> list[tuple[str, float]]:
    """Every public one-argument function of the table, at three points of its test domain."""
    import random

    from derivcli.table.functions import FUNCTIONS

    cases = []
    for spec in FUNCTIONS:
        if spec.internal or spec.tensor or spec.arity[0] != 1:
            continue
        rng = random.Random(spec.name)
        cases += [(f"{spec.name}(x)", rng.uniform(*spec.domain)) for _ in range(3)]
    return cases


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_no_false_alarm_over_the_function_table(dtype):
    alarms = []
    for text, x in _smooth_corpus():
        result = derivcli.grad(text, {"x": x}, fd=True, dtype=dtype)
        verdict = result.finite_differences.verdicts["x"]
        if verdict.verdict != "agree":
            alarms.append((text, x, verdict))
    assert alarms == []


# ----------------------------------------------------------------------- 4. kinks are always said
def test_a_tied_maximum_is_a_kink_not_agree():
    """max(x) at [1, 3, 3, -2] ties x[1] and x[2]: moving either up raises the maximum, down leaves it,
    so each has one-sided derivatives 0.2·3 = 0.6 and 1.6."""
    result = derivcli.grad("max(x) + 0.1*sum(x**2)", {"x": [1.0, 3.0, 3.0, -2.0]}, check=True)
    kinks = [(kink.variable, round(kink.left, 6), round(kink.right, 6), kink.node) for kink in result.nondifferentiable]
    assert kinks == [("x[1]", 0.6, 1.6, "max(x)"), ("x[2]", 0.6, 1.6, "max(x)")]
    assert result.check.verdict("x") == "kink" and not result.failed
    assert derivcli.grad("max(x) + 0.1*sum(x**2)", {"x": [1.0, 3.0, 2.0, -2.0]}).nondifferentiable is None


@pytest.mark.parametrize(("text", "point", "variable", "node"), [
    ("min(x)", {"x": [2.0, 1.0, 1.0]}, "x[1]", "min(x)"),
    ("sum(max(x, y))", {"x": [2.0, 1.0], "y": [2.0, 0.0]}, "x[0]", "max(x, y)"),
    ("min(x) + max(x, 2.0)[0]", {"x": [2.0, 1.0, 3.0]}, "x[0]", "max(x, 2.0)"),
    ("norm(x)", {"x": [0.0, 0.0]}, "x[0]", "norm(x)"),
])
def test_ties_and_other_kinks_are_said_by_a_plain_grad(text, point, variable, node):
    result = derivcli.grad(text, point)
    kink = result.nondifferentiable[0]
    assert (kink.variable, kink.node) == (variable, node) and kink.left != kink.right
    assert any(w.startswith(f"f is not differentiable at {variable} ") for w in result.warnings)


def test_too_many_elements_to_confirm_still_warn():
    result = derivcli.grad("sum(relu(x))", {"x": [0.0] * 100})
    assert result.nondifferentiable is None
    assert any("relu(x) at column 5 sits at its non-smooth point" in w and "not confirmed" in w
               for w in result.warnings)


def test_every_view_of_a_plain_grad_says_the_kink():
    runner = CliRunner()
    plain = runner.invoke(app, ["grad", "abs(x)", "--x", "0", "--format", "plain"])
    table = runner.invoke(app, ["grad", "abs(x)", "--x", "0", "--format", "table"])
    data = json.loads(runner.invoke(app, ["grad", "abs(x)", "--x", "0", "--json"]).stdout)
    assert plain.exit_code == table.exit_code == 0
    assert "kink\tx\t-1.0\t1.0\tabs(x)" in plain.stdout
    for stderr in (plain.stderr, table.stderr):
        assert "warning: f is not differentiable at x = 0 (abs(x) at column 1)" in stderr
    assert data["nondifferentiable"][0]["left"] == -1.0 and "not differentiable" in data["warnings"][0]


def test_the_cli_says_a_kink_without_any_flag():
    done = cli("grad", "abs(x)", "--x", "0")
    assert done.returncode == 0 and "kink\tx\t-1.0\t1.0\tabs(x)" in done.stdout
    assert "f is not differentiable at x = 0" in done.stderr


# ------------------------------------------------------------------------------- through batch
def test_batch_gives_each_verdict():
    """One real `derivcli batch` with a request for each case."""
    lines = [{"expression": CANCELLING, "point": {"x": 1e-4}, "check": True},
             {"expression": "log(exp(x))", "point": {"x": 800}, "check": True, "fd": True},
             {"expression": "max(x) + 0.1*sum(x**2)", "point": {"x": [1, 3, 3, -2]}, "check": True},
             {"expression": "abs(x)", "point": {"x": 0}}]
    done = script("batch", input="".join(json.dumps(line) + "\n"
                          for line in lines), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    cancelling, overflowing, tied, kinked = (json.loads(line) for line in done.stdout.splitlines())
    assert cancelling["check"]["verdicts"] == {"x": "inaccurate"} and cancelling["check"]["agree"] is False
    assert overflowing["check"]["verdicts"] == {"x": "non-finite"} and overflowing["check"]["value_reference"] == 800
    assert overflowing["finite_differences"]["agree"] is None
    assert tied["check"]["verdicts"] == {"x": "kink"} and len(tied["nondifferentiable"]) == 2
    assert kinked["nondifferentiable"][0]["node"] == "abs(x)" and "not differentiable" in kinked["warnings"][0]


def test_batch_fd_catches_the_wrong_backward(wrong_softplus):
    request = json.dumps({"expression": "softplus(x)", "point": {"x": -3}, "fd": True}) + "\n"
    done = CliRunner().invoke(app, ["batch"], input=request)
    answer = json.loads(done.stdout)
    assert answer["finite_differences"]["verdicts"]["x"]["verdict"] == "DISAGREE"
    assert answer["finite_differences"]["agree"] is False


def test_every_new_verdict_validates_against_the_schema(wrong_softplus):
    from test_schemas import validate

    validate(derivcli.grad(CANCELLING, {"x": 1e-4}, check=True, fd=True).to_json(), "grad")
    validate(derivcli.grad("log(exp(x))", {"x": 800.0}, check=True, fd=True).to_json(), "grad")
    validate(derivcli.grad("sqrt(x)**2", {"x": -1.0}, check=True).to_json(), "grad")
    validate(derivcli.grad("softplus(x)", {"x": -3.0}, fd=True).to_json(), "grad")
    validate(derivcli.grad("abs(x)", {"x": 0.0}).to_json(), "grad")
    validate(derivcli.hessian("log(exp(x)) + y**2", {"x": 800.0, "y": 1.0}, check=True, fd=True).to_json(), "hessian")
    validate(derivcli.jacobian(f"{CANCELLING} * [1, 2]", {"x": 1e-4}, check=True, fd=True).to_json(), "jacobian")
