"""Writing a derivation's lines as a teacher does: (f(x + h) − f(x))/h with f(x + h) written out, not
expanded by SymPy's evaluation, each line in plain text, a textbook's notation and LaTeX.

SymPy evaluates as it builds (3·(x + h) becomes 3h + 3x, a − b is reordered), so a line is composed from
printed pieces: `expr` prints one expression, `shifted` prints f at a placeholder that reads (x + h), and
`minus`, `over`, `times`, `plus` put pieces together with the parentheses they need.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from ..symbolic.formula_text import formula
from . import blocks
from .textbook import textbook, textbook_latex


@dataclass(frozen=True)
class Written:
    """A piece of a line in each notation; `grouped` where it needs no parentheses anywhere (a name, a
    number, a call, a power), `factor` where it needs none as a factor of a product (also a product),
    `term` where it needs none after a minus (also a fraction)."""

    text: str
    pretty: str
    latex: str
    grouped: bool = False
    factor: bool = False
    term: bool = False  # needs none after a minus sign (no sum, no sign of its own)
    form: Any = None  # the 2-D form (blocks), where the board was asked for it


def _forms(*parts: Written) -> bool:
    return all(part.form is not None for part in parts)


def _wrap(text: str, grouped: bool) -> str:
    return text if grouped else f"({text})"


def _wrap_latex(latex: str, grouped: bool) -> str:
    return latex if grouped else r"\left(" + latex + r"\right)"


class Board:
    def __init__(self, x: sp.Symbol, h: sp.Symbol, forms: bool = False) -> None:
        self.x, self.h, self.forms = x, h, forms  # forms: each piece in 2-D too (not with f(x + h))
        self.placeholder = sp.Symbol("Ξ", real=True)  # printed as (x + h)

    def expr(self, value: sp.Expr) -> Written:
        sum_ = f"{self.x} + {self.h}"
        text = formula(value).replace("(Ξ)", f"({sum_})").replace("Ξ", f"({sum_})")
        pretty = textbook(value).replace("(Ξ)", f"({sum_})").replace("Ξ", f"({sum_})")
        shifted = f"{sp.latex(self.x)} + {sp.latex(self.h)}"
        latex = textbook_latex(value).replace(r"\left(Ξ \right)", rf"\left({shifted}\right)")
        latex = latex.replace("Ξ", rf"\left({shifted}\right)")
        negative = value.could_extract_minus_sign() or text.startswith("-")
        fraction = "/" in text and not value.is_Atom  # 1/x is no factor to write beside another: x*(1/x)
        grouped = (value.is_Atom or isinstance(value, (sp.Function, sp.Pow))) and not negative and not fraction
        added = isinstance(value, sp.Add) and value != self.placeholder
        return Written(text, pretty, latex, grouped or value == self.placeholder,
                       not negative and not fraction and not added, not negative and not added,
                       blocks.form(value) if self.forms else None)

    def shifted(self, value: sp.Expr) -> Written:
        """f(x + h), written with x + h in x's place."""
        return self.expr(value.xreplace({self.x: self.placeholder}))

    @staticmethod
    def minus(a: Written, b: Written) -> Written:
        form = blocks.row(a.form, " - ", blocks.wrapped(b.form, b.term)) if _forms(a, b) else None
        return Written(f"{a.text} - {_wrap(b.text, b.term)}", f"{a.pretty} − {_wrap(b.pretty, b.term)}",
                       f"{a.latex} - {_wrap_latex(b.latex, b.term)}", form=form)

    @staticmethod
    def plus(*parts: Written) -> Written:
        if len(parts) == 1:
            return parts[0]
        form = None
        if _forms(*parts):
            pieces: list[Any] = [parts[0].form]
            for part in parts[1:]:
                pieces += [" + ", part.form]
            form = blocks.row(*pieces)
        return Written(" + ".join(part.text for part in parts), " + ".join(part.pretty for part in parts),
                       " + ".join(part.latex for part in parts), form=form)

    @staticmethod
    def over(a: Written, b: Written) -> Written:
        return Written(f"{_wrap(a.text, a.factor)}/{_wrap(b.text, b.grouped)}",
                       f"{_wrap(a.pretty, a.factor)}/{_wrap(b.pretty, b.grouped)}",
                       rf"\frac{{{a.latex}}}{{{b.latex}}}", False, True, True,
                       blocks.over(a.form, b.form) if _forms(a, b) else None)

    @staticmethod
    def times(a: Written, b: Written) -> Written:
        if a.text == "1":
            return b
        if a.text == "-1":
            return Written(f"-{_wrap(b.text, b.factor)}", f"−{_wrap(b.pretty, b.factor)}",
                           f"-{_wrap_latex(b.latex, b.factor)}",
                           form=blocks.row("-", blocks.wrapped(b.form, b.factor)) if _forms(b) else None)
        form = blocks.row(blocks.wrapped(a.form, a.factor), "⋅", blocks.wrapped(b.form, b.factor)) \
            if _forms(a, b) else None
        return Written(f"{_wrap(a.text, a.factor)}*{_wrap(b.text, b.factor)}",
                       f"{_wrap(a.pretty, a.factor)}·{_wrap(b.pretty, b.factor)}",
                       _wrap_latex(a.latex, a.factor) + r" \cdot " + _wrap_latex(b.latex, b.factor), False, True,
                       True, form)

    def product(self, *parts: Written) -> Written:
        result = parts[0]
        for part in parts[1:]:
            result = self.times(result, part)
        return result
