"""Uncertainty propagation (`derivcli propagate`): the GUM's law of propagation of uncertainty with the
gradient from autograd, its second-order terms from the Hessian, and a Monte Carlo check.

For inputs x with covariance Σ, first order gives u²(y) = gᵀΣg (g = ∇f).  For normal inputs the next
terms of the expansion (GUM 5.1.2, note; exact for any quadratic f) add ½·tr((HΣ)²) (H the Hessian) and
(Σg)ᵀ·∇tr(HΣ) (the third derivatives); with independent inputs these are the note's
½ΣΣ(∂²f/∂xᵢ∂xⱼ)²uᵢ²uⱼ² and ΣΣ ∂f/∂xᵢ·∂³f/∂xᵢ∂xⱼ²·uᵢ²uⱼ².  Where they change u by more than 10%, first
order is not to be trusted, and the result says so.  The Monte Carlo check (GUM Supplement 1) runs the
lowered Program on all samples at once, chunk by chunk, and compares the coverage intervals by the
Supplement's rule (§8: the end points within half a unit of the second significant digit of u).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import DerivcliError
from ..results import ParseInfo
from .monte_carlo import MonteCarlo, monte_carlo_check, monte_carlo_findings
from .uncertainty import Measured, rounded

if TYPE_CHECKING:
    import torch

    from ..differentiate.setup import Setup

TRUSTED_CHANGE = 0.10  # past this relative change of u, second order says first order is not to be trusted
MAX_SECOND_ORDER = 256  # uncertain inputs: one backward pass per Hessian row, with its graph kept


@dataclass
class Contribution:
    """One input's row of the uncertainty budget."""

    name: str
    value: float
    uncertainty: float
    sensitivity: float  # ∂f/∂xᵢ
    contribution: float  # ∂f/∂xᵢ·uᵢ
    share: float | None  # gᵢ(Σg)ᵢ / u²: its part of the variance (with correlations, may be negative)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "uncertainty": self.uncertainty,
                "sensitivity": self.sensitivity, "contribution": self.contribution, "share": self.share}


@dataclass
class SecondOrder:
    """The second-order terms for normal inputs, and what they do to u."""

    uncertainty: float  # √(gᵀΣg + both terms); NaN where the terms make the variance negative
    hessian_term: float  # ½·tr((HΣ)²)
    third_derivative_term: float  # (Σg)ᵀ·∇tr(HΣ)
    change: float  # relative change of u against first order
    trusted: bool  # |change| <= 10%: first order is good enough

    def to_json(self) -> dict[str, Any]:
        return {"uncertainty": self.uncertainty, "hessian_term": self.hessian_term,
                "third_derivative_term": self.third_derivative_term, "change": self.change,
                "first_order_trusted": self.trusted}


@dataclass
class PropagationResult:
    """`derivcli propagate`: y, its combined standard uncertainty, the budget, and the checks of first order.
    For a tensor-valued f, value and uncertainty have f's shape, `output_covariance` is J Σ Jᵀ over its
    elements (row-major), and there is no budget, second order or Monte Carlo check."""

    expression: str
    point: dict[str, Any]
    uncertainties: dict[str, float]  # each uncertain input's (element's) standard uncertainty
    value: Any  # a float, or nested lists for a tensor-valued f
    uncertainty: Any  # first order: √(gᵀΣg), or √diag(J Σ Jᵀ) in f's shape
    budget: list[Contribution]  # ranked by |contribution|
    correlated: bool
    covariance: list[list[float]]  # Σ over the inputs' elements in the order given
    k: float | None = None
    expanded: Any = None  # k·u
    output_covariance: list[list[float]] | None = None
    second_order: SecondOrder | None = None
    monte_carlo: MonteCarlo | None = None
    parse: ParseInfo | None = None
    warnings: list[str] = field(default_factory=list)
    dtype: str = "float64"

    @property
    def rounded(self) -> Any:
        """y ± u as a metrologist writes it (two significant digits of u), element by element for a tensor."""
        def each(value: Any, uncertainty: Any) -> Any:
            if isinstance(value, list):
                return [each(v, w) for v, w in zip(value, uncertainty)]
            return rounded(value, uncertainty)

        return each(self.value, self.uncertainty)

    def to_json(self, explain_parse: bool = False) -> dict[str, Any]:
        data = {
            "expression": self.expression, "point": self.point, "uncertainties": self.uncertainties,
            "value": self.value, "uncertainty": self.uncertainty, "rounded": self.rounded,
            "budget": [row.to_json() for row in self.budget], "correlated": self.correlated,
            "covariance": self.covariance if self.correlated else None, "k": self.k, "expanded": self.expanded,
            "output_covariance": self.output_covariance,
            "second_order": None if self.second_order is None else self.second_order.to_json(),
            "monte_carlo": None if self.monte_carlo is None else self.monte_carlo.to_json(),
            "warnings": self.warnings,
        }
        if explain_parse and self.parse is not None:
            data["parse"] = self.parse.to_json()
        return data


