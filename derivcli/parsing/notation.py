"""Notation rules that read the token stream before the grammar does: what people wrap around an
expression (`y = …`, `f(x) = …`, `d/dx …`, `diff(…, x)`), and run-together letters (`xsinx`).

Both depend on the command line's names (`syntax.Context`): a bound name is never a wrapper's part and
never split.
"""

from __future__ import annotations

import re
from functools import cache

from ..errors import DerivcliError
from ..table.functions import by_name
from .limits import MAX_SPLITS
from .syntax import Context, ParseNote
from .tokens import Token
from .unicode import PARTIAL, RADICALS, greek_name

KEYWORDS = frozenset({"if", "else", "and", "or", "not"})
# Python's other words: never split into letters, refused as names (`x for x in y` is Python, not math).
PYTHON_WORDS = frozenset({"for", "in", "is", "import", "def", "class", "return", "while", "with", "yield", "None",
                          "True", "False", "as", "from", "del", "global", "pass", "raise", "try", "except",
                          "finally", "assert", "async", "await", "break", "continue", "elif", "nonlocal"})
# (EulerGamma: SymPy's name for the constant its exact values bring in, digamma(1) = -EulerGamma, so that
# every expression derivcli prints reads back)
CONSTANTS = {"pi": "pi", "e": "E", "E": "E", "EulerGamma": "EulerGamma"}
# torch's functions with digits in their names that the table does not have, and how to write each
TORCH_ONLY = {"exp2": "2**x", "logaddexp2": "log2(2**x + 2**y)",
              "deg2rad": "x*pi/180", "rad2deg": "x*180/pi", "xlog1py": "x*log1p(y)"}
LOG_BASE = re.compile(r"log_([0-9]+(?:\.[0-9]+)?|[A-Za-z][A-Za-z0-9]*)\Z")


@cache
def function_names() -> frozenset[str]:
    return frozenset(by_name())


@cache
def digit_names() -> frozenset[str]:
    """Function names with digits (log1p, atan2, relu6): never a function followed by a number."""
    return frozenset(name for name in function_names() | set(TORCH_ONLY) if re.search(r"\d", name))


def torch_only_error(name: str, span: tuple[int, int], source: str) -> DerivcliError:
    return DerivcliError(f"'{name}' is torch's {name}, which derivcli's function table does not have",
                         span=span, source=source, hint=f"write {TORCH_ONLY[name]} (the same value and gradient)")


@cache
def greek_names() -> frozenset[str]:
    return frozenset(name for code in range(0x391, 0x3CA) if (name := greek_name(chr(code))))


def is_function(name: str, context: Context) -> bool:
    """A function name as written (table names, aliases, `log_2`, radicals), unless the user bound it."""
    if name in context.names:
        return False
    return name in function_names() or name in RADICALS or LOG_BASE.match(name) is not None


def known_names(context: Context) -> frozenset[str]:
    """Names a lookalike letter could be mistaken for (`cοs` with a Greek omicron)."""
    return function_names() | KEYWORDS | frozenset(CONSTANTS) | context.names


