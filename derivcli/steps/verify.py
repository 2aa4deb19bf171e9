"""Every step held to `sympy.diff`: the step's result must equal SymPy's derivative of its expression.

Where SymPy builds the very same expression the step is verified symbolically at once.  Otherwise both are
evaluated at random points (exact binary rationals, so nothing is rounded on the way in) at 30 digits by
mpmath, through SymPy's evalf, as `--expect` compares an answer; a point where SymPy's derivative is not a
finite real number is skipped.
Where no point settles it, or the values differ, `simplify` of the difference decides, within a budget.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

import sympy as sp

from ..learn.expect import DIGITS
from ..learn.expect import _at as value_at
from ..learn.expect import _close as close
from ..limits.budget import OverBudget, time_budget
from ..limits.recursion import deep_recursion
from .tree import Step

POINTS = 3  # agreeing points that verify a step
TRIES = 40  # random points drawn at most, per step
RANGES = ((-3.0, 3.0), (0.05, 1.0), (1.05, 4.0), (-4.0, -1.05))  # so log, asin, acosh… all find points
SIMPLIFY_SECONDS = 0.5  # one step's simplify
AUTOGRAD = "a tensor function's derivative is taken by autograd, not symbolically"
VERIFY_SECONDS = 10.0  # the whole tree: past it, the remaining steps are left unchecked (and say so)


@dataclass
class Check:
    """How a step was verified: `identical` (SymPy's derivative is the same expression), `numeric`
    (equal to 30 digits at POINTS random points), `simplified` (simplify reduced the difference to 0),
    `autograd` (a tensor function's derivative, left to torch), or `unchecked`/`FAILED` with why."""

    method: str
    ok: bool | None
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "ok": self.ok, "detail": self.detail}


def verify(root: Step, seconds: float = VERIFY_SECONDS) -> bool | None:
    """Check every step (sets `step.check`); False if any step is wrong, None if some went unchecked."""
    deadline = time.monotonic() + seconds
    outcome: bool | None = True
    for step in root.walk():
        if time.monotonic() > deadline:
            step.check = Check("unchecked", None, f"verifying the steps took more than {seconds:g} s")
        else:
            with deep_recursion():  # SymPy's diff recurses as deep as the expression nests
                step.check = check_step(step)
        if step.check.ok is False:
            outcome = False
        elif step.check.ok is None and step.check.method != "autograd" and outcome:
            outcome = None
    return outcome


def check_step(step: Step) -> Check:
    """One step's result against sympy.diff of its expression."""
    if isinstance(step.result, sp.Derivative) and step.result.expr == step.expression:  # left to autograd
        return Check("autograd", None, AUTOGRAD)
    expected = sp.diff(step.expression, step.wrt)
    claimed = step.result.doit() if step.result.has(sp.Derivative) else step.result
    if claimed == expected:
        return Check("identical", True)
    difference = claimed - expected
    if difference == 0:
        return Check("identical", True)
    if difference.has(sp.Derivative):
        return Check("autograd", None, AUTOGRAD)
    agreed, mismatch = _numeric(claimed, expected, sorted(difference.free_symbols, key=lambda s: s.name))
    if agreed >= POINTS and mismatch is None:
        return Check("numeric", True, f"equal to {DIGITS} digits at {agreed} random points")
    if _simplifies_to_zero(difference):
        return Check("simplified", True)
    if mismatch is not None:
        return Check("FAILED", False, mismatch)
    return Check("unchecked", None, "no point was found where SymPy's derivative is a finite real number")


def _numeric(claimed: sp.Expr, expected: sp.Expr, symbols: list[sp.Symbol]) -> tuple[int, str | None]:
    """(points where both agree, the first disagreement as text or None)."""
    rng = random.Random(0)
    agreed = 0
    for _ in range(TRIES):
        point = {symbol: sp.Rational(rng.uniform(*rng.choice(RANGES))) for symbol in symbols}
        want = _number(expected, point)
        if want is None:
            continue
        got = _number(claimed, point)
        if got is None or not close(want, got):
            at = ", ".join(f"{symbol} = {float(value):.6g}" for symbol, value in point.items())
            return agreed, f"at {at} the step gives {_text(got)}, SymPy's derivative {_text(want)}"
        agreed += 1
        if agreed == POINTS:
            break
    return agreed, None


def _number(expr: sp.Expr, point: dict[sp.Symbol, sp.Rational]) -> sp.Float | None:
    """expr at the point to 30 digits, or None where that is not a finite real number (SymPy's evalf leaves
    some nodes standing, such as DiracDelta of an argument it cannot sign)."""
    value = value_at(expr, point)
    return value if value is not None and value.is_Number else None


def _simplifies_to_zero(difference: sp.Expr) -> bool:
    try:
        with time_budget(SIMPLIFY_SECONDS):
            return bool(sp.simplify(difference) == 0)
    except OverBudget:
        return False


def _text(value: sp.Float | None) -> str:
    return "no finite real number" if value is None else f"{float(value):.10g}"
