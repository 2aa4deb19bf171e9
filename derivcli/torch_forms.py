"""torch forms of the table's functions that torch has no single function for.

Each is written so that its autograd derivative is the true derivative (no NaN from a branch not taken,
no overflow where the function itself is finite).
"""

from __future__ import annotations

from functools import reduce

import torch


def sec(x: torch.Tensor) -> torch.Tensor:
    return 1 / torch.cos(x)


def csc(x: torch.Tensor) -> torch.Tensor:
    return 1 / torch.sin(x)


def cot(x: torch.Tensor) -> torch.Tensor:
    return 1 / torch.tan(x)


def asec(x: torch.Tensor) -> torch.Tensor:
    return torch.acos(1 / x)


def acsc(x: torch.Tensor) -> torch.Tensor:
    return torch.asin(1 / x)


def acot(x: torch.Tensor) -> torch.Tensor:
    return torch.atan(1 / x)


def cbrt(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.abs(x) ** (1 / 3)


def minimum(*args: torch.Tensor) -> torch.Tensor:
    return reduce(torch.minimum, args)


def maximum(*args: torch.Tensor) -> torch.Tensor:
    return reduce(torch.maximum, args)


def gamma(x: torch.Tensor) -> torch.Tensor:
    """Gamma from lgamma (torch has no gamma): |Γ(x)| = exp(lgamma(x)), with Γ's sign for x < 0."""
    negative_sign = 1 - 2 * torch.remainder(torch.ceil(-x), 2)
    return torch.where(x > 0, torch.ones_like(x), negative_sign) * torch.exp(torch.lgamma(x))


def factorial(x: torch.Tensor) -> torch.Tensor:
    return gamma(x + 1)


def softplus(x: torch.Tensor) -> torch.Tensor:
    """log(1 + exp(x)) as logaddexp(x, 0): exact at any x, gradient sigmoid(x) (torch's softplus
    switches to x above 20, an error of 2e-9 in float64)."""
    return torch.logaddexp(x, torch.zeros_like(x))


def heaviside(x: torch.Tensor, at_zero: torch.Tensor | None = None) -> torch.Tensor:
    """Step function with SymPy's convention (1/2 at 0 unless given); its derivative is 0."""
    half = torch.full_like(x, 0.5) if at_zero is None else at_zero.expand_as(x).to(x.dtype)
    return torch.where(x > 0, torch.ones_like(x), torch.where(x < 0, torch.zeros_like(x), half)).detach()


def polygamma(order: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.polygamma(int(order.item()), x)


def zero(x: torch.Tensor, *_: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(x)
