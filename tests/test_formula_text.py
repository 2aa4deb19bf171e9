"""The faster printer must print exactly what `str(expr)` prints (a conditional apart: derivcli's own
`a if c else b`, which reads back), the numbers told their sign facts up front must answer every
assumption as SymPy itself would, and the powers built without evaluation must be what SymPy's evaluation
builds."""

from __future__ import annotations

import math
import sys
from typing import Any

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.printing.printer import Printer

import derivcli
from derivcli.errors import DerivcliError
from derivcli.limits.recursion import deep_recursion
from derivcli.parsing import parse
from derivcli.parsing.literals import with_sign_facts
from derivcli.symbolic.formula_text import FormulaPrinter, formula
from derivcli.table.sympy_forms import power

ATOMS = ["x", "y", "z", "0", "1", "2", "3", "17", "0.5", "2.25", "1e-3", "123456789", "pi", "E", "(1/3)", "(-2)"]
UNARY = ["sin", "cos", "exp", "log", "sqrt", "Abs", "tanh", "sigmoid", "relu", "cbrt", "floor"]


def expressions() -> st.SearchStrategy[str]:
    binary = st.sampled_from([" + ", " - ", "*", "/", "**"])
    return st.recursive(
        st.sampled_from(ATOMS),
        lambda inner: st.one_of(
            st.tuples(inner, binary, inner).map(lambda t: f"({t[0]}{t[1]}{t[2]})"),
            st.tuples(st.sampled_from(UNARY), inner).map(lambda t: f"{t[0]}({t[1]})"),
            inner.map(lambda t: f"-{t}"),
        ),
        max_leaves=12,
    )


@settings(max_examples=400, deadline=None)
@given(expressions())
def test_formula_prints_what_str_prints(text):
    """The simplified tree as str prints it, and the tree as written as it prints without the texts
    remembered from every expression printed before in this process."""
    try:
        parsed = parse(text)
    except DerivcliError:
        return
    assert formula(parsed.expr) == str(parsed.expr)
    if parsed.written is not None:
        assert formula(parsed.written) == Unremembered().doprint(parsed.written)


@pytest.mark.parametrize(("text", "printed"), [
    ("x if x > 0 else -x^2", "x if x > 0 else -x**2"),
    ("2*(x if x > 0 else -x)", "2*(x if x > 0 else -x)"),  # looser than anything: bracketed inside
    ("-(x if x != 0 else 1)", "-(x if x != 0 else 1)"),
    ("(x if x > 0 else 1)*y**x", "y**x*(x if x > 0 else 1)"),
    ("sin(x if x > 0 else 1) + y", "y + sin(x if x > 0 else 1)"),  # an argument needs none
    ("(x if x > 0 else 1) if y < 5 else 2", "(x if x > 0 else 1) if y < 5 else 2"),  # a piece's value does
    ("x if 0 < x < 1 else (x**2 if x > 2 or x < -3 else 3)",
     "x if x > 0 and x < 1 else x**2 if x > 2 or x < -3 else 3"),
    ("x if not (x > 0 and y < 1) else 2", "x if not (x > 0 and y < 1) else 2"),
    ("x if x < 1 and (x > 0 or y > 0) else 2", "x if (x > 0 or y > 0) and x < 1 else 2"),
    ("x if x == 1 else 3*x", "x if x == 1 else 3*x"),  # SymPy: Eq(x, 1)
    # SymPy turns the comparison into ITE(y > 0, x > -1, x > -2): read back, the same function
    ("x if x + (1 if y > 0 else 2) > 0 else y", "x if y > 0 and x > -1 or not (y > 0) and x > -2 else y"),
])
def test_a_conditional_prints_as_derivcli_reads_it(text, printed):
    """SymPy's `Piecewise((x, x > 0), (-x**2, True))` did not read back (derivcli's own `diff` formula
    pasted into derivcli was an error); the text printed is derivcli's notation, and reads back as the same
    expression."""
    parsed = parse(text)
    assert formula(parsed.expr) == printed
    again = parse(printed).expr
    x, y = (parsed.symbols.get(name, sympy.Symbol(name)) for name in "xy")
    points = [{x: a, y: b} for a in (-2.5, -1, -0.5, 0, 0.5, 1, 3) for b in (-1, 0, 0.5, 6)]
    assert again == parsed.expr or all(again.subs(point) == parsed.expr.subs(point) for point in points)


