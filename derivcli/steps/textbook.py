"""Formulas in a textbook's notation, on one line: x², eˣ, e^(−x²), ln(x), sec²(x), √x, |x|, π, 2x·sin(x),
(1 − x²)/(x² + 1)².

What is printed reads back through derivcli's own parser to the same expression (superscripts only from
the parser's table, ∛ never, since ∛ is the real cube root and x**(1/3) is not), so a learner can paste a
step's result into another command.  LaTeX is SymPy's, with ln for the natural logarithm.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import sympy as sp
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

from ..parsing.unicode import SUPERSCRIPTS

_RAISED = {plain: raised for raised, plain in SUPERSCRIPTS.items()}  # '2' -> '²', 'x' -> 'ˣ', '-' -> '⁻'
# 2·x -> 2x, but never before e (10·e¹⁰ is not 10e¹⁰, which reads as 10 to the 10th)
_COEFFICIENT = re.compile(r"(?<![\w.)²³¹⁰⁴⁵⁶⁷⁸⁹])(\d+(?:\.\d+)?)·(?=[A-Za-df-zα-ωΑ-Ωπ√(|])")


def textbook(expr: Any) -> str:
    """The expression in a textbook's notation, one line, highest powers first (y = −x/9 + 20/9)."""
    expr = sp.sympify(expr)
    text = _Textbook({"order": "lex"} if expr.free_symbols else {}).doprint(expr)
    text = text.replace("*", "·")
    text = _COEFFICIENT.sub(r"\1", text)  # 2·x -> 2x, 3·(x + 1) -> 3(x + 1)
    return text.replace("-", "−")


def textbook_latex(expr: Any) -> str:
    """SymPy's LaTeX with ln for the natural logarithm."""
    return sp.latex(sp.sympify(expr), ln_notation=True)


def raised(text: str) -> str | None:
    """The text in superscripts (x² , e⁻ˣ, e²ˣ), or None where a character has none the parser reads."""
    compact = re.sub(r"(?<=\d)\*(?=[A-Za-z(])", "", text)  # 2*x -> 2x
    if not compact or any(char not in _RAISED for char in compact):
        return None
    return "".join(_RAISED[char] for char in compact)


class _Textbook(StrPrinter):
    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        base, exponent = expr.base, expr.exp
        if exponent is sp.S.Half:
            return "√" + self._radicand(base)
        if exponent.is_Rational and exponent.is_negative:  # 1/x, 1/√x, 1/x²: as StrPrinter writes them
            positive = base if exponent == -1 else sp.Pow(base, -exponent, evaluate=False)
            return "1/" + self.parenthesize(positive, PRECEDENCE["Mul"], strict=True)
        power = self._print(exponent)
        up = raised(power) if (exponent.is_Integer or exponent.is_Symbol or exponent.is_Mul) else None
        named = isinstance(base, sp.Function) and self._print(base).startswith(f"{self._function_name(base)}(")
        if named and exponent.is_Integer and up:
            return f"{self._function_name(base)}{up}({self.stringify(base.args, ', ')})"  # sin²(x)
        shown = self.parenthesize(base, PRECEDENCE["Pow"], strict=True)
        if isinstance(base, sp.Function) and not isinstance(base, (sp.Abs, sp.exp)) and not shown.startswith("("):
            shown = f"({shown})"  # (sin(x))^(1/3), (∛x)²: a power of the value, never sin^(1/3)(x)
        return shown + up if up else f"{shown}^({power})"

    def _radicand(self, base: sp.Expr) -> str:
        return self._print(base) if base.is_Symbol or (base.is_Integer and base > 0) else f"({self._print(base)})"

    def _print_cbrt(self, expr: Any) -> str:  # derivcli's real cube root, which ∛ reads as
        return "∛" + self._radicand(expr.args[0])

    def _print_exp(self, expr: sp.exp) -> str:
        power = self._print(expr.args[0])
        up = raised(power)
        return "e" + up if up else f"e^({power})"

    def _print_Exp1(self, expr: Any) -> str:
        return "e"

    def _print_Pi(self, expr: Any) -> str:
        return "π"

    def _print_log(self, expr: sp.log) -> str:
        return f"ln({self.stringify(expr.args, ', ')})"

    def _print_Abs(self, expr: sp.Abs) -> str:
        return f"|{self._print(expr.args[0])}|"

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        name = expr.name
        letter = unicodedata.lookup(f"GREEK {'CAPITAL' if name[:1].isupper() else 'SMALL'} LETTER "
                                    f"{name.upper().replace('LAMBDA', 'LAMDA')}") if _greek(name) else None
        return letter or name

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        pieces = []
        for value, condition in expr.args:
            shown = self.parenthesize(value, PRECEDENCE["Or"], strict=True)
            pieces.append(shown if condition is sp.true else f"{shown} if {self._print(condition)}")
        text = " else ".join(pieces)
        return text if expr.args[-1][1] is sp.true else f"{text} else nan"

    def _print_And(self, expr: Any) -> str:
        return " and ".join(self.parenthesize(arg, precedence(expr)) for arg in expr.args)

    def _print_Or(self, expr: Any) -> str:
        return " or ".join(self.parenthesize(arg, precedence(expr)) for arg in expr.args)

    def _function_name(self, expr: sp.Function) -> str:
        return "ln" if isinstance(expr, sp.log) else str(expr.func)


def _greek(name: str) -> bool:
    from ..parsing.notation import greek_names

    return name in greek_names() and name not in ("pi",)
