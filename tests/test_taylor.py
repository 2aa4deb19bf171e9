"""Taylor mode: high-order derivatives against closed forms, mpmath and torch autograd."""

from __future__ import annotations

import math
import random
import time

import mpmath
import pytest
import sympy as sp
import torch
from servers import script

from derivcli.differentiate.taylor_mode import MAX_ORDER, TaylorUnsupported, compose, derivatives, taylor_coefficients
from derivcli.lowering.program import lower
from derivcli.parsing import parse

pytestmark = pytest.mark.usefixtures("warm_env")  # the real processes here run warm (conftest)

MISSION = "exp(-(x**2-x+1)/cos(log(x))**2)"
POINTS = (0.3, 0.7, 1.3, 2.5)


def derivs(text: str, x0: float, order: int, **others: float) -> list[float]:
    return derivatives(parse(text).expr, "x", {"x": x0, **others}, order)


def assert_close(actual: list[float], expected: list[float], rel: float, scale_floor: float = 0.0) -> None:
    """Relative comparison per order; `scale_floor` is an absolute floor where the exact value is 0
    (sin's even derivatives at 0) or tiny by cancellation."""
    assert len(actual) == len(expected)
    for n, (a, e) in enumerate(zip(actual, expected)):
        assert math.isfinite(a), f"order {n}: {a}"
        assert abs(a - e) <= rel * max(abs(e), scale_floor), f"order {n}: {a} != {e}"


def falling(a: float, n: int) -> float:
    """a (a-1) ... (a-n+1)."""
    return math.prod(a - i for i in range(n))


def tanh_derivatives(x0: float, order: int) -> list[float]:
    """tanh^(n) = P_n(tanh x) with P_0 = y and P_{n+1} = (1 - y²) P_n' (exact polynomials, mpmath values)."""
    y = sp.Symbol("y")
    polynomial = y
    mpmath.mp.dps = 50
    t = mpmath.tanh(mpmath.mpf(x0))
    values = []
    for _ in range(order + 1):
        values.append(float(sp.lambdify(y, polynomial, "mpmath")(t)))
        polynomial = sp.expand((1 - y**2) * sp.diff(polynomial, y))
    return values


CLOSED_FORMS = {
    "sin(x)": lambda x, n: math.sin(x + n * math.pi / 2),
    "cos(x)": lambda x, n: math.cos(x + n * math.pi / 2),
    "exp(x)": lambda x, n: math.exp(x),
    "exp(2*x)": lambda x, n: 2.0**n * math.exp(2 * x),
    "log(x)": lambda x, n: math.log(x) if n == 0 else (-1) ** (n - 1) * math.factorial(n - 1) / x**n,
    "1/(1+x)": lambda x, n: (-1) ** n * math.factorial(n) / (1 + x) ** (n + 1),
    "1/((x-3)*(x+2))": lambda x, n: (-1) ** n * math.factorial(n) / 5 * ((x - 3) ** -(n + 1) - (x + 2) ** -(n + 1)),
    "(2*x+1)/(x**2+x+4)": lambda x, n: (-1) ** n * math.factorial(n) * 2 * (
        ((x - complex(-0.5, math.sqrt(15) / 2)) ** -(n + 1)).real),
    "sqrt(x)": lambda x, n: falling(0.5, n) * x ** (0.5 - n),
    "x**(-2.5)": lambda x, n: falling(-2.5, n) * x ** (-2.5 - n),
    "atan(x)": lambda x, n: math.atan(x) if n == 0 else
        (-1) ** (n - 1) * math.factorial(n - 1) * ((x - 1j) ** -n).imag,
}


@pytest.mark.parametrize("text", list(CLOSED_FORMS))
@pytest.mark.parametrize("x0", POINTS)
def test_derivatives_up_to_20_match_closed_forms(text: str, x0: float) -> None:
    order = 20
    expected = [CLOSED_FORMS[text](x0, n) for n in range(order + 1)]
    # Rational functions of two poles: each derivative is a sum of two terms of either sign, so it can be
    # tiny by cancellation; measure against the larger term there.
    floor = max(abs(e) for e in expected[-3:]) * 1e-6 if "(" in text[2:] else 0.0
    assert_close(derivs(text, x0, order), expected, rel=1e-10, scale_floor=floor)


