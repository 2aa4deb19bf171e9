"""The grammar: precedence climbing over Python's operators, plus the notation people write by hand.

Lowest precedence first: `a if c else b`, `or`, `and`, `not`, comparisons, `+ -`, then products, where
`* / // % @` and juxtaposition (`2x`, `x y`, `(x+1)(x-1)`, `x|x|`) bind alike, left to right (`1/2x` is
(1/2)*x), then unary `- +`, then powers (`**` or `^`, right-associative), then `x[i]` and `.T`, then
atoms: numbers, names, `(…)`, absolute-value bars `|…|`, inline tensors `[…]`, and functions.

A function is called with parentheses (`sin(x)`, `f(x, y)`) or applied without them (`sin x`): then its
argument is the implicit product that follows, with its powers, up to `+ - * /`, `,`, a closing bracket
or the next function name (`sin 2x` = sin(2x), `sin x^2` = sin(x**2), `sin x cos x` = sin(x)*cos(x)).
A power of the name is a power of the value (`sin^2 x` = sin(x)**2), except -1: the inverse function
(`sin^-1 x` = asin(x)).  Radicals take the factor that follows (`√2x` = sqrt(2)*x).  Every reading that
is not Python's own leaves a note.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from ..errors import DerivcliError
from ..limits.recursion import deep_recursion
from .applications import FunctionSyntax
from .limits import MAX_CONDITIONALS_IN_CONDITIONS, MAX_TENSOR_ELEMENTS
from .notation import KEYWORDS, PYTHON_WORDS
from .syntax import (
    BoolOp,
    Call,
    Chain,
    Compare,
    Context,
    IfElse,
    Name,
    Node,
    Num,
    Postfix,
    Power,
    Reading,
    SliceItem,
    Span,
    TensorLiteral,
    Unary,
    span_of,
)
from .tokens import Token
from .unicode import PARTIAL

COMPARISONS = {"<", "<=", ">", ">=", "==", "!=", "="}


def parse_tree(text: str, context: Context | None = None) -> Reading:
    """Parse text into the whitelisted syntax tree, with notes on how it was read."""
    parser = _Parser(text, context or Context())
    with deep_recursion():
        return parser.parse()


class _Parser(FunctionSyntax):
    """The operator grammar and the atoms; functions are in `applications`."""

    _in_condition = 0  # how many conditions the parser is inside
    _conditionals_in_conditions = 0  # conditionals met inside conditions so far (MAX_CONDITIONALS_IN_CONDITIONS)

    # grammar, lowest precedence first
    def parse(self) -> Reading:
        if self.token.kind == "END":
            raise DerivcliError("empty expression", hint="give an expression such as 'x**2'")
        node = self.if_else()
        if self.token.kind != "END":
            token = self.token
            hint = None
            if token.text == ")":
                hint = "remove it or add a matching '('"
            elif token.text == "=":
                hint = "compare with ==; 'y = …' and 'f(x) = …' are read only at the start"
            elif token.text == "|":
                hint = "an absolute value is |x|; a condition uses 'or'"
            elif token.kind == "NUMBER":
                hint = "write * between them for a product"
            elif token.kind == "STRING":
                raise self.string_error(token)
            raise self.error(f"unexpected {self.describe(token)}", hint=hint)
        return Reading(node, self.notes, self.wrt)

    def if_else(self) -> Node:
        body = self.or_()
        if self.at("if"):
            if_token = self.advance()
            self._conditionals_in_conditions += self._in_condition > 0
            if self._conditionals_in_conditions > MAX_CONDITIONALS_IN_CONDITIONS:
                raise self.error(f"more than {MAX_CONDITIONALS_IN_CONDITIONS} conditionals inside conditions",
                                 (if_token.start, if_token.end),
                                 hint="each one doubles the cases SymPy builds; write the cases out as one conditional")
            self._in_condition += 1
            condition = self.or_()
            self._in_condition -= 1
            self.expect("else")
            orelse = self.if_else()
            self.note((if_token.start, if_token.end), "'a if condition else b' read as a piecewise function")
            return IfElse(body, condition, orelse, (span_of(body)[0], span_of(orelse)[1]))
        return body

    def or_(self) -> Node:
        return self._bool("or", self.and_)

    def and_(self) -> Node:
        return self._bool("and", self.not_)

    def _bool(self, op: str, operand: Callable[[], Node]) -> Node:
        values = [operand()]
        while self.at(op):
            self.advance()
            values.append(operand())
        if len(values) == 1:
            return values[0]
        return BoolOp(op, values, (span_of(values[0])[0], span_of(values[-1])[1]))

    def not_(self) -> Node:
        if self.at("not"):
            token = self.advance()
            self.nest()
            operand = self.not_()
            self.depth -= 1
            return Unary("not", operand, (token.start, span_of(operand)[1]))
        return self.comparison()

    def comparison(self) -> Node:
        operands = [self.sum()]
        ops: list[str] = []
        while self.token.kind == "OP" and self.token.text in COMPARISONS:
            if self.token.text == "=":
                raise self.error("unexpected '='", hint="compare with ==; 'y = …' and 'f(x) = …' are read only "
                                                        "at the start")
            ops.append(self.advance().text)
            operands.append(self.sum())
        if not ops:
            return operands[0]
        return Compare(operands, ops, (span_of(operands[0])[0], span_of(operands[-1])[1]))

    def sum(self) -> Node:
        first = self.product()
        items = [("+", first, span_of(first))]
        while self.at("+", "-"):
            op = self.advance().text
            term = self.product()
            items.append((op, term, span_of(term)))
        return first if len(items) == 1 else Chain(items, (span_of(first)[0], span_of(items[-1][1])[1]))

    def product(self) -> Node:
        starts = [self.token.start]  # where each factor's text begins (parentheses included)
        first = self.unary()
        items: list[tuple[str, Node, Span]] = [("*", first, span_of(first))]
        while True:
            left_end = self.previous.end
            if self.at("*", "/", "//", "%", "@"):
                op = self.advance().text
                starts.append(self.token.start)
                factor = self.unary()
                if op == "/":
                    self.power_fraction_note(items[-1][1], factor)
            elif self.juxtaposed():
                op = "*"
                starts.append(self.token.start)
                factor = self.unary()
                self.juxtaposition_note(items, starts, left_end)
            else:
                break
            items.append((op, factor, span_of(factor)))
        return first if len(items) == 1 else Chain(items, (span_of(first)[0], span_of(items[-1][1])[1]))

    def juxtaposed(self, functions: bool = True) -> bool:
        """Whether the next token starts a factor written right after the previous one, with no operator:
        `2x`, `3(x+1)`, `(x+1)(x-1)`, `x y`, `x sin x`, `x|x|`, `|x|y`.  A number never follows a name or
        a number this way (`x 2` is an error, as is `2 3`)."""
        previous, token = self.previous, self.token
        ends_factor = previous.kind in ("NUMBER", "NAME") and previous.text not in KEYWORDS \
            or previous.text in (")", "]") and previous.kind == "OP" or (self.index - 1) in self.closing_bars
        if not ends_factor or token.kind == "END":
            return False
        if token.text == "|":
            return self.bars == 0
        if token.kind == "NUMBER":
            return previous.kind not in ("NUMBER", "NAME")
        if token.kind == "NAME":
            return token.text not in KEYWORDS and (functions or not self.is_function(token))
        return token.text == "(" and token.kind == "OP"

    def juxtaposition_note(self, items: list[tuple[str, Node, Span]], starts: list[int], left_end: int) -> None:
        """Say how a product written without * was grouped, and how to write the other reading."""
        text, end = self.text, self.previous.end
        if any(start <= starts[-2] and end <= stop for start, stop in self.split_spans):
            return  # inside a run-together name, whose split has its own note
        left, right = text[starts[-2]:left_end], text[starts[-1]:end]
        divisions = [index for index, (op, _, _) in enumerate(items) if op != "*"]
        if not divisions:
            self.note((starts[-2], end), f"'{text[starts[-2]:end]}' read as {left}*{right} (a product)")
            return
        divisor = starts[divisions[-1]]
        whole = text[starts[0]:end]
        self.note((starts[0], end), f"'{whole}' read as ({text[starts[0]:left_end]})*{right}: a product written "
                                    f"without * binds like *; write {text[starts[0]:divisor]}"
                                    f"({text[divisor:end]}) for the other reading")

    def power_fraction_note(self, power: Node, divisor: Node) -> None:
        """`x^1/2` is (x^1)/2, as Python and the order of operations read it: say how to write the power
        1/2 (the square root) a learner may have meant."""
        if not (isinstance(power, Power) and isinstance(power.exponent, Num) and isinstance(divisor, Num)):
            return
        start, exponent_start = power.span[0], power.exponent.span[0]
        if not self.text[:exponent_start].rstrip().endswith(("^", "**")):
            return  # an exponent in parentheses or superscripts (x^(1)/2, x²/3) says what it means
        fraction = f"{power.exponent.text}/{divisor.text}"
        meant = " (the square root)" if fraction == "1/2" else " (the cube root)" if fraction == "1/3" else ""
        self.note((start, divisor.span[1]), f"'{self.text[start:divisor.span[1]]}' read as "
                                            f"({self.text[start:power.span[1]]})/{divisor.text}, as Python reads it; "
                                            f"write {self.text[start:exponent_start]}({fraction}) for the power "
                                            f"{fraction}{meant}")

    def unary(self) -> Node:
        if self.at("-", "+"):
            token = self.advance()
            self.nest()
            operand = self.unary()
            self.depth -= 1
            return Unary(token.text, operand, (token.start, span_of(operand)[1]))
        return self.power()

    def power(self) -> Node:
        base = self.postfix()
        if self.at("**", "^"):
            self.advance()  # '^' is ** without a note: README says so, and every x^2 would carry one
            self.nest()
            exponent = self.unary()  # right-associative; allows x**-2
            self.depth -= 1
            return Power(base, exponent, (span_of(base)[0], span_of(exponent)[1]))
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
                node = Postfix(node, ".T", [], (span_of(node)[0], name.end))
            else:
                items = self.inside(partial(self.index_items, token))
                node = Postfix(node, "[]", items, (span_of(node)[0], self.previous.end))
        return node

    def index_items(self, opened: Token) -> list[Node | SliceItem]:
        items = [self.index_item()]
        while self.at(","):
            self.advance()
            items.append(self.index_item())
        self.expect("]", opened=opened)
        return items

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
        if token.kind == "STRING":
            raise self.string_error(token)
        if token.kind == "SETTING":
            equals = self.tokens[self.index + 1]
            raise self.error("unexpected '='", (equals.start, equals.end),
                             hint="compare with ==; name=value is a function's setting, as in sum(X, dim=1)")
        if token.kind == "NUMBER":
            self.advance()
            return Num(token.text, (token.start, token.end))
        if self.is_function(token):
            return self.function()
        if token.text == PARTIAL:
            raise self.error("'∂' is read only in a derivative prefix, as ∂/∂x (x**2)")
        if token.kind == "NAME" and token.text in PYTHON_WORDS and token.text not in self.context.names:
            raise self.error(f"'{token.text}' is Python syntax, not part of an expression")
        if token.kind == "NAME" and token.text not in KEYWORDS:
            self.advance()
            if self.at("(") and not self.is_variable(token):
                return self.call(token, token.text)
            return Name(token.text, (token.start, token.end))
        if self.at("("):
            self.advance()
            inner = self.inside(self.if_else)
            self.expect(")", opened=token)
            return inner
        if self.at("|"):
            return self.bar()
        if self.at("["):
            return self.tensor_literal()
        if token.kind == "END":
            raise self.error("the expression ends too early", hint="something is missing at the end")
        raise self.error(f"unexpected {self.describe(token)}")

    def bar(self) -> Node:
        opened = self.advance()
        self.nest()
        self.bars += 1
        inner = self.if_else()
        self.bars -= 1
        self.depth -= 1
        if not self.at("|"):
            raise self.error("'|' is never closed", (opened.start, opened.end),
                             hint="an absolute value is |x| (or abs(x)); a condition uses 'or'")
        self.closing_bars.add(self.index)
        closing = self.advance()
        span = (opened.start, closing.end)
        self.note(span, f"'{self.text[span[0]:span[1]]}' read as abs({self.text[opened.end:closing.start].strip()})")
        return Call("abs", [inner], span, (opened.start, opened.end))

    def tensor_literal(self) -> Node:
        opened = self.token
        shape, elements = self.inside(self.tensor_rows)
        span = (opened.start, self.previous.end)
        self.note(span, f"'{self.text[span[0]:span[1]]}' read as a constant tensor of shape {shape}")
        return TensorLiteral(shape, elements, span)

    def tensor_rows(self) -> tuple[tuple[int, ...], list[Node]]:
        """`[a, b, …]` whose items are all numbers or all rows of one shape."""
        opened = self.advance()
        shapes: list[tuple[int, ...]] = []
        elements: list[Node] = []
        while True:
            if self.at("]") and not shapes:
                raise self.error("an inline tensor needs at least one element")
            start = self.token
            if self.at("["):
                shape, inner = self.inside(self.tensor_rows)
            else:
                shape, inner = (), [self.if_else()]
            if shapes and shape != shapes[0]:
                raise self.error(f"the rows of an inline tensor differ in shape: {shapes[0]} and {shape}",
                                 (start.start, self.previous.end))
            shapes.append(shape)
            elements += inner
            if len(elements) > MAX_TENSOR_ELEMENTS:
                raise self.error(f"an inline tensor holds at most {MAX_TENSOR_ELEMENTS:,} elements",
                                 hint="bind a larger tensor as a variable, e.g. --w @weights.npy")
            if not self.at(","):
                break
            self.advance()
        self.expect("]", opened=opened)
        return (len(shapes), *shapes[0]), elements

