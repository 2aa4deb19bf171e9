"""What `derivcli check` found: plain dataclasses, and their JSON (`$defs/check_command` in the schema)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..results import FAILING


@dataclass
class Comparison:
    """Autograd's number against the float64 reference, and the tolerance it was held to."""

    autograd: float
    reference: float
    tolerance: float

    @property
    def abs_error(self) -> float:
        return abs(self.autograd - self.reference)

    @property
    def rel_error(self) -> float:
        error = self.abs_error
        if self.reference:
            return error / abs(self.reference)
        return 0.0 if error == 0 else math.inf

    @property
    def excess(self) -> float:
        """How far past its tolerance (below 1: within it)."""
        error = self.abs_error
        if not math.isfinite(error):
            return math.inf
        return error / self.tolerance if self.tolerance > 0 else math.inf if error else 0.0

    def numbers(self) -> dict[str, float]:
        return {"autograd": self.autograd, "reference": self.reference, "abs_error": self.abs_error,
                "rel_error": self.rel_error, "tolerance": self.tolerance}


@dataclass
class ElementCheck(Comparison):
    """One element of a gradient against its float64 reference (the derivative along that element)."""

    index: list[int]
    verdict: str  # agree, DISAGREE, kink, non-finite or inaccurate
    one_sided: tuple[float, float] | None = None  # (left, right) derivatives at a kink
    precision: str = "float64"  # whose autograd number it is: the dtype under test's, or (DISAGREE) float64's

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "verdict": self.verdict, **self.numbers(), "autograd_dtype": self.precision,
                "one_sided": None if self.one_sided is None else list(self.one_sided)}


@dataclass
class Projection(Comparison):
    """Autograd's ⟨g, v⟩ against the derivative of f along a random direction v: shown where it disagrees
    and no single element could be named."""


@dataclass
class NameCheck:
    """The verdict on one input or parameter: its worst element, and with --full every element."""

    name: str
    kind: str  # input or parameter
    shape: list[int]
    verdict: str
    worst: ElementCheck | None
    no_gradient: bool = False  # autograd gave None (taken as zeros)
    projection: Projection | None = None
    elements: list[ElementCheck] | None = None

    def to_json(self) -> dict[str, Any]:
        shown = self.worst or self.projection
        numbers: dict[str, Any] = shown.numbers() if shown is not None else dict.fromkeys(
            ("autograd", "reference", "abs_error", "rel_error", "tolerance"))
        one_sided = self.worst.one_sided if self.worst is not None else None
        return {"kind": self.kind, "shape": self.shape, "verdict": self.verdict,
                "worst_index": None if self.worst is None else self.worst.index, **numbers,
                "autograd_dtype": None if self.worst is None else self.worst.precision,
                "one_sided": None if one_sided is None else list(one_sided), "no_gradient": self.no_gradient,
                **({"elements": [element.to_json() for element in self.elements]} if self.elements is not None
                   else {})}


@dataclass
class Origin:
    """Where the first non-finite number came from: the operation (and module) that made it from finite
    inputs, in the forward pass or the backward one."""

    phase: str  # forward or backward
    operation: str
    produced: str  # NaN, inf or -inf
    inputs: list[tuple[list[int], str]]  # each floating input's shape and dtype
    module: str | None = None  # the module's path in the model ('' for the model itself) and its class
    module_type: str | None = None
    where: str | None = None  # FILE:LINE in the user's code

    def to_json(self) -> dict[str, Any]:
        return {"phase": self.phase, "operation": self.operation, "produced": self.produced,
                "inputs": [{"shape": shape, "dtype": dtype} for shape, dtype in self.inputs],
                "module": self.module, "module_type": self.module_type, "where": self.where}


@dataclass
class CheckResult:
    """`derivcli check`: the user's callable, how it was run, and a verdict per input and parameter."""

    target: str
    callable: str  # function, autograd.Function or module
    dtype: str
    device: str
    order: int
    outputs: list[list[int]]  # the shape of each tensor it returned
    projected: bool  # a non-scalar output, reduced to sum(out * r) with a fixed random r
    names: list[NameCheck]
    origin: Origin | None = None
    evaluations: int = 0  # runs of the user's function in float64 for the reference
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        from ..results import worst

        return worst([name.verdict for name in self.names])

    @property
    def failed(self) -> bool:
        return any(name.verdict in FAILING for name in self.names)

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "callable": self.callable, "dtype": self.dtype, "device": self.device,
                "order": self.order, "outputs": self.outputs,
                "projection": "sum(out * r), r a fixed random tensor" if self.projected else None,
                "verdict": self.verdict, "names": {name.name: name.to_json() for name in self.names},
                "origin": None if self.origin is None else self.origin.to_json(),
                "evaluations": self.evaluations, "notes": self.notes}


