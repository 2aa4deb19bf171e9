"""What `derivcli analyze` found, as the views print it and `--json` carries it.  Every text is made
here once (`text` plain and one line, `pretty` in a textbook's notation for a terminal); the views only
place them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..results import ParseInfo


@dataclass
class Spot:
    """A point on the x axis: its value, its text (exact where SymPy gave it), and whether it is exact."""

    x: float
    text: str
    pretty: str
    exact: bool
    expr: Any = None  # SymPy's exact form (not in JSON)

    def to_json(self) -> dict[str, Any]:
        return {"x": self.x, "text": self.text, "exact": self.exact}


@dataclass
class Amount:
    """f's value somewhere: the float, and its exact form (plain, textbook) where SymPy gave one that checks."""

    value: float
    text: str | None = None
    pretty: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "value_text": self.text}


@dataclass
class Span:
    """An interval of x; `closed` says which ends belong to it."""

    start: Spot
    end: Spot
    closed: tuple[bool, bool] = (False, False)

    @property
    def text(self) -> str:
        return f"{'[' if self.closed[0] else '('}{self.start.text}, {self.end.text}{']' if self.closed[1] else ')'}"

    @property
    def pretty(self) -> str:
        return f"{'[' if self.closed[0] else '('}{self.start.pretty}, {self.end.pretty}{']' if self.closed[1] else ')'}"

    def to_json(self) -> dict[str, Any]:
        return {"from": self.start.x, "to": self.end.x, "from_text": self.start.text, "to_text": self.end.text,
                "closed": list(self.closed), "text": self.text}


@dataclass
class Critical:
    """A critical point: f′ = 0 there (`derivative` 'zero') or f′ does not exist ('undefined'); its kind by
    the first-derivative test (f′'s signs on either side), and the second-derivative test where f″ decides."""

    at: Spot
    kind: str  # minimum, maximum, neither
    value: Amount  # f there
    derivative: str  # zero, undefined
    signs: tuple[str | None, str | None]  # f′'s sign on the left and on the right
    second: float | None = None  # f″ there (f′ = 0 only)
    second_test: str | None = None  # minimum, maximum, inconclusive

    def to_json(self) -> dict[str, Any]:
        return {**self.at.to_json(), "kind": self.kind, **self.value.to_json(),
                "derivative": self.derivative, "first_test": {"left": self.signs[0], "right": self.signs[1]},
                "second_derivative": self.second, "second_test": self.second_test}


@dataclass
class Unsmooth:
    """Where f is defined but f′ does not exist: a corner, a cusp, a vertical tangent, or a jump; with the
    one-sided slopes (±inf where f′ grows without bound; None on a side where f is not defined) and f there
    (where a plot marks it)."""

    at: Spot
    kind: str
    left: float | None
    right: float | None
    value: Amount

    def to_json(self) -> dict[str, Any]:
        return {**self.at.to_json(), "kind": self.kind, "left": self.left, "right": self.right,
                **self.value.to_json()}


@dataclass
class Inflection:
    at: Spot
    value: Amount
    concavity: tuple[str, str]  # f″'s sign on the left and on the right

    def to_json(self) -> dict[str, Any]:
        return {**self.at.to_json(), **self.value.to_json(),
                "concavity": {"left": self.concavity[0], "right": self.concavity[1]}}


@dataclass
class Chart:
    """The sign chart of f′ or f″: the points, and between each two the sign ('+', '-', '0', or None where f
    is not defined)."""

    of: str
    points: list[Spot]
    signs: list[str | None]

    def line(self, pretty: bool = False) -> str:
        """`-2 +++ 0 --- 1 --- 3` (a stretch where f is not defined: `(undefined)`)."""
        marks = {"+": "+++", "-": "---", "0": "000", None: "(undefined)"}

        def shown(point: Spot) -> str:
            text = point.pretty if pretty else point.text
            return f"({text})" if " " in text else text  # 1 - sqrt(2) between signs: one point

        words = [shown(self.points[0])]
        for sign, point in zip(self.signs, self.points[1:]):
            words += [marks[sign], shown(point)]
        return " ".join(words)

    def to_json(self) -> dict[str, Any]:
        return {"of": self.of, "points": [point.to_json() for point in self.points], "signs": self.signs,
                "text": self.line()}


