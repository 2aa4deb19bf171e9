"""Results as plain dataclasses: what the core computed, nothing about how it is shown.

`to_json()` is the output contract (derivcli/schemas/derivcli.schema.json); scripts depend on its keys.
Non-finite numbers are the strings "NaN", "Infinity" and "-Infinity" in JSON (`wire.dumps`) and are named
in `warnings`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
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


FAILING = ("DISAGREE", "non-finite", "inaccurate")  # verdicts that fail a check (exit 1); see checks.judge
SEVERITY = ("agree", "kink", "undefined", "inaccurate", "non-finite", "DISAGREE")


def worst(verdicts: list[str]) -> str:
    """The verdict on several numbers (a tensor's elements, a matrix's entries): the most severe one."""
    return max(verdicts, key=SEVERITY.index, default="agree")


@dataclass
class SymbolicCheck:
    """SymPy's derivative, lowered by the same lowering, against autograd, per variable, each judged
    against the 30-digit truth (`checks.judge`)."""

    derivatives: dict[str, Any]  # formula, or nested lists of formulas for a tensor variable
    gradient: dict[str, Number]
    abs_error: dict[str, float]  # the largest over a tensor's elements
    rel_error: dict[str, float]
    verdict_by_variable: dict[str, str]  # agree, DISAGREE, inaccurate, non-finite or undefined (the worst element)
    rtol: float
    atol: float
    skipped: str | None = None  # why the symbolic check did not run (its derivative would be too large)
    kinks: list[str] = field(default_factory=list)  # variables at a kink: no derivative to agree on
    undefined: bool = False  # f is not finite at the point, in fact: there is no derivative to agree on
    reference: dict[str, Number] = field(default_factory=dict)  # SymPy's derivative at 30 digits, as floats
    reference_error: dict[str, dict[str, float | None]] = field(default_factory=dict)  # by method, relative
    closest: dict[str, str] = field(default_factory=dict)  # autograd, symbolic or finite_difference
    pretty: dict[str, str] = field(default_factory=dict)  # a scalar's derivative in 2-D form (not in JSON)
    value_reference: float | None = None  # f at 30 digits (None: f is not defined here)
    value_verdict: str = "agree"  # f's value against it, judged as the derivatives are
    cause: Any = None  # diagnosis.PrecisionLoss: the step where precision is lost, where a number fails
    findings: list[str] = field(default_factory=list)  # one line per failing number, for the warnings

    @property
    def max_abs_error(self) -> float:
        finite = [e for e in self.abs_error.values() if not math.isnan(e)]
        return max(finite, default=0.0)

    @property
    def failed(self) -> bool:
        """A number is off its truth: a derivative (away from a kink), or f's value."""
        return self.value_verdict in FAILING or any(self.verdict(name) in FAILING for name in self.verdict_by_variable)

    @property
    def agree(self) -> bool | None:
        """True where every derivative agrees with its truth (a kink has none: its variable is left
        out, and said), False where a number fails, None where there is nothing to compare (f is not
        defined here, or a derivative is not finite in fact) or the check was skipped."""
        if self.failed:
            return False
        if self.skipped is not None or self.undefined or any(
                self.verdict(name) == "undefined" for name in self.verdict_by_variable):
            return None
        return True

    @property
    def overall(self) -> str:
        """One word for the whole check: the most severe verdict of the value and the derivatives."""
        if self.skipped is not None:
            return "skipped"
        return worst([self.value_verdict] + [self.verdict(name) for name in self.verdict_by_variable
                                             if name not in self.kinks])

    def verdict(self, name: str) -> str:
        if self.undefined:
            return "undefined"
        return "kink" if name in self.kinks else self.verdict_by_variable[name]

    def to_json(self) -> dict[str, Any]:
        if self.skipped is not None:
            return {"skipped": self.skipped, "agree": None}
        return {
            "derivatives": self.derivatives,
            "gradient": dict(self.gradient),
            "abs_error": dict(self.abs_error),
            "rel_error": dict(self.rel_error),
            "max_abs_error": self.max_abs_error,
            "tolerance": {"rtol": self.rtol, "atol": self.atol},
            "verdicts": {name: self.verdict(name) for name in self.verdict_by_variable},
            "reference": dict(self.reference),
            "reference_error": {name: {method: error
                                       for method, error in errors.items()}
                                for name, errors in self.reference_error.items()},
            "closest": self.closest,
            "value_reference": self.value_reference,
            "value_verdict": self.value_verdict,
            "cause": None if self.cause is None else self.cause.to_json(),
            "agree": self.agree,
        }


