"""torch forms of the table's functions that torch has no single function for.

Each is written so that its autograd derivative is the true derivative (no NaN from a branch not taken,
no overflow where the function itself is finite).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import reduce
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import DerivcliError
from ..limits import memory
from . import gamma_kernels
from .gamma_kernels import wrapped


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


def coth(x: torch.Tensor) -> torch.Tensor:
    return 1 / torch.tanh(x)


def sech(x: torch.Tensor) -> torch.Tensor:
    """1/cosh(x) as 2e/(1 + e²), e = exp(-|x|): 1/cosh(x) has a NaN gradient once cosh overflows (0·inf)."""
    e = torch.exp(-torch.abs(x))
    return 2 * e / (1 + e * e)


def csch(x: torch.Tensor) -> torch.Tensor:
    """1/sinh(x) as sign(x)·2e/(1 - e²), e = exp(-|x|), for the same reason as sech (expm1 keeps it exact
    near 0)."""
    magnitude = torch.abs(x)
    return torch.sign(x) * 2 * torch.exp(-magnitude) / -torch.expm1(-2 * magnitude)


def acoth(x: torch.Tensor) -> torch.Tensor:
    return torch.atanh(1 / x)


def asech(x: torch.Tensor) -> torch.Tensor:
    return torch.acosh(1 / x)


def acsch(x: torch.Tensor) -> torch.Tensor:
    return torch.asinh(1 / x)


def cbrt(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.abs(x) ** (1 / 3)


def minimum(*args: torch.Tensor) -> torch.Tensor:
    return reduce(torch.minimum, args)


def maximum(*args: torch.Tensor) -> torch.Tensor:
    return reduce(torch.maximum, args)


def gamma(x: torch.Tensor) -> torch.Tensor:
    """Gamma from lgamma (torch has no gamma): |Γ(x)| = exp(lgamma(x)), with Γ's sign for x < 0."""
    negative_sign = 1 - 2 * torch.remainder(torch.ceil(-x), 2)
    return torch.where(x > 0, torch.ones_like(x), negative_sign) * torch.exp(loggamma(x))


class _LogGamma(torch.autograd.Function):
    """torch.lgamma, differentiated by derivcli's digamma: torch's own backward is torch.digamma, whose
    derivative is torch's trigamma kernel (good to ~5e-10 only)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return torch.lgamma(x)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[torch.Tensor], output: torch.Tensor) -> None:
        ctx.save_for_backward(inputs[0])
        ctx.save_for_forward(inputs[0])

    @staticmethod
    def backward(ctx: Any, gradient: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return gradient * gamma_kernels.digamma(x)

    @staticmethod
    def jvp(ctx: Any, tangent: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return tangent * gamma_kernels.digamma(x)


def loggamma(x: torch.Tensor) -> torch.Tensor:
    """log|Γ(x)|, with derivatives to float64's last digits (see derivcli.table.gamma_kernels)."""
    result: torch.Tensor = _LogGamma.apply(x)
    return result


def digamma(x: torch.Tensor) -> torch.Tensor:
    return gamma_kernels.digamma(x)


def factorial(x: torch.Tensor) -> torch.Tensor:
    return gamma(x + 1)


def softplus(x: torch.Tensor) -> torch.Tensor:
    """log(1 + exp(x)) as logaddexp(x, 0): exact at any x, gradient sigmoid(x) (torch's softplus
    switches to x above 20, an error of 2e-9 in float64)."""
    return torch.logaddexp(x, torch.zeros_like(x))


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """1/(1 + exp(-x)) for x >= 0, exp(x)/(1 + exp(x)) below, each on its own side only: autograd then
    differentiates a formula without cancellation, exp(-|x|)/(1 + exp(-|x|))**2, right to the last digit
    (torch.sigmoid's backward, y*(1 - y), loses 3 digits at x = 30 and gives 0 from x = 37)."""
    zero = torch.zeros_like(x)
    above = torch.exp(-torch.where(x >= 0, x, zero))
    below = torch.exp(torch.where(x < 0, x, zero))
    return torch.where(x >= 0, 1 / (1 + above), below / (1 + below))


def expm1(x: torch.Tensor) -> torch.Tensor:
    """exp(x) - 1: torch.expm1 where |x| < 1, exp(x) - 1 elsewhere, so the derivative is exp(x) to the
    last digit (torch.expm1's backward, y + 1, cancels for x < -1 and gives 0 from x = -37)."""
    near = torch.abs(x) < 1
    return torch.where(near, torch.expm1(torch.where(near, x, torch.zeros_like(x))), torch.exp(x) - 1)


# --------------------------------------------------------------------------------------- activations
# (gelu, silu, softsign, logsigmoid and mish are torch.nn.functional's own, named in the table.)
# torch.nn.functional's own functions wherever the parameters are plain numbers (so values and gradients
# are torch's); where a parameter is a variable (elu(x, a) differentiated in a, or a batch of values), the
# same formula in tensor operations, with the same gradient at the kinks.