@pytest.mark.parametrize("x0", [-2.0, -0.4, 0.5, 1.1])
def test_tanh_derivatives_match_the_derivative_polynomials(x0: float) -> None:
    # tanh^(n) alternates sign and passes near 0; 1e-10 of the largest value so far bounds it fairly.
    expected = tanh_derivatives(x0, 20)
    actual = derivs("tanh(x)", x0, 20)
    for n, (a, e) in enumerate(zip(actual, expected)):
        assert abs(a - e) <= 1e-10 * max(abs(v) for v in expected[: n + 1]), f"order {n}: {a} != {e}"


@pytest.mark.parametrize("x0", [0.0, 0.9, -2.2])
def test_sin_cos_at_zero_and_elsewhere_to_20(x0: float) -> None:
    # sin's even derivatives at 0 are exactly 0 (math.sin(n·pi/2) is not): an absolute floor of 1e-12.
    assert_close(derivs("sin(x)", x0, 20), [math.sin(x0 + n * math.pi / 2) for n in range(21)], 1e-12, 1.0)
    assert_close(derivs("cos(x)", x0, 20), [math.cos(x0 + n * math.pi / 2) for n in range(21)], 1e-12, 1.0)


SPECIAL = [  # (expression, point, the same function in mpmath)
    ("erf(x)", 0.6, mpmath.erf),
    ("erfc(x)", 1.8, mpmath.erfc),
    ("gamma(x)", 2.5, mpmath.gamma),
    ("factorial(x)", 1.5, lambda x: mpmath.gamma(x + 1)),
    ("loggamma(x)", 3.2, mpmath.loggamma),
    ("sigmoid(x)", -3.0, lambda x: 1 / (1 + mpmath.exp(-x))),
    ("softplus(x)", 0.8, lambda x: mpmath.log(1 + mpmath.exp(x))),
    ("asin(x)", 0.3, mpmath.asin),
    ("acos(x)", -0.4, mpmath.acos),
    ("acosh(x)", 1.4, mpmath.acosh),
    ("atanh(x)", 0.6, mpmath.atanh),
    ("asec(x)", 1.5, mpmath.asec),
    ("acot(x)", -0.8, lambda x: mpmath.atan(1 / x)),
    ("cbrt(x)", -2.0, lambda x: -mpmath.cbrt(-x)),
    ("x**x", 1.5, lambda x: x**x),
    ("log1p(x)", 0.3, mpmath.log1p),
    ("log(x, 3)", 2.0, lambda x: mpmath.log(x, 3)),
    ("atan2(1.5, x)", -0.7, lambda x: mpmath.atan2(1.5, x)),
]


@pytest.mark.parametrize("text, x0, reference", SPECIAL, ids=[case[0] for case in SPECIAL])
def test_special_functions_to_order_12_match_mpmath(text: str, x0: float, reference) -> None:
    mpmath.mp.dps = 40
    expected = [float(mpmath.diff(reference, mpmath.mpf(x0), n)) for n in range(13)]
    assert_close(derivs(text, x0, 12), expected, rel=1e-11)


def test_digamma_derivatives_are_polygammas() -> None:
    mpmath.mp.dps = 30
    assert_close(derivs("digamma(x)", 0.7, 15), [float(mpmath.polygamma(n, 0.7)) for n in range(16)], rel=1e-11)