@dataclass
class Asymptote:
    """x = a (vertical, with f's limits from each side), or y = m·x + b at +∞ or -∞ (horizontal: m = 0)."""

    kind: str  # vertical, horizontal, oblique
    text: str  # the line: x = 2, y = 1, y = x + 1
    pretty: str
    side: str  # vertical: where (the point's text); else "+inf", "-inf" or "both"
    at: float | None = None
    slope: float | None = None
    intercept: float | None = None
    limits: tuple[float | None, float | None] | None = None  # vertical: f's limits from the left, the right

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "equation": self.text, "side": self.side}
        if self.kind == "vertical":
            data.update(at=self.at, left=self.limits[0] if self.limits else None,
                        right=self.limits[1] if self.limits else None)
        else:
            data.update(slope=self.slope, intercept=self.intercept)
        return data


@dataclass
class Extreme:
    """The global maximum or minimum on the interval: its value and every point that attains it, or why
    there is none."""

    points: list[Spot]
    value: Amount | None
    why_not: str | None = None

    def to_json(self) -> dict[str, Any]:
        value = self.value.to_json() if self.value is not None else {"value": None, "value_text": None}
        return {"at": [point.to_json() for point in self.points], **value, "why_not": self.why_not}


@dataclass
class Tangent:
    """At x = a: f(a), f′(a), the tangent and normal lines, and the linear approximation's error at a + 0.1."""

    at: Spot
    value: float
    slope: float
    tangent: str
    normal: str
    near: float  # a + 0.1
    actual: float  # f(a + 0.1)
    approximation: float  # L(a + 0.1)
    tangent_pretty: str = ""
    normal_pretty: str = ""

    @property
    def error(self) -> float:
        return self.actual - self.approximation

    def to_json(self) -> dict[str, Any]:
        return {**self.at.to_json(), "value": self.value, "slope": self.slope, "tangent": self.tangent,
                "normal": self.normal, "approximation": {"at": self.near, "f": self.actual,
                                                         "linear": self.approximation, "error": self.error}}


@dataclass
class AnalysisResult:
    expression: str
    pretty: str  # the expression in a textbook's notation
    variable: str
    interval: Span
    default_interval: bool
    domain: list[Span]
    domain_exact: bool
    zeros: list[Spot]
    y_intercept: Amount | None  # f(0), where 0 is in the domain
    critical_points: list[Critical]
    nondifferentiable: list[Unsmooth]
    inflection_points: list[Inflection]
    charts: list[Chart]
    increasing: list[Span]
    decreasing: list[Span]
    concave_up: list[Span]
    concave_down: list[Span]
    asymptotes: list[Asymptote]
    maximum: Extreme
    minimum: Extreme
    parse: ParseInfo
    tangent: Tangent | None = None
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self, explain_parse: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "expression": self.expression, "variable": self.variable,
            "interval": {**self.interval.to_json(), "default": self.default_interval},
            "domain": [span.to_json() for span in self.domain], "domain_exact": self.domain_exact,
            "zeros": [zero.to_json() for zero in self.zeros],
            "y_intercept": None if self.y_intercept is None else self.y_intercept.to_json(),
            "critical_points": [point.to_json() for point in self.critical_points],
            "nondifferentiable": [point.to_json() for point in self.nondifferentiable],
            "inflection_points": [point.to_json() for point in self.inflection_points],
            "sign_charts": {chart.of: chart.to_json() for chart in self.charts},
            "increasing": [span.to_json() for span in self.increasing],
            "decreasing": [span.to_json() for span in self.decreasing],
            "concave_up": [span.to_json() for span in self.concave_up],
            "concave_down": [span.to_json() for span in self.concave_down],
            "asymptotes": [asymptote.to_json() for asymptote in self.asymptotes],
            "extrema": {"maximum": self.maximum.to_json(), "minimum": self.minimum.to_json()},
            "tangent": None if self.tangent is None else self.tangent.to_json(),
            "notes": self.notes, "warnings": self.warnings}
        if self.parse.as_written is not None:
            data["as_written"] = self.parse.as_written
        if explain_parse:
            data["parse"] = self.parse.to_json()
        return data