def test_the_deepest_expression_the_parser_lets_through_prints():
    """90 nested square roots of products and sums (the parser allows 100 levels): the printer's frame per
    level once ran out of Python's default stack, where the parser had room."""
    text = "x"
    for _ in range(90):
        text = f"sqrt({text}*y + 1)"
    parsed = parse(text)
    assert formula(parsed.expr) == Unremembered().doprint(parsed.expr) and formula(parsed.expr).count("sqrt") == 90
    assert math.isfinite(derivcli.grad(text, {"x": 0.5, "y": 0.5}).value)


def test_a_node_equal_to_another_that_prints_otherwise_keeps_its_own_text():
    """SymPy's Subs is equal to one with its variable renamed; each prints its own."""
    f = sympy.Function("f")
    x, y = sympy.symbols("x y")
    first, second = sympy.Subs(f(x).diff(x), x, 2 * y), sympy.Subs(f(y).diff(y), y, 2 * y)
    assert first == second
    assert [formula(first), formula(second), formula(first + 1)] == [str(first), str(second), str(first + 1)]


def test_the_texts_kept_stay_within_their_characters(monkeypatch):
    """A part's text holds its parts' texts, so a deep chain's texts add up to its length times its depth:
    what is kept is bounded in characters as well as in entries (a batch of deep expressions is hostile
    input too)."""
    from derivcli.symbolic import formula_text

    monkeypatch.setattr(formula_text, "_TEXTS", formula_text._Kept(characters=20_000))
    x, y = sympy.symbols("x y", real=True)
    for k in range(1, 25):
        expr = x + k
        for _ in range(40):
            expr = sympy.sqrt(expr * y + k)
        assert formula(expr) == Unremembered().doprint(expr)
        kept = sum(len(text) for text in formula_text._TEXTS.values())
        assert kept == formula_text._TEXTS.held <= 20_000
    assert formula_text._TEXTS  # (and it does keep some)


class Unremembered(FormulaPrinter):
    """The printer without `_TEXTS`."""

    def _print(self, expr: Any, **kwargs: Any) -> str:
        return Printer._print(self, expr, **kwargs)

    def doprint(self, expr: Any) -> str:
        with deep_recursion():  # (as `formula` prints)
            return str(super().doprint(expr))


def test_nodes_equal_in_value_but_not_in_kind_keep_their_own_texts(monkeypatch):
    """The remembered texts, sort keys and term orders are SymPy's == apart: 2.0*x is not 2*x, x*2 as
    written is not 2*x, and a SymPy whose == does not tell 2.0 from 2 remembers none."""
    from derivcli.symbolic import formula_text

    x = sympy.Symbol("x", real=True)
    pairs = [(sympy.Mul(sympy.Float(2.0), x), sympy.Mul(2, x)), (sympy.Mul(x, 2, evaluate=False), sympy.Mul(2, x)),
             (sympy.Add(x, 1, evaluate=False), sympy.Add(1, x, evaluate=False)),
             (sympy.Mul(sympy.Float("0.1", 30), x), sympy.Mul(sympy.Float("0.1", 15), x)),
             (sympy.sin(sympy.Float(1.0) * x), sympy.sin(x))]
    for first, second in pairs:
        both = sympy.Add(sympy.Mul(first, x, evaluate=False), second, evaluate=False)
        for expr in (first, second, both, first, second):
            assert formula(expr) == str(expr)
    assert formula(pairs[0][0]) == "2.0*x" and formula(pairs[0][1]) == "2*x"
    for table in ("_TEXTS", "_KEYS", "_ORDERS"):
        monkeypatch.setattr(formula_text, table, formula_text._Kept())
    monkeypatch.setattr(formula_text, "_REMEMBERS", False)
    sums = [sympy.Add(*pair, x**2, evaluate=False) for pair in pairs] + [sympy.Add(*pair) for pair in pairs]
    assert [formula(expr) for expr in sums] == [str(expr) for expr in sums]
    assert formula_text._TEXTS == formula_text._KEYS == formula_text._ORDERS == {}


