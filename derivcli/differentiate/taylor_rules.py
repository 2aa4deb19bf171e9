"""Taylor mode's rules, one per SymPy function: the series of f(u) from the series of u (`RULES`), and
the relations and logic that pick a piecewise branch at the base point."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

import sympy as sp
import torch
from sympy.codegen import cfunctions

from ..table import gamma_kernels
from ..table.sympy_forms import cbrt, relu, sigmoid, softplus
from .taylor_algebra import Algebra, Tensor


class TaylorUnsupported(Exception):
    """A node without a Taylor rule (tensor functions, unknown SymPy classes): the caller should fall back
    to nested autograd."""

    def __init__(self, node_type: str) -> None:
        super().__init__(f"no Taylor-mode rule for {node_type}")
        self.node_type = node_type

Rule = Callable[[Algebra, sp.Basic, list[Tensor]], Tensor]


def _unary(rule: Callable[[Algebra, Tensor], Tensor]) -> Rule:
    return lambda algebra, node, args: rule(algebra, args[0])


def _sin_cos(a: Algebra, u: Tensor) -> tuple[Tensor, Tensor]:
    return a.rotation(u, -1.0, (torch.sin(u[0]), torch.cos(u[0])))


def _sinh_cosh(a: Algebra, u: Tensor) -> tuple[Tensor, Tensor]:
    return a.rotation(u, 1.0, (torch.sinh(u[0]), torch.cosh(u[0])))


def _one_minus_square(a: Algebra, u: Tensor) -> Tensor:
    """1 - u² as (1 - u)(1 + u): no cancellation in c_0 near |u0| = 1."""
    one = a.constant(1.0)
    return a.mul(one - u, one + u)


def _tanh(a: Algebra, u: Tensor) -> Tensor:
    """s(1 - w)/(1 + w) with w = exp(-2s·u), s = sign(u0): w <= 1, so nothing overflows at large |u0|."""
    side = -1.0 if float(u[0]) < 0 else 1.0
    w = a.exp(-2.0 * side * u)
    numerator = a.with_value(-w, -torch.expm1(-2.0 * side * u[0]))
    return a.with_value(side * a.div(numerator, a.constant(1.0) + w), torch.tanh(u[0]))


def _sigmoid(a: Algebra, u: Tensor) -> Tensor:
    """1/(1 + exp(-u)) for u0 >= 0, exp(u)/(1 + exp(u)) below: the exponential never overflows."""
    if float(u[0]) >= 0:
        result = a.reciprocal(a.constant(1.0) + a.exp(-u))
    else:
        w = a.exp(u)
        result = a.div(w, a.constant(1.0) + w)
    return a.with_value(result, torch.sigmoid(u[0]))


def _softplus(a: Algebra, u: Tensor) -> Tensor:
    return a.chain(_sigmoid(a, u), u, torch.logaddexp(u[0], torch.zeros_like(u[0])))


def _log(a: Algebra, u: Tensor) -> Tensor:
    return a.integrate(a.div(a.derivative(u), u), torch.log(u[0]))


def _atan(a: Algebra, u: Tensor, value: Tensor, sign: float = 1.0) -> Tensor:
    return a.integrate(sign * a.div(a.derivative(u), a.constant(1.0) + a.mul(u, u)), value)


def _asin(a: Algebra, u: Tensor, value: Tensor, sign: float = 1.0) -> Tensor:
    """asin (sign 1) or acos (sign -1): ±u'/sqrt(1 - u²)."""
    return a.chain(sign * _inverse_sqrt(a, _one_minus_square(a, u)), u, value)


def _inverse_sqrt(a: Algebra, u: Tensor) -> Tensor:
    return a.power(u, -0.5, torch.rsqrt(u[0]))


