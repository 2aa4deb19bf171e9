"""Tokens: the text split into numbers, names and operators, rejecting anything outside the alphabet.

ASCII text goes through one regular expression.  Text with other characters is read character by
character through the tables in `unicode`: each Unicode symbol becomes the ASCII token it stands for,
with a note saying so, and its span stays the column of the original character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import DerivcliError
from . import unicode
from .limits import MAX_LENGTH, MAX_LITERAL, MAX_NAME
from .syntax import ParseNote


@dataclass(frozen=True)
class Token:
    kind: str  # NUMBER, NAME, OP, STRING (quotes included), END
    text: str
    start: int
    end: int


_TOKEN = re.compile(
    r"(?P<space>[ \t\r\n]+)"
    r"|(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<string>\"[A-Za-z0-9_,.>\- ]*\"|'[A-Za-z0-9_,.>\- ]*')"
    r"|(?P<op>\*\*|//|<=|>=|==|!=|[-+*/%^@()\[\],:.<>|=])"
)
_KINDS = {"number": "NUMBER", "name": "NAME", "op": "OP", "string": "STRING"}
STRING_HINT = ('a quoted string is only an einsum equation or a setting\'s text, as einsum("ij,jk->ik", A, B) '
               'or reduction="sum", of letters, digits, commas, "->" and "..."')


def tokenize(text: str, known: frozenset[str] = frozenset(), notes: list[ParseNote] | None = None) -> list[Token]:
    """Split the text into tokens.  `known` (the names a lookalike letter could be mistaken for) and
    `notes` (where the Unicode readings are said) matter only for text outside ASCII."""
    if len(text) > MAX_LENGTH:
        raise DerivcliError(f"expression is too long ({len(text):,} characters; the limit is {MAX_LENGTH:,})")
    notes = [] if notes is None else notes
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        if ord(text[position]) > 127:
            position = _unicode_tokens(text, position, known, tokens, notes)
            continue
        match = _TOKEN.match(text, position)
        if match is None:
            raise _bad_character_error(text, position)
        kind = str(match.lastgroup)
        if kind != "space":
            _check(text, kind, match)
            tokens.append(Token(_KINDS[kind], match.group(), match.start(), match.end()))
        position = match.end()
    tokens.append(Token("END", "", len(text), len(text)))
    return tokens


def _check(text: str, kind: str, match: re.Match[str]) -> None:
    value = match.group()
    if kind == "number" and len(value) > MAX_LITERAL:
        raise DerivcliError("number literal is too long", span=match.span(), source=text)
    if kind == "number" and value == "0" and re.match(r"[xXbBoO][0-9a-fA-F]", text[match.end():match.end() + 2]):
        raise DerivcliError("hexadecimal, binary and octal literals are not supported",
                            span=(match.start(), match.end() + 2), source=text,
                            hint="write the number in decimal, or 0*x10 for a product")
    if kind == "name" and value.startswith("_"):
        raise DerivcliError(f"name '{value}' is not allowed", span=match.span(), source=text,
                            hint="names may not start with '_'")
    if kind == "name" and len(value) > MAX_NAME:
        raise DerivcliError("name is too long", span=match.span(), source=text)


def _unicode_tokens(text: str, position: int, known: frozenset[str], tokens: list[Token],
                    notes: list[ParseNote]) -> int:
    """The token(s) for the Unicode symbol at `position`; returns the position after it."""
    char = text[position]
    span = (position, position + 1)
    if char in unicode.SPACES:
        return position + 1
    if char in unicode.SUPERSCRIPTS:
        return _superscript_tokens(text, position, tokens, notes)
    if char in unicode.SUBSCRIPTS:
        return _subscript_name(text, position, tokens, notes)
    if char in unicode.FRACTIONS:
        return _fraction_tokens(text, position, tokens, notes)
    if unicode.lookalike(text, position, known) is not None:
        raise unicode.non_ascii_error(text, position, known)
    if char in unicode.OPERATORS:
        tokens.append(Token("OP", unicode.OPERATORS[char], *span))
        notes.append(ParseNote(span, f"'{char}' read as {unicode.OPERATORS[char]}"))
    elif char == "π":
        tokens.append(Token("NAME", "pi", *span))
        notes.append(ParseNote(span, "'π' read as pi"))
    elif char in unicode.RADICALS or char == unicode.PARTIAL:
        tokens.append(Token("NAME", char, *span))  # the grammar reads them (a root; ∂/∂x)
    elif (greek := unicode.greek_name(char)) is not None:
        tokens.append(Token("NAME", greek, *span))
        notes.append(ParseNote(span, f"'{char}' read as the variable {greek} (bind it as --{char} or --{greek})"))
    else:
        raise unicode.non_ascii_error(text, position, known)
    return position + 1


def _superscript_tokens(text: str, position: int, tokens: list[Token], notes: list[ParseNote]) -> int:
    """A run of superscripts is an exponent: `x²` is x**(2), `e⁻ˣ` is e**(-x)."""
    end = position
    while end < len(text) and text[end] in unicode.SUPERSCRIPTS:
        end += 1
    plain = "".join(unicode.SUPERSCRIPTS[char] for char in text[position:end])
    inner = [Token(t.kind, t.text, t.start + position, t.end + position) for t in tokenize(plain)[:-1]]
    tokens.append(Token("OP", "**", position, position))
    tokens.append(Token("OP", "(", position, position))
    tokens.extend(inner)
    tokens.append(Token("OP", ")", end, end))
    notes.append(ParseNote((position, end), f"'{text[position:end]}' read as **({plain})"))
    return end


def _subscript_name(text: str, position: int, tokens: list[Token], notes: list[ParseNote]) -> int:
    """Subscript digits written onto a name are part of it: `log₂` is log_2 (the logarithm to base 2),
    `x₁` the variable x_1."""
    end = position
    while end < len(text) and text[end] in unicode.SUBSCRIPTS:
        end += 1
    name = tokens[-1] if tokens else None
    if name is None or name.kind != "NAME" or name.end != position or name.text in ("√", "∛", "∜", "∂"):
        raise DerivcliError("a subscript belongs to the name before it, as in log₂ x or x₁", span=(position, end),
                            source=text, hint="write it right after a name, or use ordinary digits")
    digits = "".join(unicode.SUBSCRIPTS[char] for char in text[position:end])
    spelled = f"{name.text}_{digits}"
    tokens[-1] = Token("NAME", spelled, name.start, end)
    notes.append(ParseNote((name.start, end), f"'{text[name.start:end]}' read as {spelled}"))
    return end


def _fraction_tokens(text: str, position: int, tokens: list[Token], notes: list[ParseNote]) -> int:
    """A vulgar fraction is the exact rational it shows, in parentheses: `½x²` is (1/2)*x**2.  A digit
    right before it (`2½`) is refused: a mixed number to some, a product to the grammar."""
    char = text[position]
    if tokens and tokens[-1].kind == "NUMBER" and tokens[-1].end == position:
        whole = tokens[-1].text
        fraction = unicode.FRACTIONS[char]
        raise DerivcliError(f"'{whole}{char}' reads two ways: {whole} + {fraction} or {whole}*({fraction})",
                            span=(tokens[-1].start, position + 1), source=text,
                            hint=f"write {whole} + {fraction} or {whole}*({fraction})")
    numerator, denominator = unicode.FRACTIONS[char].split("/")
    tokens.extend([Token("OP", "(", position, position), Token("NUMBER", numerator, position, position + 1),
                   Token("OP", "/", position, position + 1), Token("NUMBER", denominator, position, position + 1),
                   Token("OP", ")", position + 1, position + 1)])
    notes.append(ParseNote((position, position + 1), f"'{char}' read as ({unicode.FRACTIONS[char]})"))
    return position + 1


def _bad_character_error(text: str, column: int) -> DerivcliError:
    char = text[column]
    hints = {
        "'": STRING_HINT,
        '"': STRING_HINT,
        "!": "write factorial(n); 'not' negates a condition",
        "&": "write 'and'",
        ";": "give one expression",
    }
    shown = repr(char) if char.isprintable() else f"U+{ord(char):04X}"
    return DerivcliError(f"unexpected character {shown}", span=(column, column + 1), source=text,
                         hint=hints.get(char))
