"""f's series at a point, by SymPy, and what it says about the point.

A Taylor series exists where f is smooth, and also where f itself is undefined but has a limit (a removable
singularity: sin(x)/x at 0, where torch computes 0/0).  Elsewhere SymPy gives a Laurent series (a pole:
1/x), a Puiseux series (a branch point: sqrt(x)), different expansions from the two sides (a kink or a
jump: |x|, sign(x); SymPy's series alone is one-sided and would call |x| at 0 just x), or an expansion not
in powers (log(x), exp(1/x)).  Taylor coefficients are only ever taken from the first kind.

The expansion runs in a forked child under SERIES_SECONDS (symbolic.Budgeted), started before torch's
work so that the two overlap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from .budgeted import SERIES_SECONDS, Budgeted
from .exact import evaluated

TAYLOR, REMOVABLE, POLE, BRANCH, NOT_SMOOTH, OTHER, NOT_REAL = (
    "taylor", "removable", "pole", "branch point", "not smooth", "other", "not real")


@dataclass
class LocalSeries:
    """SymPy's expansion of f around one point (kind TAYLOR or REMOVABLE: with coefficients)."""

    kind: str
    text: str  # the expansion in x or (x - a), lowest power first, without O(…)
    floats: list[float] | None = None  # c_0 … c_order of a Taylor series
    exact: list[Any] | None = None  # the same as SymPy numbers, where every one is exact (-1/6, sqrt(2))
    pole_order: int | None = None
    other_side: str | None = None  # NOT_SMOOTH: the expansion from the left (text is the right's)

    @property
    def expansion(self) -> str:
        """The expansion as shown: for a kink or jump, both sides'."""
        if self.kind == NOT_SMOOTH:
            return f"{self.text} from the right, {self.other_side} from the left"
        return self.text

    @property
    def has_taylor_series(self) -> bool:
        return self.kind in (TAYLOR, REMOVABLE)

    def statement(self, at: str) -> str:
        """One sentence on the point, for a note or an error (`at`: "x = 0")."""
        if self.kind == REMOVABLE:
            return (f"{at} is a removable singularity (f is undefined there, its limit exists): the values "
                    "are the limits, from SymPy's series")
        if self.kind == TAYLOR:
            return f"torch's numbers are not finite at {at}: the values are from SymPy's series"
        if self.kind == NOT_REAL:
            return f"f has no real Taylor series at {at}: it is not real around there"
        return f"f has no Taylor series at {at}: {self.reason()}"

    def reason(self) -> str:
        """Why there is no Taylor series, with the expansion SymPy gives instead."""
        if self.kind == POLE:
            return f"a pole of order {self.pole_order}, Laurent series {self.text}"
        if self.kind == BRANCH:
            return f"a branch point, Puiseux series {self.text}"
        if self.kind == NOT_SMOOTH:
            return f"it is not smooth there ({self.expansion})"
        if self.kind == NOT_REAL:
            return "it is not real around there"
        return f"SymPy expands it as {self.text}"


def start(expr: sp.Expr, symbol: sp.Symbol, around: float, order: int, constants: dict[sp.Symbol, float]
          ) -> Budgeted:
    """expand(…) started in the background under SERIES_SECONDS: `.outcome()` is (True, LocalSeries),
    (True, None) where SymPy gives nothing usable (an error, NaN coefficients), or (False, None) past the
    budget."""
    return Budgeted(expand, (expr, symbol, around, order, constants), SERIES_SECONDS)


