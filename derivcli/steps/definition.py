"""f′(x) from the definition, as a teacher writes it on the board: the limit of the difference quotient,
then expand, cancel h, and let h → 0.

Polynomials and rational functions go through a common denominator; roots are rationalized (multiply
above and below by the sum that turns A − B into Aⁿ − Bⁿ); sin, cos and exp of a linear argument go through
the angle-sum formula or eᵃ⁺ᵇ = eᵃeᵇ and the standard limits sin t/t → 1, (cos t − 1)/t → 0,
(eᵗ − 1)/t → 1; a sum goes term by term.  Every line is held to SymPy: equal to the line before it as a
function of x and h (h ≠ 0), the limit line to SymPy's limit, the result to SymPy's derivative.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from ..errors import DerivcliError
from .board import Board, Written

LIMIT_SECONDS = 2.0  # one limit or simplification while checking


@dataclass
class Line:
    """One line of the board: `shown` (plain, textbook, LaTeX), under lim h→0 or not, why it follows from
    the line before, and its value as a function of x and h (for the check)."""

    shown: Written
    value: sp.Expr
    reason: str
    limit: bool = True  # still under lim h→0
    check: str | None = None  # how SymPy confirmed it: equal, limit, derivative; FAILED: why

    def text(self, h: str, notation: str = "text") -> str:
        """The line in one notation (text, pretty, latex), under its limit where it still is."""
        shown = getattr(self.shown, notation)
        if not self.limit:
            return str(shown)
        if notation == "latex":
            return rf"\lim_{{{h} \to 0}} {shown}"
        body = shown if self.shown.factor else f"({shown})"
        return f"lim {h}→0 {body}" if notation == "pretty" else f"lim({h}->0) {body}"

    def to_json(self, h: str) -> dict[str, Any]:
        return {"text": self.text(h), "latex": self.text(h, "latex"), "reason": self.reason, "check": self.check}


@dataclass
class Derivation:
    """The lines for one term of f (a sum goes term by term), ending in its derivative."""

    term: Written
    lines: list[Line] = field(default_factory=list)

    def add(self, shown: Written, value: sp.Expr, reason: str, limit: bool = True) -> None:
        self.lines.append(Line(shown, value, reason, limit))

    @property
    def result(self) -> sp.Expr:
        return self.lines[-1].value


class Definition:
    """Builds the board for f by x, with h a name f does not use."""

    def __init__(self, f: sp.Expr, x: sp.Symbol) -> None:
        taken = {symbol.name for symbol in f.free_symbols}
        self.h = sp.Symbol(next(name for name in ("h", "k", "dx", "delta") if name not in taken), real=True)
        self.f, self.x = f, x
        self.board = Board(x, self.h)

    def terms(self) -> list[sp.Expr]:
        """The terms to derive one by one: the rational part together, and each other term alone."""
        x = self.x
        parts = sp.Add.make_args(sp.expand(self.f)) if self.f.is_Add else (self.f,)
        rational = sp.Add(*(part for part in parts if part.is_rational_function(x)))
        others = [part for part in parts if not part.is_rational_function(x)]
        return ([rational] if rational != 0 or not others else []) + others

    def derive(self, term: sp.Expr) -> Derivation:
        """One term's board, by the rule its form asks for."""
        x = self.x
        if term.is_rational_function(x):
            return self.rational(term)
        constant, rest = term.as_independent(x, as_Add=False)
        if isinstance(rest, sp.Pow) and rest.exp.is_Rational and rest.exp.p == 1 and rest.exp.q > 1 \
                and rest.base.is_rational_function(x):
            n = int(rest.exp.q)
            return self.root(constant, rest.base, n, lambda u: u ** sp.Rational(1, n))
        if type(rest).__name__ == "cbrt" and rest.args[0].is_rational_function(x):  # derivcli's real ∛
            return self.root(constant, rest.args[0], 3, type(rest))
        if isinstance(rest, (sp.sin, sp.cos, sp.exp)):
            inner = rest.args[0]
            slope, offset = sp.Poly(inner, x).all_coeffs() if inner.is_polynomial(x) and sp.degree(inner, x) == 1 \
                else (None, None)
            if slope is not None:
                return self.standard(constant, type(rest), slope, offset)
        raise DerivcliError(f"steps --definition does not know how to take the limit for {term}",
                            hint="it works for polynomials, rational functions, n-th roots of them, and sin, cos, "
                                 "exp of a linear argument (and sums of these); steps without --definition "
                                 "derives any expression by the rules")

    def start(self, term: sp.Expr) -> Derivation:
        """(f(x + h) − f(x))/h, written out."""
        board, h = self.board, self.h
        derivation = Derivation(board.expr(term))
        shifted = board.shifted(term)
        derivation.add(board.over(board.minus(shifted, board.expr(term)), board.expr(h)),
                       (term.subs(self.x, self.x + h) - term) / h, "write f(x + h) and f(x)")
        return derivation

    def rational(self, term: sp.Expr) -> Derivation:
        """Expand (over a common denominator where f has one), cancel h, let h → 0."""
        x, h, board = self.x, self.h, self.board
        derivation = self.start(term)
        top, bottom = sp.fraction(sp.together(term))
        shifted_top, shifted_bottom = top.subs(x, x + h), bottom.subs(x, x + h)
        if bottom.has(x):
            numerator = shifted_top * bottom - top * shifted_bottom
            below = board.product(board.expr(h), board.shifted(bottom), board.expr(bottom))
            derivation.add(board.over(board.minus(board.product(board.shifted(top), board.expr(bottom)),
                                                  board.product(board.expr(top), board.shifted(bottom))), below),
                           numerator / (h * shifted_bottom * bottom), "one fraction: a common denominator")
            expanded = sp.expand(numerator)
            derivation.add(board.over(board.expr(expanded), below), expanded / (h * shifted_bottom * bottom),
                           "expand the numerator: the terms without h cancel")
            quotient = sp.expand(sp.cancel(expanded / h))
            rest = board.product(board.shifted(bottom), board.expr(bottom))
            derivation.add(board.over(board.expr(quotient), rest), quotient / (shifted_bottom * bottom),
                           "divide above and below by h (h ≠ 0)")
            value = quotient.subs(h, 0) / bottom**2
            derivation.add(board.expr(value), value, f"let {h} → 0", limit=False)
        else:
            expanded = sp.expand(shifted_top - top) / bottom
            derivation.add(board.over(board.expr(expanded), board.expr(h)), expanded / h,
                           "expand f(x + h): the terms of f(x) cancel")
            quotient = sp.expand(sp.cancel(expanded / h))
            derivation.add(board.expr(quotient), quotient, "divide by h (h ≠ 0)")
            derivation.add(board.expr(quotient.subs(h, 0)), quotient.subs(h, 0), f"let {h} → 0", limit=False)
        simplified = sp.factor(derivation.result)
        if simplified != derivation.result and len(str(simplified)) < len(str(derivation.result)):
            derivation.add(board.expr(simplified), simplified, "simplify", limit=False)
        return derivation

    def root(self, constant: sp.Expr, radicand: sp.Expr, n: int, nth: Callable[[sp.Expr], sp.Expr]) -> Derivation:
        """c·ⁿ√u: multiply above and below by Aⁿ⁻¹ + Aⁿ⁻²B + … + Bⁿ⁻¹ (A = ⁿ√u(x + h), B = ⁿ√u(x)), so the
        numerator is Aⁿ − Bⁿ = u(x + h) − u(x), which holds h."""
        x, h, board = self.x, self.h, self.board
        term = constant * nth(radicand)
        derivation = self.start(term)
        a, b = nth(radicand.subs(x, x + h)), nth(radicand)
        conjugate = sp.Add(*(a ** (n - 1 - k) * b**k for k in range(n)))
        shown_a = nth(radicand.xreplace({x: board.placeholder}))
        shown_conjugate = board.expr(sp.Add(*(shown_a ** (n - 1 - k) * b**k for k in range(n))))
        difference = sp.together(radicand.subs(x, x + h) - radicand)
        derivation.add(board.times(board.expr(constant), board.over(
            board.minus(board.shifted(radicand), board.expr(radicand)), board.product(board.expr(h), shown_conjugate))),
            constant * difference / (h * conjugate),
            "multiply above and below by " + (f"the conjugate {shown_conjugate.text}" if n == 2 else
                                              shown_conjugate.text) + f": (A - B)*(...) = A**{n} - B**{n}")
        top = sp.expand(sp.numer(difference))
        quotient = sp.cancel(top / h) / sp.denom(difference)
        derivation.add(board.times(board.expr(constant), board.over(board.expr(quotient), shown_conjugate)),
                       constant * quotient / conjugate, "expand the numerator and divide it by h (h ≠ 0)")
        value = sp.simplify(constant * quotient.subs(h, 0) / (n * b ** (n - 1)))
        derivation.add(board.expr(value), value, f"let {h} → 0: each of the {n} terms below tends to "
                                                 f"{board.expr(b ** (n - 1)).text}" if n > 2 else
                       f"let {h} → 0: the conjugate tends to 2*{board.expr(b).text}", limit=False)
        return derivation

    def standard(self, constant: sp.Expr, function: type, slope: sp.Expr, offset: sp.Expr) -> Derivation:
        """sin, cos or exp of a·x + b through the angle-sum formula (or eᵘ⁺ᵛ = eᵘeᵛ) and the standard limits."""
        x, h, board = self.x, self.h, self.board
        u = slope * x + offset
        term = constant * function(u)
        derivation = self.start(term)
        t = board.expr(slope * h)
        c = board.expr(constant)
        pieces: dict[type, tuple[list[tuple[sp.Expr, sp.Expr, str]], str]] = {
            sp.sin: ([(sp.sin(u), sp.cos(slope * h) - 1, "cos"), (sp.cos(u), sp.sin(slope * h), "sin")],
                     "sin(u + v) = sin(u)*cos(v) + cos(u)*sin(v)"),
            sp.cos: ([(sp.cos(u), sp.cos(slope * h) - 1, "cos"), (-sp.sin(u), sp.sin(slope * h), "sin")],
                     "cos(u + v) = cos(u)*cos(v) - sin(u)*sin(v)"),
            sp.exp: ([(sp.exp(u), sp.exp(slope * h) - 1, "exp")], "e**(u + v) = e**u*e**v"),
        }
        parts, identity = pieces[function]
        grouped = [board.times(board.expr(outside), board.over(board.expr(inside), board.expr(h)))
                   for outside, inside, _ in parts]
        derivation.add(board.times(c, board.plus(*grouped)), constant * sp.Add(*(o * i / h for o, i, _ in parts)),
                       f"{identity}, then group the terms")
        standard = [board.times(board.expr(slope * outside), board.over(board.expr(inside), t))
                    for outside, inside, _ in parts]
        if slope != 1:
            derivation.add(board.times(c, board.plus(*standard)),
                           constant * sp.Add(*(slope * o * i / (slope * h) for o, i, _ in parts)),
                           f"multiply and divide by t = {t.text}, which tends to 0 with {h}")
        limits = {"cos": ("(cos(t) - 1)/t -> 0", sp.S.Zero), "sin": ("sin(t)/t -> 1", sp.S.One),
                  "exp": ("(e**t - 1)/t -> 1", sp.S.One)}
        value = constant * sp.Add(*(slope * o * limits[kind][1] for o, _, kind in parts))
        said = " and ".join(limits[kind][0] for _, _, kind in parts)
        derivation.add(board.expr(value), value, f"let {h} → 0: the standard limit{'s' if len(parts) > 1 else ''} "
                                                 f"{said} as t -> 0", limit=False)
        return derivation


