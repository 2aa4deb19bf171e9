"""Sensitivity (`derivcli sensitivity`): local, at a point, as people report it (partial derivatives,
elasticities ∂f/∂xᵢ·xᵢ/f, and the inputs ranked), and global over ranges (`--x 0:2`): the
derivative-based global sensitivity measure νᵢ = E[(∂f/∂xᵢ)²] over uniform samples of the box, with
Sobol' and Kucherenko's bound on the total Sobol' index it gives, Sᵢᵀ <= (bᵢ - aᵢ)²·νᵢ / (π²·Var f).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import DerivcliError
from ..inputs.tensor_values import clip
from ..results import ParseInfo


@dataclass
class LocalSensitivity:
    name: str
    value: float
    derivative: float  # ∂f/∂xᵢ
    elasticity: float | None  # ∂f/∂xᵢ·xᵢ/f: the % change of f per % change of xᵢ; None where f = 0

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "derivative": self.derivative, "elasticity": self.elasticity}


@dataclass
class GlobalSensitivity:
    name: str
    low: float
    high: float
    dgsm: float  # νᵢ = mean of (∂f/∂xᵢ)² over the samples
    sobol_bound: float | None  # (bᵢ - aᵢ)²·νᵢ / (π²·Var f), an upper bound on the total Sobol' index

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "range": [self.low, self.high], "dgsm": self.dgsm, "sobol_bound": self.sobol_bound}


@dataclass
class SensitivityResult:
    """Ranked: the most influential input first (by |∂f/∂xᵢ·xᵢ| locally, which ranks elasticities also where
    f = 0; by the bound globally)."""

    expression: str
    point: dict[str, float]  # the fixed values (all of them locally)
    value: float | None  # f at the point (local), or the mean of f over the samples (global)
    local: list[LocalSensitivity] | None = None
    global_: list[GlobalSensitivity] | None = None
    samples: int | None = None
    seed: int | None = None
    variance: float | None = None  # of f over the samples
    nonfinite: int = 0
    parse: ParseInfo | None = None
    warnings: list[str] = field(default_factory=list)
    dtype: str = "float64"

    def to_json(self, explain_parse: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "expression": self.expression, "point": self.point, "value": self.value,
            "local": None if self.local is None else [row.to_json() for row in self.local],
            "global": None if self.global_ is None else {
                "samples": self.samples, "seed": self.seed, "mean": self.value, "variance": self.variance,
                "nonfinite": self.nonfinite, "inputs": [row.to_json() for row in self.global_]},
            "warnings": self.warnings,
        }
        if explain_parse and self.parse is not None:
            data["parse"] = self.parse.to_json()
        return data


def read_range(name: str, text: str) -> tuple[str, str] | None:
    """`--x 0:2` (or `0:pi`): the two ends' texts, checked to be values; None for a text without ':'."""
    if ":" not in text:
        return None
    from ..inputs.bindings import plan_value

    low, _, high = text.partition(":")
    if not low.strip() or not high.strip() or ":" in high:
        raise DerivcliError(f"--{name} {clip(text)}: a range is LOW:HIGH", hint=f"e.g. --{name} 0:2")
    for end in (low, high):
        if plan_value(name, end)[0] not in ("number", "constant"):
            raise DerivcliError(f"--{name} {clip(text)}: the ends of a range are numbers", hint=f"e.g. --{name} 0:2")
    return low.strip(), high.strip()


def sensitivity(expression: str, point: Mapping[str, Any], ranges: Mapping[str, tuple[float, float]] | None = None,
                *, samples: int = 10_000, seed: int | None = None) -> SensitivityResult:
    """Local sensitivity at `point`, or with `ranges` ({name: (low, high)}; the other variables held at
    their values in `point`) the derivative-based global measure over `samples` uniform samples.

    >>> [(row.name, row.elasticity) for row in sensitivity("x**2 * y", {"x": 3, "y": 2}).local]
    [('x', 2.0), ('y', 1.0)]
    """
    from ..differentiate.autograd import gradient
    from ..differentiate.setup import prepare

    ranges = dict(ranges or {})
    for name, (low, high) in ranges.items():
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise DerivcliError(f"--{name} {low!r}:{high!r}: a range needs finite ends, the low one first")
    both = sorted(set(ranges) & set(point))
    if both:
        raise DerivcliError(f"--{both[0]} is given both a value and a range")
    middle = {name: (low + high) / 2 for name, (low, high) in ranges.items()}
    setup = prepare(expression, {**point, **middle}, None, "float64", "cpu")
    if ranges:
        return _global(setup, ranges, samples, seed)
    tensors = [name for name, value in zip(setup.variables, setup.inputs) if value.dim()]
    if tensors:
        raise DerivcliError(f"{tensors[0]} is a tensor: sensitivity ranks inputs that are numbers")
    value_tensor, grads = gradient(setup.program, setup.inputs, setup.wrt_indices, setup.dtype, setup.device)
    value = float(value_tensor.detach())
    rows = []
    for name, slope in zip(setup.wrt, grads):
        x, derivative = float(setup.values[name]), float(slope)
        rows.append(LocalSensitivity(name, x, derivative, derivative * x / value if value else None))
    if not all(math.isfinite(number) for number in (value, *(row.derivative for row in rows))):
        raise DerivcliError("f or a derivative is not finite at this point: no sensitivity to rank",
                            hint="see 'derivcli grad' for where it leaves its domain")
    rows.sort(key=lambda row: -abs(row.derivative * row.value))
    result = SensitivityResult(setup.parsed.canonical, {name: float(v) for name, v in setup.values.items()}, value,
                               local=rows, parse=setup.parse_info(), warnings=list(setup.warnings))
    if value == 0:
        result.warnings.append("f is 0 at this point: elasticities (∂f/∂x·x/f) are undefined; inputs are ranked "
                               "by |∂f/∂x·x|")
    return result


