"""The seams between parsing's layers (issue 21): every spelling of an expression is one expression, or an
error that lists the readings; never a wrong number with exit 0.

Braces and LaTeX go through the same notation layer as plain text; `implicit` splits run-together
letters as `diff` does; names with digits are torch's functions, never a function and a number;
`max(X, 1)` with a tensor is refused with its two readings; a variable in a branch never taken keeps its
gradient row.  Each through the CLI (a real process for a few) and through `derivcli batch`, and the
notation rules as properties over random expressions, against SymPy built directly from the same tree.
"""

from __future__ import annotations

import json
import math
import subprocess

import pytest
import sympy as sp
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from records import error_text
from servers import script
from typer.testing import CliRunner

from derivcli.cli import app
from derivcli.errors import DerivcliError
from derivcli.parsing import parse

pytestmark = pytest.mark.usefixtures("warm_env")  # the real processes here run warm (conftest)

X, Y = sp.symbols("x y", real=True)


def cli(*args: str, input: str | None = None):
    return CliRunner().invoke(app, list(args), input=input)


def process(*args: str) -> subprocess.CompletedProcess[str]:
    return script(*args)


def batch(*requests: dict) -> list[dict]:
    result = cli("batch", input="".join(json.dumps(request) + "\n" for request in requests))
    return [json.loads(line) for line in result.stdout.splitlines()]


def error(text: str) -> DerivcliError:
    with pytest.raises(DerivcliError) as caught:
        parse(text)
    return caught.value


# ------------------------------------------------------------------------------- braces and LaTeX
SAME = [
    ("sin^{2}(x)", "sin(x)**2"),
    ("tan^{-1} x", "atan(x)"),
    ("x·e^{-x}", "x*exp(-x)"),
    ("e^{2x}", "exp(2*x)"),
    ("\\frac{1}{2}x^{2}", "x**2/2"),
    ("\\sin^{2}x", "sin(x)**2"),
    ("\\sin^{2}(x) + \\cos^{2}(x)", "sin(x)**2 + cos(x)**2"),
    ("\\tan^{-1} x", "atan(x)"),
    ("\\sinh^{-1}x", "asinh(x)"),
    ("log_{2}(x)", "log(x)/log(2)"),
    ("\\log_{10} x", "log(x)/log(10)"),
    ("\\ln x", "log(x)"),
    ("\\frac{\\sin x}{x}", "sin(x)/x"),
    ("\\frac{sin(x)}{x}", "sin(x)/x"),          # a function name without its backslash, inside LaTeX
    ("x\\sin x", "x*sin(x)"),
    ("\\frac{xsinx}{2}", "x*sin(x)/2"),          # run-together letters, as in plain text
    ("\\frac{xy}{2}", "x*y/2"),
    ("x\\cdot e^{-x}", "x*exp(-x)"),
    ("\\frac{π}{2}x", "pi*x/2"),                 # Unicode inside LaTeX
    ("\\sqrt{x^{2}+1}", "sqrt(x**2 + 1)"),
    ("\\sqrt[3]{x}", "cbrt(x)"),                 # the real cube root, as ∛x
    ("\\sqrt[4]{x}", "root(x, 4)"),
    ("\\left|x\\right| + \\lfloor x \\rfloor", "abs(x) + floor(x)"),
    ("\\operatorname{relu}(x) + \\operatorname{leaky\\_relu}(x)", "relu(x) + leaky_relu(x)"),
    ("\\mathrm{e}^{x}", "exp(x)"),
    ("\\exp\\left(-x^{2}\\right)", "exp(-x**2)"),
    ("x_{1}x_{2}", "x_1*x_2"),
    ("{x+1}^{2}", "(x + 1)**2"),
    ("x^{2}3", "3*x**2"),
    ("2\\pi r", "2*pi*r"),
    ("\\theta^{2}", "theta**2"),
]


@pytest.mark.parametrize("written, plain", SAME)
def test_braces_and_latex_read_as_the_plain_spelling(written, plain):
    assert parse(written).expr == parse(plain).expr


