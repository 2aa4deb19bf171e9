"""Safe parsing: expression text -> syntax tree -> SymPy expression.

The text is untrusted, so nothing here evaluates it: a tokenizer and a precedence-climbing parser build a
small tree of whitelisted node kinds, and `build_sympy` constructs SymPy objects from that tree, name by
name from the functions table.  Every size that could explode is bounded before SymPy sees it: the text's
length, nesting depth, number literals, exact constant powers and the arguments of factorial-like
functions.  Errors carry the column of the fault.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Union

from .budget import BUILD_SECONDS, OverBudget, time_budget
from .errors import DerivcliError
from .functions import by_name

if TYPE_CHECKING:
    import sympy

MAX_LENGTH = 10_000  # characters of expression text
MAX_NESTING = 100  # parentheses, powers, unary operators and calls inside one another
MAX_LITERAL = 300  # characters of one number literal
MAX_NAME = 64
MAX_EXACT_BITS = 4_000  # about 1,200 digits: the largest exact constant SymPy may build
MAX_EXACT_EXPONENT = 10_000

CONSTANTS = {"pi": "pi", "e": "E", "E": "E"}
KEYWORDS = {"if", "else", "and", "or", "not"}
UNICODE_HINTS = {
    "π": "write pi",
    "×": "write * for multiplication",
    "·": "write * for multiplication",
    "÷": "write / for division",
    "−": "write - (ASCII minus)",
    "–": "write - (ASCII minus)",
    "²": "write **2",
    "³": "write **3",
    "√": "write sqrt(...)",
}


# --------------------------------------------------------------------------------------------- tokens
@dataclass(frozen=True)
class Token:
    kind: str  # NUMBER, NAME, OP, END
    text: str
    start: int
    end: int


_TOKEN = re.compile(
    r"(?P<space>[ \t\r\n]+)"
    r"|(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|//|<=|>=|==|!=|[-+*/%^@()\[\],:.<>])"
)


def tokenize(text: str) -> list[Token]:
    """Split the text into tokens, rejecting anything outside the expression alphabet."""
    if len(text) > MAX_LENGTH:
        raise DerivcliError(
            f"expression is too long ({len(text):,} characters; the limit is {MAX_LENGTH:,})"
        )
    for column, char in enumerate(text):
        if ord(char) > 127:
            raise _non_ascii_error(text, column, char)
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise _bad_character_error(text, position)
        kind = match.lastgroup
        value = match.group()
        if kind == "number" and len(value) > MAX_LITERAL:
            raise DerivcliError("number literal is too long", span=match.span(), source=text)
        if kind == "number" and value == "0" and re.match(r"[xXbBoO][0-9a-fA-F]", text[match.end():match.end() + 2]):
            raise DerivcliError("hexadecimal, binary and octal literals are not supported",
                                span=(match.start(), match.end() + 2), source=text,
                                hint="write the number in decimal, or 0*x10 for a product")
        if kind == "name":
            if value.startswith("_"):
                raise DerivcliError(
                    f"name '{value}' is not allowed", span=match.span(), source=text,
                    hint="names may not start with '_'",
                )
            if len(value) > MAX_NAME:
                raise DerivcliError("name is too long", span=match.span(), source=text)
        if kind != "space":
            token_kind = {"number": "NUMBER", "name": "NAME", "op": "OP"}[str(kind)]
            tokens.append(Token(token_kind, value, match.start(), match.end()))
        position = match.end()
    tokens.append(Token("END", "", len(text), len(text)))
    return tokens


def _non_ascii_error(text: str, column: int, char: str) -> DerivcliError:
    name = unicodedata.name(char, "unnamed character")
    hint = UNICODE_HINTS.get(char)
    if hint is None:
        normal = unicodedata.normalize("NFKC", char)
        hint = f"did you mean '{normal}'?" if normal.isascii() and normal.isprintable() else None
    return DerivcliError(
        f"non-ASCII character U+{ord(char):04X} ({name}) is not allowed",
        span=(column, column + 1), source=text, hint=hint or "expressions are written in ASCII",
    )


def _bad_character_error(text: str, column: int) -> DerivcliError:
    char = text[column]
    hints = {
        "'": "strings are not part of expressions",
        '"': "strings are not part of expressions",
        "=": "give only the expression, e.g. 'x**2' rather than 'y = x**2'; compare with ==",
        "!": "write factorial(n); 'not' negates a condition",
        "&": "write 'and'",
        "|": "write 'or', or abs(x) for an absolute value",
        "{": "group with parentheses",
        ";": "give one expression",
    }
    shown = repr(char) if char.isprintable() else f"U+{ord(char):04X}"
    return DerivcliError(
        f"unexpected character {shown}", span=(column, column + 1), source=text, hint=hints.get(char)
    )


# ----------------------------------------------------------------------------------------- syntax tree
@dataclass
class Num:
    text: str
    span: tuple[int, int]


@dataclass
class Name:
    id: str
    span: tuple[int, int]


@dataclass
class Call:
    name: str
    args: list[Node]
    span: tuple[int, int]
    name_span: tuple[int, int]


@dataclass
class Chain:
    """A flat run of one precedence level: `a - b + c` or `a * b / c`; the first operator is + or *."""

    items: list[tuple[str, Node, tuple[int, int]]]
    span: tuple[int, int]


@dataclass
class Unary:
    op: str
    operand: Node
    span: tuple[int, int]


@dataclass
class Power:
    base: Node
    exponent: Node
    span: tuple[int, int]


@dataclass
class Compare:
    operands: list[Node]
    ops: list[str]
    span: tuple[int, int]


@dataclass
class BoolOp:
    op: str  # and / or
    values: list[Node]
    span: tuple[int, int]


@dataclass
class IfElse:
    body: Node
    condition: Node
    orelse: Node
    span: tuple[int, int]


@dataclass
class SliceItem:
    start: Node | None
    stop: Node | None
    step: Node | None
    span: tuple[int, int]


@dataclass
class Postfix:
    """Indexing `x[0]`, `W[1, 2]`, `x[1:3]`, or the transpose `W.T`."""

    base: Node
    what: str  # "[]" or ".T"
    items: list[Node | SliceItem]
    span: tuple[int, int]


Node = Union[Num, Name, Call, Chain, Unary, Power, Compare, BoolOp, IfElse, Postfix]  # noqa: F821


@dataclass
class ParseNote:
    """How a piece of the input was read, for --explain-parse."""

    span: tuple[int, int]
    text: str


# ---------------------------------------------------------------------------------------------- parser
COMPARISONS = {"<", "<=", ">", ">=", "==", "!="}


class _Parser:
    """Precedence climbing over Python's operator grammar, plus `^` and implicit multiplication."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0
        self.notes: list[ParseNote] = []

    # token helpers
    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at(self, *texts: str) -> bool:
        token = self.token
        return token.kind in ("OP", "NAME") and token.text in texts

    def expect(self, text: str, opened: Token | None = None) -> Token:
        if self.at(text):
            return self.advance()
        if opened is not None and self.token.kind == "END":
            raise self.error(f"'{opened.text}' is never closed", (opened.start, opened.end),
                             hint=f"add '{text}'")
        raise self.error(f"expected '{text}' but found {self.describe(self.token)}")

    def describe(self, token: Token) -> str:
        return "the end of the expression" if token.kind == "END" else f"'{token.text}'"

    def error(self, message: str, span: tuple[int, int] | None = None, hint: str | None = None) -> DerivcliError:
        if span is None:
            span = (self.token.start, max(self.token.end, self.token.start + 1))
        return DerivcliError(message, span=span, source=self.text, hint=hint)

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"expression is nested too deeply (more than {MAX_NESTING} levels)")

    # grammar, lowest precedence first
    def parse(self) -> Node:
        if self.token.kind == "END":
            raise DerivcliError("empty expression", hint="give an expression such as 'x**2'")
        node = self.if_else()
        if self.token.kind != "END":
            token = self.token
            hint = None
            if token.kind == "NAME" and self.index > 0 and self.tokens[self.index - 1].kind == "NAME":
                previous = self.tokens[self.index - 1].text
                hint = f"did you mean {previous}*{token.text}?"
            elif token.text == ")":
                hint = "remove it or add a matching '('"
            raise self.error(f"unexpected {self.describe(token)}", hint=hint)
        return node

    def if_else(self) -> Node:
        body = self.or_()
        if self.at("if"):
            if_token = self.advance()
            condition = self.or_()
            self.expect("else")
            orelse = self.if_else()
            span = (_span(body)[0], _span(orelse)[1])
            self.notes.append(ParseNote((if_token.start, if_token.end),
                                        "'a if condition else b' read as a piecewise function"))
            return IfElse(body, condition, orelse, span)
        return body

    def or_(self) -> Node:
        return self._bool("or", self.and_)

    def and_(self) -> Node:
        return self._bool("and", self.not_)

    def _bool(self, op: str, operand: Any) -> Node:
        values = [operand()]
        while self.at(op):
            self.advance()
            values.append(operand())
        if len(values) == 1:
            return values[0]
        return BoolOp(op, values, (_span(values[0])[0], _span(values[-1])[1]))

    def not_(self) -> Node:
        if self.at("not"):
            token = self.advance()
            self.nest()
            operand = self.not_()
            self.depth -= 1
            return Unary("not", operand, (token.start, _span(operand)[1]))
        return self.comparison()

    def comparison(self) -> Node:
        operands = [self.sum()]
        ops: list[str] = []
        while self.token.kind == "OP" and self.token.text in COMPARISONS:
            ops.append(self.advance().text)
            operands.append(self.sum())
        if not ops:
            return operands[0]
        return Compare(operands, ops, (_span(operands[0])[0], _span(operands[-1])[1]))

    def sum(self) -> Node:
        first = self.product()
        items = [("+", first, _span(first))]
        while self.at("+", "-"):
            op = self.advance().text
            term = self.product()
            items.append((op, term, _span(term)))
        return first if len(items) == 1 else Chain(items, (_span(first)[0], _span(items[-1][1])[1]))

    def product(self) -> Node:
        first = self.unary()
        items = [("*", first, _span(first))]
        while True:
            if self.at("*", "/", "//", "%", "@"):
                op = self.advance().text
            elif self._implicit_product():
                op = "*"
                previous = self.tokens[self.index - 1]
                self.notes.append(ParseNote((previous.start, self.token.end),
                                            f"'{previous.text}{self.token.text}' read as "
                                            f"{previous.text}*{self.token.text} (a product)"))
            else:
                break
            factor = self.unary()
            items.append((op, factor, _span(factor)))
        return first if len(items) == 1 else Chain(items, (_span(first)[0], _span(items[-1][1])[1]))

    def _implicit_product(self) -> bool:
        """`2x`, `3(x+1)`, `(x+1)(x-1)`, `(x+1)x`: a number or `)` directly followed by a factor."""
        previous = self.tokens[self.index - 1]
        token = self.token
        starts_factor = token.kind == "NUMBER" or (token.kind == "NAME" and token.text not in KEYWORDS) \
            or token.text == "("
        if previous.kind == "NUMBER":
            return starts_factor and token.kind != "NUMBER"
        return previous.text == ")" and previous.kind == "OP" and starts_factor

    def unary(self) -> Node:
        if self.at("-", "+"):
            token = self.advance()
            self.nest()
            operand = self.unary()
            self.depth -= 1
            return Unary(token.text, operand, (token.start, _span(operand)[1]))
        return self.power()

    def power(self) -> Node:
        base = self.postfix()
        if self.at("**", "^"):
            token = self.advance()
            if token.text == "^":
                self.notes.append(ParseNote((token.start, token.end), "'^' read as ** (power)"))
            self.nest()
            exponent = self.unary()  # right-associative; allows x**-2
            self.depth -= 1
            return Power(base, exponent, (_span(base)[0], _span(exponent)[1]))
        return base

    def postfix(self) -> Node:
        node = self.atom()
        while self.at("[", "."):
            token = self.advance()
            if token.text == ".":
                name = self.token
                if name.kind != "NAME":
                    raise self.error("expected an attribute name after '.'")
                self.advance()
                if name.text != "T":
                    raise self.error(f"unknown attribute '.{name.text}'", (token.start, name.end),
                                     hint="only .T (transpose) is supported")
                node = Postfix(node, ".T", [], (_span(node)[0], name.end))
            else:
                self.nest()
                items = [self.index_item()]
                while self.at(","):
                    self.advance()
                    items.append(self.index_item())
                closing = self.expect("]", opened=token)
                self.depth -= 1
                node = Postfix(node, "[]", items, (_span(node)[0], closing.end))
        return node

    def index_item(self) -> Node | SliceItem:
        """An index `i` or a slice `start:stop:step` (each part optional)."""
        start_token = self.token
        parts: list[Node | None] = []
        while True:
            parts.append(None if self.at(":", ",", "]") else self.if_else())
            if not self.at(":") or len(parts) == 3:
                break
            self.advance()
        if len(parts) == 1:
            if parts[0] is None:
                raise self.error("empty index", hint="write x[0] or a slice like x[1:3]")
            return parts[0]
        parts += [None] * (3 - len(parts))
        return SliceItem(parts[0], parts[1], parts[2], (start_token.start, self.token.start))

    def atom(self) -> Node:
        token = self.token
        if token.kind == "NUMBER":
            self.advance()
            return Num(token.text, (token.start, token.end))
        if token.kind == "NAME" and token.text not in KEYWORDS:
            self.advance()
            if self.at("("):
                return self.call(token)
            return Name(token.text, (token.start, token.end))
        if self.at("("):
            self.advance()
            self.nest()
            inner = self.if_else()
            self.depth -= 1
            self.expect(")", opened=token)
            return inner
        if token.kind == "END":
            raise self.error("the expression ends too early", hint="something is missing at the end")
        raise self.error(f"unexpected {self.describe(token)}")

    def call(self, name: Token) -> Node:
        opened = self.advance()
        self.nest()
        args: list[Node] = []
        if not self.at(")"):
            args.append(self.if_else())
            while self.at(","):
                self.advance()
                args.append(self.if_else())
        if self.token.kind == "NAME" and self.token.text not in KEYWORDS:
            raise self.error(f"unexpected '{self.token.text}'", hint="separate arguments with ','")
        closing = self.expect(")", opened=opened)
        self.depth -= 1
        return Call(name.text, args, (name.start, closing.end), (name.start, name.end))