def propagate(expression: str, point: Mapping[str, Measured | Any], *,
              correlations: Sequence[tuple[str, str, float]] = (), covariance: Any = None,
              monte_carlo: int | None = None, distributions: Mapping[str, str] | None = None,
              k: float | None = None, coverage: float = 0.95, seed: int | None = None) -> PropagationResult:
    """y = f(x), its combined standard uncertainty by first-order propagation, each input's part in it,
    the second-order terms (normal inputs), and with `monte_carlo` samples the Monte Carlo check.

    `point` maps names to `Measured(value, uncertainty)` or exact values (numbers, constants, tensors).
    `covariance` (a matrix over the elements of every bound name, in `point`'s order; tensors flattened)
    replaces the uncertainties and `correlations` ((a, b, r) triples).  A tensor-valued f gets the
    covariance of its elements, J Σ Jᵀ.

    >>> result = propagate("x*y", {"x": Measured(2.0, 0.1), "y": Measured(3.0, 0.2)})
    >>> result.value, round(result.uncertainty, 12), result.rounded
    (6.0, 0.5, '6.00 ± 0.50')
    """
    import torch

    from ..differentiate.autograd import jacobians
    from ..differentiate.setup import prepare
    from ..inputs.names import binding_names
    from ..results import element_names, to_plain

    names = binding_names(point)
    given = {names[name]: value for name, value in point.items()}
    uncertain = list(given) if covariance is not None else [name for name, value in given.items()
                                                          if isinstance(value, Measured)]
    if not uncertain:
        raise DerivcliError("no input has an uncertainty", hint="write one as --x 1.5±0.1, --x \"1.5 +- 0.1\" or "
                                                                "--x 1.5(1), or give --cov FILE")
    values = {name: value.value if isinstance(value, Measured) else value for name, value in given.items()}
    setup = prepare(expression, values, uncertain, "float64", "cpu")
    shapes = {name: tuple(setup.inputs[setup.variables.index(name)].shape) for name in uncertain}
    labels = [label for name in uncertain for label in element_names(name, shapes[name])]
    sigma = _covariance(given, uncertain, labels, correlations, covariance)
    missing = [name for name in uncertain if name not in setup.parsed.variables]
    value_tensor, blocks = jacobians(setup.program, setup.inputs, setup.wrt_indices, setup.dtype, setup.device)
    outputs = value_tensor.numel()
    jacobian = torch.cat([block.reshape(outputs, -1) for block in blocks], dim=1).detach()
    _refuse_non_finite(value_tensor.detach(), jacobian, labels)
    warnings = list(setup.warnings) + [f"{name} has an uncertainty but is not in the expression" for name in missing]
    if k is not None and not (math.isfinite(k) and k > 0):
        raise DerivcliError(f"--k {k}: the coverage factor must be a number above 0", hint="usually --k 2")
    output_covariance = jacobian @ sigma @ jacobian.T
    deviations = torch.sqrt(torch.diagonal(sigma)).tolist()
    result = PropagationResult(
        expression=setup.parsed.canonical, point={name: to_plain(value) for name, value in setup.values.items()},
        uncertainties=dict(zip(labels, deviations)), value=to_plain(value_tensor), uncertainty=0.0, budget=[],
        correlated=bool((sigma - torch.diag(torch.diagonal(sigma))).abs().max() > 0) if len(labels) > 1 else False,
        covariance=sigma.tolist(), parse=setup.parse_info(), warnings=warnings, k=k)
    if value_tensor.dim():  # a tensor-valued f: its elements' uncertainties and covariance
        if monte_carlo is not None:
            raise DerivcliError("--mc works with a number-valued f", hint="propagate one element, e.g. f[0]")
        spread = torch.sqrt(torch.clamp(torch.diagonal(output_covariance), min=0.0)).reshape(value_tensor.shape)
        result.uncertainty, result.output_covariance = to_plain(spread), output_covariance.tolist()
        result.expanded = None if k is None else to_plain(k * spread)
        return result
    g = jacobian[0]
    weighted = sigma @ g
    variance = float(g @ weighted)
    result.uncertainty = u = math.sqrt(max(variance, 0.0))
    result.expanded = None if k is None else k * u
    result.budget = sorted((Contribution(label, value, deviations[i], float(g[i]), float(g[i]) * deviations[i],
                                         float(g[i] * weighted[i]) / variance if variance > 0 else None)
                            for i, (label, value) in enumerate(zip(labels, _flat_values(setup, uncertain)))),
                           key=lambda row: -abs(row.contribution))
    shaped = {name: kind for name, kind in (distributions or {}).items() if kind != "normal"}
    if len(labels) <= MAX_SECOND_ORDER:
        result.second_order = second_order(setup, sigma, g, variance)
        if not result.second_order.trusted:
            result.warnings.append(_untrusted(result.second_order, u))
        if shaped:
            result.warnings.append("the second-order terms assume normal inputs; "
                                   f"{', '.join(shaped)} {'is' if len(shaped) == 1 else 'are'} not")
    else:
        result.warnings.append(f"second order skipped: {len(labels)} uncertain inputs (the limit is "
                               f"{MAX_SECOND_ORDER})")
    if monte_carlo is not None:
        result.monte_carlo = monte_carlo_check(setup, uncertain, values, sigma, dict(distributions or {}), monte_carlo,
                                               coverage, seed, result.value, u)
        result.warnings += monte_carlo_findings(result.monte_carlo)
    return result


