"""Results about the formula: `diff` (a derivative's formula, valued at a point where one is given)
and `taylor` (the coefficients of a series)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .common import Number, ParseInfo, learner_checks


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


# The wire contract of this module's to_json: tests/schema_build.py gathers every module's into
# derivcli/schemas/derivcli.schema.json (its $defs; JSON_OUTPUTS also join its root).
JSON_SCHEMA = {
    "diff": {
        "type": "object", "required": ["expression", "wrt", "order", "derivative", "latex", "notes", "warnings"],
        "properties": {
            "expression": {"type": "string"}, "wrt": {"type": "array", "items": {"type": "string"}},
            "order": {"type": "integer"}, "derivative": {"type": ["string", "null"]},
            "latex": {"type": ["string", "null"]}, "notes": {"type": "array", "items": {"type": "string"}},
            "warnings": {"$ref": "#/$defs/warnings"}, "point": {"$ref": "#/$defs/by_name"},
            "value": {"oneOf": [{"$ref": "#/$defs/number"}, {"type": "null"}]},
            "derivative_value": {"oneOf": [{"$ref": "#/$defs/number"}, {"type": "null"}]},
            "forms": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
            "expect": {"$ref": "#/$defs/expect"}, "exact": {"$ref": "#/$defs/exact"},
        },
    },
    "taylor": {
        "type": "object",
        "required": ["expression", "variable", "around", "point", "order", "coefficients", "polynomial", "warnings"],
        "properties": {
            "point": {"$ref": "#/$defs/by_name"}, "around": {"$ref": "#/$defs/number"},
            "coefficients": {"type": "array", "items": {"$ref": "#/$defs/number"}},
            "sympy_coefficients": {"oneOf": [{"type": "array", "items": {"$ref": "#/$defs/number"}}, {"type": "null"}]},
            "exact_coefficients": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]},
            "polynomial": {"type": "string"},
            "singularity": {
                "type": "object", "required": ["kind", "series", "statement"],
                "properties": {
                    "kind": {"enum": ["removable", "pole", "branch point", "not smooth", "other"]},
                    "series": {"type": "string"}, "statement": {"type": "string"},
                },
            },
            "warnings": {"$ref": "#/$defs/warnings"},
        },
    },
}
JSON_OUTPUTS = ("diff", "taylor")