def _span(node: Node) -> tuple[int, int]:
    return node.span


def parse_tree(text: str) -> tuple[Node, list[ParseNote]]:
    """Parse text into the whitelisted syntax tree, with notes on how it was read."""
    parser = _Parser(text)
    with _deep_recursion():
        return parser.parse(), parser.notes


class _deep_recursion:
    """Room for MAX_NESTING levels: each level of parentheses is about 14 Python frames in the parser and
    more in the builder and SymPy (pure-Python frames, so the C stack is not at risk)."""

    LIMIT = 20_000

    def __enter__(self) -> None:
        import sys

        self.previous = sys.getrecursionlimit()
        sys.setrecursionlimit(max(self.previous, self.LIMIT))

    def __exit__(self, *exc: object) -> None:
        import sys

        sys.setrecursionlimit(self.previous)


# ---------------------------------------------------------------------------------------- SymPy build
@dataclass
class ParsedExpression:
    """The parsed expression: SymPy form, its variables, and how the input was read."""

    source: str
    expr: sympy.Expr
    symbols: dict[str, sympy.Symbol]
    notes: list[str] = field(default_factory=list)

    @cached_property
    def canonical(self) -> str:
        """SymPy's text of the expression (`str(expr)`, printed by the faster `formula`)."""
        from .formula_text import formula

        return formula(self.expr)

    @cached_property
    def variables(self) -> list[str]:
        """The free variables, in order of first appearance in the text."""
        free = {symbol.name for symbol in self.expr.free_symbols}
        return [name for name in self.symbols if name in free]