def _flat_values(setup: Setup, uncertain: list[str]) -> list[float]:
    """The uncertain inputs' values, element by element (tensors flattened row-major)."""
    return [float(v) for name in uncertain for v in setup.inputs[setup.variables.index(name)].detach().reshape(-1)]


def _covariance(given: Mapping[str, Any], uncertain: list[str], labels: list[str],
                correlations: Sequence[tuple[str, str, float]], covariance: Any) -> torch.Tensor:
    """Σ over the uncertain inputs' elements: from their uncertainties and --corr, or the --cov matrix;
    checked symmetric and positive semi-definite (correlations that contradict each other are not)."""
    import torch

    n = len(labels)
    if covariance is not None:
        if correlations:
            raise DerivcliError("--corr and --cov both give correlations", hint="put them all in the --cov matrix")
        sigma = torch.as_tensor(covariance, dtype=torch.float64)
        if tuple(sigma.shape) != (n, n):
            raise DerivcliError(f"--cov: the matrix has shape {tuple(sigma.shape)}; the bound variables have {n} "
                                f"element{'s' if n > 1 else ''} ({', '.join(labels[:6])}{', …' if n > 6 else ''}), "
                                f"so it must be {n} x {n}",
                                hint="its rows and columns follow the order the variables are bound in")
        if not bool(torch.isfinite(sigma).all()):
            raise DerivcliError("--cov: the matrix has non-finite entries")
        scale = float(sigma.abs().max()) if n else 0.0
        if bool(((sigma - sigma.T).abs() > 1e-12 * scale).any()):
            raise DerivcliError("--cov: the matrix is not symmetric", hint="a covariance matrix is")
        sigma = (sigma + sigma.T) / 2
        for i, label in enumerate(labels):
            if float(sigma[i, i]) < 0:
                raise DerivcliError(f"--cov: the variance of {label} (diagonal entry {i + 1}) is negative")
            measured = given.get(label)
            if isinstance(measured, Measured) and not math.isclose(measured.uncertainty ** 2, float(sigma[i, i]),
                                                                   rel_tol=1e-9, abs_tol=0.0):
                raise DerivcliError(f"--{label}: its uncertainty {measured.uncertainty!r} disagrees with --cov, whose "
                                    f"variance gives {math.sqrt(float(sigma[i, i]))!r}",
                                    hint="give the value alone with --cov")
    else:
        deviations = torch.tensor([given[name].uncertainty for name in uncertain], dtype=torch.float64)
        sigma = torch.diag(deviations**2)
        seen: set[frozenset[str]] = set()
        for a, b, r in correlations:
            for name in (a, b):
                if name not in uncertain:
                    raise DerivcliError(f"--corr {a},{b}={r:g}: {name} has no uncertainty",
                                        hint=f"write --{name} VALUE±U")
            if frozenset((a, b)) in seen:
                raise DerivcliError(f"--corr {a},{b}: given twice")
            seen.add(frozenset((a, b)))
            i, j = uncertain.index(a), uncertain.index(b)
            sigma[i, j] = sigma[j, i] = r * deviations[i] * deviations[j]
    if n:
        eigenvalues = torch.linalg.eigvalsh(sigma)
        if float(eigenvalues[0]) < -1e-10 * max(float(eigenvalues[-1]), 1e-300):
            raise DerivcliError("the correlations contradict each other: the covariance matrix has a negative "
                                f"eigenvalue ({float(eigenvalues[0]):.3g})",
                                hint="no set of inputs can be correlated that way; check the coefficients")
    return sigma


