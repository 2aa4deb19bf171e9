"""digamma, polygamma(n, x) and the Hurwitz zeta function zeta(s, q) for whole s >= 2, written in torch
operations: good to about 1e-15 relative in float64 over the whole real line (torch's own trigamma kernel
is good to ~5e-10, and its polygamma of even order is wrong next to negative half-integers).

Both functions are the classical pair of recurrence and asymptotic series:
- for q > 0, zeta(s, q) = Σ_{k<N} (q + k)^-s + zeta(s, q + N), the tail by Euler–Maclaurin with the
  Bernoulli numbers B_2 … B_24 (N from s so that the first term left out is below 1e-17 of the tail);
  digamma likewise, psi(q) = psi(q + N) - Σ 1/(q + k) with psi's Stirling series;
- for q < 0, the reflection formula, differentiated n times: psi(x) = psi(1 - x) - pi cot(pi x), and
  zeta(n + 1, x) = (-1)^n [zeta(n + 1, 1 - x) + pi^(n+1) Q_n(cot pi x)], Q_n = (d/dt)^n cot t / n! as a
  polynomial in cot t.  cot(pi x) is taken of x - round(x) (exact), and as tan of the distance to the
  half-integer near one, so it is exact where the true value is 0.
polygamma(n, x) = (-1)^(n+1) n! zeta(n + 1, x) is carried as a mantissa and a power of two, so n! (past
float64 from n = 171) and q^-s may leave the float range while their product does not.

Everything is torch operations on x (the exponents are chosen on detached values): autograd,
forward mode and vmap (torch.func, a Hessian's jacfwd) differentiate it; float32 is computed in float64.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import cache

import torch

Tensor = torch.Tensor

# B_2, B_4, …, B_24
_BERNOULLI = (Fraction(1, 6), Fraction(-1, 30), Fraction(1, 42), Fraction(-1, 30), Fraction(5, 66),
              Fraction(-691, 2730), Fraction(7, 6), Fraction(-3617, 510), Fraction(43867, 798),
              Fraction(-174611, 330), Fraction(854513, 138), Fraction(-236364091, 2730))
_DIGAMMA_SHIFT = 10  # psi's Stirling series from q + 10: its first omitted term is below 1e-22 there


def digamma(x: Tensor) -> Tensor:
    """psi(x) = d/dx log Γ(x)."""
    y, reflect, safe = _split(_wide(x))
    result = _digamma_positive(y)
    if _reflecting(x, reflect):
        result = torch.where(reflect, result - math.pi * _cot_pi(safe), result)
    return result.to(x.dtype)


def polygamma(n: int, x: Tensor) -> Tensor:
    """The n-th derivative of psi (n >= 0)."""
    if n == 0:
        return digamma(x)
    return zeta_times([n + 1], [(-1) ** (n + 1) * math.factorial(n)], x)[0]


def zeta_times(orders: list[int], factors: list[int], x: Tensor) -> Tensor:
    """factors[i]·zeta(orders[i], x) stacked along a new first axis, the exact integer factors taken into
    the scaling: polygamma's ±n! and Taylor mode's ±(m + k)!/k! overflow float64 where the products do not."""
    shape = (len(orders),) + (1,) * x.dim()
    if not orders:
        return torch.zeros(shape[:1] + x.shape, dtype=x.dtype, device=x.device)
    mantissa, exponent = _zeta(orders, _wide(x))
    scaled = [_mantissa_exponent(factor) for factor in factors]
    factor_mantissa = torch.tensor([m for m, _ in scaled], dtype=torch.float64, device=x.device).reshape(shape)
    factor_exponent = torch.tensor([e for _, e in scaled], dtype=torch.float64, device=x.device).reshape(shape)
    return _times_two_to(mantissa * factor_mantissa, exponent + factor_exponent).to(x.dtype)


# ------------------------------------------------------------------------------------------ parts
def _wide(x: Tensor) -> Tensor:
    return x if x.dtype == torch.float64 else x.to(torch.float64)


def _split(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(y, reflect, safe): y = x where x >= 0 and 1 - x where it is negative (so y >= 0), and x where
    reflected, 1/4 elsewhere: the reflection's own terms, computed everywhere, stay finite where they are
    not taken (a NaN there would poison the gradient through where)."""
    reflect = x < 0
    y = torch.where(reflect, 1 - x, x)
    safe = torch.where(reflect, x, torch.full_like(x, 0.25))
    return y, reflect, safe


