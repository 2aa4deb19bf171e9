"""`diff --forms`: the derivative in the forms a textbook or a learner might write it (simplified,
expanded, factored, trig functions combined and expanded: `sin(2*x)` and `2*sin(x)*cos(x)`), each
computed in its own forked child at the same time, under FORM_SECONDS."""

from __future__ import annotations

from typing import Any

import sympy as sp

from ..symbolic.budgeted import Budgeted

FORM_SECONDS = 3.0
FORMS = {
    "simplified": sp.simplify,
    "expanded": sp.expand,
    "factored": sp.factor,
    "trig combined": sp.trigsimp,
    "trig expanded": lambda expression: sp.expand(sp.expand_trig(expression)),
}


def other_forms(derivative: sp.Expr) -> dict[str, str | None]:
    """Each form's text, or None where SymPy did not finish within the budget."""
    running = {name: Budgeted(_form, (name, derivative), FORM_SECONDS) for name in FORMS}
    forms: dict[str, str | None] = {}
    for name, child in running.items():
        with child:
            done, text = child.outcome()
        forms[name] = text if done else None
    return forms


def _form(name: str, derivative: sp.Expr) -> Any:
    return str(FORMS[name](derivative))
