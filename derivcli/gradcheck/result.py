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
