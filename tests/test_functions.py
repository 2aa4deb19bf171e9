"""Every public entry of the functions table, checked against SymPy's own numerics.

For each entry: (a) the torch value of the lowered expression equals SymPy's value (evalf at 30 digits),
(b) the autograd derivative (`derivcli.grad`) equals SymPy's symbolic derivative evaluated by SymPy
itself (never through derivcli's lowering).  The expressions are listed by hand, per entry, and a test
asserts that the list covers the table exactly, so a new entry without a test fails.
"""

from __future__ import annotations

import math
import random

import pytest
import sympy as sp
import torch

import derivcli
from derivcli.lowering.program import lower
from derivcli.parsing import parse
from derivcli.table.functions import FUNCTIONS, by_name

# Scalar (element-wise) entries; tensor entries (reductions, matmul, losses) take vector or matrix
# variables and are tested elsewhere.
PUBLIC = {spec.name: spec for spec in FUNCTIONS if not spec.internal and not getattr(spec, "tensor", False)}
TENSOR = {spec.name: spec for spec in FUNCTIONS if not spec.internal and getattr(spec, "tensor", False)}
INTERNAL = {spec.name: spec for spec in FUNCTIONS if spec.internal}

# Expression texts per public entry (by arity).  Keep in sync with the table: test_every_entry_is_covered.
EXPRESSIONS: dict[str, list[str]] = {
    "sin": ["sin(x)"],
    "cos": ["cos(x)"],
    "tan": ["tan(x)"],
    "sec": ["sec(x)"],
    "csc": ["csc(x)"],
    "cot": ["cot(x)"],
    "asin": ["asin(x)"],
    "acos": ["acos(x)"],
    "atan": ["atan(x)"],
    "atan2": ["atan2(y, x)"],
    "asec": ["asec(x)"],
    "acsc": ["acsc(x)"],
    "acot": ["acot(x)"],
    "sinh": ["sinh(x)"],
    "cosh": ["cosh(x)"],
    "tanh": ["tanh(x)"],
    "coth": ["coth(x)"],
    "sech": ["sech(x)"],
    "csch": ["csch(x)"],
    "asinh": ["asinh(x)"],
    "acosh": ["acosh(x)"],
    "atanh": ["atanh(x)"],
    "acoth": ["acoth(x)"],
    "asech": ["asech(x)"],
    "acsch": ["acsch(x)"],
    "exp": ["exp(x)"],
    "expm1": ["expm1(x)"],
    "log": ["log(x)", "log(x, 3)"],
    "log1p": ["log1p(x)"],
    "log2": ["log2(x)"],
    "log10": ["log10(x)"],
    "sqrt": ["sqrt(x)"],
    "cbrt": ["cbrt(x)"],
    "root": ["root(x, 3)"],
    "abs": ["abs(x)"],
    "sign": ["sign(x)"],
    "floor": ["floor(x)"],
    "ceiling": ["ceiling(x)"],
    "min": ["min(x)", "min(x, y)", "min(x, y, 0.5)"],
    "max": ["max(x)", "max(x, y)", "max(x, y, 0.5)"],
    "erf": ["erf(x)"],
    "erfc": ["erfc(x)"],
    "gamma": ["gamma(x)"],
    "factorial": ["factorial(x)"],
    "loggamma": ["loggamma(x)"],
    "digamma": ["digamma(x)"],
    "polygamma": ["polygamma(0, x)", "polygamma(1, x)", "polygamma(3, x)"],
    "sigmoid": ["sigmoid(x)"],
    "relu": ["relu(x)"],
    "softplus": ["softplus(x)"],
    "gelu": ["gelu(x)"],
    "silu": ["silu(x)"],
    "elu": ["elu(x)", "elu(x, 0.5)", "elu(x, y)"],
    "leaky_relu": ["leaky_relu(x)", "leaky_relu(x, 0.2)", "leaky_relu(x, y)"],
    "softsign": ["softsign(x)"],
    "logsigmoid": ["logsigmoid(x)"],
    "mish": ["mish(x)"],
    "hardtanh": ["hardtanh(x)", "hardtanh(x, -0.5)", "hardtanh(x, -2, 2)", "hardtanh(x, y, z)"],
    "heaviside": ["heaviside(x)", "heaviside(x, 1)"],
    "relu6": ["relu6(x)", "relu6(3*x)"],
    "hardsigmoid": ["hardsigmoid(x)"],
    "hardswish": ["hardswish(x)"],
    "selu": ["selu(x)"],
    "celu": ["celu(x)", "celu(x, 0.5)", "celu(x, y)"],
    "clamp": ["clamp(x, -0.5)", "clamp(x, -0.5, 0.5)", "clamp(x, y, z)", "clamp(x, max=0.5)"],
}

