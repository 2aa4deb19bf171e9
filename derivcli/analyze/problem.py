"""What `analyze` studies: the function and its derivatives on an interval (`Problem`), and the points it
finds, with their exact and float texts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import DerivcliError
from ..inputs.names import check_wrt
from ..wire import number_text
from .result import Spot

DEFAULT_INTERVAL = ("-10", "10")  # when neither --from nor --to is given (said in the output)
EXACT_MATCH = 1e-9  # a numeric root this close (relatively) to an exact one is that one


@dataclass
class Found:
    """A point found: where, and SymPy's exact form where there is one (analysis_symbolic.Exact)."""

    x: float
    exact: Any = None

    def spot(self) -> Spot:
        return spot(self.x, self.exact)


def spot(x: float, exact: Any = None) -> Spot:
    """A point's texts: SymPy's exact form (plain, textbook), or the float."""
    from ..steps.textbook import textbook

    if exact is not None:
        return Spot(x, exact.text, textbook(exact.expr), True, exact.expr)
    return Spot(x, number_text(x), f"{x:.10g}", False)


class Problem:
    """One analysis: f as SymPy reads it and as torch computes it, the window, and the facts found so far."""

    def __init__(self, expression: str, start: str | None, end: str | None, wrt: str | None,
                 values: Mapping[str, str]) -> None:
        import sympy as sp

        from ..differentiate.setup import compile_text, reading_context
        from ..table.sympy_forms import TensorFunction
        from .numeric import Curve

        names = [name for name in values]
        context = reading_context(names, [wrt] if wrt else None)
        self.parsed, program = compile_text(expression, (), context)
        parsed = self.parsed
        self.name = _variable(parsed.variables, wrt, values)
        self.x = parsed.symbols.get(self.name, sp.Symbol(self.name, real=True))
        missing = [name for name in parsed.variables if name != self.name and name not in values]
        if missing:
            raise DerivcliError(f"analyze studies a function of one variable; {', '.join(missing)} has no value",
                                hint="give " + " ".join(f"--{name} VALUE" for name in missing) + f" (or --wrt "
                                     f"{missing[0]} to study that one)")
        held = {name: constant(values[name], f"--{name}") for name in parsed.variables if name != self.name}
        if any(isinstance(node, TensorFunction) for node in sp.preorder_traversal(parsed.expr)):
            raise DerivcliError("analyze studies a function of one real variable, not a tensor expression")
        self.f = parsed.expr.xreplace({parsed.symbols[name]: value for name, value in held.items()})
        self.df = sp.diff(self.f, self.x)
        self.d2f = sp.diff(self.df, self.x)
        self.default = start is None and end is None
        self.lo = constant(start if start is not None else DEFAULT_INTERVAL[0], "--from")
        self.hi = constant(end if end is not None else DEFAULT_INTERVAL[1], "--to")
        self.a, self.b = float(self.lo), float(self.hi)
        if not self.a < self.b:
            raise DerivcliError(f"--from {self.lo} must be less than --to {self.hi}")
        self.window = sp.Interval(self.lo, self.hi)
        self.curve = Curve(program, parsed.variables, self.name, {name: float(value) for name, value in held.items()})
        self.notes: list[str] = [_odd_root_note(power) for power in sp.preorder_traversal(self.f)
                                 if isinstance(power, sp.Pow) and power.base.has(self.x) and power.exp.is_Rational
                                 and power.exp.q % 2 == 1 and power.exp.q > 1]

    def wrong(self, what: str, point: Found, value: float, why: str) -> None:
        """A claim that failed its check: left out, and said so."""
        self.notes.append(f"{what} x = {point.spot().text} (from SymPy) does not check with autograd: {why} "
                          f"{value:.3g} there; left out")


def _odd_root_note(power: Any) -> str:
    """x**(2/3) is real for x ≥ 0 only, as Python and torch compute it; a textbook means the real cube root."""
    base, exponent = power.base, power.exp
    if exponent.q == 3:
        real = f"cbrt({base})" + ("" if exponent.p == 1 else f"**{exponent.p}")
    else:
        real = ("" if exponent.p % 2 == 0 else f"sign({base})*") + f"|{base}|**({exponent})"
    return (f"{power} is computed for {base} >= 0 only (as Python and torch compute powers); for the real root on "
            f"the whole line write {real}")


def constant(text: str, option: str) -> Any:
    """An exact real constant from its text (2*pi, 1/2, -10, 0.1), by derivcli's parser."""
    from ..parsing import parse

    expr = parse(text).expr
    if expr.free_symbols or not (expr.is_real and expr.is_finite):
        raise DerivcliError(f"{option} {text}: expected a finite real number or constant expression such as 2*pi")
    return expr


def _variable(variables: list[str], wrt: str | None, values: Mapping[str, str]) -> str:
    """--wrt, else the one variable without a value, else the only variable (its value is the tangent's point)."""
    if wrt is not None:
        check_wrt(wrt, variables)
        return wrt
    free = [name for name in variables if name not in values]
    if len(free) == 1 or (not free and len(variables) == 1):
        return (free or variables)[0]
    if not variables:
        return "x"
    raise DerivcliError("analyze studies a function of one variable; say which with --wrt",
                        hint=f"the variables are {', '.join(variables)}; give the others values (--NAME VALUE)")


def sp_zero() -> Any:
    import sympy as sp

    return sp.S.Zero


def is_close(a: float, b: float, tolerance: float = EXACT_MATCH) -> bool:
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= tolerance * max(1.0, abs(a), abs(b))
