"""Differentiation with torch autograd over a lowered Program."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ..errors import DerivcliError
from ..limits import memory
from ..lowering.program import Program

DTYPES = {"float64": torch.float64, "float32": torch.float32}


def torch_dtype(name: str) -> torch.dtype:
    dtype = DTYPES.get(name) if isinstance(name, str) else None
    if dtype is None:
        raise DerivcliError(f"unknown dtype {str(name)[:40]!r}", hint="use float64 or float32")
    return dtype


def torch_device(name: str) -> torch.device:
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DerivcliError("--device cuda: no CUDA device is available here",
                                hint="use --device cpu, or a machine with an NVIDIA GPU and CUDA torch")
        return torch.device(name)
    raise DerivcliError(f"unknown device '{name}'", hint="use cpu or cuda")


def scalar_output(value: torch.Tensor) -> torch.Tensor:
    """grad needs one number; anything else is an error that says what to do instead."""
    if value.numel() != 1:
        shape = ", ".join(map(str, value.shape)) + ("," if value.dim() == 1 else "")
        raise DerivcliError(f"the expression's value has shape ({shape}), not a single number, so it has no "
                            "gradient", hint="use 'derivcli jacobian' for all its derivatives, or reduce it "
                                             "to a number with sum(...) or mean(...)")
    return value if value.dim() == 0 else value.reshape(())  # a reshape would be one more node to go back through


MAX_JACOBIAN_ROWS = 10_000


def jacobians(program: Program, inputs: Sequence[torch.Tensor], wrt_indices: Sequence[int],
              dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The value and, per differentiated variable, d(value)/d(variable) of shape value.shape + var.shape."""
    plain = [value.detach() for value in inputs]

    def function(*targets: torch.Tensor) -> torch.Tensor:
        values = list(plain)
        for index, target in zip(wrt_indices, targets):
            values[index] = target
        return program(values, dtype=dtype, device=device)

    value = function(*[plain[i] for i in wrt_indices]) if wrt_indices else program(plain, dtype, device)
    if not wrt_indices:
        return value, []
    outputs, inputs_count = value.numel(), sum(plain[i].numel() for i in wrt_indices)
    memory.check(outputs * inputs_count, f"the Jacobian of {outputs:,} outputs by {inputs_count:,} inputs")
    if outputs > MAX_JACOBIAN_ROWS:
        raise DerivcliError(f"the Jacobian has {outputs:,} outputs, one backward pass each; the limit is "
                            f"{MAX_JACOBIAN_ROWS:,}", hint="reduce the output (sum, mean, an index) or use grad")
    blocks = torch.autograd.functional.jacobian(function, tuple(plain[i] for i in wrt_indices),
                                                vectorize=False)
    return value, [block.reshape(tuple(value.shape) + tuple(plain[i].shape)) for block, i in zip(blocks, wrt_indices)]


def gradient(program: Program, inputs: Sequence[torch.Tensor], wrt_indices: Sequence[int],
             dtype: torch.dtype, device: torch.device,
             look: Callable[[list[torch.Tensor]], None] | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """f and its gradient with respect to inputs[i] for i in wrt_indices.

    A function that does not depend on a variable (or a constant expression) has gradient 0 there.
    `look` is shown every slot of the forward pass before the backward pass: what must be read from them
    (the kink search) needs no second forward pass.  It must keep none of them, nor anything on their
    graph (they are not kept through the backward).
    """
    slots = program.slots(inputs, dtype=dtype, device=device)
    if look is not None:
        look(slots)
    value = scalar_output(slots[program.output])
    del slots
    targets = [inputs[i] for i in wrt_indices]
    if not value.requires_grad or not targets:
        return value, [torch.zeros_like(t) for t in targets]
    return value, unshared(backward(value, targets))


_ENGINE = getattr(torch.autograd.graph, "_engine_run_backward", None)


def backward(value: torch.Tensor, targets: Sequence[torch.Tensor]) -> Sequence[torch.Tensor]:
    """`torch.autograd.grad(value, targets, allow_unused=True, materialize_grads=True)` for a scalar value.

    For plain tensors it calls the engine entry that torch.autograd.grad itself ends in, without the Python
    that normalises and checks its arguments (which `gradient` has already settled): ~15 µs a call, a tenth
    of a 512×512 gradient (issue 24's 1.5× torch).  Tensor subclasses, which may override autograd through
    __torch_function__, and a torch without that entry, or whose entry refuses these arguments (a TypeError,
    raised before the graph is touched), take the public call."""
    global _ENGINE
    if _ENGINE is not None and type(value) is torch.Tensor and all(type(t) is torch.Tensor for t in targets):
        try:
            grads = _ENGINE((value,), (torch.ones_like(value),), False, False, tuple(targets), True,
                            accumulate_grad=False)
        except TypeError:  # a torch whose entry takes other arguments (it is private): the public call from now on
            _ENGINE = None
        else:
            return [g if g is not None else torch.zeros_like(t) for g, t in zip(grads, targets)]
    return torch.autograd.grad(value, targets, allow_unused=True, materialize_grads=True)


def unshared(gradients: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """The gradients, none sharing memory with another: autograd hands one tensor to both terms of a sum
    (in (x + y)*w, x's and y's gradients are the very same w), so a caller writing to one gradient (an
    optimizer step in place) would silently change the other."""
    if len(gradients) < 2:
        return list(gradients)
    seen: set[int] = set()
    own = []
    for gradient in gradients:
        address = gradient.untyped_storage().data_ptr()
        own.append(gradient.clone() if address in seen else gradient)
        seen.add(address)
    return own


def along(program: Program, inputs: Sequence[torch.Tensor], index: int, direction: torch.Tensor,
          dtype: torch.dtype, device: torch.device) -> tuple[float, float, float]:
    """First, second and third derivative of t -> f(x + t·direction) at t = 0 (nested autograd): the
    directional derivatives that tell truncation from round-off in the finite-difference table."""
    t = torch.zeros((), dtype=dtype, device=device, requires_grad=True)
    values = [value.detach() for value in inputs]
    values[index] = values[index] + t * direction
    current = scalar_output(program(values, dtype=dtype, device=device))
    derivatives: list[float] = []
    for _ in range(3):
        if not current.requires_grad:
            derivatives.append(0.0)
            current = torch.zeros_like(current)
            continue
        (current,) = torch.autograd.grad(current, t, create_graph=True, allow_unused=True,
                                         materialize_grads=True)
        derivatives.append(float(current.detach()))
    return derivatives[0], derivatives[1], derivatives[2]