def check(derivation: Derivation, x: sp.Symbol, h: sp.Symbol) -> bool:
    """Each line against the one before: equal as functions of x and h ≠ 0 (simplify, else 30 digits at
    random points); a line after lim: SymPy's limit of the line before."""
    ok = True
    previous = None
    for line in derivation.lines:
        if previous is None:
            line.check = "the definition"
        elif line.limit:
            line.check = "equal" if _equal(line.value, previous.value, x, h) else "FAILED"
        else:
            line.check = "limit" if _equal(line.value, _limit(previous.value, h), x, None) else "FAILED"
        ok = ok and line.check != "FAILED"
        previous = line
    return ok


def _limit(expr: sp.Expr, h: sp.Symbol) -> sp.Expr:
    from ..limits.budget import OverBudget, time_budget

    try:
        with time_budget(LIMIT_SECONDS):
            return sp.limit(expr, h, 0)
    except OverBudget:
        return sp.nan


def _equal(a: sp.Expr, b: sp.Expr, x: sp.Symbol, h: sp.Symbol | None) -> bool:
    from ..learn.expect import _at as value_at
    from ..learn.expect import _close as close

    if sp.simplify(a - b) == 0:
        return True
    rng = random.Random(0)
    symbols = [symbol for symbol in (x, h) if symbol is not None]
    agreed = 0
    for _ in range(40):
        point = {symbol: sp.Rational(rng.uniform(0.1, 2.0)) for symbol in symbols}
        want, got = value_at(b, point), value_at(a, point)
        if want is None or got is None or not (want.is_Number and got.is_Number):
            continue
        if not close(want, got):
            return False
        agreed += 1
        if agreed == 3:
            return True
    return False


def by_definition(f: sp.Expr, x: sp.Symbol) -> tuple[list[Derivation], sp.Expr, bool, sp.Symbol]:
    """The board for each term of f, the derivative, whether every line and the result checked."""
    definition = Definition(f, x)
    derivations = [definition.derive(term) for term in definition.terms()]
    checked = all([check(derivation, x, definition.h) for derivation in derivations])
    result = sp.Add(*(derivation.result for derivation in derivations))
    return derivations, result, checked and _equal(result, sp.diff(f, x), x, None), definition.h

