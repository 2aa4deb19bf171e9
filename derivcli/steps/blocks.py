"""Formulas in two dimensions for a terminal: fractions as fractions (SymPy's pretty form, with ln for the
natural logarithm), for every step line where a quotient appears.  Plain text, JSON and LaTeX never use
these; a view uses a block only where it fits its width, and the one-line text otherwise."""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm, stringPict

from ..symbolic.formula_text import PRETTY_MAX_OPS


class _Printer(PrettyPrinter):
    def _print_log(self, expr: Any) -> Any:
        return self._print_Function(expr, func_name="ln")


_PRINTER = _Printer({"use_unicode": True, "wrap_line": False})


def form(expr: Any) -> Any | None:
    """The expression's 2-D form (a prettyForm), or None for one too large to read that way."""
    expr = sp.sympify(expr)
    return None if sp.count_ops(expr) > PRETTY_MAX_OPS else _PRINTER._print(expr)


def has_quotient(expr: Any) -> bool:
    """Whether SymPy's pretty form of the expression draws a fraction bar (x/y, x⁻¹, 1/2 — not √x, whose
    exponent 1/2 is drawn as a root)."""
    expr = sp.sympify(expr)
    if isinstance(expr, sp.Pow) and expr.exp.is_Rational:
        return bool(expr.exp.is_negative) or has_quotient(expr.base)
    if isinstance(expr, sp.Pow) and expr.exp.is_number and expr.exp.is_negative:
        return True
    if isinstance(expr, sp.Rational):
        return not expr.is_Integer
    return any(has_quotient(arg) for arg in expr.args)


def text(block: Any) -> str:
    """The block as lines of text, trailing spaces kept off."""
    return "\n".join(line.rstrip() for line in str(block).split("\n"))


def symbol(name: str) -> Any:
    return prettyForm(name)


def row(*pieces: Any) -> Any:
    """Pieces side by side on one baseline (strings are single-line pieces)."""
    return prettyForm(*stringPict.next(*pieces))


def wrapped(block: Any, bare: bool) -> Any:
    return block if bare else prettyForm(*block.parens())


def over(numerator: Any, denominator: Any) -> Any:
    return numerator / denominator


def derivative(wrt: str) -> Any:
    """d over dx, its bar on the baseline."""
    operator = prettyForm(*stringPict.stack("d", stringPict.LINE, f"d{wrt}"))
    operator.baseline = 1
    return operator


def step_line(wrt: str, expression: Any, result: Any, bracket: bool) -> str | None:
    """d/dx of the expression = the result, where a quotient appears in either (else None: one line reads
    as well)."""
    if not (has_quotient(expression) or has_quotient(result)):
        return None
    shown, answer = form(expression), form(result)
    if shown is None or answer is None:
        return None
    return text(row(derivative(wrt), " ", wrapped(shown, not bracket), " = ", answer))
