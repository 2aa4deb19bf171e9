"""Results at a point: `grad`, `jacobian` and `hessian`, with what their checks found."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .checks import DifferenceTable, MatrixCheck, SymbolicCheck
from .common import Number, ParseInfo, at_point, learner_checks, to_plain


@dataclass
class GradResult:
    expression: str
    point: dict[str, Number]
    dtype: str
    device: str
    value: float
    gradient: dict[str, Number]
    parse: ParseInfo
    warnings: list[str] = field(default_factory=list)
    check: SymbolicCheck | None = None
    finite_differences: DifferenceTable | None = None
    diagnosis: list[Any] = field(default_factory=list)  # diagnosis.Diagnosis, where a result is not finite
    nondifferentiable: list[Any] | None = None  # kinks.Kink, looked for with --check or --fd
    expect: Any = None  # learn.expect.ExpectVerdict, with --expect
    exact: Any = None  # learn.exact.ExactValues, with --exact

    @property
    def failed(self) -> bool:
        """A requested check failed: --check (a number off its truth), --fd (clearly, at a smooth point),
        or --expect."""
        return (self.check is not None and self.check.failed) or (
            self.finite_differences is not None and self.finite_differences.agree is False) or (
            self.expect is not None and not self.expect.agree)

    def to_json(self, explain_parse: bool = False) -> dict[str, Any]:
        return at_point(self, explain_parse, value=self.value, gradient=dict(self.gradient),
                        **_verdicts(self), **learner_checks(self))


def _verdicts(result: Any) -> dict[str, Any]:
    """The JSON of what a result at a point found out: kinks, non-finite diagnoses, the check and the
    finite differences, each where it was looked for."""
    extra: dict[str, Any] = {}
    if result.nondifferentiable is not None:
        extra["nondifferentiable"] = [kink.to_json() for kink in result.nondifferentiable]
    if result.diagnosis:
        extra["diagnosis"] = [item.to_json() for item in result.diagnosis]
    if result.check is not None:
        extra["check"] = result.check.to_json()
    if result.finite_differences is not None:
        extra["finite_differences"] = result.finite_differences.to_json()
    return extra


def _matrix_failed(result: Any) -> bool:
    """A Jacobian's or Hessian's check disagreed where f is differentiable (at a kink, entries have
    nothing to agree on)."""
    return not result.nondifferentiable and any(
        check is not None and check.agree is False for check in (result.check, result.finite_differences))


@dataclass
class JacobianResult:
    expression: str
    point: dict[str, Number]
    dtype: str
    device: str
    value: Number
    output_shape: list[int]
    jacobian: dict[str, Number]  # shape: output shape + the variable's shape
    variable_shapes: dict[str, list[int]]
    parse: ParseInfo
    warnings: list[str] = field(default_factory=list)
    check: MatrixCheck | None = None
    finite_differences: MatrixCheck | None = None
    diagnosis: list[Any] = field(default_factory=list)
    nondifferentiable: list[Any] | None = None  # kinks.Kink (with the output element), with --check or --fd

    @property
    def failed(self) -> bool:
        return _matrix_failed(self)

    def to_json(self, explain_parse: bool = False) -> dict[str, Any]:
        return at_point(self, explain_parse, value=self.value, jacobian=dict(self.jacobian),
                        **_verdicts(self))


@dataclass
class HessianResult:
    expression: str
    point: dict[str, Number]
    dtype: str
    variables: list[str]  # tensor variables expanded as x[0], x[1], …
    value: float
    gradient: list[float]
    hessian: list[list[float]]
    eigenvalues: list[float]
    verdict: str  # what the eigenvalues say at this point
    parse: ParseInfo
    warnings: list[str] = field(default_factory=list)
    check: MatrixCheck | None = None
    finite_differences: MatrixCheck | None = None
    diagnosis: list[Any] = field(default_factory=list)
    nondifferentiable: list[Any] | None = None  # kinks.Kink, looked for with --check or --fd

    @property
    def failed(self) -> bool:
        return _matrix_failed(self)

    def gradient_by_variable(self) -> dict[str, Number]:
        """The gradient as `grad` gives it, {name: value}, tensor variables in their own shape."""
        import torch

        flat, by_name = list(self.gradient), {}
        for name in dict.fromkeys(label.partition("[")[0] for label in self.variables):
            shape = torch.as_tensor(self.point[name]).shape
            count = shape.numel()
            by_name[name] = to_plain(torch.tensor(flat[:count], dtype=torch.float64).reshape(shape))
            del flat[:count]
        return by_name

    def to_json(self, explain_parse: bool = False) -> dict[str, Any]:
        return at_point(self, explain_parse, variables=self.variables, value=self.value,
                        gradient=self.gradient_by_variable(), hessian=self.hessian,
                        eigenvalues=self.eigenvalues, verdict=self.verdict, **_verdicts(self))


# The wire contract of this module's to_json: tests/schema_build.py gathers every module's into
# derivcli/schemas/derivcli.schema.json (its $defs; JSON_OUTPUTS also join its root).
JSON_SCHEMA = {
    "grad": {
        "allOf": [{"$ref": "#/$defs/at_point"}], "required": ["value", "gradient"],
        "properties": {
            "value": {"$ref": "#/$defs/number"}, "gradient": {"$ref": "#/$defs/by_name"},
            "check": {"$ref": "#/$defs/check"}, "finite_differences": {"$ref": "#/$defs/finite_differences"},
            "expect": {"$ref": "#/$defs/expect"}, "exact": {"$ref": "#/$defs/exact"},
        },
    },
    "jacobian": {
        "allOf": [{"$ref": "#/$defs/at_point"}], "required": ["value", "jacobian"],
        "properties": {
            "value": {"$ref": "#/$defs/tensor"}, "jacobian": {"$ref": "#/$defs/by_name"},
            "check": {"$ref": "#/$defs/matrix_check"}, "finite_differences": {"$ref": "#/$defs/matrix_check"},
        },
    },
    "hessian": {
        "allOf": [{"$ref": "#/$defs/at_point"}],
        "required": ["variables", "value", "gradient", "hessian", "eigenvalues", "verdict"],
        "properties": {
            "variables": {"type": "array", "items": {"type": "string"}}, "value": {"$ref": "#/$defs/number"},
            "gradient": {"$ref": "#/$defs/by_name"},
            "hessian": {"type": "array", "items": {"type": "array", "items": {"$ref": "#/$defs/number"}}},
            "eigenvalues": {"type": "array", "items": {"$ref": "#/$defs/number"}}, "verdict": {"type": "string"},
            "check": {"$ref": "#/$defs/matrix_check"}, "finite_differences": {"$ref": "#/$defs/matrix_check"},
        },
    },
}
JSON_OUTPUTS = ("grad", "jacobian", "hessian")
