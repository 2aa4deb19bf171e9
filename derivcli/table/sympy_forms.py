"""SymPy functions that SymPy lacks or defines unhelpfully for a real-valued calculator.

Each has its own derivative (`fdiff`), so the symbolic `--check` covers it exactly like a built-in.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.core.logic import fuzzy_and


class _RealFunction(sp.Function):
    """A one-argument function that is real wherever its argument is."""

    nargs: int | tuple[int, ...] = 1

    def _eval_is_extended_real(self) -> bool | None:
        return self.args[0].is_extended_real

    def definition(self) -> sp.Expr:
        """The function in plain SymPy, for SymPy's own numeric evaluation (evalf)."""
        raise NotImplementedError

    def _eval_evalf(self, prec: int) -> sp.Expr | None:
        """The definition at the arguments' values, not at the arguments: built on exact constants, SymPy's
        algebra runs first, and silu(10**20*log(2)) asks exp for 2**(10**20), an integer of 10**20 bits."""
        from mpmath.libmp import prec_to_dps

        values = [argument.evalf(prec_to_dps(prec) + 10) for argument in self.args]
        if not all(value.is_Number for value in values):
            return None
        return self.func(*values, evaluate=False).definition()._eval_evalf(prec)


def power(base: sp.Expr, exponent: sp.Expr, evaluate: bool = True) -> sp.Expr:
    """SymPy's `base**exponent`, built without evaluation where evaluation cannot change it.

    For a sum of variables to a number other than 0 or 1, SymPy's Pow only asks the sum's `_eval_power`,
    which returns a new form only when one of two terms is infinite or the sum is a constant.  Asking
    each term whether it is infinite is a full assumptions deduction (~0.5 ms for exp(u) + 1, a third of
    a batch request), and no term here is ever infinite: the builder keeps infinities out.
    """
    plain_sum = base.is_Add and base.free_symbols and not any(term in (sp.oo, -sp.oo, sp.zoo) for term in base.args)
    if evaluate and plain_sum and exponent.is_Rational and exponent not in (sp.S.Zero, sp.S.One):
        return sp.Pow(base, exponent, evaluate=False)
    return sp.Pow(base, exponent, evaluate=evaluate)


def sqrt(arg: sp.Expr, evaluate: bool = True) -> sp.Expr:
    """SymPy's sqrt, built by `power`."""
    return power(arg, sp.S.Half, evaluate)


class held(sp.Function):
    """A constant kept from SymPy's algebra, for torch to compute: one SymPy would make infinite, undefined
    or complex (1/0, 0/0, log(0), log(-1)), one it cannot show to be real (asin(3)), or an exact root of
    huge degree (2**1e-300).  Folded into its neighbours it would become SymPy's zoo or nan (x*(0/0) is
    nan*x, which SymPy cannot even print), make its comparisons raise, or cost it unbounded time and
    memory; torch computes its real IEEE value (inf, nan) from the held node.  A constant, so its
    derivative is 0."""

    nargs = 1
    is_number = False  # no evalf, no numeric comparisons: it has no SymPy value

    @classmethod
    def eval(cls, arg: sp.Expr) -> None:
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero

    @property
    def precedence(self) -> int:
        """Low, so that the printer parenthesizes a held quotient wherever it stands beside others
        (x*(1/0), -x*(0/0), x + (1/0), (1/0)**2), but not alone in a call (sin(1/0)); a held function
        call, log(0), is an atom."""
        from sympy.printing.precedence import PRECEDENCE

        return PRECEDENCE["Func" if isinstance(self.args[0], sp.Function) else "Add"]

    def _sympystr(self, printer: Any) -> str:
        return printer._print(self.args[0])


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

    def definition(self) -> sp.Expr:
        return sp.sign(self.args[0]) * sp.Abs(self.args[0]) ** sp.Rational(1, 3)


class floor(sp.floor):
    """floor with derivative 0 (SymPy leaves it unevaluated; torch, and almost everywhere, say 0)."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero


class ceiling(sp.ceiling):
    """ceiling with derivative 0, for the same reason as floor."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero


class Abs(sp.Abs):
    """|u| with derivative sign(u)·u' for every real u (SymPy's own brings in re() and im() when it cannot
    prove u real, as for asin(x), and divides by sign(u), NaN at 0)."""

    def _eval_derivative(self, x: sp.Symbol) -> sp.Expr:
        return sign(self.args[0]) * self.args[0].diff(x)