def test_polygamma_and_gamma_left_of_zero() -> None:
    # polygamma only appears inside SymPy's derivatives, so it is built here directly.
    x = sp.Symbol("x", real=True)
    mpmath.mp.dps = 40
    actual = derivatives(sp.polygamma(2, x), "x", {"x": 1.7}, 8)
    assert_close(actual, [float(mpmath.polygamma(2 + n, 1.7)) for n in range(9)], rel=1e-11)
    # Γ has a maximum near -0.504: its odd derivatives at -0.5 are small by cancellation, so they are
    # measured against their even neighbours' size.
    expected = [float(mpmath.diff(mpmath.gamma, mpmath.mpf(-0.5), n)) for n in range(9)]
    actual = derivs("gamma(x)", -0.5, 8)
    for n, (a, e) in enumerate(zip(actual, expected)):
        assert abs(a - e) <= 1e-12 * max(abs(v) for v in expected[: n + 2]), f"order {n}: {a} != {e}"


def mission_reference(x0: float, order: int) -> list[float]:
    mpmath.mp.dps = 50

    def f(x: mpmath.mpf) -> mpmath.mpf:
        return mpmath.exp(-(x**2 - x + 1) / mpmath.cos(mpmath.log(x)) ** 2)

    return [float(mpmath.diff(f, mpmath.mpf(x0), n)) for n in range(order + 1)]


@pytest.mark.parametrize("x0", [1.3, 1.0])
def test_mission_expression_matches_mpmath_to_order_10(x0: float) -> None:
    assert_close(derivs(MISSION, x0, 10), mission_reference(x0, 10), rel=1e-8)


def test_mission_expression_orders_10_and_20_are_fast() -> None:
    expr = parse(MISSION).expr
    derivatives(expr, "x", {"x": 1.3}, 2)  # warm-up: imports and first torch calls
    for order in (10, 20):
        start = time.perf_counter()
        result = derivatives(expr, "x", {"x": 1.3}, order)
        elapsed = time.perf_counter() - start
        assert len(result) == order + 1 and all(math.isfinite(v) for v in result)
        assert elapsed < 30.0, f"order {order} took {elapsed:.2f} s"  # a hang, not a speed: milliseconds in fact


def test_mission_order_20_agrees_with_mpmath_series() -> None:
    # mpmath.taylor at high precision: an independent check of the high orders, to 1e-8.
    mpmath.mp.dps = 60
    reference = mpmath.taylor(lambda x: mpmath.exp(-(x**2 - x + 1) / mpmath.cos(mpmath.log(x)) ** 2),
                              mpmath.mpf("1.3"), 20)
    coefficients = taylor_coefficients(parse(MISSION).expr, "x", {"x": 1.3}, 20)
    assert_close(coefficients.tolist(), [float(c) for c in reference], rel=1e-8)


def test_sin_coefficients_at_zero_match_sympy_series() -> None:
    x = sp.Symbol("x")
    series = sp.series(sp.sin(x), x, 0, 16).removeO()
    expected = [float(series.coeff(x, k)) for k in range(16)]
    actual = taylor_coefficients(parse("sin(x)").expr, "x", {"x": 0.0}, 15)
    assert actual.dtype == torch.float64 and actual.shape == (16,)
    assert_close(actual.tolist(), expected, rel=1e-15, scale_floor=1e-20)


def test_compose_matches_the_direct_rule() -> None:
    # exp's Taylor coefficients at u0 = sin(0.4), composed with sin's series, are exp(sin(x))'s series.
    u = taylor_coefficients(parse("sin(x)").expr, "x", {"x": 0.4}, 12)
    exp_at_u0 = torch.tensor([math.exp(math.sin(0.4)) / math.factorial(k) for k in range(13)], dtype=torch.float64)
    direct = taylor_coefficients(parse("exp(sin(x))").expr, "x", {"x": 0.4}, 12)
    assert_close(compose(exp_at_u0, u).tolist(), direct.tolist(), rel=1e-13)


def test_other_variables_are_held_constant() -> None:
    assert derivs("x**2*y", 1.5, 4, y=3.0) == [6.75, 9.0, 6.0, 0.0, 0.0]
    assert_close(derivs("x**y", 2.0, 4, y=3.0), [8.0, 12.0, 12.0, 6.0, 0.0], rel=1e-14, scale_floor=1.0)
    assert_close(derivs("sin(x*y) + y", 0.5, 3, y=2.0),
                 [math.sin(1) + 2, 2 * math.cos(1), -4 * math.sin(1), -8 * math.cos(1)], rel=1e-14)


