"""Bad input is refused by name, never computed wrongly or reported as an internal error: shapes that
do not combine, conditions used as numbers, slices, and sizes or times the machine cannot afford (one
memory budget, `--max-memory`, estimated before anything is allocated)."""

from __future__ import annotations

import resource
import subprocess
import sys
import time

import pytest

import derivcli
from derivcli.errors import DerivcliError
from derivcli.limits import memory

ROW = [1.0, 2.0, 3.0]
COLUMN = [[1.0], [2.0]]


@pytest.mark.parametrize("text", ["sum(max(x, y))", "sum(min(x, y))", "sum(x**y)", "sum(atan2(x, y))",
                                  "sum(heaviside(x, y))", "sum(x if x > y else y)", "sum(x if x > 0 else y)",
                                  "sum(elu(x, y))", "sum(x * y)", "sum(x + y)"])
def test_broadcasts_that_grow_both_shapes_are_refused_naming_both(text):
    with pytest.raises(DerivcliError) as info:
        derivcli.grad(text, {"x": ROW, "y": COLUMN})
    assert "(3,)" in info.value.message and "(2, 1)" in info.value.message


@pytest.mark.parametrize(("text", "value"), [("sum(max(x, y))", 7.0), ("sum(x**y)", 14.0),
                                             ("sum(x if x > 1 else y)", 7.0), ("sum(max(x, 0.0))", 6.0)])
def test_broadcasts_the_rule_allows_still_work(text, value):
    assert derivcli.grad(text, {"x": ROW, "y": 2.0}).value == value


def test_an_input_of_another_shape_beside_an_if_is_left_alone():
    result = derivcli.grad("sum(x if x > 0 else 0) + sum(W)", {"x": [1.0, -2.0, 3.0], "W": [[1.0, 2.0], [3.0, 4.0]]})
    assert result.value == 14.0 and result.gradient["W"] == [[1.0, 1.0], [1.0, 1.0]]


@pytest.mark.parametrize(("text", "column"), [("(x > 0) * 2", 2), ("-(x > 0)", 3), ("log(2, x > 1)", 8),
                                              ("sin(x > 0)", 5), ("(x > 0)**2", 2), ("x + (x < 1)", 6),
                                              ("(x > 0) < 1", 2), ("1 if x > 0 else x > 1", 17)])
def test_a_condition_is_never_a_number(text, column):
    with pytest.raises(DerivcliError) as info:
        derivcli.grad(text, {"x": 1.0})
    assert "a condition is used as a number" in info.value.message
    assert f"(column {column})" in info.value.one_line()
    assert "1 if" in (info.value.hint or "")


def test_conditions_still_work_where_conditions_belong():
    assert derivcli.grad("x if x > 0 and not x > 5 else 2", {"x": 1.0}).value == 1.0
    assert derivcli.grad("(1 if x > 0 else 0) * 2", {"x": 1.0}).value == 2.0


@pytest.mark.parametrize(("text", "value", "gradient"), [
    ("sum(x[::-1] * [1, 2, 3])", 10.0, [3.0, 2.0, 1.0]),
    ("x[::-1][0]", 3.0, [0.0, 0.0, 1.0]),
    ("sum(x[2:0:-1] * [10, 1])", 32.0, [0.0, 1.0, 10.0]),
    ("sum(x[::-2])", 4.0, [1.0, 0.0, 1.0]),
])
def test_negative_slice_steps_work_as_in_python(text, value, gradient):
    result = derivcli.grad(text, {"x": ROW}, check=True)
    assert result.value == value and result.gradient["x"] == gradient
    assert result.check is not None and result.check.agree


def test_a_matrix_sliced_backwards_along_one_axis():
    result = derivcli.grad("sum(W[::-1, 0] * [1, 2, 3])", {"W": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]})
    assert result.value == 1 * 5 + 2 * 3 + 3 * 1
    assert result.gradient["W"] == [[3.0, 0.0], [2.0, 0.0], [1.0, 0.0]]


def test_a_zero_step_is_refused_with_its_column():
    with pytest.raises(DerivcliError, match="step cannot be zero") as info:
        derivcli.grad("sum(x[::0])", {"x": ROW})
    assert "(column 7)" in info.value.one_line()


