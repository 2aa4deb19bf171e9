"""`--expect`: is the derivative a learner worked out by hand the right one?

Equivalent forms must pass (`2 sin x cos x` for the derivative of sin² x, `1/(x ln 10)` for lg x), so
the answer is compared twice: the difference simplified by SymPy within a budget (a 0 settles it), then
numerically at random points of the domain at 30 digits, which also finds a point to show when the
answer is wrong: `your answer gives 1.27 at x = 0.4, the derivative is 0.84`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

import sympy as sp

from ..errors import DerivcliError
from ..parsing import Context, ParsedExpression, parse
from ..symbolic import with_budget

SIMPLIFY_SECONDS = 3.0
POINTS_NEEDED = 20  # points where both sides are real and finite
POINTS_TRIED = 200
DIGITS = 30


@dataclass
class ExpectVerdict:
    """The learner's formula (or number) against the derivative: agree, how it was decided, and where
    they differ when they do."""

    formula: str
    agree: bool
    method: str  # "symbolic", "numeric at N points", "the value at the point"
    counterexample: dict[str, Any] | None = None  # {"point": {...}, "yours": v, "derivative": v}

    def message(self) -> str:
        if self.agree:
            return f"your answer {self.formula} is right ({self.method})"
        if self.counterexample is None:
            return f"your answer {self.formula} is not the derivative"
        where = ", ".join(f"{name} = {value:.6g}" for name, value in self.counterexample["point"].items())
        return (f"your answer gives {self.counterexample['yours']:.6g} at {where}, "
                f"the derivative is {self.counterexample['derivative']:.6g}")

    def to_json(self) -> dict[str, Any]:
        return {"formula": self.formula, "agree": self.agree, "method": self.method,
                "counterexample": self.counterexample}


def read_expected(text: str, parsed: ParsedExpression) -> sp.Expr:
    """The learner's formula, read by the same safe parser with f's variables as the known names; a
    variable f does not have is an error (an answer in the wrong variable)."""
    names = frozenset(parsed.variables)
    try:
        answer = parse(text, Context(names, frozenset(), letters=not names))
    except DerivcliError as error:
        raise DerivcliError(f"--expect: {error.message}", hint=error.hint) from None
    strangers = [name for name in answer.variables if name not in parsed.symbols]
    if strangers:
        raise DerivcliError(f"--expect: your answer uses {', '.join(strangers)}, which f does not have",
                            hint=f"f's variables are {', '.join(parsed.variables) or 'none'}")
    symbols = {answer.symbols[name]: parsed.symbols[name] for name in answer.variables}
    return answer.expr.xreplace(symbols)


def check_expected(text: str, parsed: ParsedExpression, derivative: sp.Expr, seed: int = 0) -> ExpectVerdict:
    """Whether `text` is `derivative` in another form: symbolically, else at random points."""
    answer = read_expected(text, parsed)
    done, difference = with_budget(_simplified_difference, (derivative, answer), SIMPLIFY_SECONDS)
    if done and difference == 0:
        return ExpectVerdict(text, True, "symbolic")
    symbols = sorted(derivative.free_symbols | answer.free_symbols, key=str)
    rng = random.Random(seed)
    compared = 0
    for _ in range(POINTS_TRIED):
        point = {symbol: _sample(rng) for symbol in symbols}
        truth, yours = _at(derivative, point), _at(answer, point)
        if truth is None or yours is None:
            continue
        compared += 1
        if not _close(truth, yours):
            return ExpectVerdict(text, False, f"numeric at {compared} points", {
                "point": {str(symbol): float(value) for symbol, value in point.items()},
                "yours": float(yours), "derivative": float(truth)})
        if compared >= POINTS_NEEDED:
            return ExpectVerdict(text, True, f"numeric at {compared} points, {DIGITS} digits")
    if compared == 0:
        raise DerivcliError(f"--expect: found no point where both your answer and the derivative are defined "
                            f"(tried {POINTS_TRIED})")
    return ExpectVerdict(text, True, f"numeric at only {compared} points where both are defined")


def is_number(text: str) -> bool:
    """Whether an answer is a number (`0.5`, `sqrt(3)/2`) rather than a formula, by the syntax alone."""
    from ..parsing import CONSTANT_NAMES, check_syntax
    from ..parsing.notation import CONSTANTS

    try:
        return all(name in CONSTANTS or name in CONSTANT_NAMES for name in check_syntax(text).names())
    except DerivcliError:
        return False


def check_expected_number(text: str, value: float, truth: float | None, rtol: float, atol: float) -> ExpectVerdict:
    """`grad --expect 0.5`: a number against the derivative at the point (its 30-digit value where known)."""
    from ..bindings import parse_value

    expected = parse_value("expect", text)
    if not isinstance(expected, float):
        raise DerivcliError("--expect takes a formula or one number")
    reference = value if truth is None else truth
    typed = re.fullmatch(r"\s*[+-]?\d*\.(\d+)\s*", text)  # 0.5403 means "to 4 decimals"
    rounding = 0.5 * 10.0 ** -len(typed.group(1)) if typed else 0.0
    agree = abs(expected - reference) <= max(atol, rtol * abs(reference), rounding)
    return ExpectVerdict(text, agree, "the value at the point",
                         None if agree else {"point": {}, "yours": expected, "derivative": reference})


def _simplified_difference(derivative: sp.Expr, answer: sp.Expr) -> sp.Expr:
    return sp.simplify(derivative - answer)


def _sample(rng: random.Random) -> sp.Float:
    """Points across the usual domains: negative, small, positive (logarithms and roots want those)."""
    low, high = rng.choice([(-3.0, 3.0), (0.05, 3.0), (0.05, 1.0)])
    return sp.Float(round(rng.uniform(low, high), 3), DIGITS)


def _at(expression: sp.Expr, point: dict[Any, Any]) -> sp.Float | None:
    try:
        value = sp.N(expression.xreplace(point), DIGITS)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    if not value.is_Number or not value.is_real or not value.is_finite:  # (an unevaluated DiracDelta(0) is no number)
        return None
    return value


def _close(truth: sp.Float, yours: sp.Float) -> bool:
    return bool(abs(truth - yours) <= sp.Float(10) ** (-DIGITS + 8) * max(1, abs(truth)))