def parse(text: str) -> ParsedExpression:
    """Parse untrusted text into a SymPy expression, safely (see the module docstring).

    Text with a backslash or braces is LaTeX (`\\frac{\\sin x}{x}`): SymPy's LaTeX parser reads it into
    an unevaluated tree, which is printed and parsed again by this parser, whitelist and bounds included.
    """
    source = text
    latex_note = None
    if "\\" in text or "{" in text:
        text = latex_to_text(text)
        latex_note = f"LaTeX read as {text}"
    tree, notes = parse_tree(text)
    builder = _Builder(text)
    try:
        with _deep_recursion(), time_budget(BUILD_SECONDS):
            expr = builder.build(tree)
    except RecursionError:
        raise DerivcliError("the expression is nested too deeply to handle") from None
    except OverBudget:
        raise DerivcliError(f"SymPy took more than {BUILD_SECONDS:g} s to build this expression; derivcli gave up",
                            hint="simplify its constants (exact roots and powers of huge numbers are slow to "
                                 "compare)") from None
    if getattr(expr, "is_Boolean", False) or getattr(expr, "is_Relational", False):
        raise DerivcliError("the expression is a condition, not a number", span=_span(tree), source=text,
                            hint="use it inside 'a if condition else b'")
    texts = ([latex_note] if latex_note else []) + [note.text for note in notes] + builder.notes
    return ParsedExpression(source, expr, builder.symbols, list(dict.fromkeys(texts)))


