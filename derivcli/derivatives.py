"""Differentiation with torch autograd over a lowered Program."""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp
import torch

from .errors import DerivcliError
from .lowering import Program, lower

DTYPES = {"float64": torch.float64, "float32": torch.float32}


def torch_dtype(name: str) -> torch.dtype:
    try:
        return DTYPES[name]
    except KeyError:
        raise DerivcliError(f"unknown dtype '{name}'", hint="use float64 or float32") from None


def torch_device(name: str) -> torch.device:
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DerivcliError("--device cuda: no CUDA device is available here",
                                hint="use --device cpu, or a machine with an NVIDIA GPU and CUDA torch")
        return torch.device(name)
    raise DerivcliError(f"unknown device '{name}'", hint="use cpu or cuda")


def make_inputs(point: dict[str, float], variables: Sequence[str], wrt: Sequence[str], dtype: torch.dtype,
                device: torch.device) -> list[torch.Tensor]:
    """One leaf tensor per variable; only the differentiated ones record gradients."""
    return [torch.tensor(point[name], dtype=dtype, device=device, requires_grad=name in wrt)
            for name in variables]


def gradient(program: Program, inputs: Sequence[torch.Tensor], wrt_indices: Sequence[int],
             dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """f and its gradient with respect to inputs[i] for i in wrt_indices.

    A function that does not depend on a variable (or a constant expression) has gradient 0 there.
    """
    value = program(inputs, dtype=dtype, device=device)
    targets = [inputs[i] for i in wrt_indices]
    if not value.requires_grad or not targets:
        return value, [torch.zeros_like(t) for t in targets]
    grads = torch.autograd.grad(value, targets, allow_unused=True, materialize_grads=True)
    return value, list(grads)


def second_and_third(program: Program, inputs: Sequence[torch.Tensor], index: int, dtype: torch.dtype,
                     device: torch.device) -> tuple[float, float]:
    """f'' and f''' along one variable (nested autograd), to tell truncation from round-off error."""
    leaf = inputs[index].detach().requires_grad_(True)
    values = list(inputs)
    values[index] = leaf
    derivatives: list[float] = []
    current = program(values, dtype=dtype, device=device)
    for _ in range(3):
        if not current.requires_grad:
            derivatives.append(0.0)
            current = torch.zeros_like(current)
            continue
        (current,) = torch.autograd.grad(current, leaf, create_graph=True, allow_unused=True,
                                         materialize_grads=True)
        derivatives.append(float(current.detach()))
    return derivatives[1], derivatives[2]


def evaluate_constant(expr: sp.Expr) -> float:
    """The float64 value of a constant expression (a binding like pi/4), by the same lowering."""
    program = lower(expr, [])
    return float(program([], dtype=torch.float64))

