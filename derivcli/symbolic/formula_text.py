"""SymPy's text of an expression, exactly as `str(expr)` prints it, in about half the time; except that a
conditional prints in derivcli's own notation, `a if x > 0 and x < 1 else b` (`_print_Piecewise`), which
reads back, where SymPy's `Piecewise((a, (x > 0) & (x < 1)), (b, True))` did not.

Printing an expression that was just built is dominated by questions SymPy asks of its fresh numbers: to
order an Add it evaluates every term's coefficient with `complex()` (through mpmath), to decide on
parentheses it asks each product whether a minus sign can come out (an assumptions query on the
coefficient), and to print a product with a negative coefficient it first builds the product with the
coefficient negated, then asks that new number whether it is negative.  For a number those answers are
in its value.  `FormulaPrinter` is SymPy's `StrPrinter` with exactly those steps answered from the value,
and SymPy's own code everywhere else, including wherever the answer is not plain (a coefficient such as
`sqrt(2)` or `oo`, a non-commutative factor, an unevaluated product).
The tests hold it to `str(expr)` on random expressions.  Only the parse cache of distinct expressions
notices the difference: `derivcli batch` of new expressions spends about a quarter of its time here.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

from sympy import (
    Add,
    Basic,
    Expr,
    Float,
    Function,
    Integer,
    Mul,
    Number,
    NumberSymbol,
    Piecewise,
    Pow,
    Rational,
    S,
    preorder_traversal,
)
from sympy.core.exprtools import decompose_power
from sympy.core.sorting import default_sort_key
from sympy.logic.boolalg import ITE
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

from ..limits.recursion import deep_recursion


def formula(expr: Any) -> str:
    """`str(expr)`, faster, a conditional as derivcli writes it (with room on the stack for the deepest
    expression the parser lets through)."""
    with deep_recursion():
        return FormulaPrinter().doprint(expr)


# Each compound node's text, across printers: a node's text is a function of its class and arguments alone
# (below the top level, where a Float prints otherwise, every node prints at the same depth), and SymPy's
# nodes never change; so are its sort key and a sum's term order.  The tree as written and the simplified
# one share most of their parts, and distinct expressions of one batch share many (`sqrt(2*x + 3)`):
# printing both trees of a Rubi-sized expression takes a third of the time it did.  Only where SymPy's ==
# tells Float(2.0) from 2 (1.13 on) is it the same node: before, 2.0*x == 2*x, and the texts differ; and
# only for classes whose equality is Basic's (`_plain`).
_KEPT = 16384  # entries of each table before it starts afresh: a few MB of nodes
_REMEMBERS = Float(2.0) != Integer(2)
_PLAIN: dict[type, bool] = {}  # class -> whether its nodes are equal exactly when their classes and arguments are
T = TypeVar("T")


class _Kept(dict[Any, T]):
    """Answers kept across printers, started afresh at _KEPT entries or at `characters` characters of text
    (a part's text holds its parts', so a deep chain's add up to its length times its depth); a text over
    1/64 of those is not kept at all (the node is printed again if it comes again)."""

    def __init__(self, characters: float = math.inf) -> None:
        super().__init__()
        self.characters = characters
        self.held = 0  # characters of the texts kept

    def keep(self, key: Any, value: T) -> T:
        size = len(value) if isinstance(value, str) else 0
        if size <= self.characters / 64:
            if len(self) >= _KEPT or self.held + size > self.characters:
                self.clear()
                self.held = 0
            self[key] = value
            self.held += size
        return value


_TEXTS: _Kept[str] = _Kept(characters=1 << 22)
_KEYS: _Kept[tuple[Any, Any]] = _Kept()  # and the sort keys and term orders of `FormulaPrinter`, likewise
_ORDERS: _Kept[tuple[Any, list[Any]]] = _Kept()


def _plain(cls: type) -> bool:
    """Whether the class keeps Basic's equality: two nodes of it are equal exactly when their arguments are
    (SymPy's Subs is equal to another with a renamed variable, and prints its own name)."""
    known = _PLAIN.get(cls)
    if known is None:
        content = getattr(cls, "_hashable_content", None)
        known = _PLAIN[cls] = getattr(cls, "__eq__", None) is Basic.__eq__ and content in (
            Basic._hashable_content, Expr._hashable_content)
    return known


def _shared(part: Any) -> bool:
    """Whether the part's answers may be shared with every part equal to it: a hashable node of a class
    with Basic's equality (`_plain`)."""
    if not _plain(type(part)):
        return False
    try:
        hash(part)
    except TypeError:  # (an argument SymPy cannot hash: no node derivcli builds has one)
        return False
    return True


def _slot(part: Any) -> Any:
    """Where a part's answers are kept across printers: under the part itself where they may be shared
    (`_shared`), else under its id (the entry holds the part, so the id stays its own)."""
    return part if _shared(part) else ("id", id(part))


def _sign(number: Any) -> int | None:
    """-1, 0 or 1 for a rational or float number; None for anything else (oo, nan, zoo, sqrt(2), pi)."""
    if isinstance(number, Rational):
        return (number.p > 0) - (number.p < 0)
    if isinstance(number, Float):
        value = float(number)
        return (value > 0) - (value < 0)
    return None


def _conditional(item: Any) -> bool:
    """A Piecewise with an otherwise piece: printed `a if c else b`, which binds more loosely than anything."""
    return isinstance(item, Piecewise) and item.args[-1].cond is S.true


def _precedence(item: Any) -> int:
    """`precedence(item)`, without the assumptions query for a product with a plain number in front."""
    if _conditional(item):
        return PRECEDENCE["Lambda"]
    if isinstance(item, ITE):
        return PRECEDENCE["Or"]
    if isinstance(item, Mul):
        if any(hasattr(arg, "precedence") and isinstance(arg, Function) and arg.precedence < PRECEDENCE["Mul"]
               for arg in item.args):
            return PRECEDENCE["Mul"]
        sign = _sign(item.args[0])
        if sign is not None:  # a real coefficient: -self differs from self, so the sign alone decides
            return PRECEDENCE["Add"] if sign < 0 else PRECEDENCE["Mul"]
    return precedence(item)


_VALUES: dict[Any, float] = {}  # number -> complex(number).real, for the numbers of ordering keys


def _coefficient(coeff: Any, numbers: list[Any]) -> float | None:
    """A term's coefficient as its ordering key: float(coeff) for a term of the coefficient and
    non-numbers (a simplified term); where numbers stand among the factors (`x/q` as written), SymPy's
    own product of their values (`_float`), factor by factor, as its `as_terms` multiplies them."""
    if not numbers:
        return float(coeff)
    value = _float(coeff)
    for number in numbers:
        factor = _float(number)
        if value is None or factor is None:
            return None
        value *= factor
    return value


def _float(number: Any) -> float | None:
    """`complex(number).real`, as SymPy's term order computes it (through evalf, which is not always
    Python's correctly rounded 1/q), once per distinct number: for a rational or float number, or a power
    of integers left unevaluated (written `x/q`); None for any other number (and a non-real one)."""
    if not isinstance(number, (Rational, Float)) and not (
            isinstance(number, Pow) and number.base.is_Integer and number.exp.is_Integer):
        return None
    value = _VALUES.get(number)
    if value is None:
        try:
            exact = complex(number)
        except (TypeError, ValueError):  # 0**-1
            return None
        if exact.imag:
            return None
        if len(_VALUES) >= 4096:
            _VALUES.clear()
        value = _VALUES[number] = exact.real
    return value


def _not_a_number(arg: Any) -> bool:
    return not isinstance(arg, (Number, NumberSymbol))


def _ordered_terms(expr: Any, sort_key: Any) -> list[Any] | None:
    """`expr.as_ordered_terms()` (lex order of the terms' monomials, then coefficients) when every
    coefficient is a rational or float number; None to leave the ordering to SymPy."""
    args = Add.make_args(expr)
    if len(args) == 2:  # SymPy's special case: `1 - x`, a positive number before a negative multiple
        constant, other = sorted(args, key=_not_a_number)
        if isinstance(constant, (Number, NumberSymbol)) and isinstance(other, Mul):
            factors = sorted(Mul.make_args(other), key=_not_a_number)
            if len(factors) == 2 and isinstance(factors[0], Number):
                signs = _sign(constant), _sign(factors[0])
                if None in signs:
                    return None
                if signs[0] == 1 and signs[1] == -1:
                    return [constant, other]
    terms, gens = [], set()
    for term in args:
        coeff, rest = term.as_coeff_Mul()
        if _sign(coeff) is None:
            return None
        parts = Mul.make_args(rest) if rest is not S.One else ()
        numbers = [factor for factor in parts if factor.is_number]
        value = _coefficient(coeff, numbers)
        if value is None:
            return None
        powers = {}
        for factor in parts:
            if factor.is_number:
                continue
            if not factor.is_commutative:
                return None
            base, exponent = decompose_power(factor)
            powers[base] = exponent
            gens.add(base)
        terms.append((term, value, powers))
    index = {gen: i for i, gen in enumerate(sorted(gens, key=sort_key))}

    def key(entry: tuple[Any, float, dict[Any, int]]) -> tuple[Any, ...]:
        _, coeff, powers = entry
        monomial = [0] * len(index)
        for base, exponent in powers.items():
            monomial[index[base]] = -exponent
        return tuple(monomial), (), ((False, 0.0), (coeff, 0.0))

    return [term for term, _, _ in sorted(terms, key=key)]


def _holds_constant_sum(expr: Any) -> bool:
    """Whether a term of the sum holds a sum without variables left unevaluated (`2 - 2` as written): one
    with two numbers or a sum among its terms, which SymPy's own sums never have (`1 + sqrt(2)` is one)."""
    return any(isinstance(node, Add) and not node.free_symbols
               and (sum(arg.is_Number for arg in node.args) > 1 or any(isinstance(arg, Add) for arg in node.args))
               for term in expr.args for node in preorder_traversal(term))


class FormulaPrinter(StrPrinter):
    """StrPrinter with the number questions answered from the numbers' values (see the module text).
    It remembers the sort keys and term orders of the parts it prints (a sum is ordered for its key and
    again for its text), and their texts, across printers where it can (`_TEXTS`)."""

    def __init__(self) -> None:
        super().__init__()
        # each part's sort key and each sum's ordered terms: across printers by the part itself, where
        # texts are remembered (`_TEXTS`: sort keys and orders are functions of the part alike), else
        # by id for this printer alone (the parts kept alive beside their answers)
        self._keys: _Kept[tuple[Any, Any]] = _KEYS if _REMEMBERS else _Kept()  # part -> (part, its sort key)
        self._orders: _Kept[tuple[Any, list[Any]]] = _ORDERS if _REMEMBERS else _Kept()  # sum -> (sum, terms)
        self._slot: Any = _slot if _REMEMBERS else id

    def _print(self, expr: Any, **kwargs: Any) -> str:
        """Printer._print, each compound node's text remembered (`_TEXTS`)."""
        if kwargs or not _REMEMBERS or not isinstance(expr, Basic) or not expr.args or not _shared(expr):
            return super()._print(expr, **kwargs)
        text = _TEXTS.get(expr)
        if text is None:
            text = _TEXTS.keep(expr, super()._print(expr))
        return text

    def sort_key(self, expr: Any) -> Any:
        """`expr.sort_key()`, SymPy's own steps, but each sum ordered by `_ordered_terms` and each part's
        key computed once: SymPy orders a sum inside a key through `complex()` of every coefficient."""
        known = self._keys.get(self._slot(expr))
        if known is not None:
            return known[1]
        if not isinstance(expr, Expr) or expr.is_Atom or type(expr).sort_key is not Expr.sort_key:
            key = expr.sort_key()
        else:
            coeff, rest = expr.as_coeff_Mul()
            exponent = S.One
            if rest.is_Pow:
                rest, exponent = rest.as_base_exp()
                if rest is S.Exp1:
                    rest, exponent = Function("exp")(exponent), S.One
            if rest.is_Dummy:
                args: tuple[Any, ...] = (rest.sort_key(),)
            elif rest.is_Atom:
                args = (str(rest),)
            else:
                parts = (self._terms(rest) if rest.is_Add else self._factors(rest) if rest.is_Mul else rest.args)
                args = tuple(self.sort_key(part) if isinstance(part, Basic) else default_sort_key(part)
                             for part in parts)
            key = rest.class_key(), (len(args), args), self.sort_key(exponent), coeff
        self._keys.keep(self._slot(expr), (expr, key))
        return key

    def _terms(self, expr: Any) -> list[Any]:
        """`expr.as_ordered_terms()`."""
        known = self._orders.get(self._slot(expr))
        if known is not None:
            return known[1]
        terms = _ordered_terms(expr, self.sort_key)
        if terms is None:
            # SymPy orders by complex() of each term, through evalf, which starts again at a higher precision
            # for every sum that cancels, nested: exponential in the depth of ((2 - 2) + 1 - 1) + 1 - 1 as
            # written (16 levels took 45 s).  A sum holding such a constant (only a tree as written has one)
            # keeps the order it was written in.
            terms = list(Add.make_args(expr)) if _holds_constant_sum(expr) else expr.as_ordered_terms()
        self._orders.keep(self._slot(expr), (expr, terms))
        return terms

    def _factors(self, expr: Any) -> list[Any]:
        """`expr.as_ordered_factors()`: commutative factors without a number among them, sorted by key."""
        factors = expr.args
        if factors[0].is_Number or not all(factor.is_commutative for factor in factors):
            return list(expr.as_ordered_factors())
        return sorted(factors, key=self.sort_key)

    def parenthesize(self, item: Any, level: int, strict: bool = False) -> str:
        item_precedence = _precedence(item)
        if item_precedence < level or (not strict and item_precedence <= level):
            return f"({self._print(item)})"
        return self._print(item)

    def _print_Add(self, expr: Any, order: Any = None) -> str:
        """StrPrinter._print_Add, with the faster ordering and precedence."""
        terms = self._terms(expr) if order is None and self.order is None else self._as_ordered_terms(expr, order)
        pieces = []
        for term in terms:
            text = self._print(term)
            sign = "+"
            if text.startswith("-") and not term.is_Add:
                sign, text = "-", text[1:]
            pieces += [sign, f"({text})" if _precedence(term) < PRECEDENCE["Add"] or term.is_Add else text]
        return ("" if pieces[0] == "+" else pieces[0]) + " ".join(pieces[1:])

    def _print_Mul(self, expr: Any) -> str:
        """StrPrinter._print_Mul for an evaluated product of commutative factors with a plain number (or
        none) in front, printed from its factors: no product is built and no number is asked its sign."""
        coeff, rest = expr.as_coeff_Mul()
        sign = _sign(coeff)
        factors = Mul.make_args(rest)
        if (sign is None or rest is S.One or self.order in ("old", "none") or _unevaluated(expr)
                or not all(factor.is_commutative for factor in factors)):
            return super()._print_Mul(expr)
        prec = _precedence(expr)
        ordered = sorted(factors, key=self.sort_key)
        numerator: list[Any] = []
        denominator: list[Any] = []
        if isinstance(coeff, Rational):
            numerator += [Rational(abs(coeff.p))] if abs(coeff.p) != 1 else []
            denominator += [Rational(coeff.q)] if coeff.q != 1 else []
        else:
            numerator.append(-coeff if sign < 0 else coeff)
        parenthesized = []  # reciprocals of products and powers, whose base prints in parentheses
        for item in ordered:
            if isinstance(item, Pow) and bool(item.exp.as_coeff_Mul()[0] < 0):
                if item.exp is not S.NegativeOne:
                    denominator.append(_reciprocal(item))
                else:
                    if len(item.args[0].args) != 1 and isinstance(item.base, (Mul, Pow)):
                        parenthesized.append(item.base)
                    denominator.append(item.base)
            else:
                numerator.append(item)
        top = [self.parenthesize(x, prec, strict=False) for x in numerator or [S.One]]
        bottom = [self.parenthesize(x, prec, strict=False) for x in denominator]
        for base in parenthesized:
            bottom[denominator.index(base)] = f"({bottom[denominator.index(base)]})"
        text = ("-" if sign < 0 else "") + "*".join(top)
        if len(bottom) == 1:
            return f"{text}/{bottom[0]}"
        return f"{text}/({'*'.join(bottom)})" if bottom else text

    def _print_Piecewise(self, expr: Any) -> str:
        """`a if c else b if d else e`, as derivcli reads it (SymPy's own text, `Piecewise((a, c), …)`,
        where no piece holds otherwise: undefined there, which derivcli never builds)."""
        if not _conditional(expr):
            return super()._print_Piecewise(expr)
        *pieces, otherwise = expr.args
        return "".join(f"{self.parenthesize(piece.expr, PRECEDENCE['Lambda'])} if {self._print(piece.cond)} else "
                       for piece in pieces) + self._print(otherwise.expr)

    def _print_And(self, expr: Any) -> str:
        return " and ".join(self.parenthesize(arg, PRECEDENCE["And"]) for arg in _ordered(expr))

    def _print_Or(self, expr: Any) -> str:
        return " or ".join(self.parenthesize(arg, PRECEDENCE["Or"]) for arg in _ordered(expr))

    def _print_ITE(self, expr: Any) -> str:
        """SymPy's condition `ITE(c, a, b)` (a comparison with a conditional in it: `x + (1 if y > 0 else 2)
        > 0`), as `c and a or not (c) and b`, which derivcli reads."""
        condition, then, otherwise = expr.args
        return (f"{self.parenthesize(condition, PRECEDENCE['And'])} and {self.parenthesize(then, PRECEDENCE['And'])}"
                f" or not {self.parenthesize(condition, PRECEDENCE['Relational'])} and "
                f"{self.parenthesize(otherwise, PRECEDENCE['And'])}")

    def _print_Not(self, expr: Any) -> str:
        return "not " + self.parenthesize(expr.args[0], PRECEDENCE["Relational"])

    def _print_Relational(self, expr: Any) -> str:
        """`lhs op rhs`, SymPy's own text for <, <=, > and >=; and `x == 0`, `x != 0`, as derivcli reads
        them, where SymPy prints Eq(x, 0) and Ne(x, 0)."""
        level = precedence(expr)
        return f"{self.parenthesize(expr.lhs, level)} {expr.rel_op} {self.parenthesize(expr.rhs, level)}"


def _ordered(operation: Any) -> list[Any]:
    """The conditions of an `and` or an `or` in the order SymPy prints them."""
    return sorted(operation.args, key=default_sort_key)


def _unevaluated(expr: Any) -> bool:
    """StrPrinter's test for a product built unevaluated, which it prints factor by factor as it is."""
    args = expr.args
    return args[0] is S.One or any(isinstance(a, Number) or a.is_Pow and all(ai.is_Integer for ai in a.args)
                                   for a in args[1:])


def _reciprocal(power: Any) -> Any:
    """b**-e for b**e (StrPrinter's `apow`), unevaluated."""
    base, exponent = power.as_base_exp()
    factors = list(Mul.make_args(exponent))
    if factors[0] is S.NegativeOne:
        factors = factors[1:]
    else:
        factors[0] = -factors[0]
    return power.func(base, Mul._from_args(factors), evaluate=False)


PRETTY_MAX_OPS = 120  # past this a 2-D form is wider than any terminal


def pretty_form(expression: Any) -> str | None:
    """SymPy's 2-D Unicode form, for a terminal; None for a formula too large to read that way."""
    from sympy import count_ops, pretty

    if count_ops(expression) > PRETTY_MAX_OPS:
        return None
    return str(pretty(expression, use_unicode=True, wrap_line=False))