def test_braces_and_latex_through_a_real_process():
    """The issue's cases: `sin^{2}(x)` was i*n**2*s, `tan^{-1} x` was a*t/n, `x·e^{-x}` refused."""
    done = process("diff", "sin^{2}(x)", "--wrt", "x", "--x", "0.7", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert sp.simplify(sp.sympify(data["derivative"], locals={"x": X}) - sp.sin(2 * X)) == 0
    assert data["derivative_value"] == pytest.approx(math.sin(1.4), rel=1e-14)


def test_braces_and_latex_in_process():
    data = json.loads(cli("grad", "x·e^{-x}", "--x", "0.5", "--json").stdout)
    assert data["value"] == pytest.approx(0.5 * math.exp(-0.5), rel=1e-15)
    assert data["gradient"]["x"] == pytest.approx(0.5 * math.exp(-0.5), rel=1e-15)  # (1 - x) e^-x at 0.5
    result = cli("diff", "tan^{-1} x", "--wrt", "x", "--json")
    assert result.exit_code == 0, result.output
    assert sp.simplify(sp.sympify(json.loads(result.stdout)["derivative"], locals={"x": X}) - 1 / (1 + X**2)) == 0
    result = cli("grad", "\\frac{1}{2}x^{2} + \\sin^{2}x", "--x", "1.5", "--format", "plain", "--explain-parse")
    assert result.exit_code == 0, result.output
    assert "d/dx\t" + repr(1.5 + math.sin(3.0)) in result.stdout
    assert "LaTeX read as ((1)/(2))x^(2) + sin^(2)x" in result.stdout


def test_braces_and_latex_through_batch():
    answers = batch({"expression": "sin^{2}(x)", "point": {"x": 0.7}},
                    {"expression": "\\tan^{-1} x", "point": {"x": 2.0}},
                    {"expression": "x·e^{-x}", "point": {"x": 0.5}},
                    {"expression": "log_{2}(x)", "point": {"x": 3.0}},
                    {"expression": "x^23 \\cdot 2", "point": {"x": 3.0}})
    assert answers[0]["gradient"]["x"] == pytest.approx(math.sin(1.4), rel=1e-14)
    assert answers[1]["gradient"]["x"] == pytest.approx(1 / 5, rel=1e-15)
    assert answers[2]["gradient"]["x"] == pytest.approx(0.5 * math.exp(-0.5), rel=1e-15)
    assert answers[3]["gradient"]["x"] == pytest.approx(1 / (3 * math.log(2)), rel=1e-15)
    assert answers[4]["line"] == 5 and "reads two ways" in error_text(answers[4])


@pytest.mark.parametrize("text, message, span", [
    ("x^23 \\cdot 2", "'^23' reads two ways: LaTeX takes one character (^{2}3), plain text all of it (^{23})", (1, 4)),
    ("\\log_10 x", "'_10' reads two ways", (4, 7)),
    ("\\frac{d}{dx} x^2", "the LaTeX is a derivative", (0, 8)),
    ("\\int x dx", "the LaTeX is an integral", (0, 4)),
    ("x + \\oplus y", "cannot read the LaTeX: the command '\\oplus' is not supported", (4, 10)),
    ("x_{i+1}", "a subscript is part of a name", (1, 7)),
    ("\\frac{1}{x", "cannot read the LaTeX: '{' is never closed", (8, 9)),
    ("sin^{2}(x) }", "'}' closes no '{'", (11, 12)),
    ("\\frac{1}{x} + sn(x)", "unknown function 'sn'", (14, 16)),  # the parser's own errors point into the LaTeX
])
def test_what_braces_and_latex_cannot_mean_is_an_error_at_its_column(text, message, span):
    caught = error(text)
    assert message in caught.message and caught.span == span and caught.source == text


# ---------------------------------------------------------------------------------------- implicit
def test_implicit_splits_run_together_letters_as_diff_does():
    """`sin(xy) = x` answered dxy/dx = 1/cos(xy); the cubic and the ellipse asked for --dependent."""
    for equation, truth in (("sin(xy) = x", (1 - Y * sp.cos(X * Y)) / (X * sp.cos(X * Y))),
                            ("x^3 + y^3 = 6xy", -(3 * X**2 - 6 * Y) / (3 * Y**2 - 6 * X)),
                            ("x^2 + xy + y^2 = 7", -(2 * X + Y) / (X + 2 * Y))):
        result = cli("implicit", equation, "--json")
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["dependent"] == "y"
        assert sp.simplify(sp.sympify(data["derivative"], locals={"x": X, "y": Y}) - truth) == 0


def test_implicit_through_a_real_process():
    done = process("implicit", "x^2 + xy + y^2 = 7", "--x", "1", "--y", "2", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["value"] == pytest.approx(-4 / 5, rel=1e-15)  # -(2x + y)/(x + 2y)


def test_implicit_agrees_with_the_gradient_batch_computes_of_the_same_text():
    """batch has no implicit command: the slope -F_x/F_y from batch's gradient of F (the same run-together
    text) is implicit's dy/dx."""
    (answer,) = batch({"expression": "x^3 + y^3 - 6xy", "point": {"x": 3.0, "y": 3.0}})
    slope = -answer["gradient"]["x"] / answer["gradient"]["y"]
    data = json.loads(cli("implicit", "x^3 + y^3 = 6xy", "--x", "3", "--y", "3", "--json").stdout)
    assert data["value"] == pytest.approx(slope, rel=1e-15) and slope == -1.0


# --------------------------------------------------------------------------------- names with digits
def test_relu6_is_torchs_relu6_never_relu_of_6x():
    done = process("grad", "relu6(x)", "--x", "8", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["value"], answer["gradient"]["x"]) == (6.0, 0.0)  # relu(6*8) would be 48, slope 6
    assert "relu(6" not in done.stdout


@pytest.mark.parametrize("x", [-1.0, 0.0, 3.0, 6.0, 8.0])
@pytest.mark.parametrize("text", ["relu6(x)", "hardtanh(x, 0, 6)"])
def test_relu6_and_its_hardtanh_spelling_are_torchs_relu6(text, x):
    result = json.loads(cli("grad", text, "--x", str(x), "--json").stdout)
    leaf = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    value = torch.nn.functional.relu6(leaf)
    value.backward()
    assert (result["value"], result["gradient"]["x"]) == (value.item(), leaf.grad.item())


@pytest.mark.parametrize("text, truth", [
    ("log1p(x)", 1 / 1.5), ("log1px", 1 / 1.5), ("expm1(x)", math.exp(0.5)), ("log10(x)", 1 / (0.5 * math.log(10))),
    ("log2x", 1 / (0.5 * math.log(2))), ("atan2(x, 1)", 1 / 1.25), ("arctan2(x, 1)", 1 / 1.25),
    ("sin2x", 2 * math.cos(1.0)),  # a name without digits of its own still takes a number after it
])
def test_names_with_digits_are_their_functions(text, truth):
    result = cli("grad", text, "--x", "0.5", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["gradient"]["x"] == pytest.approx(truth, rel=1e-15)


@pytest.mark.parametrize("text", ["exp2(x)", "exp2 x", "logaddexp2(x, 1)", "deg2rad(x)"])
def test_torch_names_the_table_lacks_are_errors_naming_them(text):
    result = cli("grad", text, "--x", "0.5")
    name = text.split("(")[0].split()[0]
    assert result.exit_code == 2 and f"'{name}' is torch's {name}" in result.stderr


def test_names_with_digits_through_batch():
    answers = batch({"expression": "exp2(x)", "point": {"x": 8}}, {"expression": "log1p(x)", "point": {"x": 0.5}})
    assert answers[0]["line"] == 1 and "torch's exp2" in error_text(answers[0])
    assert answers[1]["gradient"]["x"] == pytest.approx(1 / 1.5, rel=1e-15)


# ------------------------------------------------------------------------------ max(X, 1) of a tensor
@pytest.mark.parametrize("text, readings", [
    ("sum(max(X, 1))", ["torch.max(X, 1), the maximum over dimension 1", "the elementwise maximum of X and 1",
                        "max(X, 1.0) or Max(X, 1)"]),
    ("sum(min(X, -1))", ["torch.min(X, -1), the minimum over dimension -1", "min(X, -1.0)"]),
    ("sum(min(X @ X, 0))", ["torch.min(X @ X, 0)"]),
    ("max(X[0], 1)", ["torch.max(X[0], 1)"]),  # a row of a matrix is a tensor
])
def test_max_of_a_tensor_and_a_whole_number_lists_both_readings(text, readings):
    result = cli("grad", text, "--X", "[[1, 2], [3, 0]]")
    assert result.exit_code == 2 and result.stdout == ""
    for reading in readings:
        assert reading in result.stderr


MATRIX = ["--X", "[[1, 2], [3, 0]]"]


@pytest.mark.parametrize("text, point, value, gradient", [
    ("max(x, 1)", ["--x", "3"], 3.0, 1.0),                    # numbers: one reading
    ("max(sum(X), 1)", MATRIX, 6.0, [[1.0, 1.0], [1.0, 1.0]]),  # a reduction is a number
    ("max(X[0, 1], 3)", MATRIX, 3.0, [[0.0, 0.0], [0.0, 0.0]]),
])
def test_max_with_one_reading_stays_elementwise(text, point, value, gradient):
    result = json.loads(cli("grad", text, *point, "--json").stdout)
    assert result["value"] == value and list(result["gradient"].values()) == [gradient]


@pytest.mark.parametrize("text, other", [("sum(max(X, 1.5))", 1.5), ("sum(Max(X, 2))", 2.0), ("sum(min(X, 1.0))", 1.0)])
def test_the_spellings_the_error_suggests_are_torchs_elementwise_maximum(text, other):
    matrix = torch.tensor([[1.0, 2.0], [3.0, 0.0]], dtype=torch.float64, requires_grad=True)
    extremum = torch.maximum if "max" in text.lower() else torch.minimum
    value = extremum(matrix, torch.tensor(other, dtype=torch.float64)).sum()
    value.backward()
    result = json.loads(cli("grad", text, *MATRIX, "--json").stdout)
    assert result["value"] == value.item() and result["gradient"] == {"X": matrix.grad.tolist()}


def test_max_of_a_vector_and_0_is_torchs_max_over_dimension_0_or_relu():
    result = cli("grad", "sum(max(x, 0))", "--x", "[1, -2, 3]")
    assert result.exit_code == 2 and "torch.max(x, 0), the maximum over dimension 0" in result.stderr
    assert json.loads(cli("grad", "sum(max(x, 0.0))", "--x", "[1, -2, 3]", "--json").stdout)["value"] == 4.0


def test_max_of_a_tensor_through_batch():
    answers = batch({"expression": "sum(max(X, 1))", "point": {"X": [[1, 2], [3, 0]]}},
                    {"expression": "max(x, 1)", "point": {"x": 3}})
    assert answers[0]["line"] == 1 and "torch.max(X, 1)" in error_text(answers[0])
    assert answers[1]["value"] == 3.0 and answers[1]["gradient"] == {"x": 1.0}


# ------------------------------------------------------------------------------- dead branches
def test_a_variable_in_a_branch_never_taken_keeps_its_row():
    done = process("grad", "x if 1 > 0 else y", "--x", "1", "--y", "2", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["gradient"] == {"x": 1.0, "y": 0.0} and data["warnings"] == []
    assert "not in the expression" not in done.stderr


@pytest.mark.parametrize("text, gradient", [
    ("x if 1 > 0 else y", {"x": 1.0, "y": 0.0}),
    ("x**2 if 2 < 1 else y**2", {"x": 0.0, "y": 4.0}),
    ("x - x + y", {"x": 0.0, "y": 1.0}),
])
def test_dead_branches_in_process_with_check_and_through_batch(text, gradient):
    result = cli("grad", text, "--x", "1", "--y", "2", "--check", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["gradient"] == gradient and data["warnings"] == []
    assert [answer["gradient"] for answer in batch({"expression": text, "point": {"x": 1, "y": 2}})] == [gradient]


# ------------------------------------------------------------- every notation rule, proven over random trees
NAMES = {"x": X, "y": Y}
FUNCTIONS = {"sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "sinh": sp.sinh, "tanh": sp.tanh, "exp": sp.exp,
             "atan": sp.atan}
INVERSES = {"sin": sp.asin, "cos": sp.acos, "tan": sp.atan, "sinh": sp.asinh, "tanh": sp.atanh}


def _leaf() -> st.SearchStrategy[tuple[str, str, sp.Expr]]:
    return st.sampled_from([("x", "x", X), ("y", "y", Y), ("2", "2", sp.Integer(2)), ("3", "{3}", sp.Integer(3))])


BACKSLASH = "\\"


def _power(base: sp.Expr, exponent: sp.Expr) -> sp.Expr:  # the truth keeps its tree: sin(acos(2)) is undefined
    return sp.Pow(base, exponent, evaluate=False)


def _times(left: sp.Expr, right: sp.Expr) -> sp.Expr:
    return sp.Mul(left, right, evaluate=False)


def _node(children: st.SearchStrategy) -> st.SearchStrategy[tuple[str, str, sp.Expr]]:
    """(the plain spelling, a braced or LaTeX spelling, SymPy built directly): one notation rule each."""
    def function(name, child, latex):
        plain, other, tree = child
        return f"{name}({plain})", f"{BACKSLASH * latex}{name}{{{other}}}", FUNCTIONS[name](tree, evaluate=False)

    def power_of_function(name, n, child, latex):
        plain, other, tree = child
        truth = _power(FUNCTIONS[name](tree, evaluate=False), n)
        return f"{name}({plain})**{n}", f"{BACKSLASH * latex}{name}^{{{n}}}({other})", truth

    def inverse(name, child, latex):
        plain, other, tree = child
        return f"a{name}({plain})", f"{BACKSLASH * latex}{name}^{{-1}}({other})", INVERSES[name](tree, evaluate=False)

    def exponential(child, spelling):  # e^{u} builds E**u as e^(u) does (SymPy may rewrite it), \exp{u} exp(u)
        plain, other, tree = child
        return f"{'exp' if 'exp' in spelling else 'e^'}({plain})", spelling.format(other), sp.exp(tree, evaluate=False)

    def logarithm(base, child, latex):
        plain, other, tree = child
        truth = _times(sp.log(tree, evaluate=False), _power(sp.log(base), -1))
        return f"log({plain}, {base})", f"{BACKSLASH * latex}log_{{{base}}}({other})", truth

    def binary(op, left, right):
        (lp, lo, lt), (rp, ro, rt) = left, right
        if op == "frac":
            return f"({lp})/({rp})", f"\\frac{{{lo}}}{{{ro}}}", _times(lt, _power(rt, -1))
        if op == "power":
            return f"({lp})**({rp})", f"{{{lo}}}^{{{ro}}}", _power(lt, rt)
        spelled = {"*": "{}*{}", "·": "{{{}}}·{{{}}}", "cdot": "{{{}}}\\cdot{{{}}}", "juxtaposed": "{{{}}}{{{}}}"}[op]
        return f"({lp})*({rp})", spelled.format(lo, ro), _times(lt, rt)

    latex = st.booleans()
    return st.one_of(
        st.builds(function, st.sampled_from(sorted(FUNCTIONS)), children, latex),
        st.builds(power_of_function, st.sampled_from(["sin", "cos", "tanh"]), st.integers(2, 4), children, latex),
        st.builds(inverse, st.sampled_from(sorted(INVERSES)), children, latex),
        st.builds(exponential, children, st.sampled_from(["e^{{{}}}", "\\exp{{{}}}", "\\mathrm{{e}}^{{{}}}"])),
        st.builds(logarithm, st.sampled_from([2, 3, 10]), children, latex),
        st.builds(binary, st.sampled_from(["frac", "power", "*", "·", "cdot", "juxtaposed"]), children, children),
    )


TREES = st.recursive(_leaf(), _node, max_leaves=5)


def _value(expr: sp.Expr, point: dict) -> float | None:
    """The value at 30 digits, where every part of the expression is a finite real number (derivcli
    computes over the reals: acos(2) is undefined, so sin(acos(2))**2 is too); else None."""
    values = []
    for part in sp.preorder_traversal(expr):
        try:
            value = complex(part.evalf(30, subs=point))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return None
        if not (math.isfinite(value.real) and value.imag == 0):
            return None
        values.append(value.real)
    return values[0]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TREES, st.floats(0.1, 0.9), st.floats(-0.9, -0.1))
def test_every_braced_and_latex_spelling_builds_the_plain_expression(tree, x, y):
    """`f^{n}(u)` is f(u)**n, `f^{-1}(u)` the inverse, `e^{u}` exp(u), `log_{b}(u)` log(u, b),
    `\\frac{u}{v}` (u)/(v), `{u}^{v}` u**v, `·`, `\\cdot` and juxtaposed groups a product: the braced or
    LaTeX spelling builds the same SymPy expression as the plain one, and both have the value of SymPy's
    expression built directly from the tree (never through derivcli's parser)."""
    plain, spelled, truth = tree
    expected = _value(truth, {X: x, Y: y})
    try:
        read_plain = parse(plain).expr
    except DerivcliError as caught:  # a constant too large to build exactly: both spellings refuse it
        assert "too large" in caught.message
        with pytest.raises(DerivcliError, match="too large"):
            parse(spelled)
        return
    assert parse(spelled).expr == read_plain, (plain, spelled)
    if expected is not None:
        got = _value(read_plain, {X: x, Y: y}) if read_plain.is_real is not False else None
        assert got is not None and abs(got - expected) <= 1e-20 + 1e-12 * abs(expected), (plain, got, expected)
