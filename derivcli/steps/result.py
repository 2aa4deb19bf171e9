"""The derivation as text: what the views print and `--json` carries, made once from the tree of SymPy
steps, so that rendering never computes (the 2-D blocks of a terminal are made when it first asks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import sympy as sp

from ..results import Number, ParseInfo
from ..symbolic.formula_text import formula
from . import blocks
from .board import Board, Written
from .outer import textbook_form
from .textbook import textbook, textbook_latex
from .tree import Step
from .verify import Check

if TYPE_CHECKING:
    from .values import StepNumbers  # (torch: only at a point)


@dataclass
class StepView:
    """One step in words: d/d`wrt` of `expression` is `result` by `rule`; `latex` holds the same texts
    as LaTeX where asked for."""

    rule: str
    statement: str | None
    expression: str
    result: str
    wrt: str
    lets: list[tuple[str, str]]
    note: str | None
    check: Check | None
    numbers: StepNumbers | None
    substeps: list[StepView] = field(default_factory=list)
    latex: dict[str, Any] | None = None
    sum: bool = False  # the expression is a sum or a conditional (`a if c else b`): the views bracket it after d/dx
    names: list[tuple[str, str]] = field(default_factory=list)  # the product and quotient rules' f and g
    role: str | None = None  # the named part this step differentiates (f, g)
    assembled: Written | None = None  # the rule's formula with the parts put in: f'*g + f*g' = (2*x)*sin(x) + …
    pretty: dict[str, Any] = field(default_factory=dict)  # the texts in a textbook's notation, for a terminal
    drawn: Callable[[], dict[str, str]] | None = field(default=None, repr=False)  # makes `blocks` when first asked
    _blocks: dict[str, str] | None = field(default=None, repr=False)

    @property
    def blocks(self) -> dict[str, str]:
        """'line' and 'assembled' in 2-D where a quotient appears (for a terminal only, so made when first
        asked: plain and JSON never pay for them)."""
        if self._blocks is None:
            self._blocks = self.drawn() if self.drawn is not None else {}
        return self._blocks

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"rule": self.rule, "statement": self.statement, "expression": self.expression,
                                "result": self.result, "wrt": self.wrt}
        if self.lets or self.names:
            data["let"] = {**dict(self.names), **dict(self.lets)}
        if self.note:
            data["note"] = self.note
        if self.check is not None:
            data["check"] = self.check.to_json()
        if self.numbers is not None:
            data["at_point"] = self.numbers.to_json()
        if self.latex is not None:
            data["latex"] = self.latex
        data["substeps"] = [substep.to_json() for substep in self.substeps]
        return data


def describe(step: Step, latex: bool) -> StepView:
    """The step and its substeps as text (and LaTeX, where asked for), and in a textbook's notation."""
    result = textbook_form(step.result)
    loose = step.expression.is_Add or isinstance(step.expression, sp.Piecewise)  # bracketed after d/dx
    view = StepView(step.rule, step.statement, formula(step.expression), formula(result), step.wrt.name,
                    [(symbol.name, formula(inner)) for symbol, inner in step.lets], step.note, step.check,
                    step.numbers, [describe(substep, latex) for substep in step.substeps], sum=loose,
                    names=[(name, formula(part)) for name, part in step.names], role=step.role,
                    assembled=assembled(step), drawn=lambda: _drawn(step, result))
    lets = [*step.lets, *((sp.Symbol(name), part) for name, part in step.names)]
    view.pretty = {"statement": pretty_statement(step.statement), "expression": textbook(step.expression),
                   "result": textbook(result), "wrt": step.wrt.name,
                   "let": {symbol.name: textbook(inner) for symbol, inner in lets}}
    if latex:
        view.latex = {"statement": step.statement_latex, "expression": textbook_latex(step.expression),
                      "result": textbook_latex(result), "wrt": sp.latex(step.wrt),
                      "let": {symbol.name: textbook_latex(inner) for symbol, inner in lets}}
    return view


