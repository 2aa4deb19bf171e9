"""Gradient descent: the tutorials' loop and its printed numbers, the optimizers on Rosenbrock, a matrix
variable, the hand-written update against torch.optim.SGD, tol, divergence, and the JSON contract."""

from __future__ import annotations

import json
import math

import pytest

from derivcli.errors import DerivcliError
from derivcli.optimize import minimize

ROSENBROCK = "(1-x)**2 + 100*(y-x**2)**2"
W = [[0.6904, 0.7417, 0.6027, 0.7612], [0.3263, 0.9509, 0.6202, 0.9371], [0.1982, 0.1809, 0.3788, 0.1230]]
RELU_LOSS = "sum((relu(W @ x) - t)**2)"
RELU_POINT = {"W": W, "x": [0, 1, 2, 3], "t": [1, 1.2, 1.4]}


# --------------------------------------------------------------------------- the tutorials' descent
def test_first_steps_match_the_tutorial():
    # x = 4; loss = (x - 1.5)**2; x -= 0.1 * x.grad: x 4 -> 3.5 -> 3.1 -> 2.78 -> 2.524.  The trace's step k
    # is the state after k updates, with the gradient there (the seed's "iteration 2: x 2.78, grad 3.2"
    # prints the gradient at 3.1 beside the x it produced).
    result = minimize("(x-1.5)**2", {"x": 4}, lr=0.1, steps=100)
    xs = [entry.point["x"] for entry in result.trace[:5]]
    assert xs == pytest.approx([4.0, 3.5, 3.1, 2.78, 2.524], abs=1e-12)
    assert result.trace[2].grad_norm == pytest.approx(3.2)
    assert [entry.step for entry in result.trace] == list(range(101))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_descent_reaches_the_minimum(dtype):
    result = minimize("(x-1.5)**2", {"x": 4}, lr=0.1, steps=100, dtype=dtype)
    assert result.point["x"] == pytest.approx(1.5, abs=1e-6)
    assert result.steps == 100 and not result.diverged
    if dtype == "float32":  # the seed prints loss 5.6843e-14 at the end: x sits 2 ulps above 1.5
        assert result.value == pytest.approx(5.6843e-14, rel=1e-4)


def test_manual_loop_gives_the_sgd_trace_exactly():
    for dtype in ("float64", "float32"):
        sgd = minimize("(x-1.5)**2", {"x": 4}, lr=0.1, steps=100, dtype=dtype)
        manual = minimize("(x-1.5)**2", {"x": 4}, lr=0.1, steps=100, dtype=dtype, manual=True)
        assert manual.trace == sgd.trace
        assert manual.optimizer == "manual"


def test_manual_loop_on_a_matrix_agrees_to_the_last_bit():
    # torch.optim.SGD updates with add_(grad, alpha=-lr), whose vectorized CPU kernel fuses the multiply and
    # add (one rounding); `x -= lr * x.grad` rounds twice.  On tensors the two differ by about an ulp.
    sgd = minimize(RELU_LOSS, RELU_POINT, wrt=["W"], lr=0.01, steps=30)
    manual = minimize(RELU_LOSS, RELU_POINT, wrt=["W"], lr=0.01, steps=30, manual=True)
    for a, b in zip(sgd.trace, manual.trace):
        assert a.value == pytest.approx(b.value, rel=1e-12, abs=1e-15)
        for row_a, row_b in zip(a.point["W"], b.point["W"]):
            assert row_a == pytest.approx(row_b, abs=1e-14)


# --------------------------------------------------------------------------- optimizers
@pytest.mark.parametrize(("optimizer", "lr", "steps"), [("lbfgs", 1.0, 100), ("adam", 0.05, 3000)])
def test_rosenbrock_reaches_its_minimum(optimizer, lr, steps):
    result = minimize(ROSENBROCK, {"x": -1.2, "y": 1}, optimizer=optimizer, lr=lr, steps=steps, trace_every=500)
    assert result.point["x"] == pytest.approx(1.0, abs=1e-4)
    assert result.point["y"] == pytest.approx(1.0, abs=1e-4)
    assert result.value < 1e-8 and not result.diverged


def test_momentum_beats_plain_sgd_on_rosenbrock():
    plain = minimize(ROSENBROCK, {"x": -1.2, "y": 1}, lr=0.001, steps=2000, trace_every=1000)
    momentum = minimize(ROSENBROCK, {"x": -1.2, "y": 1}, optimizer="momentum", lr=0.001, steps=2000,
                        trace_every=1000)
    assert momentum.value < plain.value < 24.2


