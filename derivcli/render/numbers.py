"""Numbers and labels as text: full precision in tables and lines, short forms for errors and steps."""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

_WORKING_DTYPE: ContextVar[str] = ContextVar("derivcli_working_dtype", default="float64")
Emit = TypeVar("Emit", bound=Callable[..., None])


@contextmanager
def working_dtype(dtype: str) -> Iterator[None]:
    """Numbers printed inside are the shortest text that reads back as the same number in `dtype`
    (float32's 0.1 is 0.1, not 0.10000000149011612)."""
    token = _WORKING_DTYPE.set(dtype)
    try:
        yield
    finally:
        _WORKING_DTYPE.reset(token)


def in_working_dtype(emit: Emit) -> Emit:
    """A view of a result, printing its numbers in the result's own dtype."""
    @functools.wraps(emit)
    def wrapper(result: Any, *args: Any, **kwargs: Any) -> None:
        with working_dtype(getattr(result, "dtype", "float64")):
            emit(result, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def number(value: Any) -> str:
    """Full precision: the shortest text that reads back as the same number in the working dtype, zero
    without a sign; lists stay nested."""
    if isinstance(value, list):
        return "[" + ", ".join(number(item) for item in value) + "]"
    value = float(value)
    if value == 0:
        return "0.0"
    if _WORKING_DTYPE.get() == "float32" and math.isfinite(value):
        return _shortest_float32(value)
    return repr(value)


def _shortest_float32(value: float) -> str:
    single = _as_float32(value)
    for digits in range(1, 10):  # 9 significant digits always read back as the same float32
        text = repr(float(f"{single:.{digits}g}"))
        if _as_float32(float(text)) == single:
            return text
    return repr(single)


def _as_float32(value: float) -> float:
    try:
        return float(struct.unpack("f", struct.pack("f", value))[0])
    except OverflowError:  # beyond float32: not a float32 value at all
        return value


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