# Every alias and the canonical name it must resolve to.
ALIASES: dict[str, str] = {
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "arctg": "atan",
    "arctan2": "atan2",
    "arcsec": "asec",
    "arccsc": "acsc",
    "arccot": "acot",
    "arcctg": "acot",
    "tg": "tan",
    "ctg": "cot",
    "cotg": "cot",
    "cosec": "csc",
    "cosech": "csch",
    "arcsinh": "asinh",
    "arsinh": "asinh",
    "arccosh": "acosh",
    "arcosh": "acosh",
    "arctanh": "atanh",
    "artanh": "atanh",
    "arcoth": "acoth",
    "arccoth": "acoth",
    "arsech": "asech",
    "arcsech": "asech",
    "arcsch": "acsch",
    "arccsch": "acsch",
    "ln": "log",
    "lg": "log10",
    "lb": "log2",
    "Abs": "abs",
    "sgn": "sign",
    "ceil": "ceiling",
    "Min": "min",
    "Max": "max",
    "lgamma": "loggamma",
    "psi": "digamma",
    "expit": "sigmoid",
    "swish": "silu",
    "Heaviside": "heaviside",
    "step": "heaviside",
    "clip": "clamp",
}

# Known derivcli bugs, one xfail per entry (strict: fixing the bug turns the xfail into a failure).
KNOWN_BUGS: dict[str, str] = {}
# Known bugs of single expressions: test_value_and_gradient_match_sympy leaves them to
# test_known_bug_expressions, which runs the same checks under a strict xfail.
# (Fixed since: min(x) and max(x) of one scalar failed --check with 'cannot evaluate Tuple numerically'.)
KNOWN_BUG_EXPRESSIONS: dict[str, str] = {}

POINTS_PER_EXPRESSION = 5
VALUE_RTOL, VALUE_ATOL = 1e-10, 1e-12
GRAD_RTOL, GRAD_ATOL = 1e-8, 1e-10


# ------------------------------------------------------------------------------------------- helpers
def _reference_form(expr: sp.Expr) -> sp.Expr:
    """Replace derivcli's own SymPy classes by their textbook definitions in plain SymPy, so that the
    reference does not depend on derivcli's `fdiff`s or on how SymPy happens to evalf them."""
    from derivcli.table import activations, tensor_forms
    from derivcli.table import sympy_forms as own

    definitions = {
        own.sigmoid: lambda a: 1 / (1 + sp.exp(-a)),
        own.softplus: lambda a: sp.log(1 + sp.exp(a)),
        own.relu: lambda a: sp.Max(a, 0),
        own.cbrt: lambda a: sp.sign(a) * sp.Abs(a) ** sp.Rational(1, 3),
        own.gelu: lambda a: a / 2 * (1 + sp.erf(a / sp.sqrt(2))),
        own.silu: lambda a: a / (1 + sp.exp(-a)),
        own.elu: lambda a, alpha=1: sp.Piecewise((a, a > 0), (alpha * (sp.exp(a) - 1), True)),
        own.leaky_relu: lambda a, slope=sp.Rational(1, 100): sp.Piecewise((a, a > 0), (slope * a, True)),
        own.softsign: lambda a: a / (1 + sp.Abs(a)),
        own.logsigmoid: lambda a: sp.log(1 / (1 + sp.exp(-a))),
        own.mish: lambda a: a * sp.tanh(sp.log(1 + sp.exp(a))),
        own.hardtanh: lambda a, low=-1, high=1: sp.Min(sp.Max(a, low), high),
        tensor_forms.amax: lambda a: a,  # max(x) of one scalar is x
        tensor_forms.amin: lambda a: a,
        activations.relu6: lambda a: sp.Min(sp.Max(a, 0), 6),
        activations.hardsigmoid: lambda a: sp.Min(sp.Max(a + 3, 0), 6) / 6,
        activations.hardswish: lambda a: a * sp.Min(sp.Max(a + 3, 0), 6) / 6,
        activations.selu: lambda a: sp.Float("1.0507009873554804934193349852946", 30) * sp.Piecewise(
            (a, a > 0), (sp.Float("1.6732632423543772848170429916717", 30) * (sp.exp(a) - 1), True)),
        activations.celu: lambda a, alpha=1: sp.Piecewise((a, a > 0), (alpha * (sp.exp(a / alpha) - 1), True)),
        activations.clamp: lambda a, low, high: sp.Min(sp.Max(a, low), high),
    }
    for cls, definition in definitions.items():
        expr = expr.replace(lambda node, cls=cls: isinstance(node, cls), lambda node, d=definition: d(*node.args))
    return expr


