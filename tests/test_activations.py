"""The activations (gelu, silu, elu, leaky_relu, softsign, logsigmoid, mish, hardtanh) against
torch.nn.functional's own functions: same values, same gradients, the same subgradient at the kinks, and
a symbolic --check that agrees there too.  (tests/test_functions.py checks them against SymPy like every
entry of the table.)"""

from __future__ import annotations

import math

import pytest
import sympy as sp
import torch
import torch.nn.functional as F

import derivcli
from derivcli.parsing import parse

# expression text -> the same function written with torch.nn.functional
TORCH: dict[str, object] = {
    "gelu(x)": lambda x: F.gelu(x),
    "silu(x)": lambda x: F.silu(x),
    "swish(x)": lambda x: F.silu(x),
    "elu(x)": lambda x: F.elu(x),
    "elu(x, 0.5)": lambda x: F.elu(x, 0.5),
    "elu(x, 2)": lambda x: F.elu(x, 2.0),
    "leaky_relu(x)": lambda x: F.leaky_relu(x),
    "leaky_relu(x, 0.2)": lambda x: F.leaky_relu(x, 0.2),
    "softsign(x)": lambda x: F.softsign(x),
    "logsigmoid(x)": lambda x: F.logsigmoid(x),
    "mish(x)": lambda x: F.mish(x),
    "hardtanh(x)": lambda x: F.hardtanh(x),
    "hardtanh(x, -0.5)": lambda x: F.hardtanh(x, -0.5),
    "hardtanh(x, -2, 2)": lambda x: F.hardtanh(x, -2.0, 2.0),
}
# kinks (0, ±1, ±2, -0.5) and far out, where a naive formula overflows
POINTS = [-800.0, -30.0, -2.0, -1.0, -0.5, -0.3, -1e-9, 0.0, 1e-9, 0.3, 0.7, 1.0, 2.0, 30.0, 800.0]


def _torch(text: str, x: float) -> tuple[float, float]:
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    value = TORCH[text](t)  # type: ignore[operator]
    (gradient,) = torch.autograd.grad(value, t)
    return float(value.detach()), float(gradient)


def _same(a: float, b: float) -> bool:
    return a == b or math.isclose(a, b, rel_tol=1e-15, abs_tol=1e-300)


@pytest.mark.parametrize("text", list(TORCH))
def test_value_and_gradient_are_torch_functional(text: str) -> None:
    for x in POINTS:
        value, gradient = _torch(text, x)
        result = derivcli.grad(text, {"x": x})
        assert _same(result.value, value), (text, x, result.value, value)
        assert _same(result.gradient["x"], gradient), (text, x, result.gradient["x"], gradient)


@pytest.mark.parametrize(("text", "x", "derivative"), [
    ("elu(x)", 0.0, 1.0), ("elu(x, 0.5)", 0.0, 0.5), ("elu(x, a)", 0.0, 0.25),
    ("leaky_relu(x)", 0.0, 0.01), ("leaky_relu(x, 0.2)", 0.0, 0.2), ("leaky_relu(x, a)", 0.0, 0.25),
    ("hardtanh(x)", -1.0, 0.0), ("hardtanh(x)", 1.0, 0.0), ("hardtanh(x, -2, 2)", 2.0, 0.0),
    ("hardtanh(x, a, 2)", 0.25, 0.0), ("hardtanh(x, a, 2)", 0.3, 1.0),
])
def test_kinks_follow_torch_and_check_agrees(text: str, x: float, derivative: float) -> None:
    """torch's subgradient at the kink, from autograd and from SymPy's derivative alike, also where the
    parameter is a variable (computed by the tensor formula, not torch.nn.functional)."""
    point = {"x": x, "a": 0.25} if "a" in text else {"x": x}
    result = derivcli.grad(text, point, check=True)
    assert result.gradient["x"] == derivative
    assert result.check is not None and result.check.agree, result.check


@pytest.mark.parametrize(("text", "point"), [
    ("gelu(x)", {"x": 0.7}), ("elu(x, 0.5)", {"x": -0.3}), ("hardtanh(x, -2, 2)", {"x": 1.5}),
    ("hardtanh(x, -2, 2)", {"x": -2.5}), ("leaky_relu(x, 0.2)", {"x": -1.0}), ("silu(x)", {"x": -0.4}),
    ("softsign(x)", {"x": -0.4}), ("logsigmoid(x)", {"x": -800.0}), ("logsigmoid(x)", {"x": 800.0}),
    ("mish(x)", {"x": 0.2}), ("elu(x)", {"x": 800.0}), ("elu(x, a)", {"x": 800.0, "a": 2.0}),
    ("elu(x, a)", {"x": -0.3, "a": 2.0}), ("leaky_relu(x, a)", {"x": -1.0, "a": 0.3}),
    ("hardtanh(x, a, b)", {"x": -3.0, "a": -2.0, "b": 2.0}), ("hardtanh(x, a, b)", {"x": 3.0, "a": -2.0, "b": 2.0}),
    ("hardtanh(x, a, b)", {"x": 0.5, "a": -2.0, "b": 2.0}), ("hardtanh(x, a, b)", {"x": 0.5, "a": 2.0, "b": 1.0}),
    ("sech(x)", {"x": 800.0}), ("csch(x)", {"x": -800.0}), ("csch(x)", {"x": 1e-8}),
])
def test_check_agrees(text: str, point: dict[str, float]) -> None:
    result = derivcli.grad(text, point, check=True)
    assert result.check is not None and result.check.agree, (result.gradient, result.check)
    assert all(math.isfinite(v) for v in result.gradient.values())