UNSUPPORTED_LATEX = {"Derivative": "a derivative", "Integral": "an integral", "Limit": "a limit",
                     "Sum": "a sum", "Product": "a product"}


def latex_to_text(latex: str) -> str:
    """LaTeX -> this parser's syntax, through SymPy's LaTeX parser (which builds unevaluated objects and
    evaluates nothing); the result is plain text for `parse`, never an object anything trusts."""
    if len(latex) > MAX_LENGTH:
        raise DerivcliError(f"expression is too long ({len(latex):,} characters; the limit is {MAX_LENGTH:,})")
    if any(ord(char) > 127 for char in latex):
        column = next(i for i, char in enumerate(latex) if ord(char) > 127)
        raise _non_ascii_error(latex, column, latex[column])
    try:
        import sympy
        from sympy.parsing.latex import LaTeXParsingError, parse_latex
    except ImportError:  # pragma: no cover - sympy always has it
        raise DerivcliError("LaTeX input is not available") from None
    try:
        with _deep_recursion():
            expr = parse_latex(latex)
    except ImportError:
        raise DerivcliError("LaTeX input needs the antlr4 runtime 4.11",
                            hint="pip install 'derivcli[latex]' (antlr4-python3-runtime==4.11.*)") from None
    except (LaTeXParsingError, RecursionError, TypeError, ValueError) as error:
        raise DerivcliError(f"cannot read the LaTeX: {str(error).splitlines()[0] if str(error) else 'syntax'}",
                            hint="write a plain expression such as sin(x)/x, or simpler LaTeX") from None
    for node in sympy.preorder_traversal(expr):
        kind = type(node).__name__
        if kind in UNSUPPORTED_LATEX:
            raise DerivcliError(f"the LaTeX is {UNSUPPORTED_LATEX[kind]}, not a function to differentiate",
                                hint="give the function itself, e.g. \\sin{x}")
    return str(expr)


