"""The derivation as text: what the views print and `--json` carries, made once from the tree of SymPy
steps, so that rendering never computes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sympy as sp

from ..formula_text import formula
from ..results import Number, ParseInfo
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
    sum: bool = False  # the expression is a sum: the views bracket it after d/dx

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"rule": self.rule, "statement": self.statement, "expression": self.expression,
                                "result": self.result, "wrt": self.wrt}
        if self.lets:
            data["let"] = dict(self.lets)
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
    """The step and its substeps as text (and LaTeX, where asked for)."""
    view = StepView(step.rule, step.statement, formula(step.expression), formula(step.result), step.wrt.name,
                    [(symbol.name, formula(inner)) for symbol, inner in step.lets], step.note, step.check,
                    step.numbers, [describe(substep, latex) for substep in step.substeps], sum=step.expression.is_Add)
    if latex:
        view.latex = {"statement": step.statement_latex, "expression": sp.latex(step.expression),
                      "result": sp.latex(step.result), "wrt": sp.latex(step.wrt),
                      "let": {symbol.name: sp.latex(inner) for symbol, inner in step.lets}}
    return view


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

    def to_json(self, explain_parse: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {"expression": self.expression, "wrt": self.wrt, "steps": self.root.to_json(),
                                "derivative": self.derivative, "latex": self.derivative_latex,
                                "verified": self.verified, "checks": self.checks, "notes": self.notes,
                                "warnings": self.warnings}
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
