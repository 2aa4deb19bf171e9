"""Univariate Taylor mode: truncated Taylor polynomials pushed through the SymPy expression.

Nested autograd costs about 4x per order and `sympy.diff` about 2x, so the 20th derivative is out of
reach for both; propagating the coefficients c_0..c_n of t -> f(x0 + t) costs O(n^2) per node and gives
every derivative up to n at once (f^(k)(x0) = k! c_k).

Each node's value is a 1-D tensor of n + 1 coefficients.  Most rules are linear ODEs in the result (exp:
e' = e u'; u^a: u p' = a u' p; sin/cos jointly), whose coefficient recurrences form a lower-triangular
system, so one `solve_triangular` replaces the O(n) Python loop of the textbook recurrence (same
arithmetic: forward substitution is the recurrence).  Functions with an explicit derivative (log, atan,
erf, softplus, ...) integrate the derivative's series; functions whose derivatives at the base point are
known (loggamma, polygamma) use the generic composition `compose`.

Kinks (abs, relu, max, min, floor, sign, piecewise conditions) pick the smooth piece active at x0, with
torch's conventions at the kink itself (sign(0) = 0, ties of max/min split evenly), so values and first
derivatives agree with torch autograd.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from fractions import Fraction
from typing import Union

import sympy as sp
import torch
from sympy.codegen import cfunctions

from ..errors import DerivcliError
from ..lowering.program import to_float
from ..table import gamma_kernels
from ..table.sympy_forms import TensorFunction, cbrt, relu, sigmoid, softplus

MAX_ORDER = 200
SCALED_ABOVE = 120  # above this order `derivatives` seeds x0 + 4t: k!·c_k for exp-like f would underflow c_k

Tensor = torch.Tensor
Value = Union[Tensor, bool]  # a node's series, or the truth of a condition


class TaylorUnsupported(Exception):
    """A node without a Taylor rule (tensor functions, unknown SymPy classes): the caller should fall back
    to nested autograd."""

    def __init__(self, node_type: str) -> None:
        super().__init__(f"no Taylor-mode rule for {node_type}")
        self.node_type = node_type


# ------------------------------------------------------------------------------------------ public API
def taylor_coefficients(expr: sp.Basic, variable: str, point: dict[str, float], order: int,
                        dtype: torch.dtype = torch.float64) -> Tensor:
    """Coefficients c_0..c_order of t -> f(x0 + t) at t = 0, x0 = point[variable], the other variables held
    at their point values: f^(k)(x0) = k!·c_k."""
    return _coefficients(expr, variable, point, order, dtype, scale=1.0)


def derivatives(expr: sp.Basic, variable: str, point: dict[str, float], order: int,
                dtype: torch.dtype = torch.float64) -> list[float]:
    """[f(x0), f'(x0), ..., f^(order)(x0)].

    At high orders the series of f(x0 + 4t) is computed instead (4^k c_k): the exact power-of-two seed
    changes no rounding, but keeps c_k of entire functions (1/200! ≈ 1e-375) from underflowing.
    """
    scale = 1.0 if order <= SCALED_ABOVE else 4.0
    coefficients = _coefficients(expr, variable, point, order, dtype, scale=scale)
    return [_times_factorial(float(c), k, scale) for k, c in enumerate(coefficients.tolist())]


def compose(g_coefficients: Tensor, u: Tensor) -> Tensor:
    """The series of g(u(t)) from g's Taylor coefficients at u0 = u[0], g^(k)(u0)/k! for k = 0..n (not the
    derivatives themselves, which overflow at high k), and u's coefficients: for any g whose derivatives at
    a point are known."""
    return _Algebra(len(u) - 1, u.dtype).compose(g_coefficients.to(u.dtype), u)


def check_order(order: int) -> int:
    """The order as an int in 0..MAX_ORDER, else ValueError."""
    if isinstance(order, bool) or not isinstance(order, int):
        raise ValueError(f"the order must be an integer, got {order!r}")
    if order < 0:
        raise ValueError(f"the order must be at least 0, got {order}")
    if order > MAX_ORDER:
        raise ValueError(f"order {order} is too high for Taylor mode (the limit is {MAX_ORDER})")
    return order


def _coefficients(expr: sp.Basic, variable: str, point: dict[str, float], order: int, dtype: torch.dtype,
                  scale: float) -> Tensor:
    check_order(order)
    if variable not in point:
        raise DerivcliError(f"no value for variable '{variable}'", hint=f"pass --{variable} VALUE")
    from ..lowering.program import stable_forms  # the same overflow-free rewrites the torch evaluation uses

    try:
        expr = stable_forms(expr)
    except RecursionError:  # a very deep expression: the rewrite only helps at extreme arguments
        pass
    values = {name: float(value) for name, value in point.items()}
    return _Walk(_Algebra(order, dtype), variable, values, scale).run(expr)


def _times_factorial(coefficient: float, k: int, scale: float) -> float:
    """k!·c / scale^k, rounded once (k! alone overflows float64 above 170)."""
    if not math.isfinite(coefficient):
        return coefficient
    try:
        return float(Fraction(coefficient) * math.factorial(k) / Fraction(scale) ** k)
    except OverflowError:
        return math.copysign(math.inf, coefficient)


# ------------------------------------------------------------------------------------------ algebra
class _Algebra:
    """Truncated power series of one length (order + 1) and dtype, and the operations every rule uses."""

    def __init__(self, order: int, dtype: torch.dtype) -> None:
        self.order = order
        self.size = size = order + 1
        self.dtype = dtype
        index = torch.arange(size)
        lag = index[:, None] - index[None, :]  # k - m, row k, column m
        self.lower = lag >= 0
        self.strict = lag > 0
        self.lag_index = lag.clamp(min=0)
        self.lag = self.lag_index.to(dtype)
        self.column = index[None, :].to(dtype).expand(size, size)
        self.k = index.to(dtype)
        self.diagonal = self.k.clamp(min=1)  # row 0 of every ODE system just pins the value

    def constant(self, value: float | Tensor) -> Tensor:
        series = torch.zeros(self.size, dtype=self.dtype)
        series[0] = value
        return series

    def with_value(self, series: Tensor, value: Tensor) -> Tensor:
        """The series with its constant term replaced (by a more accurate c_0)."""
        return torch.cat([value.reshape(1).to(self.dtype), series[1:]])

    def lagged(self, u: Tensor, mask: Tensor) -> Tensor:
        """The matrix u_{k-m} on `mask`, 0 elsewhere (where, not multiply: 0·inf would be NaN)."""
        return torch.where(mask, u[self.lag_index], 0.0)

    def mul(self, a: Tensor, b: Tensor) -> Tensor:
        """Cauchy product c_k = Σ_m a_m b_{k-m}, as one masked outer product."""
        return torch.where(self.lower, b[self.lag_index] * a, 0.0).sum(1)

    def div(self, a: Tensor, b: Tensor) -> Tensor:
        """a/b: the lower-triangular Toeplitz system of b times q = a."""
        return torch.linalg.solve_triangular(self.lagged(b, self.lower), a[:, None], upper=False)[:, 0]

    def reciprocal(self, b: Tensor) -> Tensor:
        return self.div(self.constant(1.0), b)

    def derivative(self, u: Tensor) -> Tensor:
        """u' (its last coefficient is unknown and left 0; `integrate` never reads it)."""
        result = torch.zeros_like(u)
        result[:-1] = u[1:] * self.k[1:]
        return result

    def integrate(self, g: Tensor, value: Tensor) -> Tensor:
        """The series whose derivative is g and whose value is `value`."""
        return torch.cat([value.reshape(1).to(self.dtype), g[:-1] / self.k[1:]])

    def chain(self, g: Tensor, u: Tensor, value: Tensor) -> Tensor:
        """F(u) from F'(u) = g (a series in t) and F(u0) = value: F(u)' = g·u'."""
        return self.integrate(self.mul(g, self.derivative(u)), value)

    def exp(self, u: Tensor, value: Tensor | None = None) -> Tensor:
        """e = exp(u): k e_k = Σ_{m<k} (k-m) u_{k-m} e_m, solved at once."""
        system = torch.diag(self.diagonal) - self.lag * self.lagged(u, self.strict)
        rhs = self.constant(torch.exp(u[0]) if value is None else value)
        return torch.linalg.solve_triangular(system, rhs[:, None], upper=False)[:, 0]

    def power(self, u: Tensor, exponent: float, value: Tensor | None = None) -> Tensor:
        """p = u^a for u0 != 0, from u p' = a u' p: Σ_m u_{k-m} (m - a(k-m)) p_m = 0."""
        system = self.lagged(u, self.lower) * (self.column - exponent * self.lag)
        system[0, 0] = 1.0
        rhs = self.constant(torch.pow(u[0], exponent) if value is None else value)
        return torch.linalg.solve_triangular(system, rhs[:, None], upper=False)[:, 0]

    def integer_power(self, u: Tensor, exponent: int) -> Tensor:
        """u^m by repeated squaring: exact structure, and valid at u0 = 0."""
        if exponent < 0:
            return self.reciprocal(self.integer_power(u, -exponent))
        result: Tensor | None = None
        square = u
        while exponent:
            if exponent & 1:
                result = square if result is None else self.mul(result, square)
            exponent >>= 1
            if exponent:
                square = self.mul(square, square)
        return self.constant(torch.pow(u[0], 0)) if result is None else result

    def rotation(self, u: Tensor, sign: float, values: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        """(s, c) with s' = c u' and c' = sign·s u' (sin/cos: sign -1; sinh/cosh: +1), one interleaved
        triangular system [s0, c0, s1, c1, ...]."""
        weights = self.lag * self.lagged(u, self.strict)
        system = torch.zeros(2 * self.size, 2 * self.size, dtype=self.dtype)
        system[0::2, 1::2] = -weights
        system[1::2, 0::2] = -sign * weights
        system += torch.diag(self.diagonal.repeat_interleave(2))
        rhs = torch.zeros(2 * self.size, dtype=self.dtype)
        rhs[0], rhs[1] = values
        solution = torch.linalg.solve_triangular(system, rhs[:, None], upper=False)[:, 0]
        return solution[0::2], solution[1::2]

    def compose(self, g: Tensor, u: Tensor) -> Tensor:
        """g(u(t)) from g's Taylor coefficients at u0 (g^(k)(u0)/k!): Horner in u - u0, whose zero constant
        term makes each truncated product exact (Faà di Bruno without the partitions)."""
        shifted = u.clone()
        shifted[0] = 0.0
        result = self.constant(g[-1])
        for coefficient in g.flip(0)[1:]:
            result = self.mul(result, shifted)
            result[0] += coefficient
        return result


# ------------------------------------------------------------------------------------------ rules
Rule = Callable[[_Algebra, sp.Basic, list[Tensor]], Tensor]


def _unary(rule: Callable[[_Algebra, Tensor], Tensor]) -> Rule:
    return lambda algebra, node, args: rule(algebra, args[0])


def _sin_cos(a: _Algebra, u: Tensor) -> tuple[Tensor, Tensor]:
    return a.rotation(u, -1.0, (torch.sin(u[0]), torch.cos(u[0])))


def _sinh_cosh(a: _Algebra, u: Tensor) -> tuple[Tensor, Tensor]:
    return a.rotation(u, 1.0, (torch.sinh(u[0]), torch.cosh(u[0])))


def _one_minus_square(a: _Algebra, u: Tensor) -> Tensor:
    """1 - u² as (1 - u)(1 + u): no cancellation in c_0 near |u0| = 1."""
    one = a.constant(1.0)
    return a.mul(one - u, one + u)


def _tanh(a: _Algebra, u: Tensor) -> Tensor:
    """s(1 - w)/(1 + w) with w = exp(-2s·u), s = sign(u0): w <= 1, so nothing overflows at large |u0|."""
    side = -1.0 if float(u[0]) < 0 else 1.0
    w = a.exp(-2.0 * side * u)
    numerator = a.with_value(-w, -torch.expm1(-2.0 * side * u[0]))
    return a.with_value(side * a.div(numerator, a.constant(1.0) + w), torch.tanh(u[0]))


def _sigmoid(a: _Algebra, u: Tensor) -> Tensor:
    """1/(1 + exp(-u)) for u0 >= 0, exp(u)/(1 + exp(u)) below: the exponential never overflows."""
    if float(u[0]) >= 0:
        result = a.reciprocal(a.constant(1.0) + a.exp(-u))
    else:
        w = a.exp(u)
        result = a.div(w, a.constant(1.0) + w)
    return a.with_value(result, torch.sigmoid(u[0]))


def _softplus(a: _Algebra, u: Tensor) -> Tensor:
    return a.chain(_sigmoid(a, u), u, torch.logaddexp(u[0], torch.zeros_like(u[0])))


def _log(a: _Algebra, u: Tensor) -> Tensor:
    return a.integrate(a.div(a.derivative(u), u), torch.log(u[0]))


def _atan(a: _Algebra, u: Tensor, value: Tensor, sign: float = 1.0) -> Tensor:
    return a.integrate(sign * a.div(a.derivative(u), a.constant(1.0) + a.mul(u, u)), value)


def _asin(a: _Algebra, u: Tensor, value: Tensor, sign: float = 1.0) -> Tensor:
    """asin (sign 1) or acos (sign -1): ±u'/sqrt(1 - u²)."""
    return a.chain(sign * _inverse_sqrt(a, _one_minus_square(a, u)), u, value)


def _inverse_sqrt(a: _Algebra, u: Tensor) -> Tensor:
    return a.power(u, -0.5, torch.rsqrt(u[0]))


def _erf(a: _Algebra, u: Tensor, sign: float) -> Tensor:
    """erf (sign 1) or erfc (sign -1): ±2/sqrt(pi)·exp(-u²)·u'."""
    density = (sign * 2.0 / math.sqrt(math.pi)) * a.exp(-a.mul(u, u))
    value = torch.erf(u[0]) if sign > 0 else torch.erfc(u[0])
    return a.chain(density, u, value)


def _atan2(a: _Algebra, node: sp.Basic, args: list[Tensor]) -> Tensor:
    """atan2(y, x)' = (x y' - y x')/(x² + y²)."""
    y, x = args
    numerator = a.mul(x, a.derivative(y)) - a.mul(y, a.derivative(x))
    return a.integrate(a.div(numerator, a.mul(x, x) + a.mul(y, y)), torch.atan2(y[0], x[0]))


def _log_rule(a: _Algebra, node: sp.Basic, args: list[Tensor]) -> Tensor:
    """log(u), or log(u, b) = log(u)/log(b)."""
    result = _log(a, args[0])
    return a.div(result, _log(a, args[1])) if len(args) > 1 else result


def _polygamma_series(a: _Algebra, m: int, u0: Tensor) -> Tensor:
    """Taylor coefficients of polygamma(m, ·) at u0: polygamma(m+k, u0)/k!, which for m+k >= 1 is
    (-1)^(m+k+1)·(m+k)!/k!·zeta(m+k+1, u0), the factor taken exactly (it passes float64 at high k)."""
    coefficients = torch.zeros(a.size, dtype=a.dtype)
    start = 1 if m == 0 else 0
    if m == 0:
        coefficients[0] = gamma_kernels.digamma(u0)
    ks = range(start, a.size)
    coefficients[start:] = gamma_kernels.zeta_times([m + k + 1 for k in ks],
                                                    [(-1) ** (m + k + 1) * math.perm(m + k, m) for k in ks], u0)
    return coefficients


def _loggamma_series(a: _Algebra, u0: Tensor) -> Tensor:
    """Taylor coefficients of log|Γ| at u0: lgamma, digamma, then (-1)^k zeta(k, u0)/k."""
    coefficients = torch.zeros(a.size, dtype=a.dtype)
    coefficients[0] = torch.lgamma(u0)
    if a.size > 1:
        coefficients[1] = gamma_kernels.digamma(u0)
    ks = range(2, a.size)
    coefficients[2:] = gamma_kernels.zeta_times(list(ks), [(-1) ** k for k in ks], u0) / torch.tensor(ks, dtype=a.dtype)
    return coefficients


def _gamma(a: _Algebra, u: Tensor) -> Tensor:
    """Γ(u) = sign·exp(log|Γ(u)|), with Γ's sign for negative u0 (as derivcli.table.torch_forms.gamma)."""
    u0 = u[0]
    sign = 1.0 if float(u0) > 0 else 1.0 - 2.0 * float(torch.remainder(torch.ceil(-u0), 2))
    return sign * a.exp(a.compose(_loggamma_series(a, u0), u))


def _polygamma(a: _Algebra, node: sp.Basic, args: list[Tensor]) -> Tensor:
    m_series, u = args
    m = float(m_series[0])
    if bool(torch.any(m_series[1:] != 0)) or m != int(m) or m < 0:
        raise TaylorUnsupported("polygamma of a non-constant or non-integer order")
    return a.compose(_polygamma_series(a, int(m), u[0]), u)


def _side_sign(u: Tensor) -> float:
    """The sign of u on both sides of t = 0: sign(u0), or where u0 = 0 and u's leading power is even,
    that coefficient's sign; 0 at a true kink (odd leading power), torch's sign(0)."""
    nonzero = torch.nonzero(u).flatten()
    if len(nonzero) == 0:
        return 0.0
    leading = int(nonzero[0])
    return float(torch.sign(u[leading])) if leading % 2 == 0 else 0.0


def _pow(a: _Algebra, base: Tensor, exponent: Tensor, exponent_constant: bool) -> Tensor:
    """b^e: by squaring for an integer constant e, the u^a recurrence for another constant, else
    exp(e·log b) (with c_0 = torch.pow(b0, e0), so a negative base keeps its value)."""
    if not exponent_constant:
        return a.exp(a.mul(exponent, _log(a, base)), torch.pow(base[0], exponent[0]))
    power = float(exponent[0])
    if power == round(power) and abs(power) < 2**53:
        return a.integer_power(base, int(power))
    return _real_power(a, base, power, torch.pow(base[0], power))


def _real_power(a: _Algebra, u: Tensor, power: float, value: Tensor) -> Tensor:
    """u^a for non-integer a.  At u0 = 0, u^a ~ |t|^(m·a) (m: u's leading power): zero below order m·a,
    not differentiable from there on (NaN)."""
    if float(u[0]) != 0:
        return a.power(u, power, value)
    nonzero = torch.nonzero(u).flatten()
    leading = int(nonzero[0]) if len(nonzero) else a.size
    result = torch.where(a.k < leading * power, 0.0, math.nan).to(a.dtype)
    result[0] = value
    return result


def _extremum(pick: Callable[[float, float], bool]) -> Rule:
    """max/min as torch reduces them, pairwise in argument order: the active argument by its value at x0,
    the mean of both at a tie (torch splits the gradient evenly there)."""

    def rule(a: _Algebra, node: sp.Basic, args: list[Tensor]) -> Tensor:
        result = args[0]
        for other in args[1:]:
            left, right = float(result[0]), float(other[0])
            if left == right:
                result = (result + other) / 2
            elif pick(right, left):
                result = other
            elif not pick(left, right):  # NaN
                result = torch.full_like(result, math.nan)
        return result

    return rule


def _heaviside(a: _Algebra, node: sp.Basic, args: list[Tensor]) -> Tensor:
    u0 = float(args[0][0])
    at_zero = float(args[1][0]) if len(args) > 1 else 0.5
    return a.constant(1.0 if u0 > 0 else 0.0 if u0 < 0 else at_zero if u0 == 0 else math.nan)


def _cbrt(a: _Algebra, u: Tensor) -> Tensor:
    """The real cube root: u p' = u' p / 3 holds for negative u too, from the real value."""
    return _real_power(a, u, 1 / 3, torch.sign(u[0]) * torch.abs(u[0]) ** (1 / 3))


def _tan(a: _Algebra, u: Tensor) -> Tensor:
    sin, cos = _sin_cos(a, u)
    return a.div(sin, cos)


def _relu(a: _Algebra, u: Tensor) -> Tensor:
    return u if _side_sign(u) > 0 else torch.zeros_like(u)


_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def _constant_rule(function: Callable[[Tensor], Tensor]) -> Rule:
    """Piecewise-constant functions (floor, ceiling, sign): constant away from their jumps, derivative 0
    at them (as torch)."""
    return lambda a, node, args: a.constant(function(args[0][0]))


RULES: dict[type, Rule] = {
    sp.exp: _unary(lambda a, u: a.exp(u)),
    cfunctions.expm1: _unary(lambda a, u: a.with_value(a.exp(u), torch.expm1(u[0]))),
    cfunctions.exp2: _unary(lambda a, u: a.exp(_LN2 * u, torch.exp2(u[0]))),
    sp.log: _log_rule,
    cfunctions.log1p: _unary(lambda a, u: a.integrate(a.div(a.derivative(u), a.constant(1.0) + u),
                                                      torch.log1p(u[0]))),
    cfunctions.log2: _unary(lambda a, u: a.with_value(_log(a, u) / _LN2, torch.log2(u[0]))),
    cfunctions.log10: _unary(lambda a, u: a.with_value(_log(a, u) / _LN10, torch.log10(u[0]))),
    sp.sin: _unary(lambda a, u: _sin_cos(a, u)[0]),
    sp.cos: _unary(lambda a, u: _sin_cos(a, u)[1]),
    sp.tan: _unary(_tan),
    sp.sec: _unary(lambda a, u: a.reciprocal(_sin_cos(a, u)[1])),
    sp.csc: _unary(lambda a, u: a.reciprocal(_sin_cos(a, u)[0])),
    sp.cot: _unary(lambda a, u: a.div(*reversed(_sin_cos(a, u)))),
    sp.sinh: _unary(lambda a, u: _sinh_cosh(a, u)[0]),
    sp.cosh: _unary(lambda a, u: _sinh_cosh(a, u)[1]),
    sp.tanh: _unary(_tanh),
    sp.sech: _unary(lambda a, u: a.reciprocal(_sinh_cosh(a, u)[1])),
    sp.csch: _unary(lambda a, u: a.reciprocal(_sinh_cosh(a, u)[0])),
    sp.coth: _unary(lambda a, u: a.reciprocal(_tanh(a, u))),
    sp.asin: _unary(lambda a, u: _asin(a, u, torch.asin(u[0]))),
    sp.acos: _unary(lambda a, u: _asin(a, u, torch.acos(u[0]), sign=-1.0)),
    sp.atan: _unary(lambda a, u: _atan(a, u, torch.atan(u[0]))),
    sp.acot: _unary(lambda a, u: _atan(a, u, torch.atan(1 / u[0]), sign=-1.0)),
    sp.asec: _unary(lambda a, u: (lambda w: _asin(a, w, torch.acos(w[0]), sign=-1.0))(a.reciprocal(u))),
    sp.acsc: _unary(lambda a, u: (lambda w: _asin(a, w, torch.asin(w[0])))(a.reciprocal(u))),
    sp.asinh: _unary(lambda a, u: a.chain(_inverse_sqrt(a, a.constant(1.0) + a.mul(u, u)), u,
                                          torch.asinh(u[0]))),
    sp.acosh: _unary(lambda a, u: a.chain(_inverse_sqrt(a, -_one_minus_square(a, u)), u, torch.acosh(u[0]))),
    sp.atanh: _unary(lambda a, u: a.integrate(a.div(a.derivative(u), _one_minus_square(a, u)),
                                              torch.atanh(u[0]))),
    sp.atan2: _atan2,
    sp.erf: _unary(lambda a, u: _erf(a, u, 1.0)),
    sp.erfc: _unary(lambda a, u: _erf(a, u, -1.0)),
    sp.gamma: _unary(_gamma),
    sp.factorial: _unary(lambda a, u: _gamma(a, u + a.constant(1.0))),
    sp.loggamma: _unary(lambda a, u: a.compose(_loggamma_series(a, u[0]), u)),
    sp.digamma: _unary(lambda a, u: a.compose(_polygamma_series(a, 0, u[0]), u)),
    sp.polygamma: _polygamma,
    cbrt: _unary(_cbrt),
    sigmoid: _unary(_sigmoid),
    softplus: _unary(_softplus),
    relu: _unary(_relu),
    sp.Abs: _unary(lambda a, u: _side_sign(u) * u),
    sp.sign: _constant_rule(torch.sign),
    sp.floor: _constant_rule(torch.floor),
    sp.ceiling: _constant_rule(torch.ceil),
    sp.Heaviside: _heaviside,
    sp.DiracDelta: lambda a, node, args: a.constant(0.0),  # 0 away from the origin, as derivcli's torch form
    sp.Max: _extremum(operator.gt),
    sp.Min: _extremum(operator.lt),
}

RELATIONS: dict[type, Callable[[float, float], bool]] = {
    sp.StrictLessThan: operator.lt,
    sp.LessThan: operator.le,
    sp.StrictGreaterThan: operator.gt,
    sp.GreaterThan: operator.ge,
    sp.Equality: operator.eq,
    sp.Unequality: operator.ne,
}
LOGIC: dict[type, Callable[[list[bool]], bool]] = {
    sp.And: all,
    sp.Or: any,
    sp.Not: lambda values: not values[0],
    sp.Xor: lambda values: sum(values) % 2 == 1,
}


# ------------------------------------------------------------------------------------------ the walk
class _Walk:
    """One iterative post-order pass over the expression DAG, each distinct subexpression once.

    Alongside each value it records whether the node is constant in t (no path to the variable): those
    keep only c_0, so a function overflowing at a constant (exp(1000)) cannot spread NaN into derivatives.
    A Piecewise evaluates its conditions first and then only the branch they select.
    """

    def __init__(self, algebra: _Algebra, variable: str, point: dict[str, float], scale: float) -> None:
        self.algebra = algebra
        self.variable = variable
        self.point = point
        self.scale = scale
        self.values: dict[sp.Basic, Value] = {}
        self.constant: dict[sp.Basic, bool] = {}
        self.branch: dict[sp.Basic, sp.Basic] = {}

    def run(self, root: sp.Basic) -> Tensor:
        stack: list[tuple[sp.Basic, int]] = [(root, 0)]
        while stack:
            node, stage = stack.pop()
            if node in self.values:
                continue
            if stage == 0:
                if self.leaf(node):
                    continue
                stack.append((node, 1))
                stack.extend((child, 0) for child in reversed(self.children(node)) if child not in self.values)
            elif stage == 1 and isinstance(node, sp.Piecewise):
                branch = self.choose(node)
                self.branch[node] = branch
                if branch not in self.values:
                    stack.append((node, 2))
                    stack.append((branch, 0))
                    continue
                self.finish_piecewise(node)
            elif stage == 1:
                self.evaluate(node)
            else:
                self.finish_piecewise(node)
        value = self.values[root]
        if not isinstance(value, Tensor):
            raise TaylorUnsupported(type(root).__name__)
        return value

    def leaf(self, node: sp.Basic) -> bool:
        """Store a leaf's value; False for an inner node."""
        a = self.algebra
        if isinstance(node, sp.Symbol):
            if node.name == self.variable:
                series = a.constant(self.point[node.name])
                if a.size > 1:
                    series[1] = self.scale
                self.store(node, series, constant=False)
                return True
            if node.name not in self.point:
                raise DerivcliError(f"no value for variable '{node.name}'", hint=f"pass --{node.name} VALUE")
            self.store(node, a.constant(self.point[node.name]), constant=True)
            return True
        if node is sp.true or node is sp.false:
            self.store(node, bool(node), constant=True)
            return True
        if node.is_Number or isinstance(node, sp.NumberSymbol):
            self.store(node, a.constant(_to_float(node)), constant=True)
            return True
        return False

    def children(self, node: sp.Basic) -> list[sp.Basic]:
        if isinstance(node, sp.Piecewise):
            return [pair.cond for pair in node.args]
        return list(node.args)

    def store(self, node: sp.Basic, value: Value, constant: bool) -> None:
        if constant and isinstance(value, Tensor) and self.algebra.size > 1:
            value = self.algebra.constant(value[0])
        self.values[node] = value
        self.constant[node] = constant

    def choose(self, node: sp.Piecewise) -> sp.Basic:
        """The first branch whose condition holds at the point (conditions already evaluated)."""
        for pair in node.args:
            if self.values[pair.cond] is True:
                return pair.expr
        return sp.nan  # no branch applies: undefined there, as the torch evaluation says

    def finish_piecewise(self, node: sp.Basic) -> None:
        branch = self.branch[node]
        self.store(node, self.values[branch], self.constant[branch])

    def evaluate(self, node: sp.Basic) -> None:
        children = self.children(node)
        values = [self.values[child] for child in children]
        kind = type(node)
        for relation_type, relation in RELATIONS.items():
            if isinstance(node, relation_type):
                left, right = (self.scalar(node, value) for value in values)
                self.store(node, relation(left, right), constant=True)
                return
        for logic_type, logic in LOGIC.items():
            if isinstance(node, logic_type):
                if not all(isinstance(value, bool) for value in values):
                    raise TaylorUnsupported(kind.__name__)
                self.store(node, bool(logic([bool(value) for value in values])), constant=True)
                return
        if isinstance(node, TensorFunction) or not all(isinstance(value, Tensor) for value in values):
            raise TaylorUnsupported(kind.__name__)
        series = [value for value in values if isinstance(value, Tensor)]
        constant = all(self.constant[child] for child in children)
        self.store(node, self.apply(node, children, series), constant)

    def scalar(self, node: sp.Basic, value: Value) -> float:
        if not isinstance(value, Tensor):
            raise TaylorUnsupported(type(node).__name__)
        return float(value[0])

    def apply(self, node: sp.Basic, children: list[sp.Basic], args: list[Tensor]) -> Tensor:
        a = self.algebra
        if isinstance(node, sp.Add):
            return torch.stack(args).sum(0)
        if isinstance(node, sp.Mul):  # constant factors scale; the others multiply as series
            factor = torch.ones((), dtype=a.dtype)
            varying: list[Tensor] = []
            for child, value in zip(children, args):
                if self.constant[child]:
                    factor = factor * value[0]
                else:
                    varying.append(value)
            if not varying:
                return a.constant(factor)
            result = torch.where(varying[0] != 0, varying[0] * factor, 0.0)  # 0·inf: still 0 here
            for value in varying[1:]:
                result = a.mul(result, value)
            return result
        if isinstance(node, sp.Pow):
            return _pow(a, args[0], args[1], exponent_constant=self.constant[children[1]])
        for cls in type(node).__mro__:
            rule = RULES.get(cls)
            if rule is not None:
                return rule(a, node, args)
        raise TaylorUnsupported(type(node).__name__)


def _to_float(number: sp.Basic) -> float:
    try:
        return to_float(number)
    except DerivcliError as error:  # a non-real constant (I): leave it to the evaluation that reports it
        raise TaylorUnsupported(type(number).__name__) from error