_SIGN_FACTS: dict[tuple[type, int], dict[str, bool]] = {}


def with_sign_facts(number: Any) -> Any:
    """The number, told its sign-derived assumptions up front.

    The first question SymPy asks of a fresh number (`is_zero`, when it multiplies; `is_extended_negative`,
    when it prints) goes through its general inference engine, twice, at ~40 µs a time: half the cost of
    building and printing `x**2 + 17*sin(x)` when 17 is new.  The answers follow from the class and the
    sign, so they are deduced once per (class, sign) and copied into the number's fact base, which is only
    a cache of true facts: anything not told is still asked and deduced as before.  Where SymPy's fact
    base is not as expected, the number is left alone.
    """
    from sympy import Rational

    defaults: Any = getattr(type(number), "default_assumptions", None)
    untouched = defaults is not None and getattr(number, "_assumptions", None) is defaults
    if not isinstance(number, Rational) or not untouched:  # already asked something: nothing to save
        return number
    sign = (number.p > 0) - (number.p < 0)
    key = (type(number), sign)
    facts = _SIGN_FACTS.get(key)
    if facts is None:
        known = defaults.copy()
        known.deduce_all_facts({"zero": sign == 0, "extended_negative": sign < 0, "extended_positive": sign > 0})
        facts = _SIGN_FACTS[key] = dict(known)
    told = type(defaults)()
    told.update(facts)
    number._assumptions = told
    return number


