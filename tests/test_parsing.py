"""The expression syntax, as specified: what each form means, the notes for --explain-parse, and the
errors (message, 0-based span, 1-based column in the one-line form, hint) for malformed input."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout

import pytest
import sympy as sp

from derivcli.cli import main
from derivcli.errors import DerivcliError
from derivcli.parsing import MAX_NESTING, parse

x, y, z = sp.symbols("x y z", real=True)


def expr(text: str) -> sp.Expr:
    return parse(text).expr


def same(text: str, expected: sp.Expr) -> None:
    """Parsed `text` equals `expected` exactly (the difference simplifies to 0)."""
    got = expr(text)
    assert sp.simplify(got - expected) == 0, f"{text!r} parsed as {got}, expected {expected}"


def error(text: str) -> DerivcliError:
    with pytest.raises(DerivcliError) as info:
        parse(text)
    return info.value


def at(value: sp.Expr, **point: float) -> float:
    return float(value.subs({sp.Symbol(k, real=True): v for k, v in point.items()}))


# ----------------------------------------------------------------------------------------- arithmetic
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2*3", sp.Integer(7)),
        ("(1 + 2)*3", sp.Integer(9)),
        ("7 - 2 - 1", sp.Integer(4)),  # left-associative
        ("8 / 4 / 2", sp.Integer(1)),
        ("2**3**2", sp.Integer(512)),  # right-associative, as in Python
        ("2**-1", sp.Rational(1, 2)),
        ("-2**2", sp.Integer(-4)),
        ("+x", x),
        ("--x", x),
        ("x - -x", 2 * x),
        ("x*y/z", x * y / z),
        ("x**-2", x**-2),
        ("1/3", sp.Rational(1, 3)),  # exact rational, not 0.333...
    ],
)
def test_python_arithmetic(text, expected):
    same(text, expected)


def test_caret_is_power_and_right_associative():
    assert expr("2^3^2") == 512
    assert expr("2^3^2") == expr("2**3**2")
    same("x^2", x**2)
    same("x^2^3", x**8)


def test_unary_minus_binds_looser_than_power():
    got = expr("-x^2")
    assert got == -(x**2)
    assert at(got, x=3) == -9.0
    assert expr("-x**2") == -(x**2)
    assert at(expr("(-x)^2"), x=3) == 9.0


# ------------------------------------------------------------------------------------ implicit product
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2x", 2 * x),
        ("2 x", 2 * x),
        ("3(x+1)", 3 * (x + 1)),
        ("(x+1)(x-1)", (x + 1) * (x - 1)),
        ("(x+1)x", (x + 1) * x),
        ("2x^2", 2 * x**2),  # 2*(x**2), not (2x)**2
        ("2pi", 2 * sp.pi),
        ("2e", 2 * sp.E),
        ("2E", 2 * sp.E),
        ("1.5x", sp.Rational(3, 2) * x),
        ("2sin(x)", 2 * sp.sin(x)),
        ("2(x)(y)", 2 * x * y),
    ],
)
def test_implicit_products(text, expected):
    same(text, expected)


def test_exponent_literals_versus_e():
    assert expr("2e3") == 2000
    assert expr("2E3") == 2000
    assert expr("2e-3") == sp.Rational(1, 500)
    assert expr("2e+3") == 2000
    assert expr("2e") == 2 * sp.E
    # `2e-x` is not a literal (no digits after the sign): 2*e minus x.
    same("2e-x", 2 * sp.E - x)
    same("2e+x", 2 * sp.E + x)


def test_implicit_product_has_a_note():
    notes = parse("2x").notes
    assert any("2*x" in note for note in notes), notes


# -------------------------------------------------------------------------------- functions, constants
def test_ln_is_natural_log():
    assert expr("ln(x)") == sp.log(x)
    assert expr("ln(x)") == expr("log(x)")
    assert any("log" in note for note in parse("ln(x)").notes)


def test_log_with_base():
    same("log(x, 2)", sp.log(x) / sp.log(2))
    assert expr("log(8, 2)") == 3
    assert expr("log(100, 10)") == 2


@pytest.mark.parametrize(("text", "expected"), [("pi", sp.pi), ("e", sp.E), ("E", sp.E)])
def test_constants(text, expected):
    assert expr(text) == expected
    assert parse(text).variables == []


def test_e_is_eulers_number_with_a_note():
    notes = parse("e").notes
    assert any("Euler" in note for note in notes), notes
    assert any("Euler" in note for note in parse("E**x").notes)


def test_function_call_forms():
    same("sin(x)**2 + cos(x)**2", sp.Integer(1))
    same("exp(log(x))", x)
    assert expr("sqrt(4)") == 2
    assert expr("abs(-3)") == 3
    assert expr("max(1, 5, 3)") == 5
    assert expr("min(x, x)") == x


# ---------------------------------------------------------------------------- conditions and piecewise
def test_if_else_is_piecewise():
    got = expr("x if x > 0 else -x")
    assert isinstance(got, sp.Piecewise)
    assert at(got, x=2) == 2.0
    assert at(got, x=-3) == 3.0
    assert any("piecewise" in note for note in parse("x if x > 0 else -x").notes)


def test_if_else_is_right_nested():
    got = expr("1 if x < 0 else 2 if x < 1 else 3")
    assert [at(got, x=v) for v in (-1, 0.5, 5)] == [1.0, 2.0, 3.0]


def test_chained_comparison_means_and():
    got = expr("x if 0 < x < 1 else 0")
    assert at(got, x=0.5) == 0.5
    assert at(got, x=1.5) == 0.0
    assert at(got, x=-0.5) == 0.0
    assert got == sp.Piecewise((x, sp.And(x > 0, x < 1)), (0, True))


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("1 if x > 0 and x < 2 else 0", {-1: 0, 1: 1, 3: 0}),
        ("1 if x < 0 or x > 2 else 0", {-1: 1, 1: 0, 3: 1}),
        ("1 if not x > 0 else 0", {-1: 1, 1: 0}),
        ("1 if not (x > 0 and x < 2) else 0", {-1: 1, 1: 0, 3: 1}),
        ("1 if x >= 0 and x <= 0 else 0", {0: 1, 1: 0}),
        ("1 if x == 1 else 0", {1: 1, 2: 0}),
        ("1 if x != 1 else 0", {1: 0, 2: 1}),
    ],
)
def test_boolean_operators(text, values):
    got = expr(text)
    for point, expected in values.items():
        assert at(got, x=point) == expected, (text, point)


def test_a_bare_condition_is_not_a_number():
    err = error("x > 0")
    assert "condition" in err.message
    assert "else" in (err.hint or "")


def test_if_needs_a_condition():
    err = error("x if x else 1")
    assert "condition" in err.message
    assert err.span == (5, 6)


# ------------------------------------------------------------------------------------- floor div, mod
@pytest.mark.parametrize(
    ("text", "expected"),
    [("7 // 2", 3), ("-7 // 2", -4), ("7 % 3", 1), ("-7 % 3", 2), ("7.5 // 2", 3), ("7.5 % 2", 1.5)],
)
def test_floor_division_and_modulo_on_constants_follow_python(text, expected):
    assert float(expr(text)) == expected


@pytest.mark.parametrize("point", [5.5, -5.5, 0.25, 4.0])
def test_floor_division_and_modulo_on_variables_follow_python(point):
    assert at(expr("x // 2"), x=point) == point // 2
    assert at(expr("x % 2"), x=point) == pytest.approx(point % 2)


def test_mod_and_floordiv_share_the_product_level():
    assert expr("2 * 7 % 4") == (2 * 7) % 4
    assert expr("7 % 4 * 2") == (7 % 4) * 2
    assert expr("1 + 7 // 2") == 1 + 7 // 2


# ---------------------------------------------------------------------------------- exact decimals
def test_decimals_are_exact_rationals():
    assert expr("0.1") == sp.Rational(1, 10)
    assert expr("0.1 + 0.2") == sp.Rational(3, 10)
    assert expr(".5") == sp.Rational(1, 2)
    assert expr("5.") == 5
    assert expr("1.25e2") == 125
    assert expr("1.5e-1") == sp.Rational(3, 20)


def test_decimal_exponent_is_a_root():
    assert expr("x**0.5") == sp.sqrt(x)
    assert expr("x^0.5") == sp.sqrt(x)
    assert expr("x**1.5") == x ** sp.Rational(3, 2)


# ---------------------------------------------------------------------------- symbols and variables
def test_variables_in_order_of_first_appearance():
    assert parse("y + x + z + x").variables == ["y", "x", "z"]
    assert parse("b*a + c").variables == ["b", "a", "c"]
    assert parse("c + sin(b)**a").variables == ["c", "b", "a"]
    assert parse("pi*x + e").variables == ["x"]
    assert parse("3").variables == []


def test_variables_in_order_of_first_appearance_in_if_else():
    """Regression: the condition used to be built first, so this gave ['y', 'x', 'z']."""
    assert parse("x if y > 0 else z").variables == ["x", "y", "z"]


def test_variables_that_cancel_stay_variables_of_the_expression_as_written():
    parsed = parse("x - x + y")
    assert parsed.variables == ["x", "y"] and parsed.canonical == "y" and parsed.as_written == "-x + x + y"


def test_symbols_are_real():
    got = expr("x")
    assert got.is_real is True
    a = parse("abs(x)")
    symbol = a.symbols["x"]
    assert symbol.is_real is True
    derivative = sp.diff(a.expr, symbol)
    assert isinstance(derivative, sp.sign) and derivative.args == (symbol,)
    assert [derivative.subs(symbol, v) for v in (-2, 3)] == [-1, 1]
    assert expr("sqrt(x**2)") == sp.Abs(x)


def test_multi_letter_and_underscore_names():
    p = parse("alpha_1 * beta2")
    assert p.variables == ["alpha_1", "beta2"]


def test_canonical_is_sympy_text():
    assert parse("2x^2").canonical == "2*x**2"
    assert parse("x**0.5").canonical == "sqrt(x)"
    assert parse("2x^2").source == "2x^2"


# ---------------------------------------------------------------------------------- explain-parse
def test_notes_for_implicit_product_and_none_for_caret():
    notes = parse("2x^2").notes
    assert any("2*x" in note for note in notes), notes
    assert not any("**" in note for note in notes), notes  # README says ^ is **: a note on each would drown


def test_notes_are_not_repeated():
    notes = parse("x^2 + x^3 + e + e").notes
    assert len(notes) == len(set(notes))


def test_plain_arithmetic_has_no_notes():
    assert parse("x**2 + 3*x").notes == []


def test_explain_parse_on_the_command_line():
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["grad", "2x^2", "--x", "1", "--explain-parse", "--format", "plain"])
    assert code == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    assert "read-as\t2*x**2" in lines
    notes = [line for line in lines if line.startswith("note\t")]
    assert any("2*x" in note for note in notes) and not any("**" in note for note in notes)  # ^ is documented
    assert "value\t2.0" in lines and "d/dx\t4.0" in lines


# ------------------------------------------------------------------------------------------ errors
def test_unknown_function_suggests_the_close_name():
    err = error("sn(x)")
    assert "sn" in err.message
    assert err.hint == "did you mean sin?"
    assert err.span == (0, 2)
    assert "(column 1)" in err.one_line()
    assert err.caret_lines() == ["  sn(x)", "  ^^"]


def test_unknown_function_later_in_the_text():
    err = error("x + expp(x)")
    assert err.span == (4, 8)
    assert err.hint == "did you mean exp?"
    assert "(column 5)" in err.one_line()


def test_variable_called_like_a_function_suggests_a_product():
    err = error("x(x+1)")
    assert err.span == (0, 1)
    assert "x*(" in err.hint


def test_two_names_side_by_side_are_a_product_with_a_note():
    parsed = parse("x y")
    assert parsed.canonical == "x*y"
    assert "'x y' read as x*y (a product)" in parsed.notes


def test_a_number_after_a_name_is_no_product():
    err = error("x 2")
    assert err.span == (2, 3)
    assert "*" in err.hint


@pytest.mark.parametrize(("text", "span"), [("(x+1", (0, 1)), ("sin(x", (3, 4)), ("2*(x + (y", (7, 8))])
def test_unclosed_parenthesis_points_at_the_opening(text, span):
    err = error(text)
    assert "never closed" in err.message
    assert err.span == span
    assert ")" in err.hint


def test_unmatched_closing_parenthesis():
    err = error("x)")
    assert err.span == (1, 2)
    assert "(" in err.hint


def test_expression_ending_early():
    err = error("x +")
    assert err.span == (3, 4)
    assert "end" in err.message


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_empty_expression(text):
    err = error(text)
    assert "empty" in err.message
    assert err.hint is not None


@pytest.mark.parametrize(("text", "span"), [("sin", (0, 3)), ("2*cos + 1", (2, 5)), ("x + exp", (4, 7))])
def test_function_used_without_an_argument(text, span):
    err = error(text)
    assert "function" in err.message
    assert err.span == span
    name = text[span[0]:span[1]]
    assert f"{name}(" in err.hint


def test_an_equals_sign_inside_the_expression_gets_a_hint():
    err = error("x**2 = y")
    assert err.span == (5, 6)
    assert "==" in err.hint
    assert "(column 6)" in err.one_line()


def test_wrong_number_of_arguments():
    err = error("sin(x, y)")
    assert "sin" in err.message and "2" in err.message
    assert err.span == (0, 9)


# ------------------------------------------------------------------------------------------ non-ASCII
def test_fullwidth_letter_is_named_with_its_column_and_a_suggestion():
    err = error("ｘ**2 + x")
    assert "U+FF58" in err.message
    assert "FULLWIDTH LATIN SMALL LETTER X" in err.message
    assert err.span == (0, 1)
    assert err.hint == "did you mean 'x'?"
    assert "(column 1)" in err.one_line()


def test_fullwidth_letter_later_in_the_text():
    err = error("x**2 + ｘ")
    assert err.span == (7, 8)
    assert "(column 8)" in err.one_line()
    assert err.hint == "did you mean 'x'?"
    assert err.caret_lines()[1] == "  " + " " * 7 + "^"


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("π", "pi"), ("2*π*x", "2*pi*x"), ("x×y", "x*y"), ("x²", "x**2"), ("x − 1", "x - 1"), ("√x", "sqrt(x)")],
)
def test_common_unicode_math_is_read_with_a_note(text, canonical):
    parsed = parse(text)
    assert parsed.canonical == canonical
    char = next(char for char in text if ord(char) > 127)
    assert any(note.startswith(f"'{char}") for note in parsed.notes)


def test_other_non_ascii_gets_a_generic_hint():
    err = error("x + 😀")
    assert "U+1F600" in err.message
    assert err.span == (4, 5)
    assert err.hint


# ------------------------------------------------------------------------------- forbidden syntax
@pytest.mark.parametrize(
    ("text", "span"),
    [("_x", (0, 2)), ("x + _y", (4, 6)), ("__import__", (0, 10)), ("x.__class__", (2, 11)), ("_", (0, 1))],
)
def test_names_starting_with_underscore_are_rejected(text, span):
    err = error(text)
    assert err.span == span
    assert "_" in err.hint


@pytest.mark.parametrize(
    ("text", "column"), [("'x'", 0), ('"x"', 0), ("x + 'a'", 4), ("f'x'", 1), ("b'x'", 1), ("x*'''y'''", 2)]
)
def test_strings_are_rejected(text, column):
    err = error(text)
    assert err.span == (column, column + 1)
    assert "string" in err.hint


def test_unknown_attribute_is_rejected_with_its_span():
    err = error("W.foo")
    assert "foo" in err.message
    assert err.span == (1, 5)
    assert ".T" in (err.hint or "")


def test_empty_index_is_rejected():
    err = error("x[]")
    assert "index" in err.message
    assert err.span == (2, 3)


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["grad", "x[0]", "--x", "1"], "scalar"),
        (["grad", "2*x[1:3]", "--x", "1"], "scalar"),
        (["grad", "x @ y", "--x", "1", "--y", "2"], "@"),
    ],
    ids=["index", "slice", "matmul"],
)
def test_tensor_syntax_on_scalar_values_is_a_clear_error(argv, fragment):
    """Indexing and '@' need vector or matrix values; with scalars they are one clear error, exit 2."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    assert code == 2
    assert out.getvalue() == ""
    first = err.getvalue().splitlines()[0]
    assert first.startswith("error: ") and fragment in first
    assert "Traceback" not in err.getvalue()