# ------------------------------------------------------------------------------------------ wrappers
def strip_wrapper(tokens: list[Token], context: Context, notes: list[ParseNote], source: str
                  ) -> tuple[list[Token], tuple[str, ...]]:
    """The tokens of the expression inside a wrapper, and the variables the wrapper differentiates by."""
    def text(index: int) -> str:
        return tokens[index].text if index < len(tokens) else ""

    def free(index: int) -> bool:  # a name of the wrapper's own, not a variable the user bound
        return tokens[index].kind == "NAME" and tokens[index].text not in context.names

    if len(tokens) > 2 and free(0) and text(1) == "=":
        notes.append(ParseNote((tokens[0].start, tokens[1].end),
                               f"'{tokens[0].text} = …' read as its right-hand side"))
        return _rest(tokens, 2, "=")
    if free(0) and text(1) == "(" and not is_function(tokens[0].text, context):
        close = _closing(tokens, 1)
        if close is not None and text(close + 1) == "=" and all(
                t.kind == "NAME" or t.text == "," for t in tokens[2:close]):
            notes.append(ParseNote((tokens[0].start, tokens[close + 1].end),
                                   f"'{_source(tokens, 0, close)} = …' read as its right-hand side"))
            return _rest(tokens, close + 2, "=")
    derivative = _derivative_prefix(tokens, context)
    if derivative is not None:
        end, name = derivative
        notes.append(ParseNote((tokens[0].start, tokens[end - 1].end),
                               f"'{source[tokens[0].start:tokens[end - 1].end]}' read as: differentiate with "
                               f"respect to {name} (as --wrt {name})"))
        rest, _ = _rest(tokens, end, "d/dx")
        return rest, (name,)
    if free(0) and text(0) == "diff" and text(1) == "(" and _closing(tokens, 1) == len(tokens) - 2:
        comma = max((i for i in range(2, len(tokens) - 2) if tokens[i].text == "," and _depth(tokens, 2, i) == 0),
                    default=None)
        if comma is None or comma != len(tokens) - 4 or tokens[comma + 1].kind != "NAME":
            raise DerivcliError("diff(…) takes the expression and one variable, as diff(x**3, x)",
                                span=(tokens[0].start, tokens[-2].end), source=source)
        name = tokens[comma + 1].text
        notes.append(ParseNote((tokens[0].start, tokens[-2].end),
                               f"'diff(…, {name})' read as: differentiate with respect to {name} (as --wrt {name})"))
        return tokens[2:comma] + [tokens[-1]], (name,)
    return tokens, ()


def _derivative_prefix(tokens: list[Token], context: Context) -> tuple[int, str] | None:
    """`d/dx`, `d/d x`, `∂/∂x`, and `dy/dx` or `df/dx` before an expression: (the index after it and a
    following `of`, x), else None."""
    def of(end: int, name: str) -> tuple[int, str]:
        follows = tokens[end]
        return (end + 1 if follows.text == "of" and "of" not in context.names and tokens[end + 1].kind != "END"
                else end), name

    first = tokens[0].text
    if len(tokens) < 4 or tokens[1].text != "/" or first in context.names:
        return None
    third = tokens[2]
    by = third.kind == "NAME" and third.text.startswith("d") and len(third.text) > 1 and third.text not in context.names
    if first == "d" and by:
        return of(3, third.text[1:])
    if first in ("d", PARTIAL) and third.text == first and tokens[3].kind == "NAME":
        return of(4, tokens[3].text)
    if (tokens[0].kind == "NAME" and first.startswith("d") and len(first) > 1 and by
            and (tokens[3].kind in ("NAME", "NUMBER") or tokens[3].text == "(")):
        return of(3, third.text[1:])  # dy/dx x^3, dy/dx of x^3: the derivative of what follows
    return None


def _rest(tokens: list[Token], start: int, what: str) -> tuple[list[Token], tuple[str, ...]]:
    if tokens[start].kind == "END":
        raise DerivcliError(f"nothing follows '{what}'", hint="give the expression after it, e.g. y = x**2")
    return tokens[start:], ()


def _closing(tokens: list[Token], opening: int) -> int | None:
    depth = 0
    for index in range(opening, len(tokens)):
        depth += {"(": 1, ")": -1}.get(tokens[index].text, 0) if tokens[index].kind == "OP" else 0
        if depth == 0:
            return index
    return None


def _depth(tokens: list[Token], start: int, end: int) -> int:
    return sum({"(": 1, ")": -1, "[": 1, "]": -1}.get(t.text, 0) for t in tokens[start:end] if t.kind == "OP")


def _source(tokens: list[Token], first: int, last: int) -> str:
    return "".join(token.text for token in tokens[first:last + 1])


