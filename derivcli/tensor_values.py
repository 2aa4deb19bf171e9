"""Tensors made from untrusted values: nested lists, constructors and files all pass through here, so
their bounds (shape, element count, the memory budget) are checked in one place before allocating."""

from __future__ import annotations

from typing import Any

from . import memory
from .errors import DerivcliError

MAX_ELEMENTS = 4_000_000  # per binding: 32 MB of float64, and its gradient printed in full


def check_elements(name: str, sizes: list[int]) -> None:
    total = 1
    for size in sizes:
        total *= max(size, 0)
    if total == 0:
        raise DerivcliError(f"--{name}: the tensor is empty; give at least one element")
    if total > MAX_ELEMENTS:
        raise DerivcliError(f"--{name}: {total:,} elements; give between 1 and {MAX_ELEMENTS:,}")
    memory.check(total, f"--{name} ({total:,} elements)")


def check_list(name: str, value: Any) -> None:
    """Refuse ragged, empty, non-numeric and too large nested lists (without torch)."""
    shape = _shape_of(name, value, 0)
    if 0 in shape:
        raise DerivcliError(f"--{name}: the list is empty")
    check_elements(name, list(shape))


def tensor_from_list(name: str, value: Any) -> Any:
    """A nested list of numbers -> float64 tensor, refusing ragged, empty and non-numeric lists."""
    import torch

    check_list(name, value)
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
