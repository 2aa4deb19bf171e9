"""Truncated Taylor series arithmetic for Taylor mode: a series is a 1-D tensor of its n + 1
coefficients; products, quotients, powers, exp, sin/cos and composition keep the first n + 1 terms.
Linear-ODE rules solve their coefficient recurrences as one lower-triangular system."""

from __future__ import annotations

import torch

Tensor = torch.Tensor

class Algebra:
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
