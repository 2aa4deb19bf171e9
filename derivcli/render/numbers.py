"""Numbers and labels as text: full precision in plain lines and JSON, a few significant digits in tables
(`--digits`), short forms for errors and steps."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from ..wire import as_float32, number_text

TABLE_DIGITS = 6  # significant digits in a table, as torch and numpy print: a 20×30 gradient shows 6 columns at 80
Emit = TypeVar("Emit", bound=Callable[..., None])


@dataclass(frozen=True)
class NumberStyle:
    """How a view writes its numbers, one object set around it (as black's Mode): the dtype whose shortest
    round-trip text is a number's full form, the significant digits a table rounds to (None: every digit),
    whether the view is a table (plain lines and JSON always give every digit), and the bindings as the
    user wrote them (a table says `x = pi/3 ≈ 1.0472`)."""

    dtype: str = "float64"
    digits: int | None = TABLE_DIGITS
    table: bool = False
    written: Mapping[str, str] = field(default_factory=dict)


DEFAULT_STYLE = NumberStyle()  # frozen: each change is a new style
_STYLE: ContextVar[NumberStyle] = ContextVar("derivcli_number_style", default=DEFAULT_STYLE)


@contextmanager
def styled(**changes: Any) -> Iterator[None]:
    """Numbers printed inside follow the style with these changes."""
    token = _STYLE.set(replace(_STYLE.get(), **changes))
    try:
        yield
    finally:
        _STYLE.reset(token)


def working_dtype(dtype: str) -> Any:
    """Numbers printed inside are the shortest text that reads back as the same number in `dtype`
    (float32's 0.1 is 0.1, not 0.10000000149011612)."""
    return styled(dtype=dtype)


@contextmanager
def fresh_style() -> Iterator[None]:
    """One command's style, set by its options (`set_style`) and gone when it ends: a REPL line's --digits
    is not the next line's."""
    token = _STYLE.set(DEFAULT_STYLE)
    try:
        yield
    finally:
        _STYLE.reset(token)


def set_style(**changes: Any) -> None:
    """The command line's choices (--digits, the bindings as written), for the views of this command."""
    _STYLE.set(replace(_STYLE.get(), **changes))


def in_working_dtype(emit: Emit) -> Emit:
    """A view of a result (`emit(result, fmt, out, ...)`): its numbers in the result's own dtype, rounded
    to the style's digits where the view is a table."""
    @functools.wraps(emit)
    def wrapper(result: Any, fmt: str, *args: Any, **kwargs: Any) -> None:
        with styled(dtype=getattr(result, "dtype", "float64"), table=fmt == "table"):
            emit(result, fmt, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def number(value: Any) -> str:
    """The shortest text that reads back as the same number in the working dtype, zero without a sign;
    in a table, rounded to the style's significant digits where it has more.  Lists stay nested."""
    if isinstance(value, list):
        return "[" + ", ".join(number(item) for item in value) + "]"
    value = float(value)
    style = _STYLE.get()
    full = number_text(value, style.dtype)
    if value == 0 or not style.table or style.digits is None or not math.isfinite(value):
        return full
    rounded = f"{value:.{style.digits}g}"
    if (as_float32(float(rounded)) == as_float32(value)) if style.dtype == "float32" else float(rounded) == value:
        return full
    return rounded if any(mark in rounded for mark in ".e") else rounded + ".0"  # 0.9999999999999998: 1.0


def binding_text(name: str, value: Any) -> str:
    """`x = 1.5`; in a table, a value the user wrote as an expression shows as written too: `x = pi/3 ≈ 1.0472`
    (`x = 1/2 = 0.5` where the number is the fraction exactly)."""
    from fractions import Fraction

    style = _STYLE.get()
    written = style.written.get(name, "").strip()
    try:
        float(written)
    except ValueError:
        if style.table and written and not isinstance(value, list):
            try:
                exact = Fraction(written.replace(" ", "")) == Fraction(float(value))
            except (ValueError, ZeroDivisionError, OverflowError):  # not a fraction (pi/3), or not finite
                exact = False
            return f"{name} = {written} {'=' if exact else '≈'} {number(value)}"
    return f"{name} = {number(value)}"


def shape_text(value: Any) -> str:
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0] if value else None
    return "×".join(map(str, shape))


def short(value: float) -> str:
    """Three significant digits, for errors and tolerances (zero without a sign)."""
    return f"{value + 0.0:.2e}" if math.isfinite(value) else str(value)


def step_text(h: float) -> str:
    """1e-05 for powers of ten, 3 significant digits otherwise."""
    text = f"{h:.0e}"
    return text if float(text) == h else f"{h:.3g}"


def derivative_label(sequence: list[str]) -> str:
    """d³f/dx³, ∂²f/∂x∂y."""
    from itertools import groupby

    order = len(sequence)
    power = "" if order == 1 else str(order).translate(SUPERSCRIPTS)
    if len(set(sequence)) == 1:
        name = sequence[0]
        return f"d{power}f/d{name}{power}"
    runs = [(name, len(list(group))) for name, group in groupby(sequence)]
    parts = "".join(f"∂{name}" + ("" if count == 1 else str(count).translate(SUPERSCRIPTS)) for name, count in runs)
    return f"∂{power}f/{parts}"


SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")




def maybe_number(value: float | None) -> str:
    return "-" if value is None else number(value)


def number_map(values: dict[str, Any], limit: int | None = None) -> str:
    text = ", ".join(f"{name}={number(value)}" for name, value in values.items())
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"
