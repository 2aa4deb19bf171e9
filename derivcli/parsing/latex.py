"""Braces and LaTeX (`sin^{2}(x)`, `\\frac{\\sin x}{x}`) -> this parser's plain syntax, read by the same
notation layer as any other text.

Braces group as parentheses do (`e^{-x}`, `tan^{-1} x`), except after `_`, where they hold a name's
subscript (`x_{1}` is the variable x_1, `log_{2}` the logarithm to base 2).  A LaTeX command becomes the
plain word it stands for (`\\sin` -> sin, `\\frac{a}{b}` -> ((a)/(b)), `\\cdot` -> *, `\\theta` -> theta);
letters without a backslash stay as written, for the notation layer to read like any other letters, so
`sin^{2}(x)`, `\\sin^{2}(x)` and `sin(x)^2` are one expression, and Unicode (`x·e^{-x}`) is read by the
one table.  Every character of the result remembers the column it comes from, so that an error points
into the text the user wrote.  In text with commands a script without braces takes one character, as
in LaTeX; where plain text would take more (`x^23`), that is an error naming both readings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from ..errors import DerivcliError
from .limits import MAX_LENGTH, MAX_NESTING
from .unicode import greek_name

FRACTIONS = frozenset({"frac", "dfrac", "tfrac", "cfrac"})
NAMES = frozenset({"operatorname", "mathrm", "mathit", "mathnormal", "text", "textrm"})  # \operatorname{relu}
SIZES = frozenset({"left", "right", "middle", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
                   "biggl", "biggr", "Biggl", "Biggr"})
SPACING = frozenset({",", ";", ":", "!", " ", "quad", "qquad", "displaystyle", "textstyle"}) | SIZES
SYMBOLS = {"cdot": "*", "times": "*", "ast": "*", "div": "/", "le": "<=", "leq": "<=", "ge": ">=", "geq": ">=",
           "lt": "<", "gt": ">", "ne": "!=", "neq": "!=", "lvert": "|", "rvert": "|", "vert": "|", "{": "(",
           "}": ")", "lfloor": "floor(", "rfloor": ")", "lceil": "ceiling(", "rceil": ")"}
NOT_FUNCTIONS = {"int": "an integral", "iint": "an integral", "iiint": "an integral", "oint": "an integral",
                 "sum": "a sum", "prod": "a product", "lim": "a limit", "partial": "a derivative"}
VARIANTS = {"varphi": "phi", "vartheta": "theta", "varepsilon": "epsilon", "varrho": "rho"}
DERIVATIVE = re.compile(r"(d|\\mathrm\s*\{\s*d\s*\})\s*(\^\s*(\d|\{\s*\d+\s*\}))?\s*[A-Za-z]?")
COMMAND = re.compile(r"\\([A-Za-z]+|.?)", re.S)
RUN = re.compile(r"\s*(\d+\.?\d*|\.\d+|[A-Za-z][A-Za-z0-9]*)")  # what plain text takes after ^ or _


def is_latex(text: str) -> bool:
    """Text with braces or backslashes, read through `translate` first."""
    return "\\" in text or "{" in text or "}" in text


@cache
def words() -> dict[str, str]:
    """LaTeX commands that are one plain word: the functions table's names (`\\sin`, `\\ln`, `\\max`),
    pi and the Greek letters."""
    from .notation import function_names

    greek = {name: name for code in range(0x391, 0x3CA) if (name := greek_name(chr(code)))}
    return {**{name: name for name in function_names()}, **greek, **VARIANTS, "pi": "pi"}


@dataclass(frozen=True)
class Translation:
    """The plain text read for `source`, and for each of its characters the column it comes from."""

    source: str
    text: str
    origin: tuple[int, ...]

    @property
    def note(self) -> str:
        shown = re.sub(r"\s+", " ", self.text).strip()
        shown = re.sub(r"\s+(?=[)^])|(?<=\()\s+", "", shown)
        if "\\" in self.source:
            return f"LaTeX read as {shown}"
        return f"braces read as parentheses: {shown}"

    def locate(self, error: DerivcliError) -> DerivcliError:
        """The error, pointing into the source instead of the plain text."""
        if error.source != self.text or error.span is None:
            return error
        start, end = error.span
        first = self.origin[start] if start < len(self.origin) else len(self.source)
        last = self.origin[min(end, len(self.origin)) - 1] if start < end <= len(self.origin) else first
        return DerivcliError(error.message, span=(first, max(first, last) + 1), source=self.source, hint=error.hint)


@contextmanager
def located(translation: Translation | None) -> Iterator[None]:
    """Errors raised over the plain text, re-raised pointing into what the user wrote."""
    try:
        yield
    except DerivcliError as error:
        if translation is None:
            raise
        raise translation.locate(error) from None


def translate(source: str) -> Translation:
    """The plain text for braces or LaTeX (see the module docstring)."""
    if len(source) > MAX_LENGTH:
        raise DerivcliError(f"expression is too long ({len(source):,} characters; the limit is {MAX_LENGTH:,})")
    reader = _Reader(source)
    reader.run(None)
    return Translation(source, "".join(reader.chars), tuple(reader.origin))


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.commands = "\\" in source  # LaTeX proper: its rule for scripts without braces applies
        self.position = 0
        self.chars: list[str] = []
        self.origin: list[int] = []
        self.depth = 0

    # ------------------------------------------------------------------------------------- output
    def emit(self, text: str, at: int) -> None:
        self.chars.extend(text)
        self.origin.extend([at] * len(text))

    def word(self, word: str, at: int) -> None:
        """A command's word, apart from what is around it (`2\\pi r` is 2 pi r)."""
        self.emit(f"{'' if not self.chars or self.chars[-1].isspace() else ' '}{word} ", at)

    def trim(self) -> None:
        """Join a subscript to the name before it (`\\log _{2}` is log_2)."""
        while self.chars and self.chars[-1].isspace():
            self.chars.pop()
            self.origin.pop()

    def capture(self, translate_part: Callable[[], None]) -> tuple[list[str], list[int]]:
        """What translating one part emits, kept aside."""
        saved = self.chars, self.origin
        self.chars, self.origin = [], []
        try:
            translate_part()
            return self.chars, self.origin
        finally:
            self.chars, self.origin = saved

    def paste(self, part: tuple[list[str], list[int]]) -> None:
        self.chars.extend(part[0])
        self.origin.extend(part[1])

    # ------------------------------------------------------------------------------------ errors
    def error(self, message: str, start: int, end: int | None = None, hint: str | None = None) -> DerivcliError:
        if self.commands:
            message = f"cannot read the LaTeX: {message}"
        return DerivcliError(message, span=(start, end if end is not None else start + 1), source=self.source,
                             hint=hint)

    def nest(self, at: int) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"it is nested too deeply (more than {MAX_NESTING} levels)", at)

    # ----------------------------------------------------------------------------------- reading
    def run(self, opened: int | None, closer: str = "}") -> None:
        """Translate up to the `closer` of the group opened at `opened` (None: to the end)."""
        source = self.source
        while self.position < len(source):
            char, start = source[self.position], self.position
            if char == closer and opened is not None:
                return
            if char == "}":
                raise self.error("'}' closes no '{'", start, hint="remove it or add a matching '{'")
            if char == "\\":
                self.command()
            elif char == "{":
                self.group()
            elif char == "_":
                self.subscript()
            else:
                self.position += 1
                if not (char.isspace() and self.chars and self.chars[-1].isspace()):
                    self.emit(char, start)
                if char == "^":
                    self.one_character("^", start)
        if opened is not None:
            raise self.error(f"'{source[opened]}' is never closed", opened, hint=f"add '{closer}'")

    def group(self, parentheses: bool = True) -> None:
        """`{…}`: its contents, in parentheses (none for an empty group)."""
        opened = self.position
        self.position += 1
        self.nest(opened)
        before = len(self.chars)
        self.emit("(", opened)
        self.run(opened)
        self.position += 1
        self.depth -= 1
        if not "".join(self.chars[before + 1:]).strip():
            del self.chars[before:], self.origin[before:]
        elif parentheses:
            self.emit(")", self.position - 1)
        else:  # the caller brackets it
            del self.chars[before], self.origin[before]

    def one_character(self, mark: str, at: int) -> None:
        """After ^ or _ without braces, LaTeX takes one character and plain text a whole number or name:
        where they differ, neither reading is taken."""
        match = RUN.match(self.source, self.position)
        if not self.commands or match is None or len(match.group(1)) == 1:
            return
        run = match.group(1)
        raise DerivcliError(f"'{mark}{run}' reads two ways: LaTeX takes one character ({mark}{{{run[0]}}}{run[1:]}), "
                            f"plain text all of it ({mark}{{{run}}})", span=(at, match.end()), source=self.source,
                            hint="write the braces you mean")

    def subscript(self) -> None:
        """`x_{1}`, `log_{2}`, `x_1`: part of the name before it."""
        start = self.position
        self.position += 1
        match = re.compile(r"\s*\{").match(self.source, self.position)
        if match is None:
            self.one_character("_", start)
            self.trim()
            self.emit("_", start)
            return
        close = self.source.find("}", match.end())
        if close < 0:
            raise self.error("'{' is never closed", match.end() - 1, hint="add '}'")
        content = self.source[match.end():close].strip()
        if not re.fullmatch(r"[A-Za-z0-9]+", content):
            raise self.error(f"a subscript is part of a name, as x_{{1}} or log_{{2}}; '{content}' cannot be one",
                             start, close + 1, hint="write the expression without the subscript")
        self.trim()
        self.emit(f"_{content} ", start)  # the braces end the name: x_{1}x_{2} is x_1 x_2
        self.position = close + 1

    def command(self) -> None:
        start = self.position
        match = COMMAND.match(self.source, start)
        assert match is not None
        name = match.group(1)
        self.position = match.end()
        if not name:
            raise self.error("a backslash ends the text", start)
        if name == "_":  # an underscore in a name, escaped as LaTeX needs it
            self.trim()
            self.emit("_", start)
            return
        if name in SPACING:
            self.emit(" ", start)
            if name in SIZES:  # \left. and \right. size an invisible delimiter
                skipped = re.compile(r"\s*\.").match(self.source, self.position)
                self.position = skipped.end() if skipped else self.position
        elif name in FRACTIONS:
            self.fraction(start, name)
        elif name == "sqrt":
            self.root(start)
        elif name in NAMES:
            self.named(start, name)
        elif name in NOT_FUNCTIONS:
            raise DerivcliError(f"the LaTeX is {NOT_FUNCTIONS[name]}, not a function to differentiate",
                                span=(start, self.position), source=self.source,
                                hint="give the function itself, e.g. \\sin{x}")
        elif name in SYMBOLS:
            self.word(SYMBOLS[name], start)
        elif name in words():
            self.word(words()[name], start)
        else:
            raise self.error(f"the command '\\{name}' is not supported", start, self.position,
                             hint="write a plain expression such as sin(x)/x, or simpler LaTeX")

    def argument(self, command: str, at: int) -> tuple[list[str], list[int]]:
        """One argument of \\frac or \\sqrt: a braced group, a command or one character."""
        skipped = re.compile(r"\s*").match(self.source, self.position)
        self.position = skipped.end() if skipped else self.position
        if self.position >= len(self.source) or self.source[self.position] == "}":
            raise self.error(f"\\{command} is missing an argument", at, hint=f"write \\{command}{{…}}")
        char = self.source[self.position]
        if char == "{":
            return self.capture(lambda: self.group(parentheses=False))
        if char == "\\":
            return self.capture(self.command)
        self.position += 1
        return [char], [self.position - 1]

    def fraction(self, start: int, name: str) -> None:
        top_start = self.position
        top = self.argument(name, start)
        if DERIVATIVE.fullmatch(self.source[top_start:self.position].strip().strip("{}").strip()):
            raise DerivcliError("the LaTeX is a derivative, not a function to differentiate",
                                span=(start, self.position), source=self.source,
                                hint="give the function itself; derivcli differentiates it (diff … --wrt x)")
        bottom = self.argument(name, start)
        self.emit("((", start)
        self.paste(top)
        self.emit(")/(", start)
        self.paste(bottom)
        self.emit("))", self.position - 1)

    def root(self, start: int) -> None:
        """\\sqrt{x}; \\sqrt[3]{x} is the real cube root (as ∛x), \\sqrt[n]{x} root(x, n)."""
        degree = None
        opening = re.compile(r"\s*\[").match(self.source, self.position)
        if opening is not None:
            self.position = opening.end()
            degree = self.capture(lambda: self.run(opening.end() - 1, "]"))
            self.position += 1
        radicand = self.argument("sqrt", start)
        cube = degree is not None and "".join(degree[0]).strip() == "3"
        self.emit(" sqrt(" if degree is None else " cbrt(" if cube else " root(", start)
        self.paste(radicand)
        if degree is not None and not cube:
            self.emit(", ", start)
            self.paste(degree)
        self.emit(")", self.position - 1)

    def named(self, start: int, command: str) -> None:
        """\\operatorname{relu}, \\mathrm{e}: the name inside, as a word."""
        match = re.compile(r"\s*\{\s*([A-Za-z](?:[A-Za-z0-9]|\\?_)*)\s*\}").match(self.source, self.position)
        if match is None:
            raise self.error(f"\\{command}{{…}} must hold a name, as \\operatorname{{relu}}", start)
        self.position = match.end()
        self.word(match.group(1).replace("\\", ""), start)