def _refuse_non_finite(value: torch.Tensor, jacobian: torch.Tensor, labels: list[str]) -> None:
    """A NaN or infinite y or ∂f/∂xᵢ gives no uncertainty: an error, never a NaN budget."""
    import torch

    if not bool(torch.isfinite(value).all()):
        raise DerivcliError(f"f is {float(value.reshape(-1)[~torch.isfinite(value.reshape(-1))][0])} at this point, "
                            "so it has no uncertainty", hint="see 'derivcli grad' for where it leaves its domain")
    bad = (~torch.isfinite(jacobian)).any(dim=0).nonzero().reshape(-1).tolist()
    if bad:
        slope = float(jacobian[:, bad[0]][~torch.isfinite(jacobian[:, bad[0]])][0])
        raise DerivcliError(f"∂f/∂{labels[bad[0]]} is {slope} at this point: the law of propagation needs a finite "
                            "derivative", hint="see 'derivcli grad' for where f is not differentiable")


def second_order(setup: Setup, sigma: torch.Tensor, g: torch.Tensor, variance: float) -> SecondOrder:
    """½·tr((HΣ)²) and (Σg)ᵀ·∇tr(HΣ) by nested autograd: the Hessian's rows with their graphs, their
    Σ-weighted sum tr(HΣ), and its gradient (one more backward pass)."""
    import torch

    from ..differentiate.autograd import scalar_output
    from ..differentiate.higher import symmetric

    plain = [value.detach() for value in setup.inputs]
    leaf = torch.cat([plain[i].reshape(-1) for i in setup.wrt_indices]).requires_grad_(True)
    values = list(plain)
    pieces = torch.split(leaf, [plain[i].numel() for i in setup.wrt_indices])
    for index, piece in zip(setup.wrt_indices, pieces):
        values[index] = piece.reshape(plain[index].shape)
    f = scalar_output(setup.program(values, dtype=setup.dtype, device=setup.device))
    n = leaf.numel()
    rows = [torch.zeros(n, dtype=leaf.dtype) for _ in range(n)]
    trace: Any = 0.0
    if f.requires_grad:
        (gradient,) = torch.autograd.grad(f, leaf, create_graph=True)
        for j in range(n):
            if gradient.requires_grad:
                (rows[j],) = torch.autograd.grad(gradient[j], leaf, create_graph=True, allow_unused=True,
                                                 materialize_grads=True)
                trace = trace + (sigma[j] * rows[j]).sum()
    third = 0.0
    if isinstance(trace, torch.Tensor) and trace.requires_grad:
        (slope,) = torch.autograd.grad(trace, leaf, allow_unused=True, materialize_grads=True)
        third = float((sigma @ g) @ slope)
    hessian = symmetric(torch.stack([row.detach() for row in rows]))
    product = hessian @ sigma
    hessian_term = 0.5 * float((product * product.T).sum())
    total = variance + hessian_term + third
    u_first, u_second = math.sqrt(max(variance, 0.0)), math.sqrt(total) if total >= 0 else math.nan
    if u_first > 0:
        change = u_second / u_first - 1
    else:
        change = 0.0 if u_second == 0 else math.inf
    return SecondOrder(u_second, hessian_term, third, change, math.isfinite(change) and abs(change) <= TRUSTED_CHANGE)