# The rules' statements in a textbook's notation (a terminal's view); plain and JSON keep the ASCII text.
_PRETTY = (("**(n - 1)", "ⁿ⁻¹"), ("u**n", "uⁿ"), ("a**u", "aᵘ"), ("**2", "²"), ("f**g", "fᵍ"), ("log(a)", "ln(a)"),
           ("*", "·"), ("'", "′"), ("+-", "±"), (" - ", " − "), ("(-", "(−"), ("= -", "= −"))


def pretty_statement(statement: str | None) -> str | None:
    if statement is None:
        return None
    for plain, pretty in _PRETTY:
        statement = statement.replace(plain, pretty)
    return statement


def _bracketed(written: Written) -> Written:
    """A derivative put into a formula keeps its parentheses (x·(2x), not x·2x) unless it is one symbol."""
    return written if written.grouped else replace(written, factor=False, term=False)


def assembled(step: Step, forms: bool = False) -> Written | None:
    """The product, quotient or reciprocal rule with the parts and their derivatives put in, as a teacher
    writes the line before simplifying: f'*g + f*g' = (2*x)*sin(x) + x**2*cos(x); with `forms`, in 2-D too."""
    if not step.names or not step.substeps:
        return None
    board = Board(step.wrt, sp.Symbol("h"), forms)
    parts = [board.expr(part) for _, part in step.names]
    slopes = [_bracketed(board.expr(substep.result)) for substep in step.substeps]
    if step.rule == "product rule":
        terms = [board.product(*(slopes[i] if j == i else part for j, part in enumerate(parts)))
                 for i in range(len(parts))]
        return board.plus(*terms)
    if step.rule == "quotient rule":
        (f, g), (df, dg) = parts, slopes
        return board.over(board.minus(board.times(df, g), board.times(f, dg)),
                          board.expr(step.names[1][1] ** 2))
    if step.rule == "reciprocal rule":
        return board.times(board.expr(sp.S.NegativeOne), board.over(slopes[0], board.expr(step.names[0][1] ** 2)))
    return None


def _drawn(step: Step, result: Any) -> dict[str, str]:
    """The step line, and the put-together line, in 2-D where a quotient appears in them."""
    expression = step.expression
    bracket = expression.is_Add or expression.is_Mul or (expression.is_Pow and blocks.has_quotient(expression))
    line = blocks.step_line(step.wrt.name, expression, result, bracket)
    drawn = {"line": line} if line else {}
    together = assembled(step, forms=True) if _has_quotient(step) else None
    if together is not None and together.form is not None:
        drawn["assembled"] = blocks.text(blocks.row("put together: ", _rule_form(step), " = ", together.form))
    return drawn


def _has_quotient(step: Step) -> bool:
    """Whether the put-together line has a fraction: always for the quotient and reciprocal rules."""
    return step.rule != "product rule" or any(blocks.has_quotient(expr) for expr in (
        *(part for _, part in step.names), *(substep.result for substep in step.substeps)))


def _rule_form(step: Step) -> Any:
    """The rule in 2-D, with the step's names for its parts (F and G where the expression has f or g)."""
    names = [name for name, _ in step.names]
    if step.rule == "quotient rule":
        f, g = names
        return blocks.over(blocks.symbol(f"{f}′⋅{g} - {f}⋅{g}′"), blocks.symbol(f"{g}²"))
    if step.rule == "reciprocal rule":
        return blocks.row("-", blocks.over(blocks.symbol(f"{names[0]}′"), blocks.symbol(f"{names[0]}²")))
    if len(names) == 2:
        return blocks.symbol(f"{names[0]}′⋅{names[1]} + {names[0]}⋅{names[1]}′")
    return blocks.symbol("Σ fᵢ′⋅(the other factors)")