def wrapped(value: Tensor) -> bool:
    """Whether the value is a torch.func transform's input (a hessian's jacfwd hides requires_grad)."""
    functorch = getattr(torch._C, "_functorch", None)
    check = getattr(functorch, "is_functorch_wrapped_tensor", None)
    return bool(check(value)) if check is not None else False


def _reflecting(x: Tensor, reflect: Tensor) -> bool:
    """Whether the reflection is needed: some x < 0, or x a torch.func transform's input (whose values
    cannot be looked at)."""
    return wrapped(x) or bool(reflect.any())


def _digamma_positive(q: Tensor) -> Tensor:
    a = q + _DIGAMMA_SHIFT
    inverse_square = 1 / (a * a)
    series = torch.zeros_like(a)
    for j in reversed(range(len(_BERNOULLI))):  # Σ B_2j / (2j a^2j), by Horner in 1/a²
        series = (series + float(_BERNOULLI[j] / (2 * j + 2))) * inverse_square
    result = torch.log(a) - 0.5 / a - series
    for k in reversed(range(_DIGAMMA_SHIFT)):  # the smallest terms first
        result = result - 1 / (q + k)
    return result


def _cot_pi(x: Tensor) -> Tensor:
    """cot(pi x) without pi·x's rounding: of r = x - round(x), as tan(pi (1/2 - |r|)) where |r| > 1/4 (exact
    0 at half-integers, accurate next to them)."""
    r = x - torch.round(x)
    near_half = r.abs() > 0.25
    r_small = torch.where(near_half, torch.full_like(r, 0.25), r)
    r_large = torch.where(near_half, r, torch.full_like(r, 0.5))
    return torch.where(near_half, torch.sign(r_large) * torch.tan(math.pi * (0.5 - r_large.abs())),
                       1 / torch.tan(math.pi * r_small))


def _zeta(orders: list[int], x: Tensor) -> tuple[Tensor, Tensor]:
    """zeta(s, x) = mantissa·2^exponent for each whole s >= 2 in `orders` (a new first axis) and any real x."""
    s = torch.tensor(orders, dtype=torch.float64, device=x.device).reshape((len(orders),) + (1,) * x.dim())
    y, reflect, safe = _split(x)
    mantissa, exponent = _zeta_positive(orders, s, y)
    if not _reflecting(x, reflect):
        return mantissa, exponent
    degree = max(orders) + 1
    table = torch.tensor([_cot_polynomial(order - 1) + (0.0,) * (degree - order) for order in orders],
                         dtype=torch.float64, device=x.device)
    cot = _cot_pi(safe)
    polynomial = torch.zeros_like(mantissa)
    for column in reversed(range(degree + 1)):  # Q_(s-1)(cot pi x), one row per order, by Horner
        polynomial = polynomial * cot + table[:, column].reshape(s.shape)
    reflection = math.pi ** s * polynomial
    shared = torch.where(reflection == 0, exponent, torch.maximum(exponent, _exponent_of(reflection)))
    sign = 1 - 2 * torch.remainder(s - 1, 2)
    reflected = sign * (_times_two_to(mantissa, exponent - shared) + _times_two_to(reflection, -shared))
    return torch.where(reflect, reflected, mantissa), torch.where(reflect, shared, exponent)