def test_formula_on_the_orderings_sympy_treats_specially():
    x, y = sympy.symbols("x y", real=True)
    cases = [1 - x, 2 * x + 3, sympy.pi - x, x**2 - x + 1, x + sympy.sqrt(2) * x, x / 3 - sympy.Rational(1, 2),
             -x * y, sympy.Float(2.5) - x, sympy.oo - x, x**sympy.Rational(2, 3) + x**sympy.Rational(1, 3) + x,
             sympy.exp(x / 3) ** 2 + sympy.exp(x / 3), (x - 1) * (x + y) ** 2 / (x + 2), sympy.I * x + y,
             sympy.zoo * x + 1, sympy.Mul(2, x, 3, evaluate=False) + y, sympy.Float(-0.25) * x * y - x,
             -x / 3, -3 * x / (2 * y), y / x**2, 1 / (x * y), -(x + 1) / 2, sympy.Float(-1.0) * x,
             sympy.Float(1.0) * x, -x * y ** sympy.Rational(-1, 2), x / (y * sympy.exp(x)) ** 2,
             -sympy.Rational(7, 5) * x ** -y * sympy.sin(x), sympy.sqrt(2) * x / 3,
             # a constant sum in a term: SymPy's own order, as str gives it (a sum as written keeps its order)
             x * (1 + sympy.sqrt(2)) + y, (1 + sympy.sqrt(3)) * x**2 + (2 + sympy.sqrt(2)) * x + 1,
             sympy.exp(1 + sympy.sqrt(2)) * x + y + 1, x * (sympy.log(2) + sympy.log(3) - sympy.log(6)) + y]
    for expr in cases:
        assert formula(expr) == str(expr), expr


@settings(max_examples=300, deadline=None)
@given(expressions(), st.sampled_from(["-1", "2", "3", "-2", "1/2", "-1/2", "1/3", "0", "1"]))
def test_powers_of_sums_are_what_sympy_evaluation_builds(text, exponent_text):
    try:
        expr = parse(text).expr
    except DerivcliError:
        return
    exponent = sympy.Rational(exponent_text)
    for base in [node for node in sympy.preorder_traversal(expr) if node.is_Add]:
        try:
            evaluated = sympy.Pow(base, exponent)
        except (ArithmeticError, TypeError, ValueError):  # SymPy gives up; the builder keeps Pow unevaluated
            continue
        built = power(base, exponent)
        assert built == evaluated and str(built) == str(evaluated), (base, exponent)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.integers(-10**30, 10**30),
                 st.tuples(st.integers(-10**6, 10**6), st.integers(1, 10**6)).map(lambda t: sympy.Rational(*t))))
def test_numbers_told_their_sign_facts_answer_as_sympy_does(value):
    told = with_sign_facts(sympy.Rational(value))
    sympy.core.cache.clear_cache()
    fresh = sympy.Rational(value)  # a new object, asked from scratch (singletons such as 1/2 excepted)
    for fact in sorted(sys.modules["sympy.core.assumptions"]._assume_defined):
        assert getattr(told, f"is_{fact}") == getattr(fresh, f"is_{fact}"), fact


def test_a_number_already_asked_is_left_alone():
    number = sympy.Integer(987654321)
    assert number.is_prime is False
    facts = number._assumptions
    assert with_sign_facts(number)._assumptions is facts


def test_a_function_whose_sympy_evaluation_gives_up_is_kept_unevaluated(monkeypatch):
    """SymPy's evaluation has raised NotImplementedError from deep in its assumptions on odd constants;
    the expression must still be read (unevaluated), and torch computes it."""
    import derivcli

    def gives_up(cls, *args, **kwargs):
        raise NotImplementedError("not expecting int(x) to round away from 0")

    monkeypatch.setattr(sympy.Heaviside, "eval", classmethod(gives_up))
    sympy.core.cache.clear_cache()
    result = derivcli.grad("heaviside(sinh(2)*3 - 1) * x", x=2.0)
    assert result.value == 2.0 and result.gradient == {"x": 1.0}