def _sympy_number(expr: sp.Expr, point: dict[sp.Symbol, float]) -> float:
    """SymPy's own numeric value (30 digits) at a float point, taken exactly as the float64 it is."""
    value = expr.evalf(30, subs={symbol: sp.Float(v, 30) for symbol, v in point.items()})
    if value.has(sp.DiracDelta):  # DiracDelta away from 0 (the point is never exactly 0)
        value = value.replace(sp.DiracDelta, lambda *args: sp.S.Zero).evalf(30)
    return float(value)


def _close(got: float, expected: float, rtol: float, atol: float) -> bool:
    return math.isfinite(got) and abs(got - expected) <= atol + rtol * abs(expected)


def _points(name: str, text: str, variables: list[str]) -> list[dict[str, float]]:
    low, high = PUBLIC[name].domain
    rng = random.Random(f"1234:{text}")
    points: list[dict[str, float]] = []
    while len(points) < POINTS_PER_EXPRESSION:
        point = {v: rng.uniform(low, high) for v in variables}
        if all(low < value < high and value != 0 for value in point.values()):
            points.append(point)
    return points


def _cases() -> list:
    cases = []
    for name in EXPRESSIONS:
        marks = [pytest.mark.xfail(reason=KNOWN_BUGS[name], strict=True)] if name in KNOWN_BUGS else []
        cases.append(pytest.param(name, id=name, marks=marks))
    return cases


# --------------------------------------------------------------------------------------------- table
def test_every_entry_is_covered() -> None:
    """A new scalar table entry (or alias) without a test case here fails this test."""
    assert set(EXPRESSIONS) == set(PUBLIC), "every public scalar entry needs expressions in EXPRESSIONS"
    table_aliases = {alias: spec.name for spec in PUBLIC.values() for alias in spec.aliases}
    assert ALIASES == table_aliases, "every alias needs an entry in ALIASES"
    tensor_names = {name for spec in TENSOR.values() for name in (spec.name, *spec.aliases)}
    assert set(by_name()) - tensor_names == set(PUBLIC) | set(ALIASES)
    assert not set(by_name()) & set(INTERNAL), "internal entries must not be callable by users"


def test_expressions_match_the_arity() -> None:
    """Each entry's expressions call it with a number of arguments its arity allows, and only it."""
    for name, texts in EXPRESSIONS.items():
        low, high = PUBLIC[name].arity
        counts = set()
        for text in texts:
            head, _, rest = text.partition("(")
            assert head == name
            count = rest.count(",") + 1
            assert low <= count and (high is None or count <= high), text
            counts.add(count)
        assert low in counts, f"{name}: test its smallest arity {low}"


@pytest.mark.parametrize("name", _cases())
def test_value_and_gradient_match_sympy(name: str) -> None:
    for text in EXPRESSIONS[name]:
        if text not in KNOWN_BUG_EXPRESSIONS:
            _check_expression(name, text)


@pytest.mark.parametrize("text", [
    pytest.param(text, id=text, marks=pytest.mark.xfail(reason=reason, strict=True))
    for text, reason in KNOWN_BUG_EXPRESSIONS.items()
])
def test_known_bug_expressions(text: str) -> None:
    name = next(name for name, texts in EXPRESSIONS.items() if text in texts)
    _check_expression(name, text)
    point = _points(name, text, parse(text).variables)[0]
    result = derivcli.grad(text, point, check=True)
    assert result.check is not None and result.check.agree


