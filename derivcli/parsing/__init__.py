"""Safe parsing: expression text -> tokens -> syntax tree -> SymPy expression.

The text is untrusted, so nothing here evaluates it.  The parts, in the order the text meets them:

- `tokens` (with `unicode`): the text split into numbers, names and operators; Unicode math read as
  the ASCII it stands for; anything else refused with its column;
- `notation`: wrappers (`y = …`, `d/dx …`) and run-together letters (`xsinx`), read from the tokens;
- `grammar`: the tree of whitelisted node kinds (`syntax`), with notes on every reading that is not
  Python's own;
- `build`: SymPy objects from the tree, name by name from the functions table, under the bounds in
  `limits`;
- `latex`: braces and LaTeX (`sin^{2}(x)`, `\\frac{1}{x}`), turned into plain text for the same path.

Errors carry the column of the fault.  How text is read can depend on the command line's names
(`Context`): a bound name is always the user's variable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..errors import DerivcliError
from ..limits.budget import BUILD_SECONDS, OverBudget, time_budget
from ..limits.recursion import deep_recursion
from .grammar import parse_tree
from .latex import Translation, is_latex, located, translate
from .limits import MAX_LENGTH, MAX_NESTING
from .syntax import Context, Reading
from .tokens import Token, tokenize

if TYPE_CHECKING:
    import sympy

__all__ = ["MAX_LENGTH", "MAX_NESTING", "Context", "ParsedExpression", "Reading", "Token", "check_syntax",
           "parse", "parse_tree", "tokenize"]

# constants that cannot be bound (e can: --e 3 makes e a variable)
CONSTANT_NAMES = ("pi", "E", "EulerGamma")


@dataclass
class ParsedExpression:
    """The parsed expression: SymPy form, its variables, how the input was read, and the variables the
    text itself asks to differentiate (`d/dx …`)."""

    source: str
    expr: sympy.Expr  # as SymPy simplifies it: what is shown and differentiated symbolically
    symbols: dict[str, sympy.Symbol]
    notes: list[str] = field(default_factory=list)
    wrt: tuple[str, ...] = ()
    spans: dict[Any, tuple[int, int]] = field(default_factory=dict)  # written node -> where it was written
    written: Any = None  # as written, unsimplified (`written.py`): what torch computes; None: same as expr

    @property
    def computed(self) -> sympy.Expr:
        """The tree torch lowers and --check differentiates: the expression as written."""
        return self.expr if self.written is None else self.written

    @cached_property
    def as_written(self) -> str | None:
        """The written tree's text where it differs from the simplified one (`x/x`, not 1), else None."""
        if self.written is None:
            return None
        from ..symbolic.formula_text import formula

        text = formula(self.written)
        return text if text != self.canonical else None

    @cached_property
    def canonical(self) -> str:
        """SymPy's text of the expression (`str(expr)`, a conditional as `a if c else b`: `formula`)."""
        from ..symbolic.formula_text import formula

        return formula(self.expr)

    @property
    def variables(self) -> list[str]:
        """The variables written in the expression, in order of first appearance in the text: one that
        cancels (x - x + y) or sits in a branch never taken (x if 1 > 0 else y) is still the user's
        variable, with its gradient row of 0."""
        return list(self.symbols)


def check_syntax(text: str, context: Context | None = None) -> Reading:
    """The syntax alone, without importing SymPy or torch: mistakes in the text are reported at once."""
    return _read(text, context or Context())[0]


def _read(text: str, context: Context) -> tuple[Reading, Translation | None]:
    """The syntax tree, and for braces or LaTeX the plain text it was read from (`latex`)."""
    for name in CONSTANT_NAMES:
        if name in context.bound:
            raise DerivcliError(f"--{name}: {name} is a constant and cannot be bound",
                                hint="give your variable another name" + ("; e can be bound (--e 3)"
                                                                          if name == "E" else ""))
    translation = translate(text) if is_latex(text) else None
    with located(translation):
        return parse_tree(translation.text if translation else text, context), translation


def parse(text: str, context: Context | None = None) -> ParsedExpression:
    """Parse untrusted text into a SymPy expression, safely (see the module docstring).

    Text with braces or backslashes (`sin^{2}(x)`, `\\frac{\\sin x}{x}`) is first turned into plain text
    (`latex`), which goes through every notation rule, the whitelist and the bounds; errors point into the
    text as written.
    """
    context = context or Context()
    source = text
    reading, translation = _read(text, context)
    text = translation.text if translation else text
    from .build import Builder  # (SymPy: only once the syntax is known to be good)
    from .written import WrittenBuilder

    builder = Builder(text, context)
    writer = WrittenBuilder(text, context)
    try:
        with deep_recursion(), time_budget(BUILD_SECONDS), located(translation):
            expr = builder.build(reading.tree)  # first: every bound on exact constants applies here
            written = writer.build(reading.tree)
    except RecursionError:
        raise DerivcliError("the expression is nested too deeply to handle") from None
    except OverBudget:
        raise DerivcliError(f"SymPy took more than {BUILD_SECONDS:g} s to build this expression; derivcli gave up",
                            hint="simplify its constants (exact roots and powers of huge numbers are slow to "
                                 "compare)") from None
    if getattr(expr, "is_Boolean", False) or getattr(expr, "is_Relational", False):
        with located(translation):
            raise DerivcliError("the expression is a condition, not a number", span=reading.tree.span, source=text,
                                hint="use it inside 'a if condition else b'")
    texts = ([translation.note] if translation else []) + [note.text for note in reading.notes] + builder.notes
    parsed = ParsedExpression(source, expr, builder.symbols, list(dict.fromkeys(texts)), reading.wrt)
    if _simplified_away(written, expr):
        parsed.written = written
    parsed.spans = (writer.spans if parsed.written is not None else builder.spans) if text == source else {}
    return parsed


def _simplified_away(written: Any, expr: Any) -> bool:
    """Whether SymPy's simplification removed something torch should compute: an occurrence of a
    variable (x - x + y, 2x + 3x, x/x), a function (log(exp(x))), a root or a division (sqrt(x)**2).
    Where only the order of terms or where a minus sign sits differs, torch computes the simplified
    tree, as it always has.  (A count of those features: a walk of each tree, no SymPy algebra.)"""
    try:
        with deep_recursion():
            if written == expr:
                return False
    except RecursionError:  # too deep to compare: the simplified tree, as before
        return False
    return _features(written) != _features(expr)


def _features(expr: Any) -> dict[Any, int]:
    counts: dict[Any, int] = {}
    stack = [expr]
    while stack:
        node = stack.pop()
        if node.is_Symbol:
            key: Any = node.name
        elif node.is_Pow:
            exponent = node.exp
            key = "root" if not exponent.is_Integer else "division" if exponent.is_negative else None
        elif node.is_Function:
            key = type(node)
        else:
            key = None
        if key is not None:
            counts[key] = counts.get(key, 0) + 1
        stack.extend(node.args)
    return counts