class sign(sp.sign):
    """sign(u) with derivative 2·DiracDelta(u)·u', which is 0 away from u = 0, for every real u (SymPy
    leaves Derivative(sign(u), x) unevaluated when it cannot prove u real)."""

    def _eval_derivative(self, x: sp.Symbol) -> sp.Expr:
        return 2 * sp.DiracDelta(self.args[0]) * self.args[0].diff(x)


class sigmoid(_RealFunction):
    """Logistic function 1/(1 + exp(-x)); lowered to torch.sigmoid, which is stable for any x."""

    @classmethod
    def eval(cls, arg: sp.Expr) -> sp.Expr | None:
        return sp.Rational(1, 2) if arg.is_number and arg.is_zero else None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sigmoid(self.args[0]) * (1 - sigmoid(self.args[0]))

    def definition(self) -> sp.Expr:
        return 1 / (1 + sp.exp(-self.args[0]))


class relu(_RealFunction):
    """max(x, 0), with derivative Heaviside(x, 0): 0 at x = 0, as torch.relu."""

    @classmethod
    def eval(cls, arg: sp.Expr) -> sp.Expr | None:
        if arg.is_number and arg.is_comparable:
            return sp.Max(arg, 0)
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.Heaviside(self.args[0], 0)

    def definition(self) -> sp.Expr:
        return sp.Max(self.args[0], 0)


class softplus(_RealFunction):
    """log(1 + exp(x)); lowered to a form that neither overflows nor loses its gradient."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sigmoid(self.args[0])

    def definition(self) -> sp.Expr:
        return sp.log(1 + sp.exp(self.args[0]))


# ------------------------------------------------------------------------------------- activations
# As torch.nn.functional defines them, with its defaults and its gradient at the kinks, so that a value
# or a derivative from SymPy (the symbolic --check) is the one torch computes.


class _Activation(_RealFunction):
    """An activation with optional numeric parameters after x (elu's alpha, hardtanh's bounds).

    The node keeps the arguments as written (elu(x) prints as elu(x)); `parameters` fills in the defaults.
    """

    defaults: tuple[sp.Expr, ...] = ()

    def _eval_is_extended_real(self) -> bool | None:
        return fuzzy_and(arg.is_extended_real for arg in self.args)

    @property
    def parameters(self) -> tuple[sp.Expr, ...]:
        """x, then every parameter, given or default."""
        return (*self.args, *self.defaults[len(self.args) - 1:])

    @classmethod
    def eval(cls, *args: sp.Expr) -> sp.Expr | None:
        """At numbers SymPy can compare, the definition's value (the kink decided); else the node stays."""
        return cls(*args, evaluate=False).definition() if cls._numbers(args) else None

    def definition(self) -> sp.Expr:
        raise NotImplementedError

    @classmethod
    def _numbers(cls, args: tuple[sp.Expr, ...]) -> bool:
        """Whether every argument is a real number SymPy can compare (so a kink can be decided)."""
        return all(arg.is_number and arg.is_comparable for arg in args)


class gelu(_RealFunction):
    """The exact GELU x/2*(1 + erf(x/sqrt(2))), torch's default (approximate='none')."""

    @classmethod
    def eval(cls, arg: sp.Expr) -> sp.Expr | None:
        return sp.S.Zero if arg.is_number and arg.is_zero else None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x = self.args[0]
        return (1 + sp.erf(x / sp.sqrt(2))) / 2 + x * sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)

    def definition(self) -> sp.Expr:
        x = self.args[0]
        return x * sp.erfc(-x / sp.sqrt(2)) / 2  # = x/2*(1 + erf(x/sqrt(2))), without its cancellation


class silu(_RealFunction):
    """x*sigmoid(x) (swish)."""

    @classmethod
    def eval(cls, arg: sp.Expr) -> sp.Expr | None:
        return sp.S.Zero if arg.is_number and arg.is_zero else None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x = self.args[0]
        return sigmoid(x) * (1 + x * (1 - sigmoid(x)))

    def definition(self) -> sp.Expr:
        return self.args[0] / (1 + sp.exp(-self.args[0]))


class elu(_Activation):
    """x for x > 0, alpha*(exp(x) - 1) for x <= 0 (alpha defaults to 1); at 0 its derivative is alpha, as
    torch's."""

    nargs = (1, 2)
    defaults = (sp.S.One,)

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x, alpha = self.parameters
        if argindex == 1:
            return sp.Piecewise((sp.S.One, x > 0), (alpha * sp.exp(x), True))
        return sp.Piecewise((sp.S.Zero, x > 0), (sp.exp(x) - 1, True))

    def definition(self) -> sp.Expr:
        x, alpha = self.parameters
        return sp.Piecewise((x, x > 0), (alpha * (sp.exp(x) - 1), True))