@dataclass
class DifferenceRow:
    """One step size: forward and central difference quotients per variable, their errors against
    autograd, and which error dominates (truncation for large h, round-off for small h)."""

    h: float
    forward: dict[str, float]
    central: dict[str, float]
    forward_error: dict[str, float]
    central_error: dict[str, float]
    regime: dict[str, dict[str, str]]  # {"forward": {name: "truncation" | "round-off"}, "central": …}
    backward: dict[str, float] = field(default_factory=dict)  # (f(x) - f(x - h))/h: at a kink, the left side
    backward_error: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "h": self.h,
            "forward": dict(self.forward),
            "backward": dict(self.backward),
            "central": dict(self.central),
            "forward_error": dict(self.forward_error),
            "backward_error": dict(self.backward_error),
            "central_error": dict(self.central_error),
            "regime": self.regime,
        }


@dataclass
class FdVerdict:
    """The finite differences' verdict on one variable: judged on the plateau where the central
    differences agree with each other, at the step the theory trusts most there."""

    agree: bool | None  # None: at a kink, or where nothing is finite, there is nothing to agree on
    best_h: float  # the step judged
    error: float  # |estimate - autograd|
    expected_error: float  # what the theory (truncation plus round-off) allows at that step
    verdict: str  # agree, DISAGREE, non-finite (autograd is not, the differences are), kink, not finite
    plateau: tuple[float, float] | None = None  # its largest and smallest step (None: no two steps agree)
    estimate: float = math.nan  # the derivative the differences give
    method: str = "central"  # central, or richardson (extrapolated with the next larger step)

    def to_json(self) -> dict[str, Any]:
        return {"agree": self.agree, "verdict": self.verdict, "best_h": self.best_h,
                "error": self.error, "expected_error": self.expected_error,
                "plateau": None if self.plateau is None else list(self.plateau),
                "estimate": self.estimate, "method": self.method}


@dataclass
class DifferenceTable:
    rows: list[DifferenceRow]
    best_h: dict[str, dict[str, float]]  # {"forward": {name: h}, "central": {name: h}}
    theoretical_h: dict[str, dict[str, float]]
    epsilon: float
    autograd: dict[str, float]  # what the quotients approximate: f' (scalars) or gradient·direction
    directions: dict[str, Number] = field(default_factory=dict)  # unit direction per tensor variable
    verdicts: dict[str, FdVerdict] = field(default_factory=dict)

    @property
    def agree(self) -> bool | None:
        """False when the differences clearly disagree with autograd (or autograd is not finite where
        they are) at a point where f is smooth; None where, for some variable, nothing is finite; else
        True (a kink is said on its own, as the check does)."""
        verdicts = [verdict.verdict for verdict in self.verdicts.values()]
        if any(verdict.agree is False for verdict in self.verdicts.values()):
            return False
        return None if "not finite" in verdicts else True

    def to_json(self) -> dict[str, Any]:
        data = {
            "rows": [row.to_json() for row in self.rows],
            "best_h": self.best_h,
            "theoretical_h": self.theoretical_h,
            "epsilon": self.epsilon,
            "autograd": dict(self.autograd),
            "agree": self.agree,
            "verdicts": {name: verdict.to_json() for name, verdict in self.verdicts.items()},
        }
        if self.directions:
            data["directions"] = self.directions
        return data


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


