"""The bounds every reading of untrusted text obeys, in one place, and the helpers that apply them.

Every size that could explode is bounded before SymPy sees it: the text's length, nesting depth, number
literals, exact constant powers, inline tensors and the arguments of factorial-like functions.
"""

from __future__ import annotations

import re
from typing import Any

MAX_LENGTH = 10_000  # characters of expression text
MAX_NESTING = 100  # parentheses, powers, unary operators and calls inside one another
MAX_LITERAL = 300  # characters of one number literal
MAX_NAME = 64
MAX_EXACT_BITS = 4_000  # about 1,200 digits: the largest exact constant SymPy may build
MAX_EXACT_EXPONENT = 10_000
MAX_TENSOR_ELEMENTS = 4_096  # elements of one tensor written inline, [1, 2, 3]
MAX_SPLITS = 64  # ways one run-together name may be split before derivcli stops counting
MAX_CONDITIONALS_IN_CONDITIONS = 4  # `a if (1 if c else 2) > y else b`: SymPy splits a comparison of k of them
# into 2**k cases, and each nested one doubles its condition (8 took SymPy 2 s; 11 nested, 12 s)
MAX_POLYGAMMA_ORDER = 100  # polygamma(n, x): past it the values leave float64 (polygamma(171, 1) is 1e309)


def magnitude(constant: Any) -> float:
    """|constant| as a float (inf when it overflows), cheaply, for the size guards."""
    try:
        return abs(float(constant.evalf(15)))
    except (OverflowError, TypeError, ValueError):
        return float("inf")


def raised_constants(base: Any) -> list[Any]:
    """The exact constants SymPy computes to the power when it raises `base` to a rational: the base if
    it is constant, else what it distributes the power over, the constant factor of a product
    ((2*x)**n -> 2**n*x**n) and the branches of an 'if' ((2 if x > 0 else 3)**n)."""
    from sympy import Mul, Piecewise

    if not base.free_symbols:
        return [base]
    if isinstance(base, Mul):
        constant = Mul(*[factor for factor in base.args if not factor.free_symbols])
        return [constant] + [inner for factor in base.args if isinstance(factor, Piecewise)
                             for inner in raised_constants(factor)]
    if isinstance(base, Piecewise):
        return [constant for branch, _ in base.args for constant in raised_constants(branch)]
    return []


def power_text(base: Any, exponent: Any) -> str:
    """base**exponent as text, each in parentheses unless a plain name or whole number."""
    parts = [short(part) for part in (base, exponent)]
    return "**".join(part if re.fullmatch(r"\w+(\(\w*\))?", part) else f"({part})" for part in parts)


def short(value: Any) -> str:
    """A number's text, shortened so that even a huge integer prints safely."""
    text = str(value) if not value.is_Integer or abs(value).p.bit_length() < 1000 else "a huge integer"
    return text if len(text) <= 40 else text[:20] + "…" + text[-10:]