def _check_expression(name: str, text: str) -> None:
    parsed = parse(text)
    variables = parsed.variables
    symbols = [parsed.symbols[v] for v in variables]
    program = lower(parsed.expr, variables)
    reference = _reference_form(parsed.expr)
    for point in _points(name, text, variables):
        at = {parsed.symbols[v]: point[v] for v in variables}

        # (a) torch value of the lowered expression == SymPy's numeric value
        inputs = [torch.tensor(point[v], dtype=torch.float64) for v in variables]
        with torch.no_grad():
            torch_value = float(program(inputs, dtype=torch.float64))
        expected_value = _sympy_number(reference, at)
        assert _close(torch_value, expected_value, VALUE_RTOL, VALUE_ATOL), \
            f"{text} at {point}: torch {torch_value!r}, SymPy {expected_value!r}"

        # (b) autograd derivative == SymPy's derivative, evaluated by SymPy
        result = derivcli.grad(text, point)
        assert _close(result.value, expected_value, VALUE_RTOL, VALUE_ATOL), \
            f"{text} at {point}: grad().value {result.value!r}, SymPy {expected_value!r}"
        for variable, symbol in zip(variables, symbols):
            expected = _sympy_number(sp.diff(reference, symbol), at)
            # derivcli's own SymPy classes differentiate (fdiff) to the same numbers
            own = _sympy_number(_reference_form(sp.diff(parsed.expr, symbol)), at)
            assert _close(own, expected, GRAD_RTOL, GRAD_ATOL), \
                f"d/d{variable} {text} at {point}: derivcli's SymPy form {own!r}, textbook {expected!r}"
            got = result.gradient[variable]
            assert _close(got, expected, GRAD_RTOL, GRAD_ATOL), \
                f"d/d{variable} {text} at {point}: autograd {got!r}, SymPy {expected!r}"


# ------------------------------------------------------------------------- through abs and sign
# abs(f(x)) and sign(f(x)): SymPy's own Abs and sign differentiate as complex functions unless they can
# prove the argument real (asin(x) is complex for |x| > 1, sqrt(x) for x < 0), which once broke --check
# for these with 'cannot evaluate re numerically' / 'cannot evaluate Tuple numerically'.
def _wrapped_cases() -> list:
    return [pytest.param(outer, name, id=f"{outer}-{name}") for outer in ("abs", "sign") for name in EXPRESSIONS]


@pytest.mark.parametrize(("outer", "name"), _wrapped_cases())
def test_check_through_abs_and_sign(outer: str, name: str) -> None:
    """The entry inside abs() or sign(): autograd matches SymPy, and so does the symbolic --check."""
    inner = next(text for text in EXPRESSIONS[name] if text not in KNOWN_BUG_EXPRESSIONS)
    text = f"{outer}({inner})"
    _check_expression(name, text)
    for point in _points(name, text, parse(text).variables)[:2]:
        result = derivcli.grad(text, point, check=True)
        assert result.check is not None
        assert result.check.agree, (text, point, result.check.gradient)


# ------------------------------------------------------------------------------------------- aliases
@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_alias_resolves_to_the_same_function(alias: str) -> None:
    name = ALIASES[alias]
    assert by_name()[alias] is by_name()[name]
    text = EXPRESSIONS[name][-1]
    alias_text = alias + text[len(name):]
    assert parse(alias_text).expr == parse(text).expr
    point = _points(name, text, parse(text).variables)[0]
    ours, theirs = derivcli.grad(alias_text, point), derivcli.grad(text, point)
    assert ours.value == theirs.value
    assert ours.gradient == theirs.gradient


@pytest.mark.parametrize(("alias", "name"), [("ln", "log"), ("arcsin", "asin"), ("lgamma", "loggamma"),
                                             ("ceil", "ceiling"), ("Abs", "abs")])
def test_named_aliases(alias: str, name: str) -> None:
    assert parse(f"{alias}(x)").expr == parse(f"{name}(x)").expr
    point = {"x": 0.3}
    assert derivcli.grad(f"{alias}(x)", point).gradient == derivcli.grad(f"{name}(x)", point).gradient


