"""Tensors made from untrusted values: nested lists, constructors and files all pass through here, so
their bounds (shape, element count, the memory budget) are checked in one place before allocating.

A binding is held against the request's one memory budget (`memory.hold`) at BYTES_PER_ELEMENT: a
binding of 4,000,000 elements fits alone, three do not fit together."""

from __future__ import annotations

from typing import Any

from ..errors import DerivcliError
from ..limits import memory

MAX_ELEMENTS = 4_000_000  # per binding: 32 MB of float64, and its gradient printed in full
# what one element of a binding costs until the answer is out, measured (about 95 bytes in a table, 125 in
# JSON): the float64, its gradient, and the gradient as Python floats and as text
BYTES_PER_ELEMENT = 128


def check_elements(name: str, sizes: list[int]) -> int:
    """The element count of a binding of this shape, refused past MAX_ELEMENTS or the memory left."""
    total = 1
    for size in sizes:
        total *= max(size, 0)
    if total == 0:
        raise DerivcliError(f"--{name}: the tensor is empty; give at least one element")
    if total > MAX_ELEMENTS:
        raise DerivcliError(f"--{name}: {total:,} elements; give between 1 and {MAX_ELEMENTS:,}")
    memory.check(total, _binding(name, total), BYTES_PER_ELEMENT)
    return total


def hold_elements(name: str, count: int) -> None:
    """Count a binding of `count` elements against the request's budget, before it is allocated."""
    memory.hold(count, _binding(name, count), BYTES_PER_ELEMENT)


def _binding(name: str, count: int) -> str:
    return f"--{name} ({count:,} elements, with its gradient and printed values)"


def check_list(name: str, value: Any) -> int:
    """Refuse ragged, empty, non-numeric and too large nested lists (without torch); their element count."""
    shape = _shape_of(name, value, 0)
    if 0 in shape:
        raise DerivcliError(f"--{name}: the list is empty")
    return check_elements(name, list(shape))


def tensor_from_list(name: str, value: Any) -> Any:
    """A nested list of numbers -> float64 tensor, refusing ragged, empty and non-numeric lists."""
    import torch

    hold_elements(name, check_list(name, value))
    try:
        return torch.tensor(value, dtype=torch.float64)
    except (OverflowError, RuntimeError):  # an integer past float64 (JSON allows any number of digits)
        raise overflow_error(name) from None


def overflow_error(name: str) -> DerivcliError:
    return DerivcliError(f"--{name}: a number overflows float64", hint="float64 holds numbers up to about 1.8e308")


def _shape_of(name: str, value: Any, depth: int) -> tuple[int, ...]:
    if isinstance(value, bool) or not isinstance(value, (int, float, list)):
        raise DerivcliError(f"--{name}: {json_text(value)} is not a number")
    if not isinstance(value, list):
        return ()
    if depth > 8:
        raise DerivcliError(f"--{name}: lists nested more than 8 deep")
    shapes = {_shape_of(name, item, depth + 1) for item in value}
    if len(shapes) > 1:
        raise DerivcliError(f"--{name}: the list is ragged (rows of different lengths or depths)")
    return (len(value), *(shapes.pop() if shapes else ()))


def json_text(value: Any) -> str:
    import json

    return clip(json.dumps(value))



def clip(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def json_list(name: str, text: str) -> Any:
    import json

    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise DerivcliError(f"--{name}: not a valid list: {error}".split("\n")[0],
                            hint='write a JSON list such as "[1, 2, 3]" or "[[1, 2], [3, 4]]"') from None
