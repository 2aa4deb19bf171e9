"""The torch side of a Program's steps: products as one division, powers by their exponent, `a if c
else b` on masked inputs, and SymPy constants as floats."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence

import sympy as sp
import torch

from ..errors import DerivcliError
from ..table.torch_forms import broadcasts, checked_binary, elementwise

add = checked_binary(operator.add, "+")
checked_pow = elementwise(torch.pow, "**")
_multiply = checked_binary(operator.mul, "*")
_divide = checked_binary(operator.truediv, "/")


def fraction(numerator: Sequence[torch.Tensor], denominator: Sequence[torch.Tensor]) -> torch.Tensor:
    top = _multiply(*numerator) if numerator else None
    if not denominator:
        assert top is not None
        return top
    bottom = _multiply(*denominator)
    return 1 / bottom if top is None else _divide(top, bottom)


def power(exponent: sp.Number) -> Callable[[torch.Tensor], torch.Tensor]:
    if exponent == sp.Rational(1, 2):
        return torch.sqrt
    if exponent == sp.Rational(-1, 2):
        return torch.rsqrt
    if exponent == -1:
        return torch.reciprocal
    if exponent.is_Integer and abs(exponent) < 2**53:
        whole = int(exponent)
        return lambda base: torch.pow(base, whole)
    value = to_float(exponent)
    return lambda base: torch.pow(base, value)


class PiecewiseForm:
    """`a if c else b`: each branch runs on inputs masked to where it is taken, so a branch that is NaN
    where it is not taken (sqrt(x) for x < 0) cannot poison the gradient (the "double where")."""

    def __init__(self, branches: Sequence[Callable[..., torch.Tensor]]) -> None:  # Programs
        self.branches = branches

    def __call__(self, *args: torch.Tensor) -> torch.Tensor:
        count = len(self.branches)
        conditions, inputs = args[:count], args[count:]
        taken = torch.zeros((), dtype=torch.bool, device=conditions[0].device)
        masks = []
        for condition in conditions:
            masks.append(condition & ~taken)
            taken = taken | condition
        result: torch.Tensor | None = None
        for condition in conditions[1:]:
            if not broadcasts(conditions[0], condition):
                raise DerivcliError(f"'if' conditions of shapes {tuple(conditions[0].shape)} and "
                                    f"{tuple(condition.shape)} cannot be combined elementwise")
        for mask, branch in zip(reversed(masks), reversed(self.branches)):
            masked = [torch.where(mask, value, value.detach()) if value.requires_grad and _fits(mask, value)
                      else value for value in inputs]
            value = branch(masked, dtype=_float_dtype(inputs), device=mask.device)
            if not broadcasts(value, mask) or result is not None and not broadcasts(value, result):
                other = mask if result is None else result
                raise DerivcliError(f"'a if c else b': cannot combine {tuple(value.shape)} with "
                                    f"{tuple(other.shape)} elementwise")
            if result is None:
                result = torch.where(mask, value, torch.full_like(value, math.nan))
            else:
                result = torch.where(mask, value, result)
        assert result is not None
        return result


def _fits(mask: torch.Tensor, value: torch.Tensor) -> bool:
    """Whether masking `value` keeps its shape (an input of another shape is left alone: if a branch
    uses it, the branch's shape check names the mismatch)."""
    try:
        return torch.broadcast_shapes(mask.shape, value.shape) == value.shape
    except RuntimeError:
        return False


def _float_dtype(inputs: Sequence[torch.Tensor]) -> torch.dtype:
    return next((value.dtype for value in inputs if value.is_floating_point()), torch.float64)


def to_float(number: sp.Basic) -> float:
    """A SymPy constant as a float: infinities and NaN as such, overflow as ±inf."""
    if number is sp.zoo or number is sp.oo:
        return math.inf
    if number is sp.nan:
        return math.nan
    try:
        return float(number)
    except OverflowError:
        return math.inf if number.is_positive else -math.inf
    except TypeError as error:
        raise DerivcliError(f"the constant {shorten(number)} is not a real number") from error


def shorten(node: sp.Basic) -> str:
    text = str(node)
    return text if len(text) <= 60 else text[:57] + "..."