def _global(setup: Any, ranges: dict[str, tuple[float, float]], samples: int, seed: int | None) -> SensitivityResult:
    """νᵢ over uniform samples of the box, each chunk one forward and one backward pass (the points are
    independent, so the gradient of the chunk's sum is each point's gradient)."""
    import secrets

    import torch

    from .monte_carlo import sample_chunk

    if samples < 100:
        raise DerivcliError(f"--samples {samples}: at least 100", hint="10,000 is the default")
    names = [name for name in setup.variables if name in ranges]
    chunk = sample_chunk(setup, samples, len(names) + 1, f"--samples {samples:,}")
    seed = secrets.randbits(63) if seed is None else seed
    generator = torch.Generator().manual_seed(seed)
    low = torch.tensor([ranges[name][0] for name in names], dtype=torch.float64)
    width = torch.tensor([ranges[name][1] - ranges[name][0] for name in names], dtype=torch.float64)
    values = torch.empty(samples, dtype=torch.float64)
    squares = torch.empty(samples, len(names), dtype=torch.float64)
    for start in range(0, samples, chunk):
        length = min(chunk, samples - start)
        draws = (low + width * torch.rand(length, len(names), generator=generator, dtype=torch.float64)).T
        leaves = [draw.clone().requires_grad_(True) for draw in draws]
        inputs = [leaves[names.index(name)] if name in ranges else plain.detach()
                  for name, plain in zip(setup.variables, setup.inputs)]
        f = setup.program(inputs, dtype=torch.float64, device="cpu").expand(length)
        grads = (torch.autograd.grad(f.sum(), leaves, allow_unused=True, materialize_grads=True) if f.requires_grad
                 else [torch.zeros(length, dtype=torch.float64) for _ in leaves])
        values[start:start + length] = f.detach()
        squares[start:start + length] = torch.stack([g.detach() for g in grads], dim=1) ** 2
    finite = torch.isfinite(values) & torch.isfinite(squares).all(dim=1)
    kept = int(finite.sum())
    if kept < 100:
        raise DerivcliError(f"f or a derivative is NaN or infinite at {samples - kept:,} of {samples:,} samples",
                            hint="narrow the ranges to f's domain")
    variance = float(values[finite].var())
    dgsm = squares[finite].mean(dim=0).tolist()
    rows = [GlobalSensitivity(name, ranges[name][0], ranges[name][1], nu,
                              (float(width[i]) ** 2 * nu / (math.pi**2 * variance)) if variance > 0 else None)
            for i, (name, nu) in enumerate(zip(names, dgsm))]
    rows.sort(key=lambda row: -(row.high - row.low) ** 2 * row.dgsm)
    fixed = {name: float(value) for name, value in setup.values.items() if name not in ranges}
    result = SensitivityResult(setup.parsed.canonical, fixed, float(values[finite].mean()), global_=rows,
                               samples=samples, seed=seed, variance=variance, nonfinite=samples - kept,
                               parse=setup.parse_info(), warnings=list(setup.warnings))
    if samples - kept:
        result.warnings.append(f"f or a derivative is NaN or infinite at {samples - kept:,} of {samples:,} samples "
                               "(left out): the ranges reach outside f's domain")
    return result


# The wire contract of this module's to_json: tests/schema_build.py gathers every module's into
# derivcli/schemas/derivcli.schema.json (its $defs; JSON_OUTPUTS also join its root).
JSON_SCHEMA = {
    "sensitivity": {
        "type": "object", "required": ["expression", "point", "value", "local", "global", "warnings"],
        "properties": {
            "expression": {"type": "string"}, "point": {"$ref": "#/$defs/by_name"},
            "value": {"oneOf": [{"$ref": "#/$defs/number"}, {"type": "null"}]},
            "local": {
                "oneOf": [
                    {"type": "null"},
                    {
                        "type": "array",
                        "items": {
                            "type": "object", "required": ["name", "value", "derivative", "elasticity"],
                            "properties": {
                                "name": {"type": "string"}, "value": {"$ref": "#/$defs/number"},
                                "derivative": {"$ref": "#/$defs/number"},
                                "elasticity": {"oneOf": [{"$ref": "#/$defs/number"}, {"type": "null"}]},
                            },
                            "additionalProperties": False,
                        },
                    },
                ],
            },
            "global": {
                "oneOf": [
                    {"type": "null"},
                    {
                        "type": "object", "required": ["samples", "seed", "mean", "variance", "nonfinite", "inputs"],
                        "properties": {
                            "samples": {"type": "integer"}, "seed": {"type": "integer"},
                            "mean": {"$ref": "#/$defs/number"}, "variance": {"$ref": "#/$defs/number"},
                            "nonfinite": {"type": "integer", "minimum": 0},
                            "inputs": {
                                "type": "array",
                                "items": {
                                    "type": "object", "required": ["name", "range", "dgsm", "sobol_bound"],
                                    "properties": {
                                        "name": {"type": "string"},
                                        "range": {
                                            "type": "array", "items": {"$ref": "#/$defs/number"}, "minItems": 2,
                                            "maxItems": 2,
                                        },
                                        "dgsm": {"$ref": "#/$defs/number"},
                                        "sobol_bound": {"oneOf": [{"$ref": "#/$defs/number"}, {"type": "null"}]},
                                    },
                                    "additionalProperties": False,
                                },
                            },
                        },
                        "additionalProperties": False,
                    },
                ],
            },
            "warnings": {"$ref": "#/$defs/warnings"}, "parse": {"type": "object"},
        },
        "additionalProperties": False,
    },
}
JSON_OUTPUTS = ("sensitivity",)
