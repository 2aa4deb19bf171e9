"""`derivcli propagate`: first order against the GUM's worked example H.2 and the `uncertainties` package
(to 1e-12), the second-order terms against exact variances of normal inputs, the Monte Carlo check
within its statistical bound, measurements as people write them, and metrological rounding."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
from servers import script
from typer.testing import CliRunner

from derivcli.cli import app
from derivcli.errors import DerivcliError
from derivcli.science.propagation import propagate
from derivcli.science.uncertainty import Measured, has_uncertainty, read_measured, rounded, two_significant

pytestmark = pytest.mark.usefixtures("warm_env")  # the real processes here run warm (conftest)

M = Measured
GUM_H2 = {"V": M(4.9990, 0.0032), "I": M(19.6610, 0.0095), "phi": M(1.04446, 0.00075)}  # V, mA, rad
GUM_H2_CORRELATIONS = [("V", "I", -0.36), ("V", "phi", 0.86), ("I", "phi", -0.65)]


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "120"})  # tables as wide, under xdist too


def relative(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


# ------------------------------------------------------------------------------ first order
GUM_H2_OBSERVATIONS = [(5.007, 19.663, 1.0456), (4.994, 19.639, 1.0438), (5.005, 19.640, 1.0468),
                       (4.990, 19.685, 1.0428), (4.999, 19.678, 1.0433)]  # GUM Table H.2: V, I (mA), phi


@pytest.mark.parametrize("formula, published", [
    ("1000*V/I*cos(phi)", (127.732, 0.071)),  # GUM H.2, Table H.3: resistance, reactance, impedance
    ("1000*V/I*sin(phi)", (219.847, 0.295)),
    ("1000*V/I", (254.260, 0.236)),
])
def test_gum_h2_simultaneous_resistance_and_reactance(formula, published):
    """The GUM's worked example from its five sets of observations: the means, and the covariance of the
    means (the sample covariance / 5), as the GUM computes them (approach 1)."""
    count = len(GUM_H2_OBSERVATIONS)
    means = [sum(row[i] for row in GUM_H2_OBSERVATIONS) / count for i in range(3)]
    covariance = [[sum((row[i] - means[i]) * (row[j] - means[j]) for row in GUM_H2_OBSERVATIONS) / (count - 1) / count
                   for j in range(3)] for i in range(3)]
    result = propagate(formula, dict(zip(["V", "I", "phi"], means)), covariance=covariance)
    assert abs(result.value - published[0]) < 0.0005
    assert abs(result.uncertainty - published[1]) < 0.001  # the GUM prints three digits of u
    assert result.correlated and abs(sum(row.share for row in result.budget) - 1) < 1e-12


FORMULAS = ["x*y", "x/y", "x**2*y", "sin(x)*exp(y)", "log(x) + sqrt(y)", "atan2(y, x)", "x**y", "(x - y)/(x + y)",
            "tanh(x*y) - cosh(x)/y", "erf(x/2)*y**3"]


@pytest.mark.parametrize("formula", FORMULAS)
def test_first_order_equals_the_uncertainties_package(formula):
    uncertainties = pytest.importorskip("uncertainties")
    import numpy
    from uncertainties import umath

    means, deviations = (1.3, 0.7), (0.02, 0.05)
    covariance = numpy.array([[deviations[0] ** 2, 0.4 * deviations[0] * deviations[1]],
                              [0.4 * deviations[0] * deviations[1], deviations[1] ** 2]])
    functions = {"sin": umath.sin, "exp": umath.exp, "log": umath.log, "sqrt": umath.sqrt, "atan2": umath.atan2,
                 "tanh": umath.tanh, "cosh": umath.cosh, "erf": umath.erf}
    for correlated in (False, True):
        if correlated:
            x, y = uncertainties.correlated_values(list(means), covariance)
        else:
            x, y = (uncertainties.ufloat(m, s) for m, s in zip(means, deviations))
        theirs = eval(formula, {**functions, "x": x, "y": y})  # the table's formulas, written for both
        ours = propagate(formula, {"x": M(means[0], deviations[0]), "y": M(means[1], deviations[1])},
                         correlations=[("x", "y", 0.4)] if correlated else ())
        assert relative(ours.value, theirs.nominal_value) < 1e-12
        assert relative(ours.uncertainty, theirs.std_dev) < 1e-12
        if not correlated:
            components = sorted(abs(part) for part in theirs.error_components().values())
            assert sorted(abs(row.contribution) for row in ours.budget) == pytest.approx(components, rel=1e-12)


def test_the_budget_is_ranked_and_its_shares_add_up():
    result = propagate("4*pi**2*L/T**2", {"L": M(1.0, 0.002), "T": M(2.007, 0.003)})
    assert [row.name for row in result.budget] == ["T", "L"]
    g_T = -8 * math.pi**2 * 1.0 / 2.007**3
    assert relative(result.budget[0].sensitivity, g_T) < 1e-14
    assert relative(result.budget[0].contribution, g_T * 0.003) < 1e-14
    assert abs(sum(row.share for row in result.budget) - 1) < 1e-14
    assert result.budget[0].share == pytest.approx((g_T * 0.003) ** 2 / result.uncertainty**2, rel=1e-12)


def test_exact_inputs_are_constants_and_k_expands():
    result = propagate("m*g*h", {"m": M(2.0, 0.01), "g": 9.81, "h": "1.5"}, k=2)
    assert [row.name for row in result.budget] == ["m"]
    assert result.uncertainty == pytest.approx(9.81 * 1.5 * 0.01, rel=1e-14)
    assert result.expanded == pytest.approx(2 * result.uncertainty, rel=1e-15)


# ------------------------------------------------------------------------------ second order
def test_second_order_flags_x_squared_at_point_one_and_not_a_linear_formula():
    square = propagate("x^2", {"x": M(0.1, 0.1)})
    assert not square.second_order.trusted
    assert square.second_order.uncertainty == pytest.approx(math.sqrt(4 * 0.01 * 0.01 + 2 * 0.1**4), rel=1e-14)
    assert any("second-order" in warning for warning in square.warnings)
    linear = propagate("2*x - 3*y + 1", {"x": M(0.1, 0.1), "y": M(5, 2)})
    assert linear.second_order.trusted and linear.second_order.change == 0 and linear.warnings == []


def test_second_order_terms_are_the_exact_variance_of_normal_inputs():
    # x*y with correlation r: Var = mx²sy² + my²sx² + 2 mx my r sx sy + sx²sy²(1 + r²) (quadratic: exact)
    mx, my, sx, sy, r = 2.0, 3.0, 0.3, 0.5, 0.6
    product = propagate("x*y", {"x": M(mx, sx), "y": M(my, sy)}, correlations=[("x", "y", r)])
    exact = mx**2 * sy**2 + my**2 * sx**2 + 2 * mx * my * r * sx * sy + sx**2 * sy**2 * (1 + r**2)
    assert product.second_order.uncertainty ** 2 == pytest.approx(exact, rel=1e-13)
    # x**3: 9m⁴s² from first order, 18m²s⁴ from the Hessian, 18m²s⁴ from the third derivative (GUM 5.1.2)
    m, s = 1.5, 0.2
    cube = propagate("x**3", {"x": M(m, s)})
    assert cube.second_order.hessian_term == pytest.approx(18 * m**2 * s**4, rel=1e-13)
    assert cube.second_order.third_derivative_term == pytest.approx(18 * m**2 * s**4, rel=1e-13)


# ------------------------------------------------------------------------------ Monte Carlo
def test_monte_carlo_of_a_linear_formula_is_within_its_statistical_bound():
    samples = 200_000
    result = propagate("2*x + 3*y", {"x": M(1.0, 0.1), "y": M(2.0, 0.05)}, monte_carlo=samples, seed=7)
    check, u = result.monte_carlo, result.uncertainty
    assert abs(check.mean - result.value) < 5 * u / math.sqrt(samples)
    assert abs(check.uncertainty / u - 1) < 5 / math.sqrt(2 * samples)
    for end, linear, error in zip(check.interval, check.linear_interval, check.interval_error):
        assert abs(end - linear) <= 2 * error
    assert check.verdict != "differ" and check.nonfinite == 0 and check.seed == 7


def test_monte_carlo_with_a_uniform_input_has_its_standard_uncertainty_and_range():
    result = propagate("x", {"x": M(5.0, 0.3)}, monte_carlo=100_000, distributions={"x": "uniform"}, seed=3)
    check = result.monte_carlo
    assert abs(check.uncertainty / 0.3 - 1) < 0.02
    half_width = 0.3 * math.sqrt(3)
    assert check.interval[0] == pytest.approx(5 - 0.95 * half_width, abs=0.01)
    assert check.interval[1] == pytest.approx(5 + 0.95 * half_width, abs=0.01)
    assert any("normal" in warning for warning in result.warnings)  # second order assumes normal inputs


def test_monte_carlo_finds_first_order_wrong_for_x_squared():
    result = propagate("x^2", {"x": M(0.1, 0.1)}, monte_carlo=100_000, seed=1)
    assert result.monte_carlo.verdict == "differ"
    assert result.monte_carlo.interval[0] > 0 > result.monte_carlo.linear_interval[0]


def test_huge_sample_counts_are_refused_against_the_memory_budget():
    result = run("propagate", "x*g", "--g", "9.81±0.1", "--x", "1", "--mc", "1000000000000")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: --mc 1,000,000,000,000") and "the limit is" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------------------ reading
@pytest.mark.parametrize("text, value, uncertainty", [
    ("9.81±0.02", 9.81, 0.02), ("9.81 ± 0.02", 9.81, 0.02), ("9.81 +- 0.02", 9.81, 0.02), ("9.81+/-0.02", 9.81, 0.02),
    ("9.81(2)", 9.81, 0.02), ("1.234(56)", 1.234, 0.056), ("12.3(1.2)", 12.3, 1.2), ("12345(12)", 12345, 12),
    ("6.67430(15)e-11", 6.6743e-11, 1.5e-15), ("(9.81 ± 0.02)e3", 9810, 20), ("-1.5±0.1", -1.5, 0.1),
])
def test_measurements_as_people_write_them(text, value, uncertainty):
    assert has_uncertainty(text)
    measured = read_measured("g", text)
    assert measured.value == pytest.approx(value, rel=1e-15) and measured.uncertainty == pytest.approx(uncertainty,
                                                                                                        rel=1e-15)


def test_plain_values_are_not_measurements():
    assert not any(has_uncertainty(text) for text in ("9.81", "pi/4", "log10(2)", "sqrt(2)", "[1, 2]"))


@pytest.mark.parametrize("text, fragment, column", [
    ("9.81±", "the uncertainty after ± is missing", 5), ("±0.02", "the value before ± is missing", 1),
    ("9.81±abc", "cannot read 'abc' as a number", 6), ("9.81±-0.02", "cannot be negative", 6),
    ("9.81±0.02±0.01", "one ± only", 10), ("9.81(2", "is not closed", 5), ("9.81(2)x", "cannot read it", 8),
    ("9.81(a)", "uncertainty's digits", 6),
])
def test_bad_measurements_are_one_error_with_the_column(text, fragment, column):
    with pytest.raises(DerivcliError) as caught:
        read_measured("g", text)
    assert fragment in caught.value.message and caught.value.span[0] + 1 == column
    result = run("propagate", "g*x", "--x", "1", "--g", text)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: --g ") and f"(column {column})" in result.stderr.splitlines()[0]
    assert "Traceback" not in result.stderr


def test_contradictory_correlations_and_bad_pairs_are_refused():
    inputs = {"x": M(1, 0.1), "y": M(2, 0.1), "z": M(3, 0.1)}
    with pytest.raises(DerivcliError, match="contradict"):
        propagate("x + y + z", inputs, correlations=[("x", "y", 0.9), ("y", "z", 0.9), ("x", "z", -0.9)])
    with pytest.raises(DerivcliError, match="no uncertainty"):
        propagate("x*w", {"x": M(1, 0.1), "w": 2}, correlations=[("x", "w", 0.5)])
    for text in ("x,y", "x=0.5", "x,x=0.5", "x,y=1.5", "x,y=abc"):
        assert run("propagate", "x*y", "--x", "1±0.1", "--y", "2±0.1", "--corr", text).exit_code == 2


def test_a_covariance_file_gives_what_the_correlations_give(tmp_path):
    path = tmp_path / "cov.json"
    s = {"V": 0.0032, "I": 0.0095, "phi": 0.00075}
    names = list(s)
    r = {frozenset((a, b)): c for a, b, c in GUM_H2_CORRELATIONS}
    path.write_text(json.dumps([[s[a] * s[b] * (1 if a == b else r[frozenset((a, b))]) for b in names] for a in names]))
    result = run("propagate", "1000*V/I*cos(phi)", "--V", "4.9990", "--I", "19.6610", "--phi", "1.04446",
                 "--cov", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    by_file = json.loads(result.stdout)
    by_corr = propagate("1000*V/I*cos(phi)", GUM_H2, correlations=GUM_H2_CORRELATIONS)
    assert by_file["uncertainty"] == pytest.approx(by_corr.uncertainty, rel=1e-12)
    disagreeing = run("propagate", "V/I", "--V", "4.9990±0.1", "--I", "19.6610", "--phi", "1", "--cov", str(path))
    assert disagreeing.exit_code == 2 and "disagrees with --cov" in disagreeing.stderr
    assert run("--no-files", "propagate", "V", "--V", "1", "--cov", str(path)).exit_code == 2


# ------------------------------------------------------------------------------ rounding and views
@pytest.mark.parametrize("value, uncertainty, text", [
    (11.03612, 0.04512, "11.036 ± 0.045"), (9.81, 0.02, "9.810 ± 0.020"), (0.0996, 0.0996, "0.10 ± 0.10"),
    (1.23456e-5, 1.2e-9, "(1.23456 ± 0.00012)e-05"), (123456789.0, 1234.0, "(1.234568 ± 0.000012)e+08"),
    (-0.001, 0.0001, "-0.00100 ± 0.00010"), (127.73219, 0.0707, "127.732 ± 0.071"),
    # below the value's 17 digits: full precision (erf((y - 2)**2) at y = -1.775 ± 0.001775 was an internal
    # error in --json and batch: Decimal's 28 digits could not hold the 92 it asked for)
    (1.0, 9.614818640059949e-91, "1.0 ± 9.614818640059949e-91"),
    (1.0, 1.2e-15, "1.0000000000000000 ± 0.0000000000000012"),
])
def test_metrological_rounding(value, uncertainty, text):
    assert rounded(value, uncertainty) == text


def test_two_significant_digits_keep_the_trailing_zero():
    assert [two_significant(v) for v in (0.0196, -0.0293, 0.0005, 1234.0)] == ["0.020", "-0.029", "0.00050", "1234"]


def test_table_rounds_plain_and_json_keep_full_precision():
    args = ["propagate", "1000*V/I*cos(phi)", "--V", "4.9990(32)", "--I", "19.6610 +- 0.0095", "--phi",
            "1.04446±0.00075", "--corr", "V,I=-0.36", "--corr", "V,phi=0.86", "--corr", "I,phi=-0.65"]
    truth = propagate("1000*V/I*cos(phi)", GUM_H2, correlations=GUM_H2_CORRELATIONS)
    table = run(*args, "--format", "table", "--k", "2")
    assert table.exit_code == 0 and "f = 127.732 ± 0.070" in table.stdout and "U = 0.14 (k = 2)" in table.stdout
    assert "1.04446 ± 0.00075" in table.stdout and "19.6610 ± 0.0095" in table.stdout
    plain = run(*args).stdout.splitlines()
    assert plain[0] == f"value\t{truth.value!r}" and plain[1] == f"uncertainty\t{truth.uncertainty!r}"
    data = json.loads(run(*args, "--json").stdout)
    assert data["value"] == truth.value and data["rounded"] == "127.732 ± 0.070"
    assert data["covariance"][0][1] == pytest.approx(-0.36 * 0.0032 * 0.0095, rel=1e-15)


def test_a_real_process_and_a_bad_text_reported_before_torch_loads():
    env = {**os.environ, "DERIVCLI_NO_SERVER": "1"}
    done = script("propagate", "x*y", "--x", "2.0(1)", "--y", "3.0 +- 0.2", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["uncertainty"] == pytest.approx(0.5, rel=1e-14)
    probe = ("import sys, json\nfrom derivcli.cli import main\ncode = main(['propagate', 'x', '--x', '9.81±'])\n"
             "sys.stderr.write(json.dumps([code, 'torch' in sys.modules, 'sympy' in sys.modules]))")
    light = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert light.stderr.strip().splitlines()[-1] == "[2, false, false]"


# ------------------------------------------------------------------------------ tensors
def test_a_tensor_valued_f_gets_its_output_covariance():
    """W @ x with W exact: the outputs' covariance is W Σ Wᵀ, their uncertainties its diagonal's roots."""
    W = [[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]]
    sigma = [[0.04, 0.01, 0.0], [0.01, 0.09, -0.02], [0.0, -0.02, 0.01]]
    # --cov covers every bound variable: x's 3 elements, then W's 6, exact (zero rows)
    result = propagate("W @ x", {"x": [1.0, 2.0, 3.0], "W": W},
                       covariance=[[*row, *([0.0] * 6)] for row in sigma] + [[0.0] * 9 for _ in range(6)])
    expected = [[sum(W[i][a] * sigma[a][b] * W[j][b] for a in range(3) for b in range(3)) for j in range(2)]
                for i in range(2)]
    assert result.value == [6.5, 8.0]
    for got, want in zip(result.output_covariance, expected):
        assert got == pytest.approx(want, rel=1e-14)
    assert result.uncertainty == pytest.approx([math.sqrt(expected[0][0]), math.sqrt(expected[1][1])], rel=1e-14)
    assert result.budget == [] and result.second_order is None
    with pytest.raises(DerivcliError, match="number-valued"):
        propagate("x**2", {"x": [1.0, 2.0]}, covariance=[[0.01, 0.0], [0.0, 0.01]], monte_carlo=1000)


def test_a_tensor_input_has_a_row_per_element():
    sigma = [[0.01, 0.004], [0.004, 0.04]]
    result = propagate("sum(x**2)", {"x": [1.0, 2.0]}, covariance=sigma)
    g = [2.0, 4.0]
    variance = sum(g[i] * sigma[i][j] * g[j] for i in range(2) for j in range(2))
    assert result.uncertainty == pytest.approx(math.sqrt(variance), rel=1e-14)
    assert [row.name for row in result.budget] == ["x[1]", "x[0]"]
    half_trace = 0.5 * 4 * (0.01**2 + 2 * 0.004**2 + 0.04**2)  # ½ tr((HΣ)²) with H = 2I
    assert result.second_order.uncertainty ** 2 == pytest.approx(variance + half_trace, rel=1e-13)


def test_batch_requests_carry_uncertainties():
    """A `propagate` request in a batch answers as the API does, bit for bit; a bad measurement is its own
    error record and the next line still answers; every record validates as a batch record."""
    from test_schemas import validate

    from derivcli.scale.streams import batch

    requests = [{"command": "propagate", "expression": "4*pi**2*L/T**2", "point": {"L": "1.000±0.002", "T": "2.007(3)"},
                 "k": 2},
                {"command": "propagate", "expression": "x*y", "point": {"x": "2.0±", "y": 1}},
                {"command": "propagate", "expression": "x*y", "point": {"x": "2.0(1)", "y": "3.0 +- 0.2"},
                 "corr": ["x,y=0.5"]}]
    pendulum, bad, product = batch([json.dumps(request) for request in requests])
    truth = propagate("4*pi**2*L/T**2", {"L": Measured(1.0, 0.002), "T": Measured(2.007, 0.003)}, k=2)
    assert pendulum["value"] == truth.value and pendulum["uncertainty"] == truth.uncertainty
    assert bad["line"] == 2 and "uncertainty after ± is missing" in bad["error"]["message"]
    both = propagate("x*y", {"x": Measured(2.0, 0.1), "y": Measured(3.0, 0.2)}, correlations=[("x", "y", 0.5)])
    assert product["uncertainty"] == both.uncertainty
    for record in (pendulum, bad, product):
        validate(record, "batch_record")
