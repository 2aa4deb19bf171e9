"""The Monte Carlo check of first-order propagation (GUM Supplement 1): the lowered Program run on all the
samples at once, chunk by chunk, and the coverage intervals compared by the Supplement's rule (§8: the end
points within half a unit of the second significant digit of u)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import DerivcliError
from .uncertainty import DISTRIBUTIONS, significant_places

if TYPE_CHECKING:
    import torch

    from ..differentiate.setup import Setup

CHUNK_BYTES = 64 << 20  # what one chunk of Monte Carlo samples may take across the Program's slots


@dataclass
class MonteCarlo:
    """The Monte Carlo check: the distribution of f over samples of the inputs, against first order."""

    samples: int
    seed: int
    distributions: dict[str, str]
    mean: float
    uncertainty: float  # the samples' standard deviation
    coverage: float
    interval: list[float]  # the probabilistically symmetric coverage interval
    interval_error: list[float]  # each end point's statistical half-width (about 95%), from the order statistics
    linear_interval: list[float]  # y ± k_p·u, k_p the normal quantile for the coverage
    tolerance: float  # δ: half a unit of u's second significant digit (GUM-S1 7.9)
    differences: list[float]  # |linear - Monte Carlo| at each end
    verdict: str  # agree, differ, inconclusive (more samples needed to tell)
    nonfinite: int  # samples where f is NaN or infinite, left out

    def to_json(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in (
            "samples", "seed", "distributions", "mean", "uncertainty", "coverage", "interval", "interval_error",
            "linear_interval", "tolerance", "differences", "verdict", "nonfinite")}


def monte_carlo_check(setup: Setup, uncertain: list[str], values: Mapping[str, Any], sigma: torch.Tensor,
                      distributions: dict[str, str], samples: int, coverage: float, seed: int | None, value: float,
                      u: float) -> MonteCarlo:
    """f over `samples` draws of the inputs (normal with covariance Σ, or an independent input uniform or
    triangular with the same standard uncertainty), evaluated chunk by chunk with the Program itself."""
    import secrets
    import statistics

    import torch

    if not 0 < coverage < 1:
        raise DerivcliError(f"--coverage {coverage}: give a probability between 0 and 1", hint="e.g. 0.95")
    if samples < 100:
        raise DerivcliError(f"--mc {samples}: at least 100 samples", hint="10,000 to 1,000,000 is usual")
    chunk = sample_chunk(setup, samples, 3, f"--mc {samples:,}")
    unknown = [name for name in distributions if name not in uncertain]
    if unknown:
        raise DerivcliError(f"--dist {unknown[0]}: {unknown[0]} has no uncertainty")
    for name, kind in distributions.items():
        i = uncertain.index(name)
        if kind != "normal" and bool((sigma[i].abs() > 0).sum() > 1):
            raise DerivcliError(f"--dist {name}={kind}: {name} is correlated with another input",
                                hint="correlated inputs are drawn from a joint normal distribution")
    seed = secrets.randbits(63) if seed is None else seed
    generator = torch.Generator().manual_seed(seed)
    means = torch.tensor([float(values[name]) for name in uncertain], dtype=torch.float64)
    eigenvalues, vectors = torch.linalg.eigh(sigma)
    factor = vectors * torch.sqrt(torch.clamp(eigenvalues, min=0.0))  # Σ = factor @ factorᵀ
    deviations = torch.sqrt(torch.diagonal(sigma))
    shaped = {uncertain.index(name): kind for name, kind in distributions.items() if kind != "normal"}
    out = torch.empty(samples, dtype=torch.float64)
    with torch.no_grad():
        for start in range(0, samples, chunk):
            length = min(chunk, samples - start)
            draws = means + torch.randn(length, len(uncertain), generator=generator, dtype=torch.float64) @ factor.T
            for i, kind in shaped.items():
                pieces = 1 if kind == "uniform" else 2  # a triangular draw is the mean of two uniform ones
                unit = torch.rand(pieces, length, generator=generator, dtype=torch.float64).mean(0) * 2 - 1
                draws[:, i] = means[i] + DISTRIBUTIONS[kind] * deviations[i] * unit
            inputs = [draws[:, uncertain.index(name)] if name in uncertain else plain.detach()
                      for name, plain in zip(setup.variables, setup.inputs)]
            out[start:start + length] = setup.program(inputs, dtype=torch.float64, device="cpu").expand(length)
    finite = out[torch.isfinite(out)]
    nonfinite = samples - finite.numel()
    if finite.numel() < 100:
        raise DerivcliError(f"--mc: f is NaN or infinite at {nonfinite:,} of {samples:,} samples",
                            hint="the inputs' spread reaches outside f's domain")
    ordered = torch.sort(finite).values
    count = ordered.numel()
    tail = (1 - coverage) / 2
    low_index = max(int(round(tail * count)), 1) - 1
    high_index = min(low_index + int(math.floor(coverage * count + 0.5)), count - 1)
    spread = math.ceil(2 * math.sqrt(count * tail * (1 - tail)))  # ±2 standard deviations of the rank

    def half_width(index: int) -> float:
        return float(ordered[min(index + spread, count - 1)] - ordered[max(index - spread, 0)]) / 2

    interval = [float(ordered[low_index]), float(ordered[high_index])]
    errors = [half_width(low_index), half_width(high_index)]
    k_p = statistics.NormalDist().inv_cdf(1 - tail)
    linear = [value - k_p * u, value + k_p * u]
    place = significant_places(u)
    tolerance = 0.0 if place is None else 0.5 * 10.0 ** place
    differences = [abs(linear[0] - interval[0]), abs(linear[1] - interval[1])]
    # GUM-S1 §8 compares once the end points are known to δ (7.9: twice their standard deviation within it)
    if any(d - e > tolerance for d, e in zip(differences, errors)):
        verdict = "differ"
    elif all(d <= tolerance and e <= tolerance for d, e in zip(differences, errors)):
        verdict = "agree"
    else:
        verdict = "inconclusive"
    return MonteCarlo(samples, seed, {name: distributions.get(name, "normal") for name in uncertain},
                      float(finite.mean()), float(finite.std()) if count > 1 else 0.0, coverage, interval, errors,
                      linear, tolerance, differences, verdict, nonfinite)


def sample_chunk(setup: Setup, samples: int, kept: int, what: str) -> int:
    """How many samples go through the Program at once, after refusing what cannot be sampled (tensor
    expressions) or afforded (`kept` numbers per sample held to the end, beside one chunk's slots)."""
    from ..limits import memory
    from ..table.sympy_forms import TensorFunction

    if any(isinstance(node, TensorFunction) for node in setup.program.nodes) or any(
            value.dim() for value in setup.inputs):
        raise DerivcliError(f"{what.split()[0]} evaluates f at many points at once: it works on expressions of "
                            "numbers, not tensors")
    memory.check(float(kept) * samples, f"{what} samples ({kept} numbers each)")
    slots = len(setup.program.steps) + len(setup.program.constants) + len(setup.variables) + 1
    chunk = max(256, min(65_536, CHUNK_BYTES // (8 * slots)))
    memory.check(float(chunk * slots) * 3, f"{what}: one chunk of {chunk:,} samples through {slots:,} steps")
    return chunk


def monte_carlo_findings(check: MonteCarlo) -> list[str]:
    found = []
    if check.nonfinite:
        found.append(f"f is NaN or infinite at {check.nonfinite:,} of {check.samples:,} Monte Carlo samples (left "
                     "out): the inputs' spread reaches outside its domain")
    if check.verdict == "differ":
        found.append(f"the Monte Carlo coverage interval differs from first order's by more than {check.tolerance:.2g} "
                     "(GUM-S1 §8): first order is not to be trusted here")
    elif check.verdict == "inconclusive":
        found.append("the Monte Carlo check cannot tell at this number of samples whether first order is good "
                     "enough (GUM-S1 §8); give more with --mc")
    return found


# The wire contract of this module's to_json: tests/schema_build.py gathers every module's into
# derivcli/schemas/derivcli.schema.json (its $defs; JSON_OUTPUTS also join its root).
JSON_SCHEMA = {
    "propagate_monte_carlo": {
        "type": "object",
        "required": [
            "samples", "seed", "distributions", "mean", "uncertainty", "coverage", "interval", "interval_error",
            "linear_interval", "tolerance", "differences", "verdict", "nonfinite",
        ],
        "properties": {
            "samples": {"type": "integer", "minimum": 100}, "seed": {"type": "integer"},
            "distributions": {"type": "object", "additionalProperties": {"enum": ["normal", "uniform", "triangular"]}},
            "mean": {"$ref": "#/$defs/number"}, "uncertainty": {"$ref": "#/$defs/number"},
            "coverage": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "interval": {"type": "array", "items": {"$ref": "#/$defs/number"}, "minItems": 2, "maxItems": 2},
            "interval_error": {"type": "array", "items": {"$ref": "#/$defs/number"}, "minItems": 2, "maxItems": 2},
            "linear_interval": {"type": "array", "items": {"$ref": "#/$defs/number"}, "minItems": 2, "maxItems": 2},
            "tolerance": {"$ref": "#/$defs/number"},
            "differences": {"type": "array", "items": {"$ref": "#/$defs/number"}, "minItems": 2, "maxItems": 2},
            "verdict": {"enum": ["agree", "differ", "inconclusive"]}, "nonfinite": {"type": "integer", "minimum": 0},
        },
        "additionalProperties": False,
    },
}
