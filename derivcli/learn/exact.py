"""`--exact`: SymPy's exact value of f and of each derivative at an exact point (`--x pi/3` gives
`sqrt(3)/2`, not 0.8660254037844386), under a time budget; past it, the floats alone, saying so."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from ..errors import DerivcliError
from ..parsing import ParsedExpression, parse
from ..symbolic.budgeted import with_budget

EXACT_SECONDS = 5.0


@dataclass
class ExactValues:
    """f and its derivatives at the point as SymPy's exact text, or why there are none."""

    point: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)  # "f" and the derivative labels -> exact text
    skipped: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"point": self.point, "values": self.values, "skipped": self.skipped}


def exact_point(texts: Mapping[str, str]) -> dict[str, sp.Expr]:
    """Each value's text read exactly: `pi/3`, `sqrt(2)`, `1/2`, and decimals as the fractions they
    write (`0.1` is 1/10)."""
    point = {}
    for name, text in texts.items():
        try:
            value = parse(text.strip())
        except DerivcliError as error:
            raise DerivcliError(f"--exact: --{name} {text!r} is not an exact number ({error.message})") from None
        if value.variables:
            raise DerivcliError(f"--exact: --{name} {text!r} is not a number")
        point[name] = sp.nsimplify(value.expr, rational=True) if value.expr.has(sp.Float) else value.expr
    return point


def exact_values(parsed: ParsedExpression, derivatives: Mapping[str, sp.Expr], texts: Mapping[str, str],
                 sequences: Mapping[str, list[str]] | None = None) -> ExactValues:
    """f and each derivative (by label) at the exact point, simplified within EXACT_SECONDS.  Derivatives
    given as `sequences` of variable names are built inside that budget too (SymPy takes 48 s for the
    200th derivative of exp(x**2))."""
    point = exact_point({name: texts[name] for name in parsed.variables if name in texts})
    missing = [name for name in parsed.variables if name not in point]
    if missing:
        return ExactValues(skipped=f"no exact value for {', '.join(missing)}")
    substitution = {parsed.symbols[name]: value for name, value in point.items()}
    formulas = {"f": parsed.expr, **derivatives}
    by = {label: [parsed.symbols.get(name, sp.Symbol(name)) for name in names]
          for label, names in (sequences or {}).items()}
    seconds = EXACT_SECONDS  # (read here, so that a test can shorten it)
    done, values = with_budget(_evaluate, (formulas, parsed.expr, by, substitution), seconds)
    shown = {name: str(value) for name, value in point.items()}
    if not done or values is None:
        return ExactValues(shown, skipped=f"past the {seconds:g} s budget")
    return ExactValues(shown, values)


def _evaluate(formulas: dict[str, sp.Expr], expr: sp.Expr, by: dict[str, list[sp.Symbol]],
              substitution: dict[Any, sp.Expr]) -> dict[str, str]:
    formulas = {**formulas, **{label: sp.diff(expr, *symbols) for label, symbols in by.items()}}
    return {label: str(sp.simplify(formula.subs(substitution))) for label, formula in formulas.items()}


# The wire contract of this module's to_json: tests/schema_build.py gathers every module's into
# derivcli/schemas/derivcli.schema.json (its $defs; JSON_OUTPUTS also join its root).
JSON_SCHEMA = {
    "exact": {
        "type": "object", "required": ["point", "values", "skipped"],
        "properties": {
            "point": {"type": "object", "additionalProperties": {"type": "string"}},
            "values": {"type": "object", "additionalProperties": {"type": "string"}},
            "skipped": {"type": ["string", "null"]},
        },
    },
}