class leaky_relu(_Activation):
    """x for x > 0, slope*x for x <= 0 (slope defaults to 0.01); at 0 its derivative is slope, as torch's."""

    nargs = (1, 2)
    defaults = (sp.Rational(1, 100),)

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x, slope = self.parameters
        if argindex == 1:
            return sp.Piecewise((sp.S.One, x > 0), (slope, True))
        return sp.Piecewise((sp.S.Zero, x > 0), (x, True))

    def definition(self) -> sp.Expr:
        x, slope = self.parameters
        return sp.Piecewise((x, x > 0), (slope * x, True))


class hardtanh(_Activation):
    """x clamped to [min, max] (defaults -1 and 1), as torch.clamp: min(max(x, lo), hi).  The derivative
    in x is 1 strictly inside and 0 at the bounds, as torch's; the one in a bound is 1 where the result
    is that bound (lo where x <= lo < hi, hi where max(x, lo) >= hi)."""

    nargs = (1, 2, 3)
    defaults = (sp.S.NegativeOne, sp.S.One)

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x, lo, hi = self.parameters
        inside, at_lo = sp.And(x > lo, x < hi), sp.And(x <= lo, lo < hi)
        if argindex == 1:
            return sp.Piecewise((sp.S.One, inside), (sp.S.Zero, True))
        if argindex == 2:
            return sp.Piecewise((sp.S.One, at_lo), (sp.S.Zero, True))
        return sp.Piecewise((sp.S.Zero, inside | at_lo), (sp.S.One, True))

    def definition(self) -> sp.Expr:
        x, lo, hi = self.parameters
        return sp.Min(sp.Max(x, lo), hi)


class softsign(_RealFunction):
    """x/(1 + |x|)."""

    @classmethod
    def eval(cls, arg: sp.Expr) -> sp.Expr | None:
        return arg / (1 + sp.Abs(arg)) if arg.is_number and arg.is_comparable else None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return 1 / (1 + Abs(self.args[0])) ** 2

    def definition(self) -> sp.Expr:
        return self.args[0] / (1 + sp.Abs(self.args[0]))


class logsigmoid(_RealFunction):
    """log(sigmoid(x)) = -softplus(-x); lowered to torch's logsigmoid, stable for any x."""

    @classmethod
    def eval(cls, arg: sp.Expr) -> sp.Expr | None:
        return -sp.log(2) if arg.is_number and arg.is_zero else None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sigmoid(-self.args[0])

    def definition(self) -> sp.Expr:
        return -sp.log(1 + sp.exp(-self.args[0]))


class mish(_RealFunction):
    """x*tanh(softplus(x))."""

    @classmethod
    def eval(cls, arg: sp.Expr) -> sp.Expr | None:
        return sp.S.Zero if arg.is_number and arg.is_zero else None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x = self.args[0]
        t = sp.tanh(softplus(x))
        return t + x * sigmoid(x) * (1 - t**2)

    def definition(self) -> sp.Expr:
        return self.args[0] * sp.tanh(sp.log(1 + sp.exp(self.args[0])))


# ----------------------------------------------------------------------------------------- tensors
# The base of the tensor operations, which are in `tensor_forms` (products, reductions, softmax, indexing)
# and `tensor_ops` (shapes, statistics, losses, linear algebra).


class TensorFunction(sp.Function):
    """Base of the tensor operations: never evaluated or simplified by SymPy."""

    @classmethod
    def eval(cls, *args: sp.Expr) -> None:
        return None

    def _eval_is_extended_real(self) -> bool:
        return True

    def _sympystr(self, printer: Any) -> str:
        name = getattr(self, "display_name", type(self).__name__)
        return f"{name}({', '.join(printer._print(arg) for arg in self.args)})"

    def on_elements(self, *args: Any) -> Any:  # pragma: no cover - every subclass defines it
        raise NotImplementedError


# The nodes where a function has a kink or a jump (kinks are looked for there; a series is taken from both
# sides there): by class, and by name for the activations and reductions defined in other modules.
NON_SMOOTH = (Abs, sp.Abs, relu, sign, sp.sign, sp.Heaviside, floor, ceiling, sp.floor, sp.ceiling, sp.Max, sp.Min,
              sp.Piecewise)
NON_SMOOTH_NAMES = ("leaky_relu", "elu", "hardtanh", "amax", "amin", "norm", "relu6", "hardsigmoid", "hardswish",
                    "selu", "clamp")