class _Builder:
    """Turns the syntax tree into SymPy, name by name from the functions table."""

    def __init__(self, text: str) -> None:
        import sympy

        self.sp = sympy
        self.text = text
        self.symbols: dict[str, sympy.Symbol] = {}
        self.notes: list[str] = []

    def error(self, message: str, span: tuple[int, int], hint: str | None = None) -> DerivcliError:
        return DerivcliError(message, span=span, source=self.text, hint=hint)

    def build(self, node: Node) -> Any:
        method = getattr(self, "_" + type(node).__name__.lower())
        return method(node)

    def _num(self, node: Num) -> Any:
        sp = self.sp
        value = float(node.text)
        if value == float("inf"):
            raise self.error(f"number {node.text} is too large (beyond float64)", node.span)
        if re.fullmatch(r"\d+", node.text):
            return with_sign_facts(sp.Integer(int(node.text)))
        mantissa, _, exponent = node.text.lower().partition("e")
        if exponent and abs(int(exponent)) > 400:
            return sp.Integer(0)  # underflows to zero in float64 (overflow was caught above)
        whole, _, fraction = mantissa.partition(".")
        numerator = int((whole + fraction) or "0")
        power = int(exponent or 0) - len(fraction)
        # Decimal literals are exact rationals: 0.1 is 1/10, so x**0.5 is sqrt(x) to SymPy.
        return with_sign_facts(sp.Integer(numerator) * sp.Integer(10) ** power if power >= 0
                               else sp.Rational(numerator, 10 ** -power))

    def _name(self, node: Name) -> Any:
        sp = self.sp
        if node.id in CONSTANTS:
            if node.id in ("e", "E"):
                self.notes.append(f"'{node.id}' read as Euler's number e = 2.71828…")
            return getattr(sp, CONSTANTS[node.id])
        if node.id in by_name():
            raise self.error(f"'{node.id}' is a function", node.span, hint=f"call it, as {node.id}(x)")
        symbol = self.symbols.get(node.id)
        if symbol is None:
            symbol = self.symbols[node.id] = sp.Symbol(node.id, real=True)
        return symbol

    def _call(self, node: Call) -> Any:
        spec = by_name().get(node.name)
        if spec is None:
            raise self._unknown_function(node)
        low, high = spec.arity
        count = len(node.args)
        if count < low or (high is not None and count > high):
            expected = spec.arity_text().replace("-", " or ").replace("+", " or more")
            raise self.error(f"{node.name}() takes {expected} argument{'s' if expected != '1' else ''}, "
                             f"got {count}", node.span)
        args = [self.build(arg) for arg in node.args]
        if node.name == "ln":
            self.notes.append("'ln' read as log (natural logarithm)")
        if spec.name == "log" and count == 2:
            self.notes.append("log(x, b) read as the logarithm of x to base b")
        if spec.exact_arg_limit is not None:
            for arg, arg_node in zip(args, node.args):
                if not arg.free_symbols and _magnitude(arg) > spec.exact_arg_limit:
                    raise self.error(f"{node.name}({_short(arg)}) is too large to compute exactly",
                                     _span(arg_node),
                                     hint=f"arguments above {spec.exact_arg_limit:g} are refused")
        if spec.name in ("max", "min") and count == 1:  # a reduction over one tensor's elements
            constructor = _resolve_sympy(f"derivcli.sympy_forms.a{spec.name}")
        elif spec.name in ("max", "min") and count > 3:
            # SymPy compares every pair of arguments (36 s for 200 of them); torch needs no simplification.
            extremum = _resolve_sympy(spec.sympy)
            return extremum(*args, evaluate=False)
        else:
            constructor = _resolve_sympy(spec.sympy)
        if spec.name == "root":  # root(x, n) = x**(1/n): the power's size bounds apply
            return self._power_of(args[0], self._quotient(self.sp.S.One, args[1]), node.span)
        if spec.name == "log" and count == 2:
            if not (args[0].free_symbols or args[1].free_symbols):  # SymPy's exact value (log(8, 2) is 3)
                value = self._evaluate_real(lambda **kw: constructor(*args, **kw), args)
                if not isinstance(value, _resolve_sympy("derivcli.sympy_forms.held")):
                    return value
            # log(x, b) = log(x)/log(b), as SymPy writes it (torch's log takes one argument)
            return self._bounded(self._quotient(self.build_log(args[0]), self.build_log(args[1])), node.span)
        if isinstance(constructor, type) and any(arg.free_symbols for arg in args):
            # SymPy's automatic evaluation of f(non-constant) only rewrites, and can take minutes doing it
            # (tan of a tanh of a tan asks whether its argument is real: 197 s); torch needs none of it.
            return constructor(*args, evaluate=False)
        return self._evaluate_real(lambda **kw: constructor(*args, **kw), args)

    def build_log(self, arg: Any) -> Any:
        log = self.sp.log
        return log(arg, evaluate=False) if arg.free_symbols else self._evaluate_real(lambda **kw: log(arg, **kw), [arg])

    def _unknown_function(self, node: Call) -> DerivcliError:
        close = difflib.get_close_matches(node.name, list(by_name()), n=1, cutoff=0.75)
        if close:
            return self.error(f"unknown function '{node.name}'", node.name_span, hint=f"did you mean {close[0]}?")
        return self.error(f"'{node.name}' is not a function", node.name_span,
                          hint=f"for a product write {node.name}*(...); 'derivcli functions' lists the functions")

    def _evaluate_real(self, make: Any, args: list[Any]) -> Any:
        """Build a node; where SymPy would turn constants into a complex or infinite number (log(-1) is
        I*pi, 1/0 is zoo) or one it cannot show real (asin(3), (-2)**sin(1/3)), hold it unevaluated so
        that torch computes the real-valued float answer: left to SymPy, non-real constants make its
        comparisons raise and its 'if' folding crawl.  Where SymPy's evaluation itself gives up (it has
        raised NotImplementedError deep in its assumptions, on constants such as
        heaviside(sinh(...)*...)), the unevaluated node is just as good to torch."""
        try:
            result = make()
        except (ArithmeticError, NotImplementedError, TypeError, ValueError):
            return make(evaluate=False)
        if all(not getattr(arg, "free_symbols", True) for arg in args):
            sp = self.sp
            if result.has(sp.I, sp.zoo, sp.nan, sp.oo, -sp.oo) or result.is_extended_real is not True:
                result = _resolve_sympy("derivcli.sympy_forms.held")(make(evaluate=False))
        return result

    def _chain(self, node: Chain) -> Any:
        sp = self.sp
        if node.items[0][0] == "+":
            terms = [self.build(item) if op == "+" else -self.build(item) for op, item, _ in node.items]
            return self._bounded(sp.Add(*terms), node.span)
        # Runs of * and / become one Mul (flattening a long product once); @, // and % fold left.
        numerator: list[Any] = []
        denominator: list[Any] = []

        def collapse() -> Any:
            return self._bounded(self._quotient(sp.Mul(*numerator), sp.Mul(*denominator)), node.span)

        for op, item, _ in node.items:
            value = self.build(item)
            if op in ("@", "//", "%"):
                left = collapse()
                if op == "@":
                    result = _resolve_sympy("derivcli.sympy_forms.matmul")(left, value)
                else:
                    ratio = self._quotient(left, value)
                    if not ratio.free_symbols and _magnitude(ratio) > 1e300:
                        raise self.error(f"'{op}' of a constant this large cannot be computed exactly",
                                         node.span, hint="quotients above 1e+300 are refused")
                    quotient = _resolve_sympy("derivcli.sympy_forms.floor")(ratio)
                    result = quotient if op == "//" else left - value * quotient
                numerator, denominator = [result], []
            elif op == "*":
                numerator.append(value)
            else:
                denominator.append(value)
        return collapse()

    def _quotient(self, top: Any, bottom: Any) -> Any:
        """top/bottom; by a constant zero, held for torch to compute (inf or nan), not SymPy's zoo.  Only a
        constant is asked whether it is zero: a zero sum of variables is already folded to 0, and asking
        one costs a full assumptions deduction."""
        sp = self.sp
        if bottom is sp.S.One:
            return top
        if not bottom.free_symbols and bottom.is_zero:
            held = _resolve_sympy("derivcli.sympy_forms.held")
            if top.free_symbols:
                return sp.Mul(top, held(sp.Pow(bottom, -1, evaluate=False)))
            return held(sp.Mul(top, sp.Pow(bottom, -1, evaluate=False), evaluate=False))
        reciprocal = _resolve_sympy("derivcli.sympy_forms.power")(bottom, sp.S.NegativeOne)
        return reciprocal if top is sp.S.One else sp.Mul(top, reciprocal)

    def _bounded(self, value: Any, span: tuple[int, int]) -> Any:
        """Refuse exact constants so large that printing or using them would cost seconds."""
        coefficient = value.as_coeff_Mul()[0] if hasattr(value, "as_coeff_Mul") else value
        if coefficient.is_Rational and max(coefficient.p.bit_length(), coefficient.q.bit_length()) \
                > MAX_EXACT_BITS:
            raise self.error("a constant in the expression is too large to handle exactly", span,
                             hint="derivcli keeps exact constants below about 1,200 digits")
        return value

    def _unary(self, node: Unary) -> Any:
        operand = self.build(node.operand)
        if node.op == "-":
            return -operand
        if node.op == "+":
            return operand
        return self.sp.Not(self._condition(operand, node.operand))

    def _power(self, node: Power) -> Any:
        return self._power_of(self.build(node.base), self.build(node.exponent), node.span)

    def _power_of(self, base: Any, exponent: Any, span: tuple[int, int]) -> Any:
        """base**exponent, refused where the exact constant it makes would be too large to handle."""
        constants = _raised_constants(base) if exponent.is_Rational else []
        for constant in constants:
            if abs(exponent) > MAX_EXACT_EXPONENT and not constant.is_Rational:
                raise self.error(f"exponent {_short(exponent)} is too large for an exact constant "
                                 f"({_power_text(constant, exponent)})", span)
            if constant.is_Rational and abs(constant) not in (0, 1):
                bits = float(abs(exponent)) * (abs(constant.p).bit_length() + constant.q.bit_length())
                if bits > MAX_EXACT_BITS:
                    digits = float(abs(exponent)) * (math.log10(abs(constant.p)) + math.log10(constant.q)) + 1
                    count = f"{int(digits):,}" if digits < 1e15 else f"{digits:.1e}"
                    raise self.error(f"{_power_text(constant, exponent)} is too large "
                                     f"(about {count} digits)", span,
                                     hint="derivcli keeps exact constants below about 1,200 digits")
        if exponent.is_Rational and exponent.q > MAX_EXACT_EXPONENT and any(abs(c) != 1 for c in constants):
            # An exact root of such a degree (2**1e-300 is the 10**300-th root of 2) costs SymPy unbounded
            # memory to compare: keep it from SymPy, for torch to compute.
            raw = self.sp.Pow(base, exponent, evaluate=False)
            return raw if base.free_symbols else _resolve_sympy("derivcli.sympy_forms.held")(raw)
        power = _resolve_sympy("derivcli.sympy_forms.power")
        return self._evaluate_real(lambda **kw: power(base, exponent, **kw), [base, exponent])

    def _condition(self, value: Any, node: Node) -> Any:
        if not (getattr(value, "is_Boolean", False) or getattr(value, "is_Relational", False)):
            raise self.error("expected a condition (a comparison such as x > 0)", _span(node))
        return value

    def _compare(self, node: Compare) -> Any:
        sp = self.sp
        relations = {"<": sp.Lt, "<=": sp.Le, ">": sp.Gt, ">=": sp.Ge, "==": sp.Eq, "!=": sp.Ne}
        values = [self.build(operand) for operand in node.operands]
        parts = [self._relation(relations[op], left, right) for op, left, right in zip(node.ops, values, values[1:])]
        return sp.And(*parts) if len(parts) > 1 else parts[0]

    @staticmethod
    def _relation(relation: Any, left: Any, right: Any) -> Any:
        """left < right and the like; SymPy refuses to compare a constant it knows is not real (asin(3)),
        and torch compares its NaN as False, so that one is built unevaluated."""
        try:
            return relation(left, right)
        except TypeError:
            return relation(left, right, evaluate=False)

    def _boolop(self, node: BoolOp) -> Any:
        sp = self.sp
        values = [self._condition(self.build(value), value) for value in node.values]
        return (sp.And if node.op == "and" else sp.Or)(*values)

    def _ifelse(self, node: IfElse) -> Any:
        sp = self.sp
        body = self.build(node.body)  # in reading order, so variables come in order of appearance
        condition = self._condition(self.build(node.condition), node.condition)
        orelse = self.build(node.orelse)
        if not condition.free_symbols and condition not in (sp.true, sp.false):
            # A constant SymPy could not decide (log(0) > 2, with log(0) held for torch): decide it as
            # torch will.  SymPy cannot build a condition holding an undecided constant 'if'.
            from .derivatives import evaluate_constant

            condition = sp.true if evaluate_constant(condition) else sp.false
        return sp.Piecewise((body, condition), (orelse, True))

    def _postfix(self, node: Postfix) -> Any:
        base = self.build(node.base)
        if node.what == ".T":
            return _resolve_sympy("derivcli.sympy_forms.transpose")(base)
        items: list[Any] = []
        for item in node.items:
            if isinstance(item, SliceItem):
                items.append(slice(*(None if part is None else self._integer(part)
                                     for part in (item.start, item.stop, item.step))))
            else:
                items.append(self._integer(item))
        from .sympy_forms import encode_index, index

        return index(base, *encode_index(items))

    def _integer(self, node: Node) -> int:
        value = self.build(node)
        if not getattr(value, "is_Integer", False) or abs(value) > 2**40:
            raise self.error("an index must be an integer constant", _span(node))
        return int(value)


