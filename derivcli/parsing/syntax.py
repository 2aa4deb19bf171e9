"""The syntax tree: the few whitelisted node kinds the grammar produces, and what a reading depends on.

Nothing here evaluates anything; `build` turns a tree into SymPy.  Every node keeps its span (0-based
[start, end) columns in the source text) so that errors and notes can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

Span = tuple[int, int]


@dataclass
class Num:
    text: str
    span: Span


@dataclass
class Name:
    id: str
    span: Span


@dataclass
class Call:
    name: str
    args: list[Node]
    span: Span
    name_span: Span
    keywords: list[Keyword] = field(default_factory=list)


@dataclass
class Keyword:
    """`dim=1` in a call: a setting the function's table entry declares, its value a literal."""

    name: str
    value: Node
    span: Span


@dataclass
class Text:
    """A quoted string, only where a table entry takes text: einsum's equation, `reduction="sum"`."""

    value: str
    span: Span


@dataclass
class Flag:
    """True or False, only as a setting's value (`keepdim=True`)."""

    value: bool
    span: Span


@dataclass
class Items:
    """A list of tensors `[A, B]`, only as the argument of cat and stack."""

    elements: list[Node]
    span: Span


@dataclass
class Chain:
    """A flat run of one precedence level: `a - b + c` or `a * b / c`; the first operator is + or *."""

    items: list[tuple[str, Node, Span]]
    span: Span


@dataclass
class Unary:
    op: str
    operand: Node
    span: Span


@dataclass
class Power:
    base: Node
    exponent: Node
    span: Span


@dataclass
class Compare:
    operands: list[Node]
    ops: list[str]
    span: Span


@dataclass
class BoolOp:
    op: str  # and / or
    values: list[Node]
    span: Span


@dataclass
class IfElse:
    body: Node
    condition: Node
    orelse: Node
    span: Span


@dataclass
class SliceItem:
    start: Node | None
    stop: Node | None
    step: Node | None
    span: Span


@dataclass
class Postfix:
    """Indexing `x[0]`, `W[1, 2]`, `x[1:3]`, or the transpose `W.T`."""

    base: Node
    what: str  # "[]" or ".T"
    items: list[Node | SliceItem]
    span: Span


@dataclass
class TensorLiteral:
    """A constant tensor written inline, `[2.0, 3.0]` or `[[1, 2], [3, 4]]`: its shape and its elements
    in row-major order."""

    shape: tuple[int, ...]
    elements: list[Node]
    span: Span


Node = Union[Num, Name, Call, Chain, Unary, Power, Compare, BoolOp, IfElse, Postfix, TensorLiteral, Text,  # noqa: F821
             Flag, Items]


def span_of(node: Node) -> Span:
    return node.span


@dataclass
class ParseNote:
    """How a piece of the input was read, for --explain-parse and the table's "read as" line."""

    span: Span
    text: str


@dataclass(frozen=True)
class Context:
    """What the command line says about names, which the reading of the text depends on.

    `bound`: names given a value (`--x 1`); `wrt`: names in `--wrt`.  A bound name is always the user's
    variable, even one spelled like a function (`--tg 2`) or `e` (`--e 3`).  Run-together letters
    (`xsinx`) split into functions and the known variables; with nothing bound (`diff` without a point,
    constant values) every single letter counts as a variable, unless `letters` says otherwise (the
    Python API's `compile`, whose variables come later).  `ranks`: the dimensions of the bound tensors,
    where a reading depends on them (`max(X, 1)`, see `ranks`).
    """

    bound: frozenset[str] = frozenset()
    wrt: frozenset[str] = frozenset()
    letters: bool | None = None
    ranks: frozenset[tuple[str, int]] = frozenset()  # (name, dimensions) of each bound tensor

    @property
    def names(self) -> frozenset[str]:
        return self.bound | self.wrt

    @property
    def letters_are_variables(self) -> bool:
        return not self.bound if self.letters is None else self.letters


@dataclass
class Reading:
    """The parser's result: the tree, the notes on how it was read, and the variables the text itself
    asks to differentiate (`d/dx …`, `diff(…, x)`)."""

    tree: Node
    notes: list[ParseNote] = field(default_factory=list)
    wrt: tuple[str, ...] = ()

    def names(self) -> list[str]:
        """Every name the tree uses as a value (constants such as pi and e included), in the order they are
        first written, without SymPy: what the command line (its checks, tab completion) can know of the
        expression's variables before anything heavy is imported."""
        found: dict[str, int] = {}
        pending: list[object] = [self.tree]
        while pending:
            node = pending.pop()
            if isinstance(node, Name):
                found[node.id] = min(node.span[0], found.get(node.id, node.span[0]))
            elif isinstance(node, (list, tuple)):
                pending.extend(node)
            elif hasattr(node, "__dataclass_fields__"):
                pending.extend(getattr(node, name) for name in node.__dataclass_fields__)
        return sorted(found, key=found.__getitem__)
