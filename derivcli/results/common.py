"""What every result shares: numbers as plain floats, the names of elements and derivatives, how
the input was read, and the JSON keys every result at a point starts with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Number = Any  # a float, or a nested list of floats for vectors and matrices


def to_plain(value: Any) -> Number:
    """A tensor (or float) as a float or nested lists of floats, for results and JSON."""
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        return float(value) if value.dim() == 0 else value.tolist()
    return float(value)


def derivative_key(sequence: list[str]) -> str:
    """The ASCII key of a derivative in plain output, one scheme for every command: d/dx, d2/dx2,
    d3/dxdy2 (f once by x, twice by y)."""
    from itertools import groupby

    order = len(sequence)
    runs = "".join(f"d{name}" + ("" if len(group) == 1 else str(len(group)))
                   for name, group in ((name, list(group)) for name, group in groupby(sequence)))
    return f"d{'' if order == 1 else order}/{runs}"


def element_names(name: str, shape: list[int] | tuple[int, ...]) -> list[str]:
    """x for a scalar; x[0], x[1], … for a vector and W[0, 1], … for a matrix (row-major)."""
    from itertools import product

    if not shape:
        return [name]
    return [f"{name}[{', '.join(map(str, index))}]" for index in product(*(range(n) for n in shape))]


def element_label(name: str, shape: tuple[int, ...], position: int) -> str:
    """The element at a flat, row-major position: x for a scalar, x[1], W[0, 2]."""
    if not shape:
        return name
    index = []
    for size in reversed(shape):
        position, rest = divmod(position, size)
        index.append(rest)
    return f"{name}[{', '.join(map(str, reversed(index)))}]"


def learner_checks(result: Any) -> dict[str, Any]:
    """The JSON of --expect and --exact, where they were asked for."""
    asked = {key: getattr(result, key, None) for key in ("expect", "exact")}
    return {key: value.to_json() for key, value in asked.items() if value is not None}


def at_point(result: Any, explain_parse: bool, **body: Any) -> dict[str, Any]:
    """The JSON every result at a point shares: expression, point and dtype first, then the command's own
    keys, warnings, and with --explain-parse how the input was read."""
    data: dict[str, Any] = {"expression": result.expression, "point": dict(result.point),
                            "dtype": result.dtype, **body, "warnings": result.warnings}
    written = getattr(getattr(result, "parse", None), "as_written", None)
    if written is not None:  # torch computed the expression as written, which SymPy simplifies
        data["as_written"] = written
    if explain_parse:
        data["parse"] = result.parse.to_json()
    return data


@dataclass
class ParseInfo:
    """How the input was read: the text, SymPy's canonical form and notes such as `2x -> 2*x`."""

    source: str
    read_as: str
    notes: list[str]
    as_written: str | None = None  # the unsimplified tree torch computes, where it differs from read_as

    def to_json(self) -> dict[str, Any]:
        return {"input": self.source, "read_as": self.read_as, "notes": self.notes, "as_written": self.as_written}


# The wire contract of this module's to_json: tests/schema_build.py gathers every module's into
# derivcli/schemas/derivcli.schema.json (its $defs; JSON_OUTPUTS also join its root).
JSON_SCHEMA = {
    "at_point": {
        "type": "object", "required": ["expression", "point", "dtype", "warnings"],
        "properties": {
            "expression": {"type": "string"}, "point": {"$ref": "#/$defs/by_name"},
            "dtype": {"enum": ["float64", "float32"]}, "warnings": {"$ref": "#/$defs/warnings"},
            "as_written": {"type": "string"}, "parse": {"type": "object"},
            "diagnosis": {"type": "array", "items": {"type": "object"}},
            "nondifferentiable": {"type": "array", "items": {"type": "object"}},
        },
    },
}
