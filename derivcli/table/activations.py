"""SymPy forms of torch's bounded and scaled activations (relu6, hardsigmoid, hardswish, selu, celu) and
of clamp, as torch.nn.functional defines them: the value, and at every kink the one-sided derivative
torch's backward returns, so that the symbolic `--check` compares like with like.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from .sympy_forms import _Activation, _RealFunction

# Where each activation of a fixed shape has a kink (clamp's are its bounds), for the kink finder.
KINKS = {"relu6": (0.0, 6.0), "hardsigmoid": (-3.0, 3.0), "hardswish": (-3.0, 3.0), "selu": (0.0,)}

# torch's SELU constants (torch.nn.functional.selu), to 30 digits
SELU_ALPHA = sp.Float("1.67326324235437728481704299167", 30)
SELU_SCALE = sp.Float("1.05070098735548049341933498529", 30)


class _Bounded(_RealFunction):
    """A one-argument activation given by its definition, evaluated at numbers (a kink is decided there)."""

    @classmethod
    def eval(cls, arg: sp.Expr) -> sp.Expr | None:
        return cls(arg, evaluate=False).definition() if arg.is_number and arg.is_comparable else None


class relu6(_Bounded):
    """min(max(x, 0), 6); derivative 1 strictly inside (0, 6), 0 at both ends, as torch's."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x = self.args[0]
        return sp.Piecewise((sp.S.One, sp.And(x > 0, x < 6)), (sp.S.Zero, True))

    def definition(self) -> sp.Expr:
        return sp.Min(sp.Max(self.args[0], 0), 6)


class hardsigmoid(_Bounded):
    """relu6(x + 3)/6; derivative 1/6 strictly inside (-3, 3), 0 at both ends, as torch's."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x = self.args[0]
        return sp.Piecewise((sp.Rational(1, 6), sp.And(x > -3, x < 3)), (sp.S.Zero, True))

    def definition(self) -> sp.Expr:
        return sp.Min(sp.Max(self.args[0] + 3, 0), 6) / 6


class hardswish(_Bounded):
    """x*relu6(x + 3)/6; derivative 0 up to -3 (included), x/3 + 1/2 below 3, 1 from 3, as torch's."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x = self.args[0]
        return sp.Piecewise((sp.S.Zero, x <= -3), (x / 3 + sp.S.Half, x < 3), (sp.S.One, True))

    def definition(self) -> sp.Expr:
        x = self.args[0]
        return x * sp.Min(sp.Max(x + 3, 0), 6) / 6


class selu(_Bounded):
    """scale*x for x > 0, scale*alpha*(exp(x) - 1) else; at 0 the derivative is scale*alpha, as torch's."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x = self.args[0]
        return sp.Piecewise((SELU_SCALE, x > 0), (SELU_SCALE * SELU_ALPHA * sp.exp(x), True))

    def definition(self) -> sp.Expr:
        x = self.args[0]
        return sp.Piecewise((SELU_SCALE * x, x > 0), (SELU_SCALE * SELU_ALPHA * (sp.exp(x) - 1), True))


class celu(_Activation):
    """x for x > 0, alpha*(exp(x/alpha) - 1) else (alpha defaults to 1); derivative 1 at 0."""

    nargs = (1, 2)
    defaults = (sp.S.One,)

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x, alpha = self.parameters
        if argindex == 1:
            return sp.Piecewise((sp.S.One, x > 0), (sp.exp(x / alpha), True))
        return sp.Piecewise((sp.S.Zero, x > 0), (sp.exp(x / alpha) - 1 - x / alpha * sp.exp(x / alpha), True))

    def definition(self) -> sp.Expr:
        x, alpha = self.parameters
        return sp.Piecewise((x, x > 0), (alpha * (sp.exp(x / alpha) - 1), True))


class clamp(_Activation):
    """min(max(x, lo), hi), either bound left out (-oo, oo).  torch.clamp's gradients: to x where
    lo <= x <= hi (the bounds included, unlike hardtanh), to lo where x < lo < hi, to hi where x > hi or
    hi < lo."""

    nargs = 3

    @classmethod
    def make(cls, operands: list[Any], settings: dict[str, Any]) -> sp.Expr:
        x, low, high = operands
        return cls(x, sp.S.NegativeInfinity if low is None else low, sp.S.Infinity if high is None else high)

    @classmethod
    def eval(cls, *args: sp.Expr) -> sp.Expr | None:
        return cls(*args, evaluate=False).definition() if cls._numbers(args[:1]) and all(
            bound.is_number for bound in args[1:]) else None

    def _eval_is_extended_real(self) -> bool | None:
        return self.args[0].is_extended_real

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x, low, high = self.args
        has_low, has_high = low is not sp.S.NegativeInfinity, high is not sp.S.Infinity
        if argindex == 1:
            inside = sp.And(*([x >= low] if has_low else []), *([x <= high] if has_high else []))
        elif argindex == 2:
            inside = sp.And(x < low, *([low < high] if has_high else []))
        else:
            inside = sp.Or(x > high, *([high < low] if has_low else []))
        return sp.Piecewise((sp.S.One, inside), (sp.S.Zero, True))

    def definition(self) -> sp.Expr:
        x, low, high = self.args
        return sp.Min(sp.Max(x, low), high)

    def _sympystr(self, printer: Any) -> str:
        x, low, high = self.args
        shown = [printer._print(x)]
        if low is not sp.S.NegativeInfinity:
            shown.append(printer._print(low))
        if high is not sp.S.Infinity:
            shown.append(printer._print(high) if len(shown) == 2 else f"max={printer._print(high)}")
        return f"clamp({', '.join(shown)})"
