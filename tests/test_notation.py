"""What people actually write: textbook, calculator and Unicode notation, each reading said in a note.

The table holds inputs with the names the command line binds, the reading written independently in
SymPy's own syntax, and a point.  Each row checks that derivcli's reading equals that expression, that
`derivcli.grad` gives its value and derivatives there (SymPy's, evaluated by SymPy), and that a reading
other than Python's own leaves a note.  Error rows check the message, the column and the hint.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp
from servers import script

import derivcli
from derivcli.cli import main
from derivcli.errors import DerivcliError
from derivcli.parsing import Context, parse
from derivcli.table.functions import FUNCTIONS

pytestmark = pytest.mark.usefixtures("warm_env")  # the real processes here run warm (conftest)

POINT = {"phi": 0.2, "x": 0.7, "y": 1.3, "theta": 0.4, "alpha": 1.1, "lambda": 0.9, "rho": 1.2, "v": 0.8, "Delta": 0.5,
         "mu": 0.6, "b": 3.0, "e": 2.5, "tg": 2.0, "xy": 1.7, "a": 0.3, "k": 2.0}

# (text, names bound, the reading in SymPy's syntax)
READINGS: list[tuple[str, str, str]] = [
    # 1. functions applied without parentheses
    ("sin x", "x", "sin(x)"),
    ("ln x", "x", "log(x)"),
    ("sqrt x", "x", "sqrt(x)"),
    ("sin 2x", "x", "sin(2*x)"),
    ("sin x^2", "x", "sin(x**2)"),
    ("sin x cos x", "x", "sin(x)*cos(x)"),
    ("2 sin x cos x", "x", "2*sin(x)*cos(x)"),
    ("sin x/x", "x", "sin(x)/x"),
    ("sin x + 1", "x", "sin(x) + 1"),
    ("cos x y", "x y", "cos(x*y)"),
    ("sin -x", "x", "sin(-x)"),
    ("sin cos x", "x", "sin(cos(x))"),
    ("exp x^2", "x", "exp(x**2)"),
    ("tan 3x - 1", "x", "tan(3*x) - 1"),
    ("ln 2x", "x", "log(2*x)"),
    ("sin(x) y", "x y", "sin(x)*y"),
    ("x sin x", "x", "x*sin(x)"),
    ("atan x/2", "x", "atan(x)/2"),
    ("e^sin x", "x", "exp(sin(x))"),
    ("sin x^2 y", "x y", "sin(x**2*y)"),
    ("sqrt x + 1", "x", "sqrt(x) + 1"),
    ("sin(x)cos(x)", "x", "sin(x)*cos(x)"),
    ("sin x * cos y", "x y", "sin(x)*cos(y)"),
    ("2x sin x", "x", "2*x*sin(x)"),
    ("sin |x|", "x", "sin(Abs(x))"),
    ("sinh x", "x", "sinh(x)"),
    ("erf x", "x", "erf(x)"),
    # 2. powers of functions, and the inverse
    ("sin^2 x", "x", "sin(x)**2"),
    ("sin^2(x)", "x", "sin(x)**2"),
    ("sin²x", "x", "sin(x)**2"),
    ("sin² x + cos² x", "x", "sin(x)**2 + cos(x)**2"),
    ("cos^2(3x)", "x", "cos(3*x)**2"),
    ("log^2 x", "x", "log(x)**2"),
    ("sin**2 x", "x", "sin(x)**2"),
    ("tan^3 x", "x", "tan(x)**3"),
    ("sin^-1 x", "x", "asin(x)"),
    ("sin^-1(x)", "x", "asin(x)"),
    ("sin^(-1)(x)", "x", "asin(x)"),
    ("sin⁻¹x", "x", "asin(x)"),
    ("cos^-1 x", "x", "acos(x)"),
    ("tan^-1 x", "x", "atan(x)"),
    ("sec^-1 2x", "x", "asec(2*x)"),
    ("csc^-1(2x)", "x", "acsc(2*x)"),
    ("cot^-1 x", "x", "acot(x)"),
    ("sinh^-1 x", "x", "asinh(x)"),
    ("cosh^-1(2x)", "x", "acosh(2*x)"),
    ("tanh^-1 x", "x", "atanh(x)"),
    ("coth^-1(2x)", "x", "acoth(2*x)"),
    ("sech^-1 x", "x", "asech(x)"),
    ("csch^-1 x", "x", "acsch(x)"),
    ("2sin^2 x", "x", "2*sin(x)**2"),
    # 3. absolute-value bars
    ("|x|", "x", "Abs(x)"),
    ("|x - 1|^2", "x", "Abs(x - 1)**2"),
    ("ln|x|", "x", "log(Abs(x))"),
    ("||x| - 1|", "x", "Abs(Abs(x) - 1)"),
    ("x|x|", "x", "x*Abs(x)"),
    ("|x|^3", "x", "Abs(x)**3"),
    ("|x| |y|", "x y", "Abs(x)*Abs(y)"),
    ("|2x - y|", "x y", "Abs(2*x - y)"),
    ("|x|/x", "x", "Abs(x)/x"),
    ("|sin x|", "x", "Abs(sin(x))"),
    ("sqrt|x|", "x", "sqrt(Abs(x))"),
    ("|x|y", "x y", "Abs(x)*y"),
    ("|-x|", "x", "Abs(x)"),
    ("3|x|", "x", "3*Abs(x)"),
    ("(|x| + 1)^2", "x", "(Abs(x) + 1)**2"),
    # 4. Unicode math
    ("π x", "x", "pi*x"),
    ("2πx", "x", "2*pi*x"),
    ("√x", "x", "sqrt(x)"),
    ("√(x+1)", "x", "sqrt(x + 1)"),
    ("√2x", "x", "sqrt(2)*x"),
    ("√x^2", "x", "sqrt(x**2)"),
    ("∛x", "x", "x**(1/3)"),
    ("∛(x+1)", "x", "(x + 1)**(1/3)"),
    ("∜x", "x", "x**(1/4)"),
    ("∜(x+2)", "x", "(x + 2)**(1/4)"),
    ("x²", "x", "x**2"),
    ("x³", "x", "x**3"),
    ("x⁻¹", "x", "1/x"),
    ("x⁻²", "x", "x**(-2)"),
    ("e⁻ˣ", "x", "exp(-x)"),
    ("2ˣ", "x", "2**x"),
    ("x²y", "x y", "x**2*y"),
    ("(x+1)²", "x", "(x + 1)**2"),
    ("x¹⁰", "x", "x**10"),
    ("2·x", "x", "2*x"),
    ("x×y", "x y", "x*y"),
    ("x⋅y", "x y", "x*y"),
    ("x÷2", "x", "x/2"),
    ("x∗y", "x y", "x*y"),
    ("x∙y", "x y", "x*y"),
    ("x∕2", "x", "x/2"),
    ("ϕ + 1", "phi", "phi + 1"),
    ("x − 1", "x", "x - 1"),
    ("x – 1", "x", "x - 1"),
    ("x³ − 2x", "x", "x**3 - 2*x"),
    ("θ^2", "theta", "theta**2"),
    ("α x", "alpha x", "alpha*x"),
    ("λ*x", "lambda x", "lambda_*x"),
    ("2θ", "theta", "2*theta"),
    ("sin θ", "theta", "sin(theta)"),
    ("ρv^2", "rho v", "rho*v**2"),
    ("Δx", "Delta x", "Delta*x"),
    ("µ x", "mu x", "mu*x"),
    ("x if x ≤ 1 else 2", "x", "Piecewise((x, x <= 1), (2, True))"),
    ("x if x ≥ 1 else 2", "x", "Piecewise((x, x >= 1), (2, True))"),
    ("x if x ≠ 1 else 2", "x", "Piecewise((x, Ne(x, 1)), (2, True))"),
    ("x\u00a0+ 1", "x", "x + 1"),
    # 5. other conventions' names
    ("tg x", "x", "tan(x)"),
    ("ctg x", "x", "cot(x)"),
    ("cotg x", "x", "cot(x)"),
    ("arctg x", "x", "atan(x)"),
    ("arcctg x", "x", "acot(x)"),
    ("cosec x", "x", "csc(x)"),
    ("cosech x", "x", "csch(x)"),
    ("lg x", "x", "log(x, 10)"),
    ("lb x", "x", "log(x, 2)"),
    ("arsinh x", "x", "asinh(x)"),
    ("arcosh 2x", "x", "acosh(2*x)"),
    ("artanh x", "x", "atanh(x)"),
    ("arcoth 2x", "x", "acoth(2*x)"),
    ("arsech x", "x", "asech(x)"),
    ("arcsch x", "x", "acsch(x)"),
    ("arcsin x", "x", "asin(x)"),
    ("arccos x", "x", "acos(x)"),
    ("arcsec 2x", "x", "asec(2*x)"),
    ("arccot x", "x", "acot(x)"),
    ("log_2(x)", "x", "log(x, 2)"),
    ("log_2 x", "x", "log(x, 2)"),
    ("log_10 x", "x", "log(x, 10)"),
    ("log_3(x + 1)", "x", "log(x + 1, 3)"),
    ("log_b x", "b x", "log(x)/log(b)"),
    ("tg*x", "tg x", "tg*x"),
    # 6. new functions
    ("coth x", "x", "coth(x)"),
    ("sech x", "x", "sech(x)"),
    ("csch x", "x", "csch(x)"),
    ("acoth(2x)", "x", "acoth(2*x)"),
    ("asech(x)", "x", "asech(x)"),
    ("acsch(x)", "x", "acsch(x)"),
    ("gelu(x)", "x", "x/2*(1 + erf(x/sqrt(2)))"),
    ("silu(x)", "x", "x/(1 + exp(-x))"),
    ("swish x", "x", "x/(1 + exp(-x))"),
    ("elu(x - 1)", "x", "exp(x - 1) - 1"),
    ("elu(x - 1, 0.5)", "x", "(exp(x - 1) - 1)/2"),
    ("leaky_relu(x - 1)", "x", "(x - 1)/100"),
    ("leaky_relu(x - 1, 0.2)", "x", "(x - 1)/5"),
    ("softsign(x)", "x", "x/(1 + Abs(x))"),
    ("logsigmoid(x)", "x", "-log(1 + exp(-x))"),
    ("mish(x)", "x", "x*tanh(log(1 + exp(x)))"),
    ("hardtanh(x)", "x", "x"),
    ("hardtanh(3x, -2, 2)", "x", "2"),
    # 7. run-together letters
    ("sinx", "x", "sin(x)"),
    ("xsinx", "x", "x*sin(x)"),
    ("sin2x", "x", "sin(2*x)"),
    ("xy", "x y", "x*y"),
    ("2xy^2", "x y", "2*x*y**2"),
    ("xe^x", "x", "x*exp(x)"),
    ("xy", "xy", "xy"),
    ("cosx", "x", "cos(x)"),
    ("lnx", "x", "log(x)"),
    ("sqrtx", "x", "sqrt(x)"),
    ("sinxcosx", "x", "sin(x)*cos(x)"),
    ("xcosy", "x y", "x*cos(y)"),
    ("2pix", "x", "2*pi*x"),
    ("sinhx", "x", "sinh(x)"),
    ("expx", "x", "exp(x)"),
    ("log10x", "x", "log(x, 10)"),
    ("tgx", "x", "tan(x)"),
    ("xsin(x)", "x", "x*sin(x)"),
    ("kx^2", "k x", "k*x**2"),
    # 8. e as a variable
    ("e*x", "e x", "e*x"),
    ("e^x", "e x", "e**x"),
    ("E*x", "x", "E*x"),
    ("E*x", "e x", "E*x"),
    ("e^x", "x", "exp(x)"),
    # 9. what people wrap around an expression
    ("y = 3x^2", "x", "3*x**2"),
    ("f(x) = x^2 + 1", "x", "x**2 + 1"),
    ("g(x, y) = x*y", "x y", "x*y"),
    ("d/dx x^3", "x", "x**3"),
    ("d/dx(x^3)", "x", "x**3"),
    ("d/dx sin x", "x", "sin(x)"),
    ("d/d x x^2", "x", "x**2"),
    ("∂/∂x x*y", "x y", "x*y"),
    ("diff(x^3, x)", "x", "x**3"),
    # 11. groupings said back
    ("1/2x", "x", "x/2"),
    ("x/2y", "x y", "x*y/2"),
    ("2x", "x", "2*x"),
    ("(x+1)(x-1)", "x", "(x + 1)*(x - 1)"),
    ("x(y+1)", "x y", "x*(y + 1)"),
    ("x y", "x y", "x*y"),
]

# Rows in Python's own syntax, which need no note.
PLAIN = {"asech(x)", "acsch(x)", "gelu(x)", "silu(x)", "elu(x - 1)", "elu(x - 1, 0.5)", "leaky_relu(x - 1)",
         "leaky_relu(x - 1, 0.2)", "softsign(x)", "logsigmoid(x)", "mish(x)", "hardtanh(x)", "xy", "tg*x",
         "x\u00a0+ 1"}


def expected(reading: str) -> sp.Expr:
    names = {name: sp.Symbol(name, real=True) for name in POINT}
    names["lambda_"] = sp.Symbol("lambda", real=True)
    names["E"] = sp.E
    return sp.sympify(reading, locals=names)


@pytest.mark.parametrize(("text", "bound", "reading"), READINGS, ids=[row[0] for row in READINGS])
def test_each_notation_is_read_and_differentiated_as_meant(text, bound, reading):
    names = bound.split()
    point = {name: POINT[name] for name in names}
    want = expected(reading)
    parsed = parse(text, Context(frozenset(names)))
    symbols = {sp.Symbol(name, real=True): value for name, value in point.items()}
    assert float(parsed.expr.subs(symbols)) == pytest.approx(float(want.subs(symbols)), rel=1e-12)
    if text not in PLAIN:
        assert parsed.notes, f"{text!r} is read as {parsed.canonical} without a note"
    result = derivcli.grad(text, point)
    assert result.value == pytest.approx(float(want.subs(symbols)), rel=1e-12)
    differentiated = list(parsed.wrt) or [name for name in names if name in parsed.variables]
    assert set(result.gradient) == set(differentiated)
    for name in differentiated:
        slope = float(sp.diff(want, sp.Symbol(name, real=True)).subs(symbols))
        assert float(result.gradient[name]) == pytest.approx(slope, rel=1e-9, abs=1e-12), name


def test_plain_python_leaves_no_note():
    assert parse("sin(x)*cos(x) + x**2", Context(frozenset({"x"}))).notes == []


@pytest.mark.parametrize("spec", [spec for spec in FUNCTIONS if not spec.internal and spec.arity[0] == 1
                                  and not (spec.signature and spec.signature[0].kind == "tensors")],
                         ids=lambda spec: spec.name)
def test_every_function_of_one_argument_applies_without_parentheses(spec):
    context = Context(frozenset({"x"}))
    for name in (spec.name, *spec.aliases):
        assert parse(f"{name} x", context).expr == parse(f"{name}(x)", context).expr
        assert f"'{name} x' read as {name}(x)" in parse(f"{name} x", context).notes


@pytest.mark.parametrize("spec", [spec for spec in FUNCTIONS if spec.inverse], ids=lambda spec: spec.name)
def test_every_inverse_in_the_table_is_reached_by_the_textbook_power(spec):
    context = Context(frozenset({"x"}))
    assert parse(f"{spec.name}^-1(x)", context).expr == parse(f"{spec.inverse}(x)", context).expr
    assert any("the inverse function, not" in note for note in parse(f"{spec.name}^-1 x", context).notes)


# ------------------------------------------------------------------------------ letters in `diff`
@pytest.mark.parametrize(("text", "reading"), [("xy", "x*y"), ("2xy^2", "2*x*y**2"), ("xsinx", "x*sin(x)"),
                                               ("ab + sinx", "a*b + sin(x)"), ("sinhx", "sinh(x)"),
                                               ("expx", "exp(x)"), ("theta^2", "theta**2")])
def test_without_a_point_single_letters_are_the_variables(text, reading):
    assert parse(text).expr == expected(reading)


def test_diff_without_a_point_reads_run_together_letters():
    assert derivcli.diff("xsinx", "x").derivative == "x*cos(x) + sin(x)"
    assert derivcli.diff("2xy^2", "y").derivative == "4*x*y"


def test_a_name_before_parentheses_stays_a_call():
    """`sn(x)` is a mistyped function, not s*n*(x)."""
    with pytest.raises(DerivcliError, match="unknown function 'sn'") as info:
        parse("sn(x)")
    assert info.value.hint == "did you mean sin?"
    assert parse("sin(x)").canonical == "sin(x)"  # the hint's reading works


def test_a_bound_name_always_wins():
    assert parse("xy", Context(frozenset({"xy"}))).canonical == "xy"
    assert parse("tg(x)", Context(frozenset({"tg", "x"}))).canonical == "tg*x"
    assert derivcli.grad("xy + x", {"xy": 2.0, "x": 1.0}).gradient == {"xy": 1.0, "x": 1.0}


def test_a_name_in_wrt_is_never_split():
    assert parse("rate*2", Context(wrt=frozenset({"rate"}))).canonical == "2*rate"


# ------------------------------------------------------------------------------------- errors
ERRORS: list[tuple[str, str, str, int | None, str | None]] = [
    # (text, bound, message part, 1-based column or None, hint part or None)
    ("x | y", "x y", "'|' is never closed", 3, "abs(x)"),
    ("|x", "x", "'|' is never closed", 1, "|x|"),
    ("sin", "x", "function without an argument", 1, "sin(x)"),
    ("2*cos + 1", "x", "function without an argument", 3, "cos(x)"),
    ("atan2 x", "x", "takes 2 arguments", 1, None),
    ("sin^x y", "x y", "must be a whole number", 5, "sin(x)**p"),
    ("sin^1.5 x", "x", "must be a whole number", 5, None),
    ("exp^-1 x", "x", "exp has none", 1, "1/exp(x)"),
    ("x 2", "x", "unexpected '2'", 3, "*"),
    ("2 3", "x", "unexpected '3'", 3, "*"),
    ("x**2 = y", "x y", "unexpected '='", 6, "=="),
    ("y =", "x", "nothing follows", None, None),
    ("хx", "x", "U+0445", 1, "did you mean 'x'?"),
    ("cοs(x)", "x", "U+03BF", 2, "did you mean 'o'?"),
    ("ｘ + 1", "x", "U+FF58", 1, "did you mean 'x'?"),
    ("𝑥 + 1", "x", "U+1D465", 1, "did you mean 'x'?"),
    ("Αx", "x", "U+0391", 1, "did you mean 'A'?"),
    ("ехр(x)", "x", "U+0435", 1, "did you mean 'e'?"),
    ("x + 😀", "x", "U+1F600", 5, None),
    ("∂x", "x", "∂/∂x", 1, None),
    ("[1, [2]]", "", "differ in shape", 5, None),
    ("[]", "", "at least one element", 2, None),
    ("[x, 1]", "x", "constants only", 2, "bind a tensor variable"),
    ("f(x)", "x", "'f' is not a function", 1, "f*(...)"),
    ("x for x in y", "x y", "Python syntax", 3, None),
    ("diff(x)", "x", "diff(…) takes the expression and one variable", 1, None),
]


@pytest.mark.parametrize(("text", "bound", "message", "column", "hint"), ERRORS, ids=[row[0] for row in ERRORS])
def test_each_error_names_the_column_and_a_hint_that_works(text, bound, message, column, hint):
    with pytest.raises(DerivcliError) as info:
        parse(text, Context(frozenset(bound.split())))
    error = info.value
    assert message in error.message
    if column is not None:
        assert f"(column {column})" in error.one_line()
    if hint is not None:
        assert error.hint is not None and hint in error.hint


def test_several_equally_short_splits_are_an_error_listing_them():
    with pytest.raises(DerivcliError) as info:
        parse("abc", Context(frozenset({"a", "b", "c", "ab", "bc"})))
    assert "ab*c" in info.value.message and "a*bc" in info.value.message
    assert info.value.span == (0, 3)


def test_e_bound_through_var_on_the_command_line():
    done = run("grad", "e*x", "--var", "e=3", "--x", "2", "--explain-parse")
    assert done.returncode == 0, done.stderr
    assert "value\t6.0" in done.stdout and "d/de\t2.0" in done.stdout
    assert "variable you bound" in done.stdout


def test_constants_cannot_be_bound_but_e_can():
    for name in ("pi", "E", "EulerGamma"):
        with pytest.raises(DerivcliError, match=f"{name} is a constant"):
            derivcli.grad(f"{name}*x", {name: 3.0, "x": 1.0})
    result = derivcli.grad("e*x", {"e": 3.0, "x": 2.0})
    assert result.value == 6.0 and result.gradient == {"e": 2.0, "x": 3.0}
    assert any("variable you bound" in note for note in result.parse.notes)


def test_the_constant_sympy_brings_in_reads_back():
    """digamma(1) is -EulerGamma to SymPy: derivcli echoed the name and then read it as a variable with no
    value."""
    import mpmath

    echoed = derivcli.grad("digamma(x/x)*x + 1", {"x": 2.0})
    assert echoed.expression == "-EulerGamma*x + 1"
    again = derivcli.grad(echoed.expression, {"x": 2.0})
    assert (again.value, again.gradient) == (1 - 2 * float(mpmath.euler), {"x": -float(mpmath.euler)})
    assert [echoed.value, echoed.gradient["x"]] == pytest.approx([again.value, again.gradient["x"]], rel=1e-14)


def test_a_greek_letter_is_bound_by_either_spelling_but_not_both():
    assert derivcli.grad("θ^2", {"θ": 2.0}).gradient == {"theta": 4.0}
    assert derivcli.grad("θ^2", {"theta": 2.0}).gradient == {"theta": 4.0}
    with pytest.raises(DerivcliError, match="given twice"):
        derivcli.grad("θ^2", {"θ": 2.0, "theta": 1.0})


def test_d_dx_differentiates_only_by_x_and_must_agree_with_wrt():
    result = derivcli.grad("d/dx x^2 y", {"x": 2.0, "y": 3.0})
    assert result.value == 12.0 and result.gradient == {"x": 12.0}
    assert derivcli.grad("d/dx x^2 y", {"x": 2.0, "y": 3.0}, wrt=["x"]).gradient == {"x": 12.0}
    with pytest.raises(DerivcliError, match="--wrt says y"):
        derivcli.grad("d/dx x^2 y", {"x": 2.0, "y": 3.0}, wrt=["y"])
    assert derivcli.diff("d/dx x^3").derivative == "3*x**2"


def test_the_other_reading_of_a_division_is_offered_and_works():
    parsed = parse("1/2x", Context(frozenset({"x"})))
    note = next(note for note in parsed.notes if note.startswith("'1/2x'"))
    assert "(1/2)*x" in note and "write 1/(2x)" in note
    assert parse("1/(2x)", Context(frozenset({"x"}))).canonical == "1/(2*x)"


# ------------------------------------------------------------------------------- inline tensors
def test_inline_constant_tensors():
    assert derivcli.grad("dot(x, [2.0, 3.0])", {"x": [1.0, 1.0]}).gradient["x"] == [2.0, 3.0]
    result = derivcli.grad("sum(W @ [1, 2])", {"W": [[1.0, 2.0], [3.0, 4.0]]}, check=True)
    assert result.value == 16.0 and result.gradient["W"] == [[1.0, 2.0], [1.0, 2.0]]
    assert result.check is not None and result.check.agree
    assert parse("[[1, 2], [3, 4]]").canonical == "[[1, 2], [3, 4]]"


def test_inline_tensors_are_bounded():
    text = "[" + ",".join(["1"] * 4097) + "]"
    with pytest.raises(DerivcliError, match="at most 4,096 elements"):
        parse(text)


# ------------------------------------------------------------------------ nothing old changes meaning
def old_inputs_keep_their_meaning(every: int) -> None:
    """Every `every`-th of 1,500 random inputs in the syntax read before these rules: the same SymPy tree,
    whether their variables are bound or not (tests/data/make_old_readings.py wrote the file with the old
    parser)."""
    readings = list(json.loads((Path(__file__).parent / "data" / "old_readings.json").read_text()).items())
    bound = Context(frozenset("x y z t k w".split()))
    for text, tree in readings[::every]:
        assert sp.srepr(parse(text, bound).expr) == tree, text
    for text, tree in readings[::10 * every]:
        assert sp.srepr(parse(text).expr) == tree, text


def test_old_inputs_keep_their_meaning():
    old_inputs_keep_their_meaning(every=3)


@pytest.mark.slow  # (CI's slow step: all 1,500)
def test_all_old_inputs_keep_their_meaning():
    old_inputs_keep_their_meaning(every=1)


# ----------------------------------------------------------------------------------- the CLI's way
def run(*args: str) -> subprocess.CompletedProcess[str]:
    return script(*args)


def test_explain_parse_in_every_command_says_each_reading():
    for command in (["grad", "sin^2 x", "--x", "1"], ["diff", "sin^2 x", "--wrt", "x"],
                    ["hessian", "sin^2 x", "--x", "1"], ["jacobian", "sin^2 x", "--x", "[1, 2]"],
                    ["taylor", "sin^2 x", "--x", "1"], ["minimize", "sin^2 x", "--x", "1", "--steps", "2"],
                    ["plot", "sin^2 x", "--x", "1"], ["graph", "sin^2 x", "--x", "1"]):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):  # in process: no start-up each
            assert main([*command, "--explain-parse"]) == 0, err.getvalue()
        assert "sin^2 x' read as sin(x)**2" in out.getvalue(), command


def test_a_syntax_error_is_reported_without_importing_torch_or_sympy():
    code = ("import sys; from derivcli.cli import main; code = main(['grad', 'sin x +', '--x', '1']); "
            "assert 'torch' not in sys.modules and 'sympy' not in sys.modules, sorted(sys.modules); "
            "sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: the expression ends too early (column 8)")