@dataclass
class StepsResult:
    """`derivcli steps`: the tree, the simplified derivative, whether every step was verified, and at a
    point the value and grad's gradient."""

    expression: str
    wrt: str
    root: StepView
    derivative: str
    derivative_latex: str
    verified: bool | None  # None: some step could not be checked (said in its check)
    parse: ParseInfo
    checks: dict[str, int] = field(default_factory=dict)  # how many steps each method verified
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    point: dict[str, Number] | None = None
    dtype: str = "float64"
    value: float | None = None
    gradient: Number | None = None
    exact: Any = None  # learn.exact.ExactValues, with --exact
    pretty: str | None = None  # the derivative in SymPy's 2-D Unicode form, for a terminal (not in JSON)
    textbook: str | None = None  # … on one line in a textbook's notation (where the 2-D form does not fit)
    unsimplified: str | None = None  # the derivative as the steps built it, where the simplified one differs
    unsimplified_pretty: str | None = None

    def to_json(self, explain_parse: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {"expression": self.expression, "wrt": self.wrt, "steps": self.root.to_json(),
                                "derivative": self.derivative, "latex": self.derivative_latex,
                                "verified": self.verified, "checks": self.checks, "notes": self.notes,
                                "warnings": self.warnings}
        if self.unsimplified is not None:
            data["unsimplified"] = self.unsimplified
        if self.point is not None:
            data.update({"point": dict(self.point), "dtype": self.dtype, "value": self.value,
                         "gradient": {self.wrt: self.gradient}})
        if self.exact is not None:
            data["exact"] = self.exact.to_json()
        if self.parse.as_written is not None:
            data["as_written"] = self.parse.as_written
        if explain_parse:
            data["parse"] = self.parse.to_json()
        return data


# The wire contract of this module's to_json: tests/schema_build.py gathers every module's into
# derivcli/schemas/derivcli.schema.json (its $defs; JSON_OUTPUTS also join its root).
JSON_SCHEMA = {
    "steps": {
        "type": "object",
        "required": ["expression", "wrt", "steps", "derivative", "latex", "verified", "checks", "notes", "warnings"],
        "properties": {
            "unsimplified": {"type": "string"}, "expression": {"type": "string"}, "wrt": {"type": "string"},
            "steps": {"$ref": "#/$defs/steps/$defs/step"}, "derivative": {"type": "string"},
            "latex": {"type": "string"}, "verified": {"type": ["boolean", "null"]}, "exact": {"$ref": "#/$defs/exact"},
            "checks": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}},
            "notes": {"type": "array", "items": {"type": "string"}}, "warnings": {"$ref": "#/$defs/warnings"},
            "point": {"$ref": "#/$defs/by_name"}, "dtype": {"enum": ["float64", "float32"]},
            "value": {"oneOf": [{"$ref": "#/$defs/number"}, {"type": "null"}]}, "gradient": {"$ref": "#/$defs/by_name"},
            "as_written": {"type": "string"}, "parse": {"type": "object"},
        },
        "$defs": {
            "step": {
                "type": "object", "required": ["rule", "statement", "expression", "result", "wrt", "substeps"],
                "additionalProperties": False,
                "properties": {
                    "rule": {"type": "string"}, "statement": {"type": ["string", "null"]},
                    "expression": {"type": "string"}, "result": {"type": "string"}, "wrt": {"type": "string"},
                    "let": {"type": "object", "additionalProperties": {"type": "string"}}, "note": {"type": "string"},
                    "check": {
                        "type": "object", "required": ["method", "ok", "detail"], "additionalProperties": False,
                        "properties": {
                            "method": {
                                "enum": ["identical", "numeric", "simplified", "autograd", "unchecked", "FAILED"],
                            },
                            "ok": {"type": ["boolean", "null"]}, "detail": {"type": ["string", "null"]},
                        },
                    },
                    "at_point": {
                        "type": "object", "required": ["value", "derivative", "upstream", "source"],
                        "additionalProperties": False,
                        "properties": {
                            "value": {"oneOf": [{"$ref": "#/$defs/tensor"}, {"type": "null"}]},
                            "derivative": {"oneOf": [{"$ref": "#/$defs/tensor"}, {"type": "null"}]},
                            "upstream": {"oneOf": [{"$ref": "#/$defs/tensor"}, {"type": "null"}]},
                            "source": {"enum": ["autograd", "formula"]},
                        },
                    },
                    "latex": {"type": "object"},
                    "substeps": {"type": "array", "items": {"$ref": "#/$defs/steps/$defs/step"}},
                },
            },
        },
    },
}
JSON_OUTPUTS = ("steps",)