def _number(parameter: torch.Tensor) -> float | None:
    """A constant parameter's value; None for one that carries a gradient or a batch (a variable)."""
    if parameter.dim() or parameter.requires_grad or wrapped(parameter):
        return None
    return float(parameter)


def elu(x: torch.Tensor, alpha: torch.Tensor | None = None) -> torch.Tensor:
    """x for x > 0, alpha*expm1(x) else; the gradient at 0 is alpha, as torch's elu."""
    value = 1.0 if alpha is None else _number(alpha)
    if value is not None:
        return F.elu(x, value)
    assert alpha is not None
    negative = torch.where(x > 0, torch.zeros_like(x), x)  # exp(x) of a branch not taken must not overflow
    return torch.where(x > 0, x, alpha * torch.expm1(negative))


def leaky_relu(x: torch.Tensor, slope: torch.Tensor | None = None) -> torch.Tensor:
    """x for x > 0, slope*x else; the gradient at 0 is slope, as torch's leaky_relu."""
    value = 0.01 if slope is None else _number(slope)
    if value is not None:
        return F.leaky_relu(x, value)
    assert slope is not None
    return torch.where(x > 0, x, slope * x)


def hardtanh(x: torch.Tensor, low: torch.Tensor | None = None, high: torch.Tensor | None = None
             ) -> torch.Tensor:
    """min(max(x, low), high); the gradient in x is 0 at the bounds, as torch's hardtanh.  Bounds the
    wrong way round (which torch's hardtanh refuses) give high, as torch.clamp and the SymPy form do."""
    low_value = -1.0 if low is None else _number(low)
    high_value = 1.0 if high is None else _number(high)
    if low_value is not None and high_value is not None and low_value <= high_value:
        return F.hardtanh(x, low_value, high_value)
    low_tensor = torch.full_like(x, -1.0) if low is None else low
    high_tensor = torch.full_like(x, 1.0) if high is None else high
    raised = torch.where(x <= low_tensor, low_tensor, x)
    return torch.where(raised >= high_tensor, high_tensor, raised)


