"""The parser's position in the token stream, and what every grammar rule shares: looking at the next
token, errors with a column, notes, and the nesting bound."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from ..errors import DerivcliError
from . import notation
from .limits import MAX_NESTING
from .syntax import Context, ParseNote, Span
from .tokens import Token, tokenize

T = TypeVar("T")


class Cursor:
    def __init__(self, text: str, context: Context) -> None:
        self.text = text
        self.context = context
        self.notes: list[ParseNote] = []
        # (the names a lookalike letter could be mistaken for matter only outside ASCII: a union of some
        # 300 names, made for every text before)
        tokens = tokenize(text, frozenset() if text.isascii() else notation.known_names(context), self.notes)
        tokens, self.wrt = notation.strip_wrapper(tokens, context, self.notes, text)
        if self.wrt:
            context = replace(context, wrt=context.wrt | frozenset(self.wrt))
        tokens = _mark_settings(tokens)
        self.tokens, self.pieces, self.split_spans = notation.split_run_together(tokens, context, self.notes)
        self.index = 0
        self.depth = 0
        self.bars = 0  # absolute-value bars open around this point (inside the innermost bracket)
        self.closing_bars: set[int] = set()  # token indices of '|' that closed a bar

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    @property
    def previous(self) -> Token:
        return self.tokens[self.index - 1]

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
            raise self.error(f"'{opened.text}' is never closed", (opened.start, opened.end), hint=f"add '{text}'")
        raise self.error(f"expected '{text}' but found {self.describe(self.token)}")

    def describe(self, token: Token) -> str:
        if token.kind == "END":
            return "the end of the expression"
        return f"'{self.text[token.start:token.end] or token.text}'"

    def error(self, message: str, span: Span | None = None, hint: str | None = None) -> DerivcliError:
        if span is None:
            span = (self.token.start, max(self.token.end, self.token.start + 1))
        return DerivcliError(message, span=span, source=self.text, hint=hint)

    def note(self, span: Span, text: str) -> None:
        self.notes.append(ParseNote(span, text))

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"expression is nested too deeply (more than {MAX_NESTING} levels)")

    def inside(self, parse: Callable[[], T]) -> T:
        """Parse one nesting level (brackets, calls, bars): bars outside it cannot close inside it."""
        self.nest()
        bars, self.bars = self.bars, 0
        result = parse()
        self.bars = bars
        self.depth -= 1
        return result

    def is_function(self, token: Token) -> bool:
        return token.kind == "NAME" and token.start not in self.pieces and notation.is_function(token.text,
                                                                                                self.context)

    def is_variable(self, token: Token) -> bool:
        """A name known to be a variable or constant, so that `x(y+1)` is a product, not a call."""
        return token.kind == "NAME" and (token.text in self.context.names or token.start in self.pieces
                                         or token.text in notation.greek_names() or token.text in notation.CONSTANTS)


def _mark_settings(tokens: list[Token]) -> list[Token]:
    """A name written as `name=` right after '(' or ',' names a setting (`sum(X, dim=1)`): a SETTING
    token, so that run-together letters never split it (`dim` is not d*i*m)."""
    marked = list(tokens)
    for index in range(1, len(tokens) - 1):
        token, before, after = tokens[index], tokens[index - 1], tokens[index + 1]
        if token.kind == "NAME" and before.kind == "OP" and before.text in ("(", ",") and after.kind == "OP" \
                and after.text == "=":
            marked[index] = Token("SETTING", token.text, token.start, token.end)
    return marked
