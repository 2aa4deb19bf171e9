"""The JSON wire format: one encoder for every --json object, batch answer and error record.

JSON has no NaN or infinity, and writing them as `null` loses which one it was; derivcli writes them as
the strings "NaN", "Infinity" and "-Infinity" (the Protocol Buffers JSON convention), so a reader can
tell an undefined value from an overflow.  An error is an object of its own, the same on stdout with
--json and in a batch or stream record: {"message", "column", "hint", "exit_code"}.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .errors import DerivcliError, Exit

NON_FINITE_NAMES = ("NaN", "Infinity", "-Infinity")


def wire_value(value: Any) -> Any:
    """The value with every non-finite float spelled as its name (tuples become lists)."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {key: wire_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [wire_value(item) for item in value]
    return value


def dumps(data: Any) -> str:
    """One line of JSON, never with the non-standard NaN or Infinity tokens."""
    return json.dumps(wire_value(data), allow_nan=False)


def error_object(error: DerivcliError, exit_code: int = Exit.BAD_INPUT) -> dict[str, Any]:
    """What went wrong, where (1-based column in the expression, or null) and how to fix it."""
    return {"message": error.message, "column": None if error.span is None else error.span[0] + 1,
            "hint": error.hint, "exit_code": exit_code}


def error_record(line: int, error: DerivcliError | str, exit_code: int = Exit.BAD_INPUT) -> dict[str, Any]:
    """A batch or stream line that could not be answered: its number and the error object (exit code 3,
    Exit.INTERNAL, where the fault is derivcli's or a lost process's, not the line's)."""
    return {"line": line, "error": error_object(error if isinstance(error, DerivcliError) else DerivcliError(error),
                                                exit_code)}


class TooLong(str):
    """A line of a stream or batch longer than its bound: it gets an error record in its place."""