# ------------------------------------------------------------------------------ run-together letters
def split_run_together(tokens: list[Token], context: Context, notes: list[ParseNote]
                       ) -> tuple[list[Token], set[int], list[tuple[int, int]]]:
    """Names that are not bound, not in --wrt, not functions or constants, split into functions and
    variables where that reading is unique (`xsinx` -> x sin x).  Returns the tokens, the starts of the
    variable pieces (so that `x(y+1)` after a split reads as a product) and the spans of split names."""
    result: list[Token] = []
    pieces_at: set[int] = set()
    split_spans: list[tuple[int, int]] = []
    for index, token in enumerate(tokens):
        if not _splittable(token, context) or index and tokens[index - 1].text == ".":  # x.T: an attribute
            result.append(token)
            continue
        following = tokens[index + 1]
        argument_follows = following.kind in ("NUMBER", "NAME") or following.text in ("(", "|")
        split = _best_split(token, context, argument_follows, following.text == "(")
        if split is None:
            result.append(token)
            continue
        position = token.start
        for piece in split:
            kind = "NUMBER" if piece[0].isdigit() else "NAME"
            result.append(Token(kind, piece, position, position + len(piece)))
            if kind == "NAME" and not is_function(piece, context) and piece not in CONSTANTS:
                pieces_at.add(position)
            position += len(piece)
        split_spans.append((token.start, token.end))
        notes.append(ParseNote((token.start, token.end), f"'{token.text}' read as {' '.join(split)} "
                                                         "(run-together letters split into functions and variables)"))
    return result, pieces_at, split_spans


def _splittable(token: Token, context: Context) -> bool:
    name = token.text
    return (token.kind == "NAME" and len(name) > 1 and "_" not in name and name.isascii()
            and name not in context.names and name not in KEYWORDS | PYTHON_WORDS and name not in CONSTANTS
            and not is_function(name, context) and name not in greek_names())


def _best_split(token: Token, context: Context, argument_follows: bool, call_follows: bool) -> list[str] | None:
    """The split with the fewest pieces; an error if several tie; None if none works.  Before '(' the
    name reads as a call (`sn(x)` is an unknown function, not s*n*(x)) unless the split ends in a
    function or a variable the user named (`xsin(x)`, `xy(x+1)` with x and y bound)."""
    name = token.text
    functions = function_names() - context.names
    variables = set(context.names)
    if context.letters_are_variables:
        variables |= set("abcdfghijklmnopqrstuvwxyzABCDFGHIJKLMNOPQRSTUVWXYZ") | ({"e"} & context.names)
    constants = {"pi"} | ({"e"} - context.names)
    # where digits would follow a function inside a name with digits (relu6 is not relu 6, log1p not log 1 p)
    inside_digit_names = {start + len(re.match(r"[A-Za-z]*", digit_name).group())  # type: ignore[union-attr]
                          for digit_name in digit_names() for start in range(len(name))
                          if name.startswith(digit_name, start)}
    memo: dict[tuple[int, bool], list[list[str]]] = {}

    def splits(position: int, after_function: bool) -> list[list[str]]:
        """The fewest-piece splits of name[position:], capped at MAX_SPLITS."""
        if position == len(name):
            return [[]] if (not after_function or argument_follows) else []
        if call_follows and name[position:] in variables - context.names:
            return []
        key = (position, after_function)
        if key in memo:
            return memo[key]
        best: list[list[str]] = []
        rest = name[position:]
        digits = re.match(r"\d+", rest)
        candidates: list[tuple[str, bool]] = []
        if digits and after_function and position not in inside_digit_names:
            candidates.append((digits.group(), False))
        candidates += [(piece, piece in functions) for piece in (functions | variables | constants)
                       if rest.startswith(piece) and not piece[0].isdigit()]
        for piece, is_fn in candidates:  # digits only after a function: x2 is the name x2, never x*2
            for tail in splits(position + len(piece), is_fn):
                option = [piece, *tail]
                if not best or len(option) < len(best[0]):
                    best = [option]
                elif len(option) == len(best[0]) and len(best) < MAX_SPLITS and option not in best:
                    best.append(option)
        memo[key] = best
        return best

    found = [split for split in splits(0, False) if len(split) > 1]
    if len(found) > 1:
        shown = ", ".join("*".join(split) for split in found[:4])
        raise DerivcliError(f"'{name}' can be read several ways: {shown}", span=(token.start, token.end),
                            hint="write the product with * or spaces, or bind the name to keep it one variable")
    return found[0] if found else None
