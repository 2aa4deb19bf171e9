"""The JSON wire format: one encoder for every --json object, batch answer and error record.

JSON has no NaN or infinity, and writing them as `null` loses which one it was; derivcli writes them as
the strings "NaN", "Infinity" and "-Infinity" (the Protocol Buffers JSON convention), so a reader can
tell an undefined value from an overflow.  An error is an object of its own, the same on stdout with
--json and in a batch or stream record: {"message", "column", "hint", "exit_code"}.  A number's full text
(`number_text`) is here too, below every stage that writes one (analyze's points, render's views).
"""

from __future__ import annotations

import json
import math
import struct
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


def number_text(value: float, dtype: str = "float64") -> str:
    """The shortest text that reads back as the same number in `dtype` (float32's 0.1 is 0.1, not
    0.10000000149011612), zero without a sign: every full-precision number derivcli writes as text."""
    value = float(value)
    if value == 0:
        return "0.0"
    if dtype == "float32" and math.isfinite(value):
        single = as_float32(value)
        for digits in range(1, 10):  # 9 significant digits always read back as the same float32
            text = repr(float(f"{single:.{digits}g}"))
            if as_float32(float(text)) == single:
                return text
        return repr(single)
    return repr(value)


def as_float32(value: float) -> float:
    """`value` rounded to float32 (itself where it is beyond float32's range: not a float32 at all)."""
    try:
        return float(struct.unpack("f", struct.pack("f", value))[0])
    except OverflowError:
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


# The wire contract of this module's to_json: tests/schema_build.py gathers every module's into
# derivcli/schemas/derivcli.schema.json (its $defs; JSON_OUTPUTS also join its root).
JSON_SCHEMA = {
    "number": {"oneOf": [{"type": "number"}, {"enum": ["NaN", "Infinity", "-Infinity"]}]},
    "tensor": {"oneOf": [{"$ref": "#/$defs/number"}, {"type": "array", "items": {"$ref": "#/$defs/tensor"}}]},
    "by_name": {"type": "object", "additionalProperties": {"$ref": "#/$defs/tensor"}},
    "warnings": {"type": "array", "items": {"type": "string"}},
    "error_object": {
        "type": "object", "required": ["message", "column", "hint", "exit_code"], "additionalProperties": False,
        "properties": {
            "message": {"type": "string"}, "column": {"type": ["integer", "null"], "minimum": 1},
            "hint": {"type": ["string", "null"]}, "exit_code": {"type": "integer", "minimum": 1},
        },
    },
    "error": {
        "type": "object", "required": ["error"], "additionalProperties": False,
        "properties": {"error": {"$ref": "#/$defs/error_object"}},
    },
    "record_error": {
        "type": "object", "required": ["line", "error"], "additionalProperties": False,
        "properties": {"line": {"type": "integer", "minimum": 1}, "error": {"$ref": "#/$defs/error_object"}},
    },
}
JSON_OUTPUTS = ("error", "record_error")
