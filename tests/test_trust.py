"""Answers you can trust: where a value or a derivative is not finite, derivcli names the operation
that made it so, with its column and the reason."""

from __future__ import annotations

import json

import pytest
from servers import script

import derivcli

pytestmark = pytest.mark.usefixtures("warm_env")  # the real processes here run warm (conftest)


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
    done = script("grad", "log(x - 2)", "--x", "1", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["diagnosis"] == [{"of": "value", "result": "nan", "node": "log(x - 2)", "column": 1,
                                  "reason": "gets -1, outside log's domain", "element": None}]
    assert done.stderr == "warning: the value is nan: log(x - 2) at column 1 gets -1, outside log's domain\n"


# ------------------------------------------------------------------------ finite differences' verdict
def test_finite_differences_end_with_a_verdict_against_the_theory():
    result = derivcli.grad("exp(-(x**2-x+1)/cos(log(x))**2)", {"x": 1.0}, fd=True)
    table = result.finite_differences
    assert table is not None and table.agree
    verdict = table.verdicts["x"]
    assert verdict.verdict == "agree" and verdict.error <= 10 * verdict.expected_error + 1e-12
    data = result.to_json()["finite_differences"]
    assert data["agree"] is True and data["verdicts"]["x"]["verdict"] == "agree"
    assert "backward" in data["rows"][0] and "backward_error" in data["rows"][0]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("text", ["sin(x)", "x**3 - 2*x", "log(1 + x**2)", "sigmoid(3*x)", "sqrt(x + 2)",
                                  "gelu(x)", "atan(x)*exp(-x)"])
def test_no_false_alarm_at_smooth_points(text, dtype):
    for x in (-0.7, 0.3, 1.9):
        assert derivcli.grad(text, {"x": x}, fd=True, dtype=dtype).finite_differences.agree, (text, x)


def test_a_wrong_derivative_is_caught_by_the_differences(wrong_sin):
    """A torch form whose backward is wrong (here: no gradient at all) disagrees with its own values."""
    wrong_sin(0.0)
    result = derivcli.grad("sin(x)", {"x": 0.5}, fd=True)
    assert result.gradient["x"] == 0.0
    assert not result.finite_differences.agree and result.finite_differences.verdicts["x"].verdict == "DISAGREE"
    assert result.failed


def test_the_cli_exits_1_when_the_differences_disagree_and_0_at_a_kink():
    ok = script("grad", "relu(x)", "--x", "0", "--fd")
    assert ok.returncode == 0, ok.stderr
    assert "fd-verdict\tx\tkink" in ok.stdout and "kink\tx\t0.0\t1.0\trelu(x)" in ok.stdout


# ----------------------------------------------------------------------------------- kinks and jumps
@pytest.mark.parametrize(("text", "point", "left", "right", "node"), [
    ("relu(x)", {"x": 0.0}, 0.0, 1.0, "relu(x)"),
    ("abs(x)", {"x": 0.0}, -1.0, 1.0, "abs(x)"),
    ("|x - 1| * 3", {"x": 1.0}, -3.0, 3.0, "|x - 1|"),
    ("max(x, 2)", {"x": 2.0}, 0.0, 1.0, "max(x, 2)"),
    ("min(x, 2)", {"x": 2.0}, 1.0, 0.0, "min(x, 2)"),
    ("x if x > 0 else -x", {"x": 0.0}, -1.0, 1.0, "x if x > 0 else -x"),
    ("leaky_relu(x, 0.1)", {"x": 0.0}, 0.1, 1.0, "leaky_relu(x, 0.1)"),
])
def test_a_kink_gives_both_one_sided_derivatives_and_the_node(text, point, left, right, node):
    result = derivcli.grad(text, point, check=True, fd=True)
    kink = result.nondifferentiable[0]
    assert kink.variable == "x" and kink.node == node and kink.column is not None
    assert kink.left == pytest.approx(left, abs=1e-6) and kink.right == pytest.approx(right, abs=1e-6)
    assert result.check.verdict("x") == "kink" and result.check.agree and not result.check.failed
    assert result.finite_differences.verdicts["x"].verdict == "kink" and result.finite_differences.agree
    assert not result.failed
    assert any(w.startswith("f is not differentiable at x = ") and "torch's subgradient" in w for w in result.warnings)
    data = result.to_json()
    assert data["nondifferentiable"][0]["variable"] == "x" and data["check"]["verdicts"]["x"] == "kink"


@pytest.mark.parametrize(("text", "point", "jump"), [("floor(x)", {"x": 2.0}, 1.0), ("ceiling(x)", {"x": 2.0}, 1.0),
                                                     ("3*sign(x)", {"x": 0.0}, 6.0), ("heaviside(x)", {"x": 0.0}, 1.0),
                                                     ("x if x > 1 else x + 2", {"x": 1.0}, -2.0)])
def test_a_jump_is_named_as_one(text, point, jump):
    kink = derivcli.grad(text, point, fd=True).nondifferentiable[0]
    assert kink.jump == pytest.approx(jump) and not (abs(kink.left) < 1e300 and abs(kink.right) < 1e300)


@pytest.mark.parametrize(("text", "point"), [("abs(x)", {"x": 1.0}), ("relu(x)", {"x": -2.0}),
                                             ("max(x, y)", {"x": 1.0, "y": 2.0}), ("x**2", {"x": 0.0}),
                                             ("floor(x)", {"x": 2.5})])
def test_away_from_the_kink_nothing_is_said(text, point):
    result = derivcli.grad(text, point, check=True, fd=True)
    assert result.nondifferentiable == [] and not any("differentiable" in w for w in result.warnings)


def test_plain_grad_says_a_kink_and_costs_nothing_where_f_is_smooth():
    """Kinks are always said (issue 21): a plain grad at |x|'s kink warns and lists it; a smooth Program
    has no non-smooth step to look at, and its answer has no such key."""
    result = derivcli.grad("abs(x)", {"x": 0.0})
    assert [(kink.left, kink.right) for kink in result.nondifferentiable] == [(-1.0, 1.0)]
    assert result.to_json()["nondifferentiable"][0]["node"] == "abs(x)" and "not differentiable" in result.warnings[0]
    smooth = derivcli.grad("sin(x)", {"x": 0.0})
    assert smooth.nondifferentiable is None and "nondifferentiable" not in smooth.to_json()
    away = derivcli.grad("abs(x)", {"x": 1.0})
    assert away.nondifferentiable is None and away.warnings == []


# ------------------------------------------------------------------ the check against a 30-digit truth
def test_float32_autograd_closer_to_the_truth_than_the_formula_is_no_false_alarm():
    """pytorch#5351's false alarm: in float32 the symbolic formula itself is off; autograd is right, within
    float32's own tolerance of the truth (rtol 1e-5·0.5 + atol 1e-4), with no widening of it."""
    result = derivcli.grad("(exp(x)-1)/x", {"x": 1e-4}, dtype="float32", check=True)
    check = result.check
    assert check.agree and not result.failed
    assert check.reference["x"] == pytest.approx(0.500033334166, rel=1e-9)
    errors = check.reference_error["x"]
    assert errors["autograd"] < 1e-4 < errors["symbolic"]
    assert check.closest["x"] in ("autograd", "finite_difference")
    data = result.to_json()["check"]
    assert set(data["reference_error"]["x"]) == {"autograd", "symbolic", "finite_difference"}


def test_a_real_disagreement_still_fails(wrong_sin):
    """A wrong torch form swapped into a copy of the table: the check against the truth catches it."""
    wrong_sin(0.5)
    for dtype in ("float64", "float32"):
        result = derivcli.grad("sin(x)", {"x": 0.5}, dtype=dtype, check=True)
        assert not result.check.agree and result.failed, dtype


def _bound(truth: float, dtype: str) -> float:
    from derivcli.checks.compare import TOLERANCES

    rtol, atol = TOLERANCES[getattr(__import__("torch"), dtype)]
    return atol + rtol * abs(truth)


@pytest.mark.slow
def test_random_expressions_in_float32_agree_exactly_where_autograd_is_near_the_truth():
    """200 random expressions (test_properties' strategy) in float32: the check agrees wherever autograd
    is within the dtype's bound of the mpmath truth, and nowhere else (no widening lets a shared error
    through)."""
    import math as _math

    from hypothesis import HealthCheck, given, reject, settings
    from test_properties import COORDINATE, EXAMPLE_SECONDS, _time_limit, _TooSlow, expressions

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(expression=expressions(depth=3), x=COORDINATE, y=COORDINATE)
    def property_(expression: str, x: float, y: float) -> None:
        try:
            with _time_limit(EXAMPLE_SECONDS):
                result = derivcli.grad(expression, {"x": x, "y": y}, check=True, dtype="float32")
        except _TooSlow:
            reject()
        check = result.check
        if check is None or check.skipped or not all(_math.isfinite(g) for g in result.gradient.values()):
            return
        for name, gradient in result.gradient.items():
            truth = check.reference[name]
            if _math.isfinite(truth) and name not in check.kinks and not check.undefined:
                near = abs(gradient - truth) <= _bound(truth, "float32")
                assert (check.verdict(name) == "agree") == near, (expression, x, y, name, gradient, truth)

    property_()


# ---------------------------------------------------------------------------- jacobian and hessian
def flat(value):
    return [v for item in value for v in flat(item)] if isinstance(value, list) else [value]


@pytest.mark.parametrize(("text", "point"), [("softmax(a)", {"a": [0.5, 1.0, 0.7]}),
                                             ("W @ x", {"W": [[1.0, 2.0], [3.0, 4.0]], "x": [1.0, 1.0]}),
                                             ("sin(x) * y", {"x": [0.1, 0.5, 0.9], "y": 2.0}),
                                             ("x**2", {"x": 3.0})])
def test_jacobian_check_and_differences_entry_by_entry(text, point):
    result = derivcli.jacobian(text, point, check=True, fd=True)
    assert result.check.agree and result.finite_differences.agree and not result.failed
    for name, block in result.jacobian.items():
        assert flat(result.check.values[name]) == pytest.approx(flat(block), abs=1e-12)
        assert flat(result.finite_differences.values[name]) == pytest.approx(flat(block), abs=1e-6)
    data = result.to_json()
    assert data["check"]["method"] == "symbolic" and data["finite_differences"]["agree"] is True


@pytest.mark.parametrize(("text", "point"), [("(1-x)**2 + 100*(y-x**2)**2", {"x": 1.0, "y": 1.0}),
                                             ("sum(x**4) - dot(x, x)", {"x": [0.5, -1.0]}),
                                             ("u**2 + v**3 + u*v", {"u": 2.0, "v": 4.0})])
def test_hessian_check_and_differences_entry_by_entry(text, point):
    result = derivcli.hessian(text, point, check=True, fd=True)
    assert result.check.agree and result.finite_differences.agree and not result.failed
    assert flat(result.check.values["hessian"]) == pytest.approx(flat(result.hessian), abs=1e-12)
    assert flat(result.finite_differences.values["hessian"]) == pytest.approx(flat(result.hessian), rel=1e-6,
                                                                               abs=1e-6)


def test_a_wrong_derivative_fails_jacobian_and_hessian_checks(wrong_sin):
    wrong_sin(0.5)
    jacobian = derivcli.jacobian("sin(x)", {"x": [0.5, 1.0]}, check=True, fd=True)
    hessian = derivcli.hessian("sin(x)*y", {"x": 0.5, "y": 2.0}, check=True)
    assert jacobian.check.agree is False and jacobian.failed
    assert jacobian.finite_differences.agree is False
    assert hessian.check.agree is False and hessian.failed


def test_big_matrices_are_skipped_with_the_reason():
    result = derivcli.jacobian("x", {"x": [0.0] * 30}, check=True, fd=True)
    assert result.check.agree is None and "900 entries" in result.check.skipped
    assert result.finite_differences.agree is None and not result.failed


def test_hessian_and_jacobian_say_where_a_result_is_not_finite_and_hessian_finds_kinks():
    jacobian = derivcli.jacobian("log(x)", {"x": [1.0, -1.0]})
    assert jacobian.diagnosis[0].element == [1] and "outside log's domain" in jacobian.warnings[0]
    hessian = derivcli.hessian("log(x - 2) + y**2", {"x": 1.0, "y": 1.0})
    assert hessian.diagnosis and hessian.diagnosis[0].node == "log(x - 2)"
    kinked = derivcli.hessian("abs(x) + y**2", {"x": 0.0, "y": 1.0}, check=True)
    assert kinked.nondifferentiable[0].variable == "x"
    assert "nondifferentiable" in kinked.to_json()


def test_the_cli_takes_check_and_fd_on_jacobian_and_hessian():
    for command in (["jacobian", "softmax(a)", "--a", "[0.5, 1.0, 0.7]"],
                    ["hessian", "(1-x)**2 + 100*(y-x**2)**2", "--x", "1", "--y", "1"]):
        done = script(*command, "--check", "--fd")
        assert done.returncode == 0, done.stderr
        assert "\ncheck\tagree\t" in done.stdout and "\nfd\tagree\t" in done.stdout


def test_inf_minus_inf_names_the_overflow_that_started_it():
    result = derivcli.grad("exp(x) - exp(x)", {"x": 1000.0})
    diagnosis = only(result)
    assert diagnosis.result == "nan" and diagnosis.node == "exp(x)" and "overflows float64" in diagnosis.reason
    assert result.parse.as_written is not None  # SymPy simplifies it to 0; torch computes it as written


def test_a_kink_in_a_tensor_variable_is_a_kink_for_the_differences_not_a_failure():
    result = derivcli.grad("sum(relu(x))", {"x": [0.0, 1.0]}, fd=True)
    assert result.finite_differences.verdicts["x"].verdict == "kink" and not result.failed
    smooth = derivcli.grad("sum(x**2)", {"x": [0.0, 1.0]}, fd=True)
    assert smooth.finite_differences.verdicts["x"].verdict == "agree"


def test_a_jacobian_names_the_output_element_at_a_kink():
    result = derivcli.jacobian("abs(x) * [1, 2]", {"x": 0.0}, check=True, fd=True)
    kink = result.nondifferentiable[0]
    assert (kink.left, kink.right, kink.output) == (-2.0, 2.0, [1]) and not result.failed
    assert not derivcli.jacobian("relu(x - [0, 1])", {"x": 1.0}, fd=True).failed


def test_a_tensor_variable_names_the_element_at_its_kink():
    result = derivcli.grad("sum(relu(x))", {"x": [0.0, 1.0]}, check=True, fd=True)
    kink = result.nondifferentiable[0]
    assert (kink.variable, kink.left, kink.right, kink.autograd) == ("x[0]", 0.0, 1.0, 0.0)
    assert result.check.verdict("x") == "kink" and not result.failed
    assert "f is not differentiable at x[0] = 0" in result.warnings[0]