def _zeta_positive(orders: list[int], s: Tensor, q: Tensor) -> tuple[Tensor, Tensor]:
    """zeta(s, q) for q >= 0 as Z·2^(-s·e), Z computed in units of 2^e <= q (so q^-s never leaves the
    float range): Σ_{k<N} ((q + k)/2^e)^-s plus the Euler–Maclaurin tail at a = q + N."""
    infinite = torch.isinf(q)
    q = torch.where(infinite, torch.ones_like(q), q)
    e = _exponent_of(q)
    unit = torch.exp2(e)  # (q is a float: 2^e is one too, subnormal at worst)
    shift = max(_zeta_shift(order) for order in orders)
    a = q + shift
    w = a / unit
    tail_inverse = 1 / (a * a)
    tail = torch.zeros_like(s * q)
    table = torch.tensor([_tail_coefficients(order) for order in orders], dtype=torch.float64, device=q.device)
    for j in reversed(range(len(_BERNOULLI))):  # Σ B_2j/(2j)!·s(s+1)…(s+2j-2)·a^(1-2j), Horner in 1/a²
        tail = (tail + table[:, j].reshape(s.shape)) * tail_inverse
    # a^(1-s)/(s-1) + a^-s/2 + Σ… = a^-s·(a/(s-1) + 1/2 + a·Σ…); Σ was built one factor 1/a short
    total = w ** -s * (a / (s - 1) + 0.5 + a * tail)
    for k in reversed(range(shift)):  # the smallest terms first
        total = total + ((q + k) / unit) ** -s
    return torch.where(infinite, torch.zeros_like(total), total), -s * e


@cache
def _tail_coefficients(s: int) -> tuple[float, ...]:
    """B_2j/(2j)!·s(s+1)…(s+2j-2) for j = 1 … 12: the Euler–Maclaurin tail's coefficients."""
    return tuple(float(b * math.prod(range(s, s + 2 * j + 1)) / math.factorial(2 * j + 2))
                 for j, b in enumerate(_BERNOULLI))


@cache
def _zeta_shift(s: int) -> int:
    """The smallest N such that the Euler–Maclaurin term after B_24's, at a = N + 1/2, is below 1e-17 of
    a^(1-s)/(s-1): |B_2j|/(2j)! <= 2.2/(2 pi)^2j."""
    j = len(_BERNOULLI) + 1
    log_rising = math.lgamma(s + 2 * j - 1) - math.lgamma(s)
    shift = 1
    while math.log(2.2 * (s - 1)) + log_rising - 2 * j * math.log(2 * math.pi * (shift + 0.5)) > math.log(1e-17):
        shift += 1
    return shift


@cache
def _cot_polynomial(n: int) -> tuple[float, ...]:
    """Coefficients (lowest degree first) of Q_n with (d/dt)^n cot t = n!·Q_n(cot t).  Within one Q_n all
    coefficients have one sign, so Horner cannot cancel."""
    scale = math.factorial(n)
    return tuple(float(Fraction(c, scale)) for c in _cot_derivative(n))


@cache
def _cot_derivative(n: int) -> tuple[int, ...]:
    """P_n with (d/dt)^n cot t = P_n(cot t): P_0 = c, P_(n+1) = -(1 + c²)·P_n'(c)."""
    if n == 0:
        return (0, 1)
    derivative = [k * c for k, c in enumerate(_cot_derivative(n - 1))][1:]
    polynomial = [0] * (len(derivative) + 2)
    for k, c in enumerate(derivative):
        polynomial[k] -= c
        polynomial[k + 2] -= c
    return tuple(polynomial)


def _exponent_of(value: Tensor) -> Tensor:
    """floor(log2 |value|) as a whole float (0 for 0, inf and NaN): the scale of a number, on the detached
    value (log2 rather than frexp, which torch.func cannot batch)."""
    magnitude = value.detach().abs()
    usable = torch.isfinite(magnitude) & (magnitude > 0)
    return torch.where(usable, torch.floor(torch.log2(torch.where(usable, magnitude, 1.0))), 0.0)


def _times_two_to(value: Tensor, exponent: Tensor) -> Tensor:
    """value·2^exponent for whole exponents of any size, in three exact steps within float64's range
    (beyond ±3000 the result is 0 or inf whatever the mantissa)."""
    exponent = exponent.clamp(-3000, 3000)
    first = torch.trunc(exponent / 3)
    second = torch.trunc((exponent - first) / 2)
    for step in (first, second, exponent - first - second):
        value = value * torch.exp2(step)
    return value


def _mantissa_exponent(number: int) -> tuple[float, int]:
    """A whole number as m·2^e with 1/2 <= |m| < 1, m correctly rounded (n! passes float64 at 171)."""
    if number == 0:
        return 0.0, 0
    e = abs(number).bit_length()
    return float(Fraction(number, 2 ** e)), e
