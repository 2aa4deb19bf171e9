"""What `grad` gives back: each array in the kind the caller gave it, so that a tensor's gradient never
goes through Python lists: a torch tensor for a torch tensor (in the working dtype, on the working device),
a numpy array for a numpy array, nested lists for lists, a float for a number.  `as_lists` asks for the
JSON form whatever was given: the command line's, which prints every number."""

from __future__ import annotations

import copy
import math
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..results import GradResult, to_plain

if TYPE_CHECKING:
    import torch


def kind(value: Any) -> str:
    """"tensor" (any torch tensor, a 0-d one too), "numpy" (an array of one dimension or more) or
    "plain" (a number, a numpy scalar, nested lists)."""
    torch, numpy = sys.modules.get("torch"), sys.modules.get("numpy")
    if torch is not None and isinstance(value, torch.Tensor):
        return "tensor"
    if numpy is not None and isinstance(value, numpy.ndarray) and value.ndim:
        return "numpy"
    return "plain"


def in_kind(form: str, computed: torch.Tensor) -> Any:
    """`computed` (a derivative with respect to a variable given in the kind `form`) in that kind."""
    if form == "plain":
        return to_plain(computed)
    # autograd gives d sum(x)/dx as one 1 seen at every element (stride 0): a caller writing to it, or to
    # its numpy view, would write every element at once, so such a gradient gets memory of its own
    own = computed.detach() if computed.requires_grad else computed  # (autograd's own gradients are off any graph)
    if 0 in own.stride():
        own = own.contiguous()
    return own if form == "tensor" else own.cpu().numpy()


def echo(form: str, given: Any, value: Any) -> Any:
    """The point's value in the result: a tensor or array as it was given (not copied), else as read."""
    if form == "plain":
        return to_plain(value)
    return given.detach() if form == "tensor" and given.requires_grad else given


def plain(value: Any) -> Any:
    """Any of the kinds above as a float or nested lists (the JSON form)."""
    if hasattr(value, "detach") or hasattr(value, "ndim"):
        return to_plain(value) if hasattr(value, "detach") else value.tolist()
    return value


class ArrayGradResult(GradResult):
    """grad's answer where a tensor or numpy array was given: those stay tensors or arrays in `point` and
    `gradient`; `to_json()` is the JSON lists would give, number for number."""

    def to_json(self, explain_parse: bool = False) -> dict[str, Any]:
        lists = copy.copy(self)
        lists.point = {name: plain(value) for name, value in self.point.items()}
        lists.gradient = {name: plain(value) for name, value in self.gradient.items()}
        return GradResult.to_json(lists, explain_parse)


def all_finite(value: float, gradients: Sequence[torch.Tensor]) -> bool:
    """Whether the value and every derivative are finite, at the cost of one sum per gradient rather than
    an elementwise test (a tenth of its time): a NaN or an infinity among the terms makes a sum NaN or
    infinite, so a finite sum proves them all finite; a sum that overflowed is looked at element by element."""
    import torch

    return math.isfinite(value) and all(math.isfinite(float(gradient.sum())) or bool(torch.isfinite(gradient).all())
                                        for gradient in gradients)


def first_non_finite(derivative: Any) -> float | None:
    """The first NaN or infinity in a derivative of any kind (row-major), or None."""
    if kind(derivative) == "plain":
        return next((v for v in to_flat(derivative) if not math.isfinite(v)), None)
    import torch

    values = torch.as_tensor(derivative).reshape(-1)
    bad = values[~torch.isfinite(values)]
    return float(bad[0]) if bad.numel() else None


def to_flat(value: Any) -> list[float]:
    if isinstance(value, list):
        return [v for item in value for v in to_flat(item)]
    return [value]
