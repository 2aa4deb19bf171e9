"""A constant's value to all the digits asked for, or no value: SymPy's evalf, made strict.

Left to itself, evalf hands over what it cannot tell from zero as a number: `2 - 2` as written is to it
"below 1e-165", and it gives that bound as -2.2e-165 (so `1/(2 - 2)` as 4.6e164); `log(2) + log(3) - log(6)`
as 1e-172.  Every place that takes evalf's word for the truth (exact constants, the symbolic check's
reference, the diagnosis's true values, emitted literals, `--expect`) goes through `evaluated` instead.
"""
from __future__ import annotations

from typing import Any

MAX_DIGITS = 400  # the working precision evalf may reach: sin(10**100) needs about 130 digits for 30
FAILURES = (ValueError, TypeError, ArithmeticError, RecursionError)  # (PrecisionExhausted is an ArithmeticError)


def evaluated(expr: Any, digits: int = 30, subs: dict[Any, Any] | None = None) -> Any:
    """expr (at `subs`) with all `digits` digits correct, or None where SymPy cannot get them.

    What evalf returns that is not a finite real number passes through (symbols left, booleans, complex
    numbers, zoo).  Where strict evalf gives up, every sum it cannot tell from zero even at MAX_DIGITS
    digits is taken as the 0 it almost surely is (`x**2 - 4` at x = 2, `log(2) + log(3) - log(6)`: a sum
    below 1e-400 of its terms' size could be nothing else to float64), and the rest is evaluated again,
    strictly: `1/(2 - 2)` is zoo, `1 + (2 - 2)` is 1.  Where no sum is to blame (sin(10**500) needs 530
    digits), the value is the number that readings at MAX_DIGITS and at twice that agree on."""
    if not hasattr(expr, "evalf"):
        return expr
    try:
        return _strict(expr, digits, subs)
    except FAILURES:
        pass
    zeroed = _without_zero_sums(expr, subs)
    if zeroed is expr:
        return _settled(expr, digits, subs)
    try:
        return _strict(zeroed, digits, subs) if hasattr(zeroed, "evalf") else zeroed
    except FAILURES:
        return None


def _strict(expr: Any, digits: int, subs: dict[Any, Any] | None) -> Any:
    return expr.evalf(digits, subs=subs, strict=True, maxn=MAX_DIGITS)


def _without_zero_sums(expr: Any, subs: dict[Any, Any] | None) -> Any:
    """expr with each sum (at `subs`) that evalf cannot tell from zero replaced by 0; expr itself if none."""
    import sympy as sp
    from sympy.core.evalf import PrecisionExhausted

    def indistinct(node: Any) -> bool:
        if not isinstance(node, sp.Add):
            return False
        try:
            _strict(node, 15, subs)
            return False
        except PrecisionExhausted:
            bound = node.evalf(15, subs=subs, maxn=MAX_DIGITS)
            return bool(bound.is_Float and bound._prec <= 1)  # a "scaled zero": evalf's bound on what it lost
        except FAILURES:
            return False

    zeroed = expr.replace(indistinct, lambda node: sp.S.Zero)
    return expr if zeroed == expr else zeroed


def _settled(expr: Any, digits: int, subs: dict[Any, Any] | None) -> Any:
    """The value that non-strict readings at MAX_DIGITS and 2*MAX_DIGITS agree on to `digits` digits, or None:
    what evalf could not get at a working precision moves with it."""
    import mpmath

    try:
        first, second = (expr.evalf(digits, subs=subs, maxn=maxn) for maxn in (MAX_DIGITS, 2 * MAX_DIGITS))
    except FAILURES:
        return None
    if not (first.is_Float and second.is_Float) or min(first._prec, second._prec) <= 1:
        return None
    a, b = mpmath.mpf(first._mpf_), mpmath.mpf(second._mpf_)
    with mpmath.workdps(digits + 10):
        return first if a != 0 and abs(a - b) <= abs(a) * mpmath.mpf(10) ** -digits else None