def test_the_variable_need_not_appear() -> None:
    assert derivs("y**2 + 1", 0.5, 3, y=2.0) == [5.0, 0.0, 0.0, 0.0]


def test_piecewise_takes_the_branch_whose_condition_holds_and_only_evaluates_that_one() -> None:
    text = "x**3 if x > 1 else sin(x)"
    assert derivs(text, 2.0, 4) == [8.0, 12.0, 12.0, 6.0, 0.0]
    assert_close(derivs(text, 0.5, 3), [math.sin(0.5), math.cos(0.5), -math.sin(0.5), -math.cos(0.5)], 1e-15)
    assert derivs("sum(x) if x > 5 else x**2", 1.0, 2) == [1.0, 2.0, 2.0]


def test_kinks_pick_the_active_piece_with_torchs_conventions() -> None:
    assert derivs("abs(x)", -2.0, 2) == [2.0, -1.0, 0.0]
    assert derivs("abs(x)", 0.0, 2) == [0.0, 0.0, 0.0]  # torch: sign(0) = 0
    assert derivs("abs(x**2 - 4)", 0.0, 3) == [4.0, 0.0, -2.0, 0.0]  # 4 - x**2 there
    assert derivs("abs(x**2)", 0.0, 3) == [0.0, 0.0, 2.0, 0.0]  # smooth through 0
    assert derivs("relu(x)", 1.5, 2) == [1.5, 1.0, 0.0]
    assert derivs("relu(x)", -1.5, 2) == [0.0, 0.0, 0.0]
    assert derivs("max(x, x**2)", 2.0, 3) == [4.0, 4.0, 2.0, 0.0]
    assert derivs("min(x, x**2)", 2.0, 3) == [2.0, 1.0, 0.0, 0.0]
    assert derivs("max(x, 2*x)", 0.0, 1) == [0.0, 1.5]  # a tie: the mean, as torch's gradient
    assert derivs("floor(x)*x", 2.5, 2) == [5.0, 2.0, 0.0]
    assert derivs("sign(x)*x**3", -1.0, 3) == [1.0, -3.0, 6.0, -6.0]
    assert derivs("heaviside(x)", 0.0, 1) == [0.5, 0.0]


def test_high_order_of_entire_functions_does_not_underflow() -> None:
    # 1/200! underflows float64; derivatives() seeds x0 + 4t above order 120 so sin^(200) is still sin.
    result = derivs("sin(x)", 0.7, MAX_ORDER)
    assert result[200] == pytest.approx(math.sin(0.7), rel=1e-12)
    assert result[199] == pytest.approx(-math.cos(0.7), rel=1e-12)
    assert derivs("exp(x)", 0.3, 150)[150] == pytest.approx(math.exp(0.3), rel=1e-12)


def test_order_above_the_limit_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="limit is 200"):
        derivs("x", 1.0, MAX_ORDER + 1)
    with pytest.raises(ValueError):
        derivs("x", 1.0, -1)


@pytest.mark.parametrize("text", ["sum(x)", "dot(x, x)", "x[0]", "max(x)"])
def test_tensor_functions_are_unsupported(text: str) -> None:
    with pytest.raises(TaylorUnsupported) as error:
        derivs(text, 1.0, 3)
    assert error.value.node_type in str(error.value)


def test_deep_expression_needs_no_recursion() -> None:
    x = sp.Symbol("x", real=True)
    expr: sp.Basic = x
    for _ in range(2000):  # 4000 levels: far beyond Python's recursion limit
        expr = sp.Add(sp.sin(expr, evaluate=False), x / 7, evaluate=False)
    result = derivatives(expr, "x", {"x": 0.3}, 3)
    assert len(result) == 4 and all(math.isfinite(v) for v in result)