def clamp(x: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """torch.clamp, bounds -inf and inf where left out (their gradient rules are torch's own)."""
    low_value, high_value = _number(low), _number(high)
    if low_value is not None and high_value is not None:
        return torch.clamp(x, low_value, high_value)
    return torch.clamp(x, low, high)


def hardsigmoid(x: torch.Tensor) -> torch.Tensor:
    """relu6(x + 3)/6, torch's definition; its gradient is exactly 1/6 inside (-3, 3), where torch's own
    hardsigmoid backward uses 1/6 rounded to float32 even in float64 (0.16666667163...)."""
    return F.hardtanh(x + 3, 0.0, 6.0) / 6


def celu(x: torch.Tensor, alpha: torch.Tensor | None = None) -> torch.Tensor:
    """x for x > 0, alpha*expm1(x/alpha) else; gradient 1 at 0, as torch's celu."""
    value = 1.0 if alpha is None else _number(alpha)
    if value is not None:
        return F.celu(x, value)
    assert alpha is not None
    negative = torch.where(x > 0, torch.zeros_like(x), x)
    return torch.where(x > 0, x, alpha * torch.expm1(negative / alpha))


def heaviside(x: torch.Tensor, at_zero: torch.Tensor | None = None) -> torch.Tensor:
    """Step function with SymPy's convention (1/2 at 0 unless given); its derivative is 0."""
    half = torch.full_like(x, 0.5) if at_zero is None else at_zero.expand_as(x).to(x.dtype)
    return torch.where(x > 0, torch.ones_like(x), torch.where(x < 0, torch.zeros_like(x), half)).detach()


def polygamma(order: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return gamma_kernels.polygamma(int(order.item()), x)


def zero(x: torch.Tensor, *_: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(x)


# ----------------------------------------------------------------------------------------- tensors
def shape_text(t: torch.Tensor) -> str:
    if t.dim() == 0:
        return "a scalar"
    return "shape (" + ", ".join(map(str, t.shape)) + ("," if t.dim() == 1 else "") + ")"


def _fail(message: str) -> DerivcliError:
    return DerivcliError(message)


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    left, right = a.shape, b.shape  # (read once: a training loop runs this on every step)
    if not left or not right:
        raise _fail(f"'@' needs vectors or matrices, got {shape_text(a)} @ {shape_text(b)}; use * for scalars")
    inner = right[-2] if len(right) > 1 else right[0]
    if left[-1] != inner:
        raise _fail(f"cannot multiply {shape_text(a)} @ {shape_text(b)}: inner sizes {left[-1]} and {inner} differ")
    rows = left[-2] if len(left) > 1 else 1
    columns = right[-1] if len(right) > 1 else 1
    batch = math.prod(torch.broadcast_shapes(left[:-2], right[:-2])) if len(left) > 2 or len(right) > 2 else 1
    memory.check(2 * batch * rows * columns, lambda: f"{shape_text(a)} @ {shape_text(b)} (a {rows:,} x {columns:,} "
                                                     "result, and its gradient)")
    return torch.matmul(a, b)


def dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    if a.dim() != 1 or b.dim() != 1 or a.shape != b.shape:
        raise _fail(f"dot needs two vectors of the same length, got {shape_text(a)} and {shape_text(b)}")
    return torch.dot(a, b)


def broadcast_to(value: torch.Tensor, like: torch.Tensor, what: str) -> torch.Tensor:
    """Scalars and same-shaped tensors combine with `like`; anything else is a shape error."""
    if value.shape == like.shape or value.numel() == 1:
        return value.expand_as(like) if value.shape != like.shape else value
    raise _fail(f"{what}: {shape_text(value)} does not match {shape_text(like)}")


def transpose(a: torch.Tensor) -> torch.Tensor:
    return a.mT if a.dim() >= 2 else a


def detach(a: torch.Tensor) -> torch.Tensor:
    return a.detach()


def indexer(items: tuple[Any, ...]) -> Any:
    """The torch form of x[items], with an error that names the shape when an index is out of range."""

    def take(a: torch.Tensor) -> torch.Tensor:
        if len(items) > a.dim():
            raise _fail(f"too many indices ({len(items)}) for {shape_text(a)}")
        for axis, item in enumerate(items):
            if isinstance(item, int) and not -a.shape[axis] <= item < a.shape[axis]:
                raise _fail(f"index {item} is out of range for axis {axis} of {shape_text(a)}")
        if not any(isinstance(item, slice) and (item.step or 1) < 0 for item in items):
            return a[items]
        result = a  # torch has no negative steps: take such an axis's elements by their indices
        for axis, item in reversed(list(enumerate(items))):
            if isinstance(item, slice) and (item.step or 1) < 0:
                chosen = torch.tensor(range(*item.indices(result.shape[axis])), dtype=torch.long, device=a.device)
                result = result.index_select(axis, chosen)
                item = slice(None)
            result = result[(slice(None),) * axis + (item,)]
        return result

    return take


def checked_binary(operation: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], symbol: str
                   ) -> Callable[..., torch.Tensor]:
    """Elementwise + or * over many operands, refusing broadcasts that make a shape bigger than both
    operands ((3,) with (2, 1) -> (2, 3)): torch does that silently, and it is almost never meant."""

    def combine(*args: torch.Tensor) -> torch.Tensor:
        result = args[0]
        for other in args[1:]:
            _check(result, other, symbol)
            result = operation(result, other)
        return result

    return combine


def signed_sum(negative: tuple[bool, ...]) -> Callable[..., torch.Tensor]:
    """A sum whose terms marked negative are subtracted, left to right as `checked_binary`'s + adds them:
    SymPy writes a - b as a + (-1)*b, whose product costs torch a pass over the data; a - b gives the same
    bits (negation is exact) and the same gradient.  A sum SymPy starts with a negative term (-t + u, its
    order) starts as u - t: addition of two numbers commutes exactly, so only a pass is saved."""

    def combine(*terms: torch.Tensor) -> torch.Tensor:
        first = 1
        if negative[0] and len(terms) > 1 and not negative[1]:
            _check(terms[1], terms[0], "-")
            result, first = terms[1] - terms[0], 2
        else:
            result = -terms[0] if negative[0] else terms[0]
        for term, minus in zip(terms[first:], negative[first:]):
            _check(result, term, "-" if minus else "+")
            result = result - term if minus else result + term
        return result

    return combine


def _check(a: torch.Tensor, b: torch.Tensor, symbol: str) -> None:
    if not broadcasts(a, b):
        raise _fail(f"cannot combine {shape_text(a)} {symbol} {shape_text(b)} elementwise")


def broadcasts(a: torch.Tensor, b: torch.Tensor) -> bool:
    """README's broadcast rule: equal shapes, a scalar on one side, or one shape broadcasting to the
    other; never a result bigger than both ((3,) with (2, 1) -> (2, 3))."""
    if a.shape == b.shape or not a.dim() or not b.dim():
        return True
    try:
        shape = torch.broadcast_shapes(a.shape, b.shape)
    except RuntimeError:
        return False
    return shape == a.shape or shape == b.shape


def elementwise(form: Callable[..., torch.Tensor], name: str) -> Callable[..., torch.Tensor]:
    """An elementwise function of several arguments (max, atan2, x**y, heaviside, comparisons) under the
    same broadcast rule as + and *, so a mismatch names both shapes instead of torch's message."""

    def checked(*args: torch.Tensor) -> torch.Tensor:
        for position, other in enumerate(args[1:], start=1):
            for first in args[:position]:
                if not broadcasts(first, other):
                    raise _fail(f"{name}: cannot combine {shape_text(first)} with {shape_text(other)} elementwise")
        return form(*args)

    return checked