def _resolve_sympy(path: str) -> Any:
    from .functions import resolve

    return resolve(path)


def _magnitude(constant: Any) -> float:
    """|constant| as a float (inf when it overflows), cheaply, for the size guards."""
    try:
        return abs(float(constant.evalf(15)))
    except (OverflowError, TypeError, ValueError):
        return float("inf")


def _raised_constants(base: Any) -> list[Any]:
    """The exact constants SymPy computes to the power when it raises `base` to a rational: the base if
    it is constant, else what it distributes the power over, the constant factor of a product
    ((2*x)**n -> 2**n*x**n) and the branches of an 'if' ((2 if x > 0 else 3)**n)."""
    from sympy import Mul, Piecewise

    if not base.free_symbols:
        return [base]
    if isinstance(base, Mul):
        constant = Mul(*[factor for factor in base.args if not factor.free_symbols])
        return [constant] + [inner for factor in base.args if isinstance(factor, Piecewise)
                             for inner in _raised_constants(factor)]
    if isinstance(base, Piecewise):
        return [constant for branch, _ in base.args for constant in _raised_constants(branch)]
    return []


def _power_text(base: Any, exponent: Any) -> str:
    """base**exponent as text, each in parentheses unless a plain name or whole number."""
    parts = [_short(part) for part in (base, exponent)]
    return "**".join(part if re.fullmatch(r"\w+(\(\w*\))?", part) else f"({part})" for part in parts)


def _short(value: Any) -> str:
    """A number's text, shortened so that even a huge integer prints safely."""
    text = str(value) if not value.is_Integer or abs(value).p.bit_length() < 1000 else "a huge integer"
    return text if len(text) <= 40 else text[:20] + "…" + text[-10:]