def test_float32() -> None:
    coefficients = taylor_coefficients(parse("exp(x)").expr, "x", {"x": 0.0}, 6, dtype=torch.float32)
    assert coefficients.dtype == torch.float32
    assert coefficients.tolist() == pytest.approx([1 / math.factorial(k) for k in range(7)], rel=1e-6)


# ----------------------------------------------------------------------------- against torch autograd
UNARY = [  # each keeps its argument inside the function's domain
    "sin({})", "cos({})", "tan(0.5*tanh({}))", "sec(0.4*sin({}))", "csc(2 + 0.5*sin({}))", "cot(1 + 0.3*cos({}))",
    "exp(0.5*{})", "expm1({})", "log(2 + {}**2)", "log1p({}**2)", "log2(3 + cos({}))", "log10(1 + {}**2)",
    "sqrt(1 + {}**2)", "cbrt({})", "asin(0.5*tanh({}))", "acos(0.6*sin({}))", "atan({})", "acot(2 + {}**2)",
    "asec(2 + {}**2)", "acsc(-2 - {}**2)", "sinh(0.5*{})", "cosh(0.5*{})", "tanh({})", "asinh({})",
    "acosh(2 + {}**2)", "atanh(0.5*tanh({}))", "erf({})", "erfc({})", "sigmoid({})", "softplus({})",
    "gamma(3 + sin({}))", "loggamma(2 + {}**2)", "digamma(1.5 + cos({}))", "abs({})", "relu({})",
    "(1 + {}**2)**0.3", "(2 + sin({}))**(cos({}))", "1/(2 + {})", "max({}, 0.3)", "min({}, -0.2)",
]
BINARY = ["({} + {})", "({} * {})", "({} - {})", "({} / (3 + {}**2))", "atan2({}, 2 + {}**2)"]


def random_expression(rng: random.Random, depth: int) -> str:
    if depth == 0:
        return rng.choice(["x", "y", "x", "1.7", "(x*y)"])
    if rng.random() < 0.6:
        inner = random_expression(rng, depth - 1)
        return rng.choice(UNARY).replace("{}", inner)
    return rng.choice(BINARY).format(random_expression(rng, depth - 1), random_expression(rng, depth - 1))


def autograd_value_and_derivatives(text: str, x0: float, y0: float) -> tuple[float, float, float]:
    program = lower(parse(text).expr, ["x", "y"])
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    value = program([x, torch.tensor(y0, dtype=torch.float64)], dtype=torch.float64)
    if not value.requires_grad:
        return float(value), 0.0, 0.0
    (first,) = torch.autograd.grad(value, x, create_graph=True)
    if not first.requires_grad:
        return float(value.detach()), float(first), 0.0
    (second,) = torch.autograd.grad(first, x)
    return float(value.detach()), float(first.detach()), float(second)


def test_values_and_derivatives_agree_with_autograd_on_random_expressions() -> None:
    rng = random.Random(20240611)
    checked = 0
    for _ in range(150):
        text = random_expression(rng, rng.randint(1, 4))
        x0, y0 = rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5)
        expected = autograd_value_and_derivatives(text, x0, y0)
        if not all(math.isfinite(v) for v in expected) or abs(x0) < 1e-3:
            continue
        actual = derivatives(parse(text).expr, "x", {"x": x0, "y": y0}, 2)
        scale = max(1.0, *(abs(v) for v in expected))
        for n, (a, e) in enumerate(zip(actual, expected)):
            assert abs(a - e) <= 1e-9 * scale, f"{text} at x={x0}, y={y0}, order {n}: {a} != {e}"
        checked += 1
    assert checked > 100


# ------------------------------------------------------------------ taylor and diff at singular points
def cli_run(*args: str, input: str | None = None):  # noqa: A002 - the CliRunner's own name
    from typer.testing import CliRunner

    from derivcli.cli import app

    return CliRunner().invoke(app, list(args), input=input)


