"""`derivcli steps --definition`: the board of `definition`, its check, and at a point the seeds' table of
secant slopes (f(a + h) − f(a))/h for h = 10⁻¹ … 10⁻⁸, each row's error against autograd's f′(a) and its
regime: truncation (|f″|·h/2, shrinking with h) or round-off (ε·(2|f| + |a·f′|)/h, growing as h shrinks),
as `--fd` tells them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..results import Number, ParseInfo
from .board import Written
from .definition import Derivation

STEPS = tuple(10.0**-k for k in range(1, 9))


@dataclass
class Secant:
    h: float
    slope: float  # (f(a + h) − f(a))/h in float64
    error: float  # slope − autograd's f′(a)
    regime: str  # truncation or round-off

    def to_json(self) -> dict[str, Any]:
        return {"h": self.h, "slope": self.slope, "error": self.error, "regime": self.regime}


@dataclass
class DefinitionResult:
    expression: str
    wrt: str
    step: str  # the name of the increment (h, unless f uses it)
    f: Written
    derivations: list[Derivation]
    derivative: Written
    verified: bool
    parse: ParseInfo
    point: dict[str, Number] | None = None
    value: float | None = None
    gradient: float | None = None  # autograd's f′(a)
    secants: list[Secant] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self, explain_parse: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "expression": self.expression, "wrt": self.wrt, "step": self.step,
            "definition": {"terms": [{"term": derivation.term.text, "lines": [line.to_json(self.step) for line in
                                                                               derivation.lines]}
                                     for derivation in self.derivations],
                           "derivative": self.derivative.text, "latex": self.derivative.latex,
                           "verified": self.verified},
            "warnings": self.warnings}
        if self.point is not None:
            data.update({"point": dict(self.point), "value": self.value, "gradient": {self.wrt: self.gradient},
                         "secants": [secant.to_json() for secant in self.secants]})
        if explain_parse:
            data["parse"] = self.parse.to_json()
        return data


def definition(expression: str, wrt: str | None = None, point: Mapping[str, Any] | None = None,
               **bindings: Any) -> DefinitionResult:
    """f′ from the limit of the difference quotient, every line checked by SymPy; with a point, the table
    of secant slopes converging on autograd's f′ there.

    >>> definition("x**2").derivative.text
    '2*x'
    """
    from .board import Board
    from .definition import by_definition
    from .reading import read

    values = {**(point or {}), **bindings}
    parsed, name, x = read(expression, wrt, values)
    derivations, derivative, verified, h = by_definition(parsed.expr, x)
    board = Board(x, h)
    result = DefinitionResult(parsed.canonical, name, h.name, board.expr(parsed.expr), derivations,
                              board.expr(derivative), verified,
                              ParseInfo(parsed.source, parsed.canonical, parsed.notes, parsed.as_written))
    if not verified:
        result.warnings.append("a line does not check with SymPy (see its check)")
    if values:
        _secants(result, expression, values, name)
    return result


def _secants(result: DefinitionResult, expression: str, values: Mapping[str, Any], name: str) -> None:
    """The table at the point: each h's slope from torch in float64, against autograd's f′(a)."""
    import torch

    from ..checks.differences import carried_rounding
    from ..differentiate.autograd import along, gradient
    from ..differentiate.setup import prepare
    from ..results import to_plain

    setup = prepare(expression, values, [name], "float64", "cpu")
    value, grads = gradient(setup.program, setup.inputs, setup.wrt_indices, setup.dtype, setup.device)
    index = setup.variables.index(name)
    a, slope, f_a = float(setup.inputs[index].detach()), float(grads[0]), float(value.detach())
    _, second, _ = along(setup.program, setup.inputs, index, torch.ones((), dtype=setup.dtype), setup.dtype,
                         setup.device)
    roundoff = torch.finfo(setup.dtype).eps * (2 * carried_rounding(setup, f_a) + abs(a * slope))
    plain = [tensor.detach() for tensor in setup.inputs]
    for h in STEPS:
        shifted = list(plain)
        shifted[index] = torch.tensor(a + h, dtype=setup.dtype)
        with torch.no_grad():
            f_h = float(setup.program(shifted, dtype=setup.dtype, device=setup.device).reshape(()))
        quotient = (f_h - f_a) / h
        regime = "truncation" if abs(second) * h / 2 >= roundoff / h else "round-off"
        result.secants.append(Secant(h, quotient, quotient - slope, regime))
    result.point = {key: to_plain(number) for key, number in setup.values.items()}
    result.value, result.gradient = f_a, slope
    result.warnings += setup.warnings


# The wire contract of this module's to_json: tests/schema_build.py gathers every module's into
# derivcli/schemas/derivcli.schema.json (its $defs; JSON_OUTPUTS also join its root).
JSON_SCHEMA = {
    "steps_definition": {
        "type": "object", "required": ["expression", "wrt", "step", "definition", "warnings"],
        "properties": {
            "expression": {"type": "string"}, "wrt": {"type": "string"}, "step": {"type": "string"},
            "definition": {
                "type": "object", "required": ["terms", "derivative", "latex", "verified"],
                "properties": {
                    "terms": {
                        "type": "array",
                        "items": {
                            "type": "object", "required": ["term", "lines"],
                            "properties": {
                                "term": {"type": "string"},
                                "lines": {
                                    "type": "array",
                                    "items": {
                                        "type": "object", "required": ["text", "latex", "reason", "check"],
                                        "additionalProperties": False,
                                        "properties": {
                                            "text": {"type": "string"}, "latex": {"type": "string"},
                                            "reason": {"type": "string"},
                                            "check": {"enum": ["the definition", "equal", "limit", "FAILED", None]},
                                        },
                                    },
                                },
                            },
                        },
                    },
                    "derivative": {"type": "string"}, "latex": {"type": "string"}, "verified": {"type": "boolean"},
                },
            },
            "point": {"$ref": "#/$defs/by_name"}, "value": {"oneOf": [{"$ref": "#/$defs/number"}, {"type": "null"}]},
            "gradient": {"$ref": "#/$defs/by_name"},
            "secants": {
                "type": "array",
                "items": {
                    "type": "object", "required": ["h", "slope", "error", "regime"], "additionalProperties": False,
                    "properties": {
                        "h": {"type": "number"}, "slope": {"$ref": "#/$defs/number"},
                        "error": {"$ref": "#/$defs/number"}, "regime": {"enum": ["truncation", "round-off"]},
                    },
                },
            },
            "warnings": {"$ref": "#/$defs/warnings"}, "parse": {"type": "object"},
        },
    },
}
JSON_OUTPUTS = ("steps_definition",)