def _erf(a: Algebra, u: Tensor, sign: float) -> Tensor:
    """erf (sign 1) or erfc (sign -1): ±2/sqrt(pi)·exp(-u²)·u'."""
    density = (sign * 2.0 / math.sqrt(math.pi)) * a.exp(-a.mul(u, u))
    value = torch.erf(u[0]) if sign > 0 else torch.erfc(u[0])
    return a.chain(density, u, value)


def _atan2(a: Algebra, node: sp.Basic, args: list[Tensor]) -> Tensor:
    """atan2(y, x)' = (x y' - y x')/(x² + y²)."""
    y, x = args
    numerator = a.mul(x, a.derivative(y)) - a.mul(y, a.derivative(x))
    return a.integrate(a.div(numerator, a.mul(x, x) + a.mul(y, y)), torch.atan2(y[0], x[0]))


def _log_rule(a: Algebra, node: sp.Basic, args: list[Tensor]) -> Tensor:
    """log(u), or log(u, b) = log(u)/log(b)."""
    result = _log(a, args[0])
    return a.div(result, _log(a, args[1])) if len(args) > 1 else result


def _polygamma_series(a: Algebra, m: int, u0: Tensor) -> Tensor:
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


def _loggamma_series(a: Algebra, u0: Tensor) -> Tensor:
    """Taylor coefficients of log|Γ| at u0: lgamma, digamma, then (-1)^k zeta(k, u0)/k."""
    coefficients = torch.zeros(a.size, dtype=a.dtype)
    coefficients[0] = torch.lgamma(u0)
    if a.size > 1:
        coefficients[1] = gamma_kernels.digamma(u0)
    ks = range(2, a.size)
    coefficients[2:] = gamma_kernels.zeta_times(list(ks), [(-1) ** k for k in ks], u0) / torch.tensor(ks, dtype=a.dtype)
    return coefficients


def _gamma(a: Algebra, u: Tensor) -> Tensor:
    """Γ(u) = sign·exp(log|Γ(u)|), with Γ's sign for negative u0 (as derivcli.table.torch_forms.gamma)."""
    u0 = u[0]
    sign = 1.0 if float(u0) > 0 else 1.0 - 2.0 * float(torch.remainder(torch.ceil(-u0), 2))
    return sign * a.exp(a.compose(_loggamma_series(a, u0), u))


def _polygamma(a: Algebra, node: sp.Basic, args: list[Tensor]) -> Tensor:
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


def power(a: Algebra, base: Tensor, exponent: Tensor, exponent_constant: bool) -> Tensor:
    """b^e: by squaring for an integer constant e, the u^a recurrence for another constant, else
    exp(e·log b) (with c_0 = torch.pow(b0, e0), so a negative base keeps its value)."""
    if not exponent_constant:
        return a.exp(a.mul(exponent, _log(a, base)), torch.pow(base[0], exponent[0]))
    constant = float(exponent[0])
    if constant == round(constant) and abs(constant) < 2**53:
        return a.integer_power(base, int(constant))
    return _real_power(a, base, constant, torch.pow(base[0], constant))


def _real_power(a: Algebra, u: Tensor, power: float, value: Tensor) -> Tensor:
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

    def rule(a: Algebra, node: sp.Basic, args: list[Tensor]) -> Tensor:
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


def _heaviside(a: Algebra, node: sp.Basic, args: list[Tensor]) -> Tensor:
    u0 = float(args[0][0])
    at_zero = float(args[1][0]) if len(args) > 1 else 0.5
    return a.constant(1.0 if u0 > 0 else 0.0 if u0 < 0 else at_zero if u0 == 0 else math.nan)


def _cbrt(a: Algebra, u: Tensor) -> Tensor:
    """The real cube root: u p' = u' p / 3 holds for negative u too, from the real value."""
    return _real_power(a, u, 1 / 3, torch.sign(u[0]) * torch.abs(u[0]) ** (1 / 3))


def _tan(a: Algebra, u: Tensor) -> Tensor:
    sin, cos = _sin_cos(a, u)
    return a.div(sin, cos)


def _relu(a: Algebra, u: Tensor) -> Tensor:
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