def sinc_coefficients(order: int) -> list[float]:
    """sin(x)/x = Σ (-1)^k x^2k/(2k+1)!, by hand."""
    return [0.0 if k % 2 else (-1) ** (k // 2) / math.factorial(k + 1) for k in range(order + 1)]


REMOVABLE = [  # (expression, point, the limit function's Taylor coefficients, independently)
    ("sin(x)/x", 0.0, sinc_coefficients(6)),
    ("(1 - cos(x))/x^2", 0.0, [0.0 if k % 2 else (-1) ** (k // 2) / math.factorial(k + 2) for k in range(7)]),
    ("(x^2 - 1)/(x - 1)", 1.0, [2.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
    ("(exp(x) - 1)/x", 0.0, [1 / math.factorial(k + 1) for k in range(7)]),
]


@pytest.mark.parametrize(("text", "at", "expected"), REMOVABLE)
def test_taylor_at_a_removable_singularity_gives_the_limits_series(text: str, at: float, expected: list[float]
                                                                   ) -> None:
    import json

    data = json.loads(cli_run("taylor", text, "--x", repr(at), "--order", "6", "--json").stdout)
    assert data["coefficients"] == pytest.approx(expected, rel=1e-15, abs=1e-300)
    assert data["singularity"]["kind"] == "removable" and data["agree"] is None
    assert "removable singularity" in data["singularity"]["statement"]
    for view in ("plain", "table") if text == "sin(x)/x" else ():
        shown = cli_run("taylor", text, "--x", repr(at), "--order", "6", "--format", view)
        assert shown.exit_code == 0, shown.output
        assert "nan" not in shown.stdout.lower() and "DISAGREE" not in shown.stdout
        assert "removable singularity" in shown.stdout


def test_taylor_of_sinc_through_the_console_script() -> None:

    done = script("taylor", "sin(x)/x", "--order", "4", "--format", "plain")
    assert done.returncode == 0, done.stderr
    lines = dict(line.split("\t", 1) for line in done.stdout.splitlines())
    assert lines["polynomial"] == "1 - x**2/6 + x**4/120"
    assert [float(lines[f"c{k}"].split("\t")[0]) for k in range(5)] == sinc_coefficients(4)


NO_TAYLOR = [  # (expression, point, kind, the expansion SymPy gives: textbook series)
    ("1/x", 0.0, "pole", "1/x"),
    ("1/sin(x)", 0.0, "pole", "1/x + x/6 + 7*x**3/360 + 31*x**5/15120"),
    ("1/x^2 + x", 0.0, "pole", "x**(-2) + x"),
    ("sqrt(x)", 0.0, "branch point", "sqrt(x)"),
    ("x^(3/2)", 0.0, "branch point", "x**(3/2)"),
    ("abs(x)", 0.0, "not smooth", "x from the right, -x from the left"),
    ("x*abs(x)", 0.0, "not smooth", "x**2 from the right, -x**2 from the left"),
    ("log(x)", 0.0, "other", "log(x)"),
    ("exp(1/x)", 0.0, "other", "exp(1/x)"),
]


@pytest.mark.parametrize(("text", "at", "kind", "expansion"), NO_TAYLOR)
def test_taylor_where_there_is_no_taylor_series_says_so_without_coefficients(text: str, at: float, kind: str,
                                                                              expansion: str) -> None:
    """Never NaN coefficients, never SymPy's zeros for 1/x (its coeff() of 1/h is 0, which was shown)."""
    import json

    result = cli_run("taylor", text, "--x", repr(at), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["coefficients"] == [] and data["sympy_coefficients"] is None and data["polynomial"] == ""
    assert data["singularity"]["kind"] == kind and data["singularity"]["series"] == expansion
    assert data["singularity"]["statement"].startswith("f has no Taylor series at x = 0: ")
    if text in ("1/x", "sqrt(x)", "abs(x)"):  # every view, for one of each kind
        plain = cli_run("taylor", text, "--x", repr(at), "--format", "plain").stdout.splitlines()
        assert f"series\t{expansion}" in plain and any(line.startswith(f"singularity\t{kind}\t") for line in plain)
        assert not any(line.startswith(("c0", "polynomial")) for line in plain)
        table = cli_run("taylor", text, "--x", repr(at), "--format", "table").stdout
        assert "f has no Taylor series at x = 0" in table and expansion in table and "nan" not in table.lower()


def test_taylor_where_f_is_not_real_is_one_error_line() -> None:
    result = cli_run("taylor", "sqrt(x)", "--x", "-1")
    assert result.exit_code == 2
    assert result.output.strip() == "error: f has no real Taylor series at x = -1: it is not real around there"


def test_taylor_with_nan_coefficients_and_no_series_in_time_is_an_error(monkeypatch) -> None:
    """Past SymPy's budget, torch's finite coefficients stand with a note; non-finite ones are an error.
    (The series is made slow on purpose, so that the budget runs out whatever the machine's speed.)"""
    import time as clock

    from derivcli.symbolic import local_series

    monkeypatch.setattr(local_series, "SERIES_SECONDS", 0.2)
    monkeypatch.setattr(local_series, "expand", lambda *args: clock.sleep(60))
    failed = cli_run("taylor", "sin(x)/x", "--x", "0")
    assert failed.exit_code == 2
    assert failed.output.strip() == ("error: no Taylor coefficients at x = 0: torch's are not finite there (f may be "
                                     "singular there), and SymPy's series did not finish within its budget (0.2 s)")
    fine = cli_run("taylor", "exp(x)", "--x", "0", "--order", "3", "--format", "plain")
    assert fine.exit_code == 0 and "note\tSymPy's series did not finish within its budget (0.2 s)" in fine.stdout
    assert "c3\t0.16666666666666666" in fine.stdout


def test_diff_at_a_removable_singularity_gives_the_limits_in_every_view_and_batch() -> None:
    import json

    for order, expected in ((1, 0.0), (2, -1 / 3), (4, 1 / 5), (10, -1 / 11)):  # sinc^(2k)(0) = (-1)^k/(2k+1)
        data = json.loads(cli_run("diff", "sin(x)/x", "--x", "0", "--order", str(order), "--json").stdout)
        assert data["value"] == 1.0 and data["derivative_value"] == pytest.approx(expected, rel=1e-15)
        assert data["method"] == "SymPy's series (the limit)" and "removable singularity" in " ".join(data["notes"])
    plain = cli_run("diff", "sin(x)/x", "--x", "0", "--format", "plain")
    assert plain.exit_code == 0 and "d/dx\t0.0" in plain.stdout and "nan" not in plain.stdout
    table = cli_run("diff", "sin(x)/x", "--x", "0", "--format", "table")
    assert "df/dx = 0.0" in table.stdout and "nan" not in table.stdout
    requests = [{"expression": "sin(x)/x", "point": {"x": 0}, "command": "diff", "wrt": ["x"], "order": 2},
                {"expression": "1/x", "point": {"x": 0}, "command": "diff", "wrt": ["x"]}]
    batch = cli_run("batch", input="".join(json.dumps(request) + "\n" for request in requests))
    limit, pole = (json.loads(line) for line in batch.stdout.splitlines())
    assert limit["derivative_value"] == pytest.approx(-1 / 3, rel=1e-15)
    assert pole["error"]["exit_code"] == 2 and "pole of order 1" in pole["error"]["message"]


@pytest.mark.parametrize(("text", "message"), [
    ("1/x", "error: f has no derivative at x = 0: a pole of order 1, Laurent series 1/x"),
    ("sqrt(x)", "error: f has no derivative at x = 0: a branch point, Puiseux series sqrt(x)"),
])
def test_diff_at_a_pole_or_branch_point_is_one_error_line(text: str, message: str) -> None:
    result = cli_run("diff", text, "--x", "0")
    assert result.exit_code == 2 and result.output.strip() == message
