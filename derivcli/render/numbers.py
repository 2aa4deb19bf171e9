"""Numbers and labels as text: full precision in tables and lines, short forms for errors and steps."""

from __future__ import annotations

import math
from typing import Any


def number(value: Any) -> str:
    """Full precision: the shortest text that reads back as the same float; lists stay nested."""
    if isinstance(value, list):
        return "[" + ", ".join(number(item) for item in value) + "]"
    return repr(float(value))


def grid(value: Any) -> str:
    """For tables: a matrix one row per line."""
    if isinstance(value, list) and value and isinstance(value[0], list):
        return "\n".join(number(row) for row in value)
    return number(value)


def shape_text(value: Any) -> str:
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0] if value else None
    return "×".join(map(str, shape))


def short(value: float) -> str:
    return f"{value:.2e}" if math.isfinite(value) else str(value)


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
