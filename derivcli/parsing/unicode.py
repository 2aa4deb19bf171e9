"""Unicode math notation: what each non-ASCII character is read as, deliberately, one table each.

Operators (`·`, `×`, `÷`, `−`, `≤`, …), `π`, radicals (`√`, `∛`, `∜`), superscript exponents (`x²`,
`x⁻¹`, `e⁻ˣ`), vulgar fractions as exact rationals (`½x²`), subscript digits as part of a name (`log₂` is
log_2, `x₁` the variable x_1), Greek letters as variable names (`θ` is the variable theta) and
typographic spaces.
Anything else outside ASCII is an error naming the character; a character that only looks like an ASCII
letter (Cyrillic `х`, Greek `ο` in a Latin word, fullwidth `ｘ`) is an error with "did you mean", never a
silent second variable.
"""

from __future__ import annotations

import unicodedata

from ..errors import DerivcliError

OPERATORS = {"·": "*", "⋅": "*", "×": "*", "∗": "*", "∙": "*", "÷": "/", "∕": "/", "−": "-", "–": "-",
             "≤": "<=", "≥": ">=", "≠": "!="}
RADICALS = {"√": "sqrt", "∛": "cbrt", "∜": "root"}  # ∜x is root(x, 4)
SPACES = {"\u00a0", "\u2002", "\u2003", "\u2009", "\u200a", "\u202f"}
SUPERSCRIPT_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
SUPERSCRIPTS = {**{char: str(digit) for digit, char in enumerate(SUPERSCRIPT_DIGITS)},
                "⁺": "+", "⁻": "-", "⁽": "(", "⁾": ")", "ⁿ": "n", "ˣ": "x", "ʸ": "y", "ᵗ": "t", "ᵏ": "k", "ⁱ": "i"}
SUBSCRIPT_DIGITS = "₀₁₂₃₄₅₆₇₈₉"
SUBSCRIPTS = {char: str(digit) for digit, char in enumerate(SUBSCRIPT_DIGITS)}
# The vulgar fractions, each an exact rational: `½x²` is (1/2)*x**2.
FRACTIONS = {"½": "1/2", "⅓": "1/3", "⅔": "2/3", "¼": "1/4", "¾": "3/4", "⅕": "1/5", "⅖": "2/5", "⅗": "3/5",
             "⅘": "4/5", "⅙": "1/6", "⅚": "5/6", "⅐": "1/7", "⅛": "1/8", "⅜": "3/8", "⅝": "5/8", "⅞": "7/8",
             "⅑": "1/9", "⅒": "1/10"}
PARTIAL = "∂"  # only in d/dx written as ∂/∂x

# Letters of other scripts that look like ASCII ones: always a mistake in an expression.
CYRILLIC_LOOKALIKES = dict(zip("аеорсухіјѕкмтвнАВЕКМНОРСТХІЈЅ", "aeopcyxijskmtbhABEKMHOPCTXIJS"))
GREEK_LOOKALIKES = dict(zip("οΟΑΒΕΖΗΙΚΜΝΡΤΥΧ", "oOABEZHIKMNPTYX"))
# Greek letters that are real variables (ρ, ν, τ) but look like a Latin one: a mistake only where the
# Latin reading makes a known name (`cοs`, `ехр`).
GREEK_SOMETIMES_LOOKALIKES = dict(zip("αικνρτυχ", "aikvptux"))

_GREEK_EXTRA = {"µ": "mu", "ϕ": "phi", "ϑ": "theta", "ϵ": "epsilon", "ϱ": "rho", "ϖ": "pi"}


def greek_name(char: str) -> str | None:
    """θ -> 'theta', Δ -> 'Delta' (Unicode's LAMDA spelled lambda); None for anything else, and for π,
    which is the constant pi."""
    if char in _GREEK_EXTRA:
        return _GREEK_EXTRA[char]
    if not ("\u0391" <= char <= "\u03a9" or "\u03b1" <= char <= "\u03c9") or char in "πς":
        return None
    name = unicodedata.name(char, "")
    letter = name.rsplit(" ", 1)[-1].lower().replace("lamda", "lambda")
    if not letter.isalpha() or not letter.isascii():
        return None
    return letter.capitalize() if "CAPITAL" in name else letter


def ascii_binding_name(name: str) -> str:
    """A binding's name as the parser spells it: `--θ 1` binds theta, `--x₁ 1` binds x_1."""
    if len(name) == 1:
        return greek_name(name) or name
    stem = name.rstrip(SUBSCRIPT_DIGITS)
    if stem != name and stem:
        return f"{ascii_binding_name(stem)}_{''.join(SUBSCRIPTS[char] for char in name[len(stem):])}"
    return name


def is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def lookalike(text: str, column: int, known: frozenset[str]) -> str | None:
    """The ASCII letter a character at `column` is mistaken for, if it is one (see the tables)."""
    char = text[column]
    if char in CYRILLIC_LOOKALIKES:
        return CYRILLIC_LOOKALIKES[char]
    if char in GREEK_LOOKALIKES:
        return GREEK_LOOKALIKES[char]
    if char in GREEK_SOMETIMES_LOOKALIKES:
        start, end = column, column + 1
        while start > 0 and is_word_char(text[start - 1]):
            start -= 1
        while end < len(text) and is_word_char(text[end]):
            end += 1
        word = "".join(_latin(c) for c in text[start:end])
        if end - start > 1 and word in known:
            return GREEK_SOMETIMES_LOOKALIKES[char]
    return None


def _latin(char: str) -> str:
    return (CYRILLIC_LOOKALIKES.get(char) or GREEK_LOOKALIKES.get(char) or GREEK_SOMETIMES_LOOKALIKES.get(char)
            or char)


def non_ascii_error(text: str, column: int, known: frozenset[str] = frozenset()) -> DerivcliError:
    """The error for a character outside the expression alphabet, with "did you mean" for lookalikes."""
    char = text[column]
    name = unicodedata.name(char, "unnamed character")
    latin = lookalike(text, column, known)
    if latin is None:
        normal = unicodedata.normalize("NFKC", char)
        latin = normal if normal.isascii() and normal.isprintable() and normal.strip() else None
    if latin is None and unicodedata.decimal(char, None) is not None:  # another script's digit: ৪ is 4
        latin = str(unicodedata.decimal(char))
    hint = f"did you mean '{latin}'?" if latin else (
        "expressions are written in ASCII, plus the math symbols README lists")
    shown = f"'{char}' " if char.isprintable() else ""
    return DerivcliError(f"character {shown}U+{ord(char):04X} ({name}) is not allowed",
                         span=(column, column + 1), source=text, hint=hint)