# The wire contract of this module's to_json: tests/schema_build.py gathers every module's into
# derivcli/schemas/derivcli.schema.json (its $defs; JSON_OUTPUTS also join its root).
JSON_SCHEMA = {
    "analyze": {
        "type": "object",
        "required": [
            "expression", "variable", "interval", "domain", "domain_exact", "zeros", "y_intercept", "critical_points",
            "nondifferentiable", "inflection_points", "sign_charts", "increasing", "decreasing", "concave_up",
            "concave_down", "asymptotes", "extrema", "tangent", "notes", "warnings",
        ],
        "properties": {
            "expression": {"type": "string"}, "variable": {"type": "string"},
            "interval": {
                "allOf": [
                    {"$ref": "#/$defs/analyze/$defs/span"},
                    {"type": "object", "required": ["default"], "properties": {"default": {"type": "boolean"}}},
                ],
            },
            "domain": {"type": "array", "items": {"$ref": "#/$defs/analyze/$defs/span"}},
            "domain_exact": {"type": "boolean"},
            "zeros": {"type": "array", "items": {"$ref": "#/$defs/analyze/$defs/spot"}},
            "y_intercept": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/analyze/$defs/amount"}]},
            "critical_points": {
                "type": "array",
                "items": {
                    "allOf": [
                        {"$ref": "#/$defs/analyze/$defs/spot"}, {"$ref": "#/$defs/analyze/$defs/amount"},
                        {
                            "type": "object",
                            "required": ["kind", "derivative", "first_test", "second_derivative", "second_test"],
                            "properties": {
                                "kind": {"enum": ["minimum", "maximum", "neither"]},
                                "derivative": {"enum": ["zero", "undefined"]},
                                "first_test": {
                                    "type": "object", "required": ["left", "right"],
                                    "properties": {
                                        "left": {"$ref": "#/$defs/analyze/$defs/sign"},
                                        "right": {"$ref": "#/$defs/analyze/$defs/sign"},
                                    },
                                },
                                "second_derivative": {"oneOf": [{"type": "number"}, {"type": "null"}]},
                                "second_test": {"enum": ["minimum", "maximum", "inconclusive", None]},
                            },
                        },
                    ],
                },
            },
            "nondifferentiable": {
                "type": "array",
                "items": {
                    "allOf": [
                        {"$ref": "#/$defs/analyze/$defs/spot"}, {"$ref": "#/$defs/analyze/$defs/amount"},
                        {
                            "type": "object", "required": ["kind", "left", "right"],
                            "properties": {
                                "kind": {"enum": ["corner", "cusp", "vertical tangent", "jump"]},
                                "left": {"oneOf": [{"$ref": "#/$defs/number"}, {"type": "null"}]},
                                "right": {"oneOf": [{"$ref": "#/$defs/number"}, {"type": "null"}]},
                            },
                        },
                    ],
                },
            },
            "inflection_points": {
                "type": "array",
                "items": {
                    "allOf": [
                        {"$ref": "#/$defs/analyze/$defs/spot"}, {"$ref": "#/$defs/analyze/$defs/amount"},
                        {
                            "type": "object", "required": ["concavity"],
                            "properties": {"concavity": {"type": "object", "required": ["left", "right"]}},
                        },
                    ],
                },
            },
            "sign_charts": {
                "type": "object", "required": ["f'", "f''"],
                "additionalProperties": {"$ref": "#/$defs/analyze/$defs/chart"},
            },
            "increasing": {"type": "array", "items": {"$ref": "#/$defs/analyze/$defs/span"}},
            "decreasing": {"type": "array", "items": {"$ref": "#/$defs/analyze/$defs/span"}},
            "concave_up": {"type": "array", "items": {"$ref": "#/$defs/analyze/$defs/span"}},
            "concave_down": {"type": "array", "items": {"$ref": "#/$defs/analyze/$defs/span"}},
            "asymptotes": {
                "type": "array",
                "items": {
                    "type": "object", "required": ["kind", "equation", "side"],
                    "properties": {
                        "kind": {"enum": ["vertical", "horizontal", "oblique"]}, "equation": {"type": "string"},
                        "side": {"type": "string"}, "at": {"type": "number"},
                        "left": {"oneOf": [{"$ref": "#/$defs/number"}, {"type": "null"}]},
                        "right": {"oneOf": [{"$ref": "#/$defs/number"}, {"type": "null"}]}, "slope": {"type": "number"},
                        "intercept": {"type": "number"},
                    },
                },
            },
            "extrema": {
                "type": "object", "required": ["maximum", "minimum"],
                "properties": {
                    "maximum": {"$ref": "#/$defs/analyze/$defs/extreme"},
                    "minimum": {"$ref": "#/$defs/analyze/$defs/extreme"},
                },
            },
            "tangent": {
                "oneOf": [
                    {"type": "null"},
                    {
                        "allOf": [
                            {"$ref": "#/$defs/analyze/$defs/spot"},
                            {
                                "type": "object", "required": ["value", "slope", "tangent", "normal", "approximation"],
                                "properties": {
                                    "value": {"type": "number"}, "slope": {"type": "number"},
                                    "tangent": {"type": "string"}, "normal": {"type": "string"},
                                    "approximation": {"type": "object", "required": ["at", "f", "linear", "error"]},
                                },
                            },
                        ],
                    },
                ],
            },
            "notes": {"type": "array", "items": {"type": "string"}}, "warnings": {"$ref": "#/$defs/warnings"},
            "as_written": {"type": "string"}, "parse": {"type": "object"},
        },
        "$defs": {
            "spot": {
                "type": "object", "required": ["x", "text", "exact"],
                "properties": {"x": {"type": "number"}, "text": {"type": "string"}, "exact": {"type": "boolean"}},
            },
            "amount": {
                "type": "object", "required": ["value", "value_text"],
                "properties": {"value": {"$ref": "#/$defs/number"}, "value_text": {"type": ["string", "null"]}},
            },
            "span": {
                "type": "object", "required": ["from", "to", "from_text", "to_text", "closed", "text"],
                "properties": {
                    "from": {"type": "number"}, "to": {"type": "number"}, "from_text": {"type": "string"},
                    "to_text": {"type": "string"},
                    "closed": {"type": "array", "items": {"type": "boolean"}, "minItems": 2, "maxItems": 2},
                    "text": {"type": "string"},
                },
            },
            "sign": {"enum": ["+", "-", "0", None]},
            "chart": {
                "type": "object", "required": ["of", "points", "signs", "text"],
                "properties": {
                    "of": {"enum": ["f'", "f''"]},
                    "points": {"type": "array", "items": {"$ref": "#/$defs/analyze/$defs/spot"}},
                    "signs": {"type": "array", "items": {"$ref": "#/$defs/analyze/$defs/sign"}},
                    "text": {"type": "string"},
                },
            },
            "extreme": {
                "type": "object", "required": ["at", "value", "value_text", "why_not"],
                "properties": {
                    "at": {"type": "array", "items": {"$ref": "#/$defs/analyze/$defs/spot"}},
                    "value": {"oneOf": [{"$ref": "#/$defs/number"}, {"type": "null"}]},
                    "value_text": {"type": ["string", "null"]}, "why_not": {"type": ["string", "null"]},
                },
            },
        },
    },
}
JSON_OUTPUTS = ("analyze",)
