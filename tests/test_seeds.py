"""Every scalar example of the tutorials in ../shared/seeds, with the numbers those pages print.

The tutorials print float32 tensors to 4 decimals; derivcli computes in float64 by default, so each
example is checked at full precision against the exact answer and, with --dtype float32, against the
printed digits.
"""

from __future__ import annotations

import math

import pytest

import derivcli


def rounded(value: float, digits: int = 4) -> float:
    return round(value, digits)


def test_linear_function_gradient_is_its_slope():
    # x = torch.tensor(5.0); y = 10 * x - 1 -> x.grad = tensor(10.)
    assert derivcli.grad("10 * x - 1", x=5).gradient == {"x": 10.0}


def test_sin_at_pi():
    # y = torch.sin(x) at np.pi -> x.grad = tensor(-1.)
    result = derivcli.grad("sin(x)", x=math.pi)
    assert result.gradient["x"] == -1.0


def test_log_at_10():
    # y = torch.log(x) at 10 -> x.grad = tensor(0.1000)
    assert derivcli.grad("log(x)", x=10).gradient["x"] == pytest.approx(0.1, rel=1e-15)
    assert derivcli.grad("ln(x)", x=10).gradient["x"] == pytest.approx(0.1, rel=1e-15)


def test_exp_cos_log_composite_at_1_is_minus_one_over_e():
    # numerator / cos(log(x))**2 ... -> x.grad = tensor(-0.3679)
    result = derivcli.grad("exp(-(x**2-x+1)/cos(log(x))**2)", x=1, check=True)
    assert result.value == 0.36787944117144233
    assert result.gradient["x"] == -0.36787944117144233
    assert result.gradient["x"] == pytest.approx(-1 / math.e, rel=1e-15)
    assert result.check is not None and result.check.agree
    assert rounded(derivcli.grad("exp(-(x**2-x+1)/cos(log(x))**2)", x=1, dtype="float32").gradient["x"]) \
        == -0.3679


def test_three_x_squared_minus_four_x_limit_table():
    # f(x) = 3x^2 - 4x; (f(x+h) - f(x))/h for h = 0.1 ... 1e-10 in float64, printed with 10 decimals.
    printed = ["2.3000000000", "2.0300000000", "2.0030000000", "2.0003000000", "2.0000300000",
               "2.0000030001", "2.0000002987", "1.9999999878", "2.0000001655", "2.0000001655"]
    result = derivcli.grad("3*x**2 - 4*x", x=1, fd=True)
    table = result.finite_differences
    assert table is not None
    assert [row.h for row in table.rows] == [10.0 ** -k for k in range(1, 11)]
    assert ["{:.10f}".format(row.forward["x"]) for row in table.rows] == printed
    assert result.gradient["x"] == 2.0
    # The error shrinks with h while truncation dominates, then grows again from round-off.
    regimes = [row.regime["forward"]["x"] for row in table.rows]
    assert regimes[:7] == ["truncation"] * 7 and regimes[7:] == ["round-off"] * 3
    assert table.best_h["forward"]["x"] == 1e-8


def test_u_squared_plus_v_cubed_plus_uv():
    # f = u**2 + v**3 + u*v at u=2, v=4 -> tensor(76.), u.grad tensor(8.), v.grad tensor(50.)
    result = derivcli.grad("u**2 + v**3 + u*v", u=2, v=4)
    assert result.value == 76.0
    assert result.gradient == {"u": 8.0, "v": 50.0}


def test_log_of_sum_of_squares_with_y_constant():
    # x = 15 (requires_grad), y = 24 (constant); f = log(x**2 + y**2) -> 6.6859; x.grad 0.0375; y.grad None
    result = derivcli.grad("log(x**2 + y**2)", x=15, y=24, wrt=["x"])
    assert rounded(result.value) == 6.6859
    assert result.gradient == {"x": pytest.approx(30 / 801, rel=1e-15)}
    assert rounded(result.gradient["x"]) == 0.0375
    assert "y" not in result.gradient


def test_tan_of_one_plus_x_squared():
    # float32: y = tan(1 + x**2) at 1 -> tensor(-2.1850), x.grad tensor(11.5488)
    # numpy check: 2*x / np.cos(1+x**2)**2 = 11.548798408083835
    result32 = derivcli.grad("tan(1 + x**2)", x=1, dtype="float32")
    assert rounded(result32.value) == -2.1850
    assert rounded(result32.gradient["x"]) == 11.5488
    result64 = derivcli.grad("tan(1 + x**2)", x=1)
    assert result64.gradient["x"] == pytest.approx(11.548798408083835, rel=1e-14)


def test_x_squared_at_9():
    # y = x**2 at 9 -> tensor(81.), x.grad tensor(18.)
    result = derivcli.grad("x**2", x=9)
    assert (result.value, result.gradient["x"]) == (81.0, 18.0)


def test_sin_of_x_over_two_to_the_one_point_five():
    # y = sin(x / (2 ** 1.5)) at 100 -> tensor(-0.7158), x.grad tensor(-0.2469)
    result = derivcli.grad("sin(x / (2 ** 1.5))", x=100)
    assert rounded(result.value) == -0.7158
    assert rounded(result.gradient["x"]) == -0.2469
    assert result.value == pytest.approx(math.sin(100 / 2**1.5), rel=1e-14)


def test_chain_rule_two_linear_layers():
    # y1 = x*w1 + b1; y2 = y1*w2 + b2 with x=1, w1=2, b1=1, w2=2, b2=1: dy2/dw1 = 2
    result = derivcli.grad("(x*w1 + b1)*w2 + b2", x=1, w1=2, b1=1, w2=2, b2=1, wrt=["w1"])
    assert result.gradient == {"w1": 2.0}
    # dy2/dy1 * dy1/dw1 = w2 * x = 2, the same
    assert derivcli.grad("y1*w2 + b2", y1=3, w2=2, b2=1, wrt=["y1"]).gradient["y1"] * \
        derivcli.grad("x*w1 + b1", x=1, w1=2, b1=1, wrt=["w1"]).gradient["w1"] == 2.0