def _untrusted(second: SecondOrder, u: float) -> str:
    if math.isnan(second.uncertainty):
        return ("the second-order terms make the variance negative: first order is not to be trusted here "
                "(check with --mc N)")
    change = "from 0" if math.isinf(second.change) else f"by {second.change:+.0%}"
    return (f"the second-order terms change the uncertainty {change} ({u:.3g} → {second.uncertainty:.3g}): first "
            "order is not to be trusted here (check with --mc N)")


# The wire contract of this module's to_json: tests/schema_build.py gathers every module's into
# derivcli/schemas/derivcli.schema.json (its $defs; JSON_OUTPUTS also join its root).
JSON_SCHEMA = {
    "propagate_budget_row": {
        "type": "object", "required": ["name", "value", "uncertainty", "sensitivity", "contribution", "share"],
        "properties": {
            "name": {"type": "string"}, "value": {"$ref": "#/$defs/number"}, "uncertainty": {"$ref": "#/$defs/number"},
            "sensitivity": {"$ref": "#/$defs/number"}, "contribution": {"$ref": "#/$defs/number"},
            "share": {"oneOf": [{"$ref": "#/$defs/number"}, {"type": "null"}]},
        },
        "additionalProperties": False,
    },
    "propagate_second_order": {
        "type": "object",
        "required": ["uncertainty", "hessian_term", "third_derivative_term", "change", "first_order_trusted"],
        "properties": {
            "uncertainty": {"$ref": "#/$defs/number"}, "hessian_term": {"$ref": "#/$defs/number"},
            "third_derivative_term": {"$ref": "#/$defs/number"}, "change": {"$ref": "#/$defs/number"},
            "first_order_trusted": {"type": "boolean"},
        },
        "additionalProperties": False,
    },
    "propagate": {
        "type": "object",
        "required": [
            "expression", "point", "uncertainties", "value", "uncertainty", "rounded", "budget", "correlated",
            "covariance", "k", "expanded", "output_covariance", "second_order", "monte_carlo", "warnings",
        ],
        "properties": {
            "expression": {"type": "string"}, "point": {"$ref": "#/$defs/by_name"},
            "uncertainties": {"type": "object", "additionalProperties": {"$ref": "#/$defs/number"}},
            "value": {"$ref": "#/$defs/tensor"}, "uncertainty": {"$ref": "#/$defs/tensor"},
            "rounded": {"oneOf": [{"type": "string"}, {"type": "array"}]},
            "budget": {"type": "array", "items": {"$ref": "#/$defs/propagate_budget_row"}},
            "correlated": {"type": "boolean"},
            "covariance": {
                "oneOf": [
                    {"type": "null"},
                    {"type": "array", "items": {"type": "array", "items": {"$ref": "#/$defs/number"}}},
                ],
            },
            "k": {"oneOf": [{"type": "number"}, {"type": "null"}]},
            "expanded": {"oneOf": [{"$ref": "#/$defs/tensor"}, {"type": "null"}]},
            "output_covariance": {
                "oneOf": [
                    {"type": "null"},
                    {"type": "array", "items": {"type": "array", "items": {"$ref": "#/$defs/number"}}},
                ],
            },
            "second_order": {"oneOf": [{"$ref": "#/$defs/propagate_second_order"}, {"type": "null"}]},
            "monte_carlo": {"oneOf": [{"$ref": "#/$defs/propagate_monte_carlo"}, {"type": "null"}]},
            "warnings": {"$ref": "#/$defs/warnings"}, "parse": {"type": "object"},
        },
        "additionalProperties": False,
    },
}
JSON_OUTPUTS = ("propagate",)
