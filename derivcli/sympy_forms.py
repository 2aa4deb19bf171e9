"""SymPy functions that SymPy lacks or defines unhelpfully for a real-valued calculator.

Each has its own derivative (`fdiff`), so the symbolic `--check` covers it exactly like a built-in.
"""

from __future__ import annotations

import sympy as sp


class _RealFunction(sp.Function):
    """A one-argument function that is real wherever its argument is."""

    nargs = 1

    def _eval_is_extended_real(self) -> bool | None:
        return self.args[0].is_extended_real


class cbrt(_RealFunction):
    """Real cube root: cbrt(-8) = -2 (SymPy's own cbrt is the complex principal root)."""

    @classmethod
    def eval(cls, arg: sp.Expr) -> sp.Expr | None:
        if arg.is_Rational:
            root, exact = sp.integer_nthroot(abs(arg.p), 3)
            root_q, exact_q = sp.integer_nthroot(arg.q, 3)
            if exact and exact_q:
                return sp.sign(arg) * sp.Rational(root, root_q)
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return 1 / (3 * cbrt(self.args[0]) ** 2)


class floor(sp.floor):
    """floor with derivative 0 (SymPy leaves it unevaluated; torch, and almost everywhere, say 0)."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero


class ceiling(sp.ceiling):
    """ceiling with derivative 0, for the same reason as floor."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero


class sigmoid(_RealFunction):
    """Logistic function 1/(1 + exp(-x)); lowered to torch.sigmoid, which is stable for any x."""

    @classmethod
    def eval(cls, arg: sp.Expr) -> sp.Expr | None:
        return sp.Rational(1, 2) if arg.is_zero else None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sigmoid(self.args[0]) * (1 - sigmoid(self.args[0]))


class relu(_RealFunction):
    """max(x, 0), with derivative Heaviside(x, 0): 0 at x = 0, as torch.relu."""

    @classmethod
    def eval(cls, arg: sp.Expr) -> sp.Expr | None:
        if arg.is_number and arg.is_extended_real:
            return sp.Max(arg, 0)
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.Heaviside(self.args[0], 0)


class softplus(_RealFunction):
    """log(1 + exp(x)); lowered to a form that neither overflows nor loses its gradient."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sigmoid(self.args[0])