# ---------------------------------------------------------------------------------- one memory budget
@pytest.mark.parametrize(("command", "text", "point", "what"), [
    ("grad", "sum(W @ V)", {"W": "zeros(20000, 1)", "V": "zeros(1, 20000)"}, "20,000 x 20,000 result"),
    # (the same refusal through other commands: a real process each, in CI's slow step)
    pytest.param("jacobian", "x", {"x": "zeros(20000)"}, "Jacobian of 20,000 outputs by 20,000 inputs",
                 marks=pytest.mark.slow),
    pytest.param("hessian", "sum(x**4)", {"x": "zeros(20000)"}, "Hessian over 20,000 variables",
                 marks=pytest.mark.slow),
    pytest.param("graph", "sum(x @ x.T @ x)", {"x": "zeros(20000, 1)"}, "20,000 x 20,000 result",
                 marks=pytest.mark.slow),
])
def test_what_would_pass_the_budget_is_refused_before_it_is_allocated(command, text, point, what):
    arguments = [item for name, value in point.items() for item in (f"--{name}", value)]
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "derivcli", command, text, *arguments], capture_output=True,
                          text=True, timeout=120,
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30)))
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and what in done.stderr
    assert "the limit is 1 GB (--max-memory)" in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert time.monotonic() - start < 60
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 1_500_000  # KiB: refused under ~1.5 GB


def test_the_budget_is_an_option_and_an_environment_variable():
    small = subprocess.run([sys.executable, "-m", "derivcli", "--max-memory", "1MB", "grad", "sum(x)", "--x",
                            "zeros(1000000)"], capture_output=True, text=True, timeout=120)
    assert small.returncode == 2 and "the limit is 1 MB" in small.stderr
    env = {**__import__("os").environ, memory.ENVIRONMENT: "2MB"}
    through_env = subprocess.run([sys.executable, "-m", "derivcli", "grad", "sum(x)", "--x", "zeros(1000000)"],
                                 capture_output=True, text=True, timeout=120, env=env)
    assert through_env.returncode == 2 and "the limit is 2 MB" in through_env.stderr
    bigger = subprocess.run([sys.executable, "-m", "derivcli", "--max-memory", "8GB", "grad", "sum(x)", "--x",
                             "zeros(1000000)"], capture_output=True, text=True, timeout=120)
    assert bigger.returncode == 0, bigger.stderr


@pytest.mark.parametrize(("text", "bytes_"), [("1GB", 2**30), ("512M", 2**29), ("1.5GiB", 3 * 2**29),
                                              ("2097152", 2**21)])
def test_sizes_read_as_people_write_them(text, bytes_):
    assert memory.parse_size(text) == bytes_


@pytest.mark.parametrize("text", ["1x", "-1GB", "", "1e9", "10KB", "3PB"])
def test_unreadable_or_absurd_sizes_are_refused(text):
    with pytest.raises(DerivcliError):
        memory.parse_size(text)


def test_a_jacobian_of_too_many_rows_is_refused_not_looped():
    with pytest.raises(DerivcliError, match="90,000 outputs, one backward pass each"):
        derivcli.jacobian("W @ V", {"W": [[1.0]] * 300, "V": [[1.0] * 300]})


def test_a_check_too_big_for_sympy_is_skipped_at_once():
    start = time.monotonic()
    result = derivcli.grad("prod(x)", {"x": [1.0] * 300}, check=True)
    assert result.check is not None and result.check.skipped is not None
    assert "too many for SymPy" in result.check.skipped
    assert time.monotonic() - start < 10


def test_minimize_has_a_documented_most_steps():
    from derivcli.explore.optimize import minimize

    with pytest.raises(DerivcliError, match="at most 1,000,000"):
        minimize("x**2", {"x": 1.0}, steps=10**12)


@pytest.mark.parametrize("target", ["1/0", "-1/0", "0/0", "1.5", "3", "-1"])
def test_cross_entropy_refuses_a_class_that_is_not_one(target):
    with pytest.raises(DerivcliError, match="not a whole number in 0..2"):
        derivcli.grad(f"cross_entropy(x, {target})", {"x": ROW})


# ----------------------------------------------------------------------------------------- LaTeX
def test_long_latex_is_read_in_linear_time():
    """SymPy's LaTeX parser took 15 s over these 150 subscripted fractions; derivcli's own reading of
    LaTeX into plain text is one pass."""
    slow = "".join(f"\\frac{{x_{{{i}}}}}{{y_{{{i}}}}}" for i in range(150))
    start = time.monotonic()
    with pytest.raises(DerivcliError, match="no value for variables x_0, y_0"):
        derivcli.grad(slow, {"x": 1.0})
    assert time.monotonic() - start < 5


def test_latex_subscripts_are_variable_names():
    result = derivcli.grad("\\frac{x_{1}}{y_{2}}", {"x_1": 2.0, "y_2": 4.0})
    assert result.value == 0.5 and result.gradient == {"x_1": 0.25, "y_2": -0.125}