def test_descending_a_matrix():
    # the seed's relu(W @ x) regression: the loss falls from its start (33.657 for the seed's random W)
    result = minimize(RELU_LOSS, RELU_POINT, wrt=["W"], lr=0.01, steps=40)
    values = [entry.value for entry in result.trace]
    assert values[0] == pytest.approx(24.9057, abs=1e-3)
    assert all(b <= a for a, b in zip(values, values[1:]))
    assert result.value < 1e-6
    assert len(result.point["W"]) == 3 and len(result.point["W"][0]) == 4
    assert result.held == {"x": [0.0, 1.0, 2.0, 3.0], "t": [1.0, 1.2, 1.4]}


def test_variables_outside_wrt_stay_put():
    result = minimize("(x - a)**2", {"x": 0, "a": 3}, wrt=["x"], lr=0.1, steps=200)
    assert result.point == {"x": pytest.approx(3.0)} and result.held == {"a": 3.0}


# --------------------------------------------------------------------------- stopping
def test_tol_stops_early_and_converges():
    result = minimize("x**2", {"x": 1}, lr=0.1, steps=1000, tol=1e-6)
    assert result.converged and not result.diverged
    assert result.steps < 100
    assert result.stopped.startswith("converged")
    assert result.trace[-1].step == result.steps


def test_tol_on_a_zero_gradient():
    result = minimize("x**2", {"x": 0}, lr=0.1, steps=50, tol=1e-12)
    assert result.converged and result.steps == 0 and "gradient norm" in result.stopped


def test_without_tol_it_runs_every_step():
    result = minimize("x**2", {"x": 1}, lr=0.1, steps=10)
    assert not result.converged and result.steps == 10 and result.stopped == "ran all 10 steps"


def test_too_large_a_learning_rate_diverges_with_a_reason():
    result = minimize("x**2", {"x": 1}, lr=1.5, steps=100)  # x -> -2x each step
    assert result.diverged and not result.converged
    assert result.stopped.startswith("diverged") and result.steps < 100
    assert any("smaller learning rate" in warning for warning in result.warnings)


def test_leaving_the_domain_diverges_at_that_step():
    result = minimize("log(x)", {"x": 1}, lr=2, steps=10)  # x = 1 - 2 = -1: log is NaN
    assert result.diverged and result.stopped == "diverged: the value became nan at step 1"
    assert result.to_json()["trace"][-1]["value"] is None  # JSON has no NaN


def test_non_finite_start():
    result = minimize("1/x", {"x": 0}, steps=10)
    assert result.diverged and "starting point" in result.stopped and result.steps == 0


# --------------------------------------------------------------------------- trace, progress, JSON
def test_trace_every_keeps_every_kth_step_and_the_last():
    result = minimize("(x-1.5)**2", {"x": 4}, lr=0.1, steps=25, trace_every=10)
    assert [entry.step for entry in result.trace] == [0, 10, 20, 25]


def test_progress_callback():
    calls = []
    minimize("x**2", {"x": 1}, steps=5, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]


def test_json_contract():
    data = json.loads(json.dumps(minimize(ROSENBROCK, {"x": -1.2, "y": 1}, optimizer="adam", lr=0.05,
                                          steps=10).to_json()))
    assert {"point", "value", "converged", "steps", "trace", "optimizer", "stopped"} <= set(data)
    assert data["optimizer"] == "adam" and data["steps"] == 10
    assert set(data["trace"][0]) == {"step", "value", "point", "grad_norm"}
    assert data["trace"][0]["point"] == {"x": -1.2, "y": 1.0}
    assert math.isclose(data["trace"][0]["value"], 24.2)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"optimizer": "rmsprop"}, "unknown optimizer"),
    ({"optimizer": "adam", "manual": True}, "hand-written SGD"),
    ({"lr": 0}, "learning rate"),
    ({"lr": math.nan}, "learning rate"),
    ({"steps": -1}, "steps"),
    ({"tol": -1.0}, "tol"),
    ({"trace_every": 0}, "trace_every"),
])
def test_bad_options_are_clear_errors(kwargs, message):
    with pytest.raises(DerivcliError, match=message):
        minimize("x**2", {"x": 1}, **kwargs)


def test_nothing_to_minimize():
    with pytest.raises(DerivcliError, match="nothing to minimize"):
        minimize("3", {})
    with pytest.raises(DerivcliError, match="not a single number"):
        minimize("x**2", {"x": [1, 2]})