def expand(expr: sp.Expr, symbol: sp.Symbol, around: float, order: int, constants: dict[sp.Symbol, float]
           ) -> LocalSeries | None:
    """f's expansion up to (x - around)**order, classified, or None where SymPy gives nothing usable."""
    h = sp.Symbol("h", real=True)
    centre = sp.nsimplify(around) if abs(around) < 1e15 else sp.Float(around)
    shifted = expr.xreplace({s: sp.nsimplify(v) for s, v in constants.items()}).subs(symbol, centre + h)
    shift = sp.Symbol(symbol.name if around == 0 else f"({symbol.name} - {around!r})")  # as the polynomial
    try:
        right = _terms(sp.series(shifted, h, 0, order + 1).removeO(), h)
    except Exception:  # SymPy raises NotImplementedError, ValueError, … on what it cannot expand
        return None
    if right is None:
        return None
    text = _text(right, h, shift)
    left = _left_side(shifted, h, order) if _may_be_one_sided(shifted) else None
    if left is not None and _differ(left, right):
        return LocalSeries(NOT_SMOOTH, text, other_side=_text(left, h, shift))
    powers = [power for power, _ in right if power is not None]
    if any(power is None for power, _ in right):
        return LocalSeries(OTHER, text)
    if any(coefficient.has(sp.I) or coefficient.is_extended_real is False for _, coefficient in right):
        return LocalSeries(NOT_REAL, text)
    if any(not power.is_integer for power in powers):
        return LocalSeries(BRANCH, text)
    if powers and min(powers) < 0:
        return LocalSeries(POLE, text, pole_order=int(-min(powers)))
    coefficients = [sum((c for p, c in right if p == k), sp.S.Zero) for k in range(order + 1)]
    undefined = shifted.subs(h, 0).has(sp.nan, sp.zoo, sp.oo, -sp.oo)
    values = [evaluated(c, 20) for c in coefficients]
    if any(value is None or not (value.is_Number and value.is_real and value.is_finite) for value in values):
        return LocalSeries(OTHER, text)  # a coefficient SymPy cannot get the digits of is no number to give
    floats = [float(value) for value in values]
    # exact where SymPy's coefficients are (rationals, pi, sqrt(2)): -1/6, not -0.16666666666666666
    exact = coefficients if all(c.is_number and not c.has(sp.Float) for c in coefficients) else None
    return LocalSeries(REMOVABLE if undefined else TAYLOR, text, floats, exact)


def _terms(polynomial: sp.Expr, h: sp.Symbol) -> list[tuple[Any, sp.Expr]] | None:
    """(power, coefficient) per term of the expanded series, power None for a term not of the form c·h^p
    (log(h), exp(1/h)); None where SymPy's coefficients are not numbers it can use (nan)."""
    terms = []
    for term in sp.Add.make_args(sp.expand(polynomial)):
        coefficient, power = term.as_coeff_exponent(h)
        if coefficient.has(sp.nan, sp.zoo) or (coefficient.is_number and not coefficient.is_finite):
            return None
        terms.append((None, term) if coefficient.has(h) or power.has(h) else (power, coefficient))
    return terms


def _may_be_one_sided(expr: sp.Expr) -> bool:
    """Whether expr has a node with a kink or a jump (|x|, sign, max, an 'if', relu…): only there can the
    two sides' expansions differ, and only there is the second one worth its time."""
    from ..table.sympy_forms import NON_SMOOTH, NON_SMOOTH_NAMES

    return expr.has(*NON_SMOOTH) or any(type(node).__name__ in NON_SMOOTH_NAMES for node in sp.preorder_traversal(expr))


def _left_side(shifted: sp.Expr, h: sp.Symbol, order: int) -> list[tuple[Any, sp.Expr]] | None:
    try:
        return _terms(sp.series(shifted, h, 0, order + 1, dir="-").removeO(), h)
    except Exception:  # no second opinion: the right side's expansion stands
        return None


def _differ(left: list[tuple[Any, sp.Expr]], right: list[tuple[Any, sp.Expr]]) -> bool:
    difference = sp.expand(sp.Add(*(_term(p, c) for p, c in left)) - sp.Add(*(_term(p, c) for p, c in right)))
    return difference != 0 and sp.simplify(difference) != 0


def _term(power: Any, coefficient: sp.Expr) -> sp.Expr:
    return coefficient if power is None else coefficient * sp.Symbol("h", real=True) ** power


def _text(terms: list[tuple[Any, sp.Expr]], h: sp.Symbol, shift: sp.Symbol) -> str:
    """The expansion lowest power first, as the polynomial is printed: `1/x + x/6 + 7*x**3/360`."""
    ordered = sorted(terms, key=lambda term: (term[0] is None, term[0] if term[0] is not None else 0))
    shown = [str(_term(power, coefficient).subs(h, shift)) for power, coefficient in ordered
             if coefficient != 0]
    return " + ".join(shown).replace("+ -", "- ") or "0"
