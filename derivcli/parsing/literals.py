"""Number literals as exact SymPy numbers, told their sign facts up front."""

from __future__ import annotations

from typing import Any

_SIGN_FACTS: dict[tuple[type, int], dict[str, bool]] = {}


def with_sign_facts(number: Any) -> Any:
    """The number, told its sign-derived assumptions up front.

    The first question SymPy asks of a fresh number (`is_zero`, when it multiplies; `is_extended_negative`,
    when it prints) goes through its general inference engine, twice, at ~40 µs a time: half the cost of
    building and printing `x**2 + 17*sin(x)` when 17 is new.  The answers follow from the class and the
    sign, so they are deduced once per (class, sign) and copied into the number's fact base, which is only
    a cache of true facts: anything not told is still asked and deduced as before.  Where SymPy's fact
    base is not as expected, the number is left alone.
    """
    from sympy import Rational

    defaults: Any = getattr(type(number), "default_assumptions", None)
    untouched = defaults is not None and getattr(number, "_assumptions", None) is defaults
    if not isinstance(number, Rational) or not untouched:  # already asked something: nothing to save
        return number
    sign = (number.p > 0) - (number.p < 0)
    key = (type(number), sign)
    facts = _SIGN_FACTS.get(key)
    if facts is None:
        known = defaults.copy()
        known.deduce_all_facts({"zero": sign == 0, "extended_negative": sign < 0, "extended_positive": sign > 0})
        facts = _SIGN_FACTS[key] = dict(known)
    told = type(defaults)()
    told.update(facts)
    number._assumptions = told
    return number


def number_literal(text: str) -> Any:
    """The exact number a literal writes (0.1 is 1/10, so x**0.5 is sqrt(x) to SymPy); None for one
    beyond float64."""
    import sympy as sp

    if float(text) == float("inf"):
        return None
    if text.isascii() and text.isdigit():
        return with_sign_facts(sp.Integer(int(text)))
    mantissa, _, exponent = text.lower().partition("e")
    if exponent and abs(int(exponent)) > 400:
        return sp.Integer(0)  # underflows to zero in float64 (overflow was caught above)
    whole, _, fraction = mantissa.partition(".")
    numerator = int((whole + fraction) or "0")
    power = int(exponent or 0) - len(fraction)
    return with_sign_facts(sp.Integer(numerator) * sp.Integer(10) ** power if power >= 0
                           else sp.Rational(numerator, 10 ** -power))