# ------------------------------------------------------------------------------------------ inverses
INVERSES = {"sin": "asin", "cos": "acos", "tan": "atan", "sec": "asec", "csc": "acsc", "cot": "acot",
            "sinh": "asinh", "cosh": "acosh", "tanh": "atanh", "coth": "acoth", "sech": "asech", "csch": "acsch"}


def test_inverses_are_the_textbook_ones() -> None:
    assert {spec.name: spec.inverse for spec in FUNCTIONS if spec.inverse is not None} == INVERSES


@pytest.mark.parametrize("name", sorted(INVERSES))
def test_inverse_names_an_entry_that_inverts_it(name: str) -> None:
    """f(inverse(x)) == x on the inverse's domain, in torch (the lowering) and in SymPy (evalf)."""
    inverse = PUBLIC[name].inverse
    assert inverse in PUBLIC and inverse in by_name() and by_name()[inverse].name == inverse
    text = f"{name}({inverse}(x))"
    parsed = parse(text)
    program = lower(parsed.expr, parsed.variables)
    low, high = PUBLIC[inverse].domain
    rng = random.Random(f"inverse:{name}")
    for x in [rng.uniform(low, high) for _ in range(POINTS_PER_EXPRESSION)]:
        with torch.no_grad():
            value = float(program([torch.tensor(x, dtype=torch.float64)], dtype=torch.float64))
        assert _close(value, x, 1e-12, 1e-14), f"{text} at x = {x!r}: {value!r}"
        assert _close(_sympy_number(parsed.expr, {parsed.symbols["x"]: x}), x, 1e-20, 1e-25), text


# ------------------------------------------------------------------------------------ stable forms
@pytest.mark.parametrize("x", [-800.0, 800.0])
def test_sigmoid_gradient_is_finite_far_out(x: float) -> None:
    result = derivcli.grad("sigmoid(x)", {"x": x}, check=True)
    assert result.value == (0.0 if x < 0 else 1.0)
    assert result.gradient["x"] == 0.0
    assert result.check is not None and result.check.agree
    assert not result.warnings


def test_softplus_is_stable_far_right() -> None:
    result = derivcli.grad("softplus(x)", {"x": 800.0}, check=True)
    assert result.value == 800.0
    assert result.gradient["x"] == 1.0
    assert result.check is not None and result.check.agree
    assert not result.warnings


def test_softplus_is_stable_far_left() -> None:
    result = derivcli.grad("softplus(x)", {"x": -800.0}, check=True)
    assert math.isfinite(result.value) and 0.0 <= result.value < 1e-300
    assert result.gradient["x"] == 0.0
    assert result.check is not None and result.check.agree
    assert not result.warnings


@pytest.mark.parametrize("x", [-20.0, -1.0, 0.0, 0.5, 20.0, 30.0, 40.0])
def test_softplus_matches_sympy_past_torch_threshold(x: float) -> None:
    """torch.nn.functional.softplus switches to x above 20; derivcli's form must stay exact."""
    symbol = sp.Symbol("x", real=True)
    result = derivcli.grad("softplus(x)", {"x": x})
    expected = float(sp.log(1 + sp.exp(sp.Float(x, 50))).evalf(50))
    expected_grad = float((1 / (1 + sp.exp(-symbol))).evalf(50, subs={symbol: sp.Float(x, 50)}))
    assert _close(result.value, expected, 1e-15, 0.0)
    assert _close(result.gradient["x"], expected_grad, 1e-15, 0.0)


@pytest.mark.parametrize(("x", "value", "derivative"), [(-8.0, -2.0, 1 / 12), (-0.125, -0.5, 4 / 3),
                                                        (27.0, 3.0, 1 / 27)])
def test_cbrt_is_the_real_cube_root(x: float, value: float, derivative: float) -> None:
    result = derivcli.grad("cbrt(x)", {"x": x}, check=True)
    assert math.isclose(result.value, value, rel_tol=1e-15)
    assert math.isclose(result.gradient["x"], derivative, rel_tol=1e-14)
    assert result.check is not None and result.check.agree