# The wire contract of this module's to_json: tests/schema_build.py gathers every module's into
# derivcli/schemas/derivcli.schema.json (its $defs; JSON_OUTPUTS also join its root).
JSON_SCHEMA = {
    "check_verdict": {
        "description": (
            "An input's or parameter's gradient against the float64 reference: agree (within the dtype's tolerance), "
            "DISAGREE (the same code run in float64 is off the reference: the backward computes the wrong thing; or "
            "outside a kink's left and right derivatives), inaccurate (only the dtype under test is off, by more than "
            "its tolerance), non-finite (autograd's number, the output or the reference is NaN or infinite), kink (f "
            "has a left and a right derivative here and autograd gives one of them or a value between). DISAGREE, "
            "inaccurate and non-finite exit 1."
        ),
        "enum": ["agree", "DISAGREE", "inaccurate", "non-finite", "kink"],
    },
    "check_element": {
        "type": "object",
        "required": [
            "index", "verdict", "autograd", "reference", "abs_error", "rel_error", "tolerance", "autograd_dtype",
            "one_sided",
        ],
        "additionalProperties": False,
        "properties": {
            "index": {"type": "array", "items": {"type": "integer", "minimum": 0}},
            "verdict": {"$ref": "#/$defs/check_verdict"}, "autograd": {"$ref": "#/$defs/number"},
            "reference": {"$ref": "#/$defs/number"}, "abs_error": {"$ref": "#/$defs/number"},
            "rel_error": {"$ref": "#/$defs/number"}, "tolerance": {"$ref": "#/$defs/number"},
            "autograd_dtype": {
                "enum": ["float64", "float32", "bfloat16"],
                "description": (
                    "whose autograd number it is: the dtype under test's, or float64's where only the float64 run is "
                    "off"
                ),
            },
            "one_sided": {
                "oneOf": [
                    {"type": "null"},
                    {"type": "array", "items": {"$ref": "#/$defs/number"}, "minItems": 2, "maxItems": 2},
                ],
                "description": "[left, right] derivatives at a kink",
            },
        },
    },
    "check_name": {
        "type": "object",
        "description": (
            "One input or parameter: its worst element (the numbers are null where none could be named; with a "
            "projection's numbers where only a projection shows a kink)."
        ),
        "required": [
            "kind", "shape", "verdict", "worst_index", "autograd", "reference", "abs_error", "rel_error", "tolerance",
            "autograd_dtype", "one_sided", "no_gradient",
        ],
        "additionalProperties": False,
        "properties": {
            "kind": {"enum": ["input", "parameter"]},
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
            "verdict": {"$ref": "#/$defs/check_verdict"},
            "worst_index": {"oneOf": [{"type": "null"}, {"type": "array", "items": {"type": "integer", "minimum": 0}}]},
            "autograd": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/number"}]},
            "reference": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/number"}]},
            "abs_error": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/number"}]},
            "rel_error": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/number"}]},
            "tolerance": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/number"}]},
            "autograd_dtype": {"oneOf": [{"type": "null"}, {"enum": ["float64", "float32", "bfloat16"]}]},
            "one_sided": {
                "oneOf": [
                    {"type": "null"},
                    {"type": "array", "items": {"$ref": "#/$defs/number"}, "minItems": 2, "maxItems": 2},
                ],
            },
            "no_gradient": {"type": "boolean", "description": "autograd gave None (taken as zeros)"},
            "elements": {
                "type": "array", "items": {"$ref": "#/$defs/check_element"},
                "description": "with --full: every element",
            },
        },
    },
    "check_origin": {
        "type": "object", "description": "The first operation that made a NaN or an infinity from finite inputs.",
        "required": ["phase", "operation", "produced", "inputs", "module", "module_type", "where"],
        "additionalProperties": False,
        "properties": {
            "phase": {"enum": ["forward", "backward"]}, "operation": {"type": "string"},
            "produced": {"enum": ["NaN", "inf", "-inf"]},
            "inputs": {
                "type": "array",
                "items": {
                    "type": "object", "required": ["shape", "dtype"], "additionalProperties": False,
                    "properties": {
                        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
                        "dtype": {"type": "string"},
                    },
                },
            },
            "module": {
                "type": ["string", "null"],
                "description": "the module's path in the model ('' for the model itself), null outside a module",
            },
            "module_type": {"type": ["string", "null"]},
            "where": {"type": ["string", "null"], "description": "FILE:LINE in the user's code"},
        },
    },
    "check_command": {
        "type": "object",
        "description": "derivcli check TARGET: the gradient of the user's own callable against a float64 reference.",
        "required": [
            "target", "callable", "dtype", "device", "order", "outputs", "projection", "verdict", "names", "origin",
            "evaluations", "notes",
        ],
        "additionalProperties": False,
        "properties": {
            "target": {"type": "string"}, "callable": {"enum": ["function", "autograd.Function", "module"]},
            "dtype": {"enum": ["float64", "float32", "bfloat16"]}, "device": {"type": "string"},
            "order": {"enum": [1, 2]},
            "outputs": {"type": "array", "items": {"type": "array", "items": {"type": "integer", "minimum": 0}}},
            "projection": {
                "type": ["string", "null"],
                "description": (
                    "how a non-scalar output is reduced (sum(out * r), r fixed and random), null for a scalar"
                ),
            },
            "verdict": {"$ref": "#/$defs/check_verdict"},
            "names": {"type": "object", "additionalProperties": {"$ref": "#/$defs/check_name"}},
            "origin": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/check_origin"}]},
            "evaluations": {
                "type": "integer", "minimum": 0, "description": "runs of the user's code in float64 for the reference",
            },
            "notes": {"type": "array", "items": {"type": "string"}},
        },
    },
}
JSON_OUTPUTS = ("check_command",)
