"""The verdicts of --check and --fd: SymPy's 30-digit truth against autograd, the finite-difference
table, and the entry-wise checks of a Jacobian or Hessian."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .common import Number

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


# The wire contract of this module's to_json: tests/schema_build.py gathers every module's into
# derivcli/schemas/derivcli.schema.json (its $defs; JSON_OUTPUTS also join its root).
JSON_SCHEMA = {
    "check": {
        "oneOf": [
            {
                "type": "object", "required": ["skipped", "agree"], "additionalProperties": False,
                "properties": {"skipped": {"type": "string"}, "agree": {"type": "null"}},
            },
            {
                "type": "object",
                "required": [
                    "derivatives", "gradient", "verdicts", "reference", "reference_error", "closest", "value_reference",
                    "value_verdict", "cause", "agree",
                ],
                "properties": {
                    "verdicts": {"type": "object", "additionalProperties": {"$ref": "#/$defs/verdict"}},
                    "reference": {"$ref": "#/$defs/by_name"},
                    "value_reference": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/number"}]},
                    "value_verdict": {"$ref": "#/$defs/verdict"},
                    "cause": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/precision_loss"}]},
                    "agree": {
                        "type": ["boolean", "null"],
                        "description": (
                            "true where every derivative agrees (a kink's variable left out, and warned), false where "
                            "a number fails, null where there is nothing to compare"
                        ),
                    },
                },
            },
        ],
    },
    "fd_verdict": {
        "type": "object",
        "required": ["agree", "verdict", "best_h", "error", "expected_error", "plateau", "estimate", "method"],
        "additionalProperties": False,
        "properties": {
            "agree": {"type": ["boolean", "null"]},
            "verdict": {"enum": ["agree", "DISAGREE", "non-finite", "kink", "not finite"]},
            "best_h": {"$ref": "#/$defs/number"}, "error": {"$ref": "#/$defs/number"},
            "expected_error": {"$ref": "#/$defs/number"},
            "plateau": {
                "oneOf": [
                    {"type": "null"}, {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
                ],
            },
            "estimate": {"$ref": "#/$defs/number"}, "method": {"enum": ["central", "richardson"]},
        },
    },
    "finite_differences": {
        "type": "object", "required": ["rows", "verdicts", "agree"],
        "properties": {
            "agree": {"type": ["boolean", "null"]},
            "verdicts": {"type": "object", "additionalProperties": {"$ref": "#/$defs/fd_verdict"}},
        },
    },
    "matrix_check": {
        "oneOf": [
            {
                "type": "object", "required": ["method", "skipped", "agree"], "additionalProperties": False,
                "properties": {"method": {"type": "string"}, "skipped": {"type": "string"}, "agree": {"type": "null"}},
            },
            {
                "type": "object",
                "required": ["method", "values", "max_abs_error", "tolerance", "verdict", "cause", "agree"],
                "additionalProperties": False,
                "properties": {
                    "method": {"enum": ["symbolic", "finite differences"]}, "values": {"$ref": "#/$defs/by_name"},
                    "max_abs_error": {"$ref": "#/$defs/number"},
                    "tolerance": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/number"}]},
                    "verdict": {"enum": ["agree", "DISAGREE", "inaccurate", "non-finite", "undefined"]},
                    "cause": {"type": ["string", "null"]}, "agree": {"type": ["boolean", "null"]},
                },
            },
        ],
    },
}