# ---------------------------------------------------------------------------------------- listing
def test_functions_listing_names_every_public_entry(capsys: pytest.CaptureFixture[str]) -> None:
    from derivcli.cli import main

    assert main(["functions", "--format", "plain"]) == 0
    out = capsys.readouterr().out
    listed = [line.split("\t")[0].strip() for line in out.splitlines() if line.strip()]
    for name in [*PUBLIC, *TENSOR]:
        assert name in listed, f"{name} missing from 'derivcli functions'"
    for name in INTERNAL:
        assert name not in listed, f"internal entry {name} listed"


def _listing(fmt: str) -> str:
    from typer.testing import CliRunner

    from derivcli.cli import app

    result = CliRunner().invoke(app, ["functions", "--format", fmt])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_functions_listing_plain_shows_aliases() -> None:
    """Plain: name, args, description, aliases (comma-separated, empty for none), one entry a line."""
    rows = {line.split("\t")[0]: line.split("\t") for line in _listing("plain").splitlines()}
    for spec in [*PUBLIC.values(), *TENSOR.values()]:
        assert len(rows[spec.name]) == 4, rows[spec.name]
        assert rows[spec.name][3] == ",".join(spec.aliases)
    assert rows["tan"][3] == "tg" and rows["silu"][3] == "swish"


def test_functions_listing_table_shows_aliases() -> None:
    words = set(_listing("table").replace(",", " ").replace("│", " ").split())
    missing = [alias for spec in [*PUBLIC.values(), *TENSOR.values()] for alias in spec.aliases
               if alias not in words]
    assert not missing, f"aliases missing from the table: {missing}"


@pytest.mark.parametrize(("text", "shown"), [
    ("polygamma(x, 2)", "x"), ("polygamma(-1, x)", "-1"), ("polygamma(1.5, x)", "3/2"), ("polygamma(101, x)", "101"),
    ("polygamma(10**9, x)", "1000000000"), ("polygamma([1, 2], x)", "[1, 2]"), ("polygamma(x/x, x)", "x/x")])
def test_polygamma_takes_a_whole_order_from_0_to_100(text: str, shown: str) -> None:
    """torch computes polygamma for a fixed whole order: a variable, negative, fractional, huge or tensor order
    is refused where it is written (x/x is 1 to SymPy, but torch computes the text as written)."""
    from derivcli.errors import DerivcliError

    with pytest.raises(DerivcliError) as info:
        derivcli.grad(text, {"x": 0.7})
    assert f"polygamma's order must be a whole number from 0 to 100, not {shown} (column 11)" in info.value.one_line()


@pytest.mark.parametrize("text", ["loggamma(x)", "digamma(x)", "gamma(x)", "x*lgamma(x**2)", "polygamma(2, x)/x"])
def test_a_derivative_diff_writes_with_polygamma_reads_back(text: str) -> None:
    """diff writes digamma's derivatives as SymPy does, polygamma(n, x): pasted back, the formula gives the
    derivative's value."""
    result = derivcli.diff(text, "x", 2, {"x": 1.7})
    assert result.derivative is not None and "polygamma" in result.derivative
    again = derivcli.grad(result.derivative, {"x": 1.7})
    assert again.value == pytest.approx(result.derivative_value, rel=1e-12)


@pytest.mark.parametrize(("text", "truth"), [
    ("sum(digamma([0.5, 2]) * x)", sp.digamma(sp.Rational(1, 2)) + sp.digamma(2)),
    ("sum(polygamma(1, [0.5, 2])*x)", sp.polygamma(1, sp.Rational(1, 2)) + sp.polygamma(1, 2)),
    ("sum(loggamma([10**6, 2]))*x", sp.loggamma(10**6, evaluate=False)),  # evaluated, it is 999,999! exactly
    ("sum(gamma([1, 2, 3]))*x", sp.Integer(4))])
def test_the_gamma_functions_of_a_constant_tensor_are_computed_not_refused(text: str, truth: sp.Expr) -> None:
    """The bound on exact arguments keeps SymPy from computing gamma(10**6) exactly; SymPy never computes
    gamma([...]) of a tensor, which was refused all the same: 'digamma([1/2, 2]) is too large to compute'."""
    result = derivcli.grad(text, {"x": 1.0})
    assert result.value == pytest.approx(float(truth), rel=1e-13)
    assert result.gradient["x"] == pytest.approx(float(truth), rel=1e-13)