@pytest.mark.parametrize(
    ("text", "char"),
    [("x; y", ";"), ("x & y", "&"), ("x | y", "|"), ("5!", "!"), ("x $ y", "$")],
)
def test_other_characters_are_rejected_at_their_column(text, char):
    err = error(text)
    column = text.index(char)
    assert err.span == (column, column + 1)
    assert repr(char) in err.message


def test_braces_group_and_backslashes_mean_latex():
    assert parse("{x}^{2}").canonical == "x**2"
    assert parse("{x}^{2}").notes[0] == "braces read as parentheses: (x)^(2)"
    assert parse("\\frac{x}{2}").notes[0] == "LaTeX read as ((x)/(2))"
    unknown = error("x \\oplus y")
    assert "cannot read the LaTeX" in unknown.message and unknown.span == (2, 8)


@pytest.mark.parametrize("text", ["lambda: 0", "x for x in y", "[x]", "(x, y)", "x := 1", "x,", "*x", "**x"])
def test_python_constructs_outside_the_grammar_are_rejected(text):
    error(text)


@pytest.mark.parametrize("text", ["0x10", "0b101", "0o17", "0X1F + x"])
def test_hex_binary_octal_literals_are_not_silently_zero(text):
    """Regression: '0x10' used to be read as 0*x10 = 0, so `--x 0x10` bound x = 0 without complaint."""
    err = error(text)
    assert err.span is not None and err.span[0] == 0