@dataclass
class MatrixCheck:
    """Every entry of a Jacobian or Hessian against SymPy's derivatives or central differences."""

    method: str  # "symbolic" or "finite differences"
    values: dict[str, Any]  # the estimates, in the result's shapes ({"hessian": matrix} for a Hessian)
    max_abs_error: float
    agree: bool | None  # True only where every entry agrees; None: skipped, or nothing finite to compare
    skipped: str | None = None
    tolerance: float | None = None  # the differences' allowance (the symbolic check uses grad's rule)
    verdict: str | None = None  # the worst entry's: agree, DISAGREE, inaccurate, non-finite, undefined
    cause: str | None = None  # where f loses the precision a failing entry shows, where that is found

    @classmethod
    def judged(cls, method: str, values: dict[str, Any], largest: float, verdict: str, **extra: Any) -> MatrixCheck:
        agree = False if verdict in FAILING else True if verdict == "agree" else None
        return cls(method, values, largest, agree, verdict=verdict, **extra)

    def message(self, what: str) -> str | None:
        """The warning for a failing check of `what` (a Jacobian, a Hessian), else None."""
        if self.verdict not in FAILING:
            return None
        against = "their 30-digit values" if self.method == "symbolic" else "central differences"
        return (f"{self.verdict}: entries of the {what} are off {against}"
                + ("" if self.cause is None else f": {self.cause}"))

    def to_json(self) -> dict[str, Any]:
        if self.skipped is not None:
            return {"method": self.method, "skipped": self.skipped, "agree": None}
        return {"method": self.method, "values": dict(self.values), "max_abs_error": self.max_abs_error,
                "tolerance": self.tolerance, "verdict": self.verdict, "cause": self.cause, "agree": self.agree}


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


@dataclass
class DiffResult:
    expression: str
    wrt: list[str]  # one entry per differentiation: ["x", "x", "x"] or ["x", "y"]
    derivative: str | None  # SymPy's formula (None when too large or skipped, see notes)
    latex: str | None
    parse: ParseInfo
    notes: list[str] = field(default_factory=list)
    point: dict[str, Number] | None = None
    dtype: str = "float64"
    value: float | None = None
    derivative_value: float | None = None
    method: str | None = None  # how derivative_value was computed
    formula_value: float | None = None  # the lowered formula at the point
    agree: bool | None = None
    warnings: list[str] = field(default_factory=list)
    expect: Any = None  # learn.expect.ExpectVerdict, with --expect
    exact: Any = None  # learn.exact.ExactValues, with --exact
    forms: dict[str, str | None] | None = None  # with --forms: name -> the derivative in that form
    pretty: str | None = None  # the derivative in SymPy's 2-D Unicode form, for a terminal (not in JSON)

    @property
    def order(self) -> int:
        return len(self.wrt)

    @property
    def failed(self) -> bool:
        """The formula disagreed with torch at the point, or --expect with the derivative."""
        return self.agree is False or (self.expect is not None and not self.expect.agree)

    def to_json(self, explain_parse: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "expression": self.expression,
            "wrt": self.wrt,
            "order": self.order,
            "derivative": self.derivative,
            "latex": self.latex,
            "notes": self.notes,
            "warnings": self.warnings,
        }
        if self.point is not None:
            data.update({
                "point": dict(self.point),
                "dtype": self.dtype,
                "value": self.value,
                "derivative_value": self.derivative_value,
                "method": self.method,
                "check": None if self.formula_value is None else
                {"formula_value": self.formula_value, "agree": self.agree},
            })
        data.update(learner_checks(self))
        if self.forms is not None:
            data["forms"] = self.forms
        if explain_parse:
            data["parse"] = self.parse.to_json()
        return data


@dataclass
class TaylorResult:
    expression: str
    variable: str
    around: float
    point: dict[str, Number]
    order: int
    coefficients: list[float]  # c_k = f^(k)(a) / k!, from torch
    method: str
    sympy_coefficients: list[float] | None
    polynomial: str
    parse: ParseInfo
    agree: bool | None = None
    exact_coefficients: list[str] | None = None  # SymPy's, where all are exact numbers
    pretty: str | None = None  # the polynomial in SymPy's 2-D Unicode form, for a terminal (not in JSON)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    singularity: dict[str, str] | None = None  # {kind, series, statement}: a removable one, or no Taylor series

    def to_json(self, explain_parse: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "expression": self.expression,
            "variable": self.variable,
            "around": self.around,
            "point": dict(self.point),
            "order": self.order,
            "coefficients": self.coefficients,
            "method": self.method,
            "sympy_coefficients": self.sympy_coefficients,
            "exact_coefficients": self.exact_coefficients,
            "agree": self.agree,
            "polynomial": self.polynomial,
            "notes": self.notes,
            "warnings": self.warnings,
        }
        if self.singularity is not None:
            data["singularity"] = self.singularity
        if explain_parse:
            data["parse"] = self.parse.to_json()
        return data