def test_parameter_gradients() -> None:
    """d/dalpha elu = expm1(x) for x <= 0; d/dslope leaky_relu = x for x <= 0; d/dmin, d/dmax hardtanh
    are 1 where the result is that bound."""
    assert derivcli.grad("elu(x, a)", {"x": -0.3, "a": 2.0}).gradient["a"] == pytest.approx(math.expm1(-0.3))
    assert derivcli.grad("elu(x, a)", {"x": 0.3, "a": 2.0}).gradient["a"] == 0.0
    assert derivcli.grad("leaky_relu(x, a)", {"x": -1.5, "a": 0.1}).gradient["a"] == -1.5
    low = derivcli.grad("hardtanh(x, a, b)", {"x": -3.0, "a": -2.0, "b": 2.0}).gradient
    assert (low["x"], low["a"], low["b"]) == (0.0, 1.0, 0.0)
    high = derivcli.grad("hardtanh(x, a, b)", {"x": 3.0, "a": -2.0, "b": 2.0}).gradient
    assert (high["x"], high["a"], high["b"]) == (0.0, 0.0, 1.0)


def test_batches_with_variable_parameters() -> None:
    """A parameter given as a batch of values runs the tensor formula: the same numbers as torch's own
    function, point by point."""
    xs, alphas = [-1.0, -0.2, 0.0, 0.4], [0.5, 1.0, 2.0, 3.0]
    gradient = derivcli.compile("elu(x, a)").grad(x=xs, a=alphas)
    for i, (x, alpha) in enumerate(zip(xs, alphas)):
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        (expected,) = torch.autograd.grad(F.elu(t, alpha), t)
        assert float(gradient["x"][i]) == float(expected)


def test_hessian_through_parameters() -> None:
    result = derivcli.hessian("elu(x, a) + hardtanh(x*a, -2, 2)", {"x": -0.3, "a": 2.0})
    # d²/dx² = a*exp(x); d²/dx da = exp(x) + 1 (hardtanh: x*a inside the bounds); d²/da² = 0
    assert result.hessian[0][0] == pytest.approx(2.0 * math.exp(-0.3), rel=1e-14)
    assert result.hessian[0][1] == pytest.approx(math.exp(-0.3) + 1.0, rel=1e-14)
    assert result.hessian[1][1] == 0.0


@pytest.mark.parametrize("text", ["gelu(x)", "silu(x)", "elu(x)", "elu(x, 1/2)", "leaky_relu(x)",
                                  "leaky_relu(x, 1/5)", "softsign(x)", "logsigmoid(x)", "mish(x)",
                                  "hardtanh(x)", "hardtanh(x, -2, 2)"])
def test_canonical_text_is_the_call(text: str) -> None:
    assert str(parse(text).expr) == text


def test_swish_is_silu() -> None:
    assert parse("swish(x)").expr == parse("silu(x)").expr


@pytest.mark.parametrize(("text", "expected"), [
    ("gelu(0)", 0), ("silu(0)", 0), ("mish(0)", 0), ("logsigmoid(0)", -sp.log(2)), ("softsign(-3)", sp.Rational(-3, 4)),
    ("elu(2)", 2), ("elu(0, 3)", 0), ("elu(-1, 2)", 2 * sp.exp(-1) - 2), ("leaky_relu(-3)", sp.Rational(-3, 100)),
    ("leaky_relu(-3, 0.5)", sp.Rational(-3, 2)), ("hardtanh(5)", 1), ("hardtanh(-5, -2, 2)", -2),
    ("hardtanh(0.25)", sp.Rational(1, 4)),
])
def test_constants_evaluate(text: str, expected: sp.Expr) -> None:
    assert sp.simplify(parse(text).expr - expected) == 0


def test_sympy_evalf_of_the_forms() -> None:
    """SymPy evaluates the classes numerically through their definitions (the --check's fallback)."""
    from derivcli.table.sympy_forms import elu, gelu, hardtanh, leaky_relu, logsigmoid, mish, silu, softsign

    x = sp.Float("0.7", 30)
    assert float(gelu(x).evalf(30)) == pytest.approx(float(F.gelu(torch.tensor(0.7, dtype=torch.float64))))
    assert float(silu(x).evalf(30)) == pytest.approx(0.7 / (1 + math.exp(-0.7)))
    assert float(softsign(-x).evalf(30)) == pytest.approx(-0.7 / 1.7)
    assert float(logsigmoid(-x).evalf(30)) == pytest.approx(-math.log1p(math.exp(0.7)))
    assert float(mish(x).evalf(30)) == pytest.approx(0.7 * math.tanh(math.log1p(math.exp(0.7))))
    symbol = sp.Symbol("x", real=True)
    assert float(elu(symbol, 2).evalf(30, subs={symbol: -x})) == pytest.approx(2 * math.expm1(-0.7))
    assert float(leaky_relu(symbol).evalf(30, subs={symbol: -x})) == pytest.approx(-0.007)
    assert float(hardtanh(symbol).evalf(30, subs={symbol: x})) == pytest.approx(0.7)