def test_hex_binding_value_is_refused():
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["grad", "x", "--x", "0x10"])
    assert code == 2 and out.getvalue() == ""
    assert err.getvalue().startswith("error: --x")


# -------------------------------------------------------------------------------------------- limits
def test_nesting_within_the_limit_parses():
    depth = 30
    assert expr("(" * depth + "x" + ")" * depth) == x
    assert isinstance(expr("sin(" * depth + "x" + ")" * depth), sp.sin)
    assert expr("-" * (MAX_NESTING - 1) + "x") == -x  # odd count
    assert expr("**".join(["x"] * MAX_NESTING)).free_symbols == {x}


@pytest.mark.parametrize(
    ("label", "text"),
    [("unary", "-" * 1000 + "x"), ("power", "**".join(["x"] * 500)), ("not", "x if " + "not " * 200 + "x > 0 else 1")],
)
def test_nesting_beyond_the_limit_is_an_error_with_a_column(label, text):
    err = error(text)
    assert "nested too deeply" in err.message
    assert err.span is not None and "(column " in err.one_line()


@pytest.mark.parametrize("kind", ["parens", "calls"])
def test_nesting_up_to_the_documented_limit_parses(kind):
    """Regression: ~14 Python frames per level used to overflow the stack before MAX_NESTING."""
    depth = MAX_NESTING - 5
    text = ("(" * depth + "x" + ")" * depth) if kind == "parens" else ("sin(" * depth + "x" + ")" * depth)
    parse(text)


@pytest.mark.parametrize(
    "text", ["(" * 1000 + "x" + ")" * 1000, "sin(" * 1000 + "x" + ")" * 1000], ids=["parens", "calls"]
)
def test_deep_nesting_is_a_derivcli_error(text):
    """Regression: these used to leak RecursionError out of parse()."""
    err = error(text)
    assert "nested too deeply" in err.message


def test_long_if_else_chain_parses_or_is_refused_but_never_overflows():
    text = "x if x>0 else " * 700 + "1"
    try:
        parsed = parse(text)
    except DerivcliError as err:
        assert "nested" in err.message
    else:
        assert isinstance(parsed.expr, sp.Piecewise)


def test_too_long_and_literal_limits():
    err = error("x+" * 6000 + "x")
    assert "too long" in err.message
    err = error("1" * 5000)
    assert "literal" in err.message and err.span == (0, 5000)
    err = error("a" * 100)
    assert "name" in err.message


def test_huge_literal_beyond_float64():
    err = error("1e999999999*x")
    assert "too large" in err.message
    assert err.span == (0, 11)


def test_tiny_literal_is_zero():
    assert expr("1e-999999") == 0


@pytest.mark.parametrize("text, canonical, value, slope", [
    ("x*(0/0)", "x*(0/0)", "nan", "nan"),  # SymPy folds it to nan*x, which it cannot print
    ("-(x*(0/0))", "-x*(0/0)", "nan", "nan"),
    ("x/0", "x*(1/0)", "inf", "inf"),
    ("x + 1/0", "x + 1/0", "inf", "1"),
    ("x*log(0)", "x*log(0)", "-inf", "-inf"),
    ("sin(1/0)*x", "x*sin(1/0)", "nan", "nan"),
    ("x*log(-8, 2)", "x*log(-8)/log(2)", "nan", "nan"),  # was a two-argument log that torch cannot take
    ("log(x, 1)", "log(x)*(1/0)", "nan", "inf"),
])
def test_constants_sympy_makes_infinite_are_held_for_torch(text, canonical, value, slope):
    """1/0, 0/0 and log(0) are kept as themselves, opaque to SymPy's algebra, so torch computes their
    IEEE values; folded into a product they would become SymPy's zoo or nan."""
    import math

    import derivcli

    result = derivcli.grad(text, x=1.0)
    assert result.expression == canonical
    for got, want in ((result.value, float(value)), (result.gradient["x"], float(slope))):
        assert (math.isnan(got) and math.isnan(want)) or got == want
