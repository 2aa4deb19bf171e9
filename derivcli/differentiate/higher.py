"""Higher-order derivatives by torch: Hessians (forward-over-reverse), n-th and mixed partial derivatives
(nested autograd at low order, Taylor mode at high order)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ..errors import DerivcliError
from ..lowering.program import Program
from .autograd import scalar_output
from .taylor_mode import MAX_ORDER

NESTED_AUTOGRAD_MAX = 4  # nested autograd costs about 4x per order; above this, Taylor mode


def check_order(order: int) -> None:
    if order < 1:
        raise DerivcliError(f"--order {order}: the order must be at least 1")
    if order > MAX_ORDER:
        raise DerivcliError(f"--order {order} is too high (the limit is {MAX_ORDER})",
                            hint="derivatives of that order are dominated by rounding in float64 anyway")


def hessian(program: Program, inputs: Sequence[torch.Tensor], wrt_indices: Sequence[int], dtype: torch.dtype,
            device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(value, gradient, Hessian) over the differentiated variables flattened into one vector: by double
    backward for up to BACKWARD_HESSIAN_MAX variables, else as the forward-mode Jacobian of the
    reverse-mode gradient (torch.func.jacfwd of grad); the Hessian made symmetric."""
    from ..limits import memory

    plain = [value.detach() for value in inputs]
    sizes = [plain[i].numel() for i in wrt_indices]
    count = sum(sizes)
    # forward mode carries one tangent per variable through the graph: about 4 copies of n x n in all
    memory.check(4 * count * count, f"the Hessian over {count:,} variables ({count:,} x {count:,})")

    def function(flat: torch.Tensor) -> torch.Tensor:
        values = list(plain)
        for index, piece in zip(wrt_indices, torch.split(flat, sizes)):
            values[index] = piece.reshape(plain[index].shape)
        return scalar_output(program(values, dtype=dtype, device=device))

    flat = torch.cat([plain[i].reshape(-1) for i in wrt_indices]) if wrt_indices else \
        torch.zeros(0, dtype=dtype, device=device)
    if count <= BACKWARD_HESSIAN_MAX:
        value, gradient, matrix = _hessian_by_double_backward(function, flat)
    else:
        try:
            value = function(flat)
            gradient = torch.func.grad(function)(flat)
            matrix = torch.func.jacfwd(torch.func.grad(function))(flat)
        except (RuntimeError, NotImplementedError):  # an op without forward-mode AD: reverse-over-reverse
            value, gradient, matrix = _hessian_by_double_backward(function, flat)
    return value.detach(), gradient.detach(), symmetric(matrix.detach())


def symmetric(matrix: torch.Tensor) -> torch.Tensor:
    """(H + Hᵀ)/2 where both mixed partials are finite: autograd's two orders of differentiation round
    differently (-0.23474169019850577 beside -0.234741690198506), and a Hessian is symmetric wherever it
    exists; a non-finite entry is left as computed, for the diagnosis."""
    both = torch.isfinite(matrix) & torch.isfinite(matrix.T)
    return torch.where(both, (matrix + matrix.T) / 2, matrix)


# Up to this many variables, one backward pass per row of the Hessian costs less than the first use of
# torch.func (about 1.5 s to load its compiler machinery); past it, jacfwd's one vectorized pass wins.
BACKWARD_HESSIAN_MAX = 256


def _hessian_by_double_backward(function: Callable[[torch.Tensor], torch.Tensor],
                                flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(value, gradient, Hessian) by plain autograd: the gradient with create_graph, then one backward
    pass of each of its entries."""
    leaf = flat.detach().requires_grad_(True)
    value = function(leaf)
    if not value.requires_grad:  # a constant
        zeros = torch.zeros_like(leaf)
        return value.detach(), zeros, torch.zeros(leaf.numel(), leaf.numel(), dtype=leaf.dtype, device=leaf.device)
    (gradient,) = torch.autograd.grad(value, leaf, create_graph=True, allow_unused=True, materialize_grads=True)
    rows = []
    for entry in gradient:
        if entry.requires_grad:
            (row,) = torch.autograd.grad(entry, leaf, retain_graph=True, allow_unused=True, materialize_grads=True)
        else:
            row = torch.zeros_like(leaf)
        rows.append(row.detach())
    matrix = torch.stack(rows) if rows else torch.zeros(0, 0, dtype=leaf.dtype, device=leaf.device)
    return value.detach(), gradient.detach(), matrix


def nested_autograd(program: Program, inputs: Sequence[torch.Tensor], sequence: Sequence[int],
                    dtype: torch.dtype, device: torch.device) -> tuple[float, float]:
    """(f, ∂^n f / ∂v1 … ∂vn) by differentiating the graph n times (create_graph)."""
    leaves = [value.detach().requires_grad_(True) for value in inputs]
    current = scalar_output(program(leaves, dtype=dtype, device=device))
    value = float(current.detach())
    for index in sequence:
        if not current.requires_grad:
            return value, 0.0
        (current,) = torch.autograd.grad(current, leaves[index], create_graph=True, allow_unused=True,
                                         materialize_grads=True)
    return value, float(current.detach())


def classify(eigenvalues: Sequence[float], gradient_norm: float, scale: float) -> str:
    """What the Hessian's eigenvalues say at this point."""
    if not eigenvalues:
        return "f depends on none of the variables: it is constant, and every point is critical"
    tolerance = 1e-9 * max(scale, 1.0)
    positive = sum(1 for e in eigenvalues if e > tolerance)
    negative = sum(1 for e in eigenvalues if e < -tolerance)
    if positive + negative < len(eigenvalues):
        curvature = "degenerate (a zero eigenvalue: the second derivative test is inconclusive)"
    elif negative == 0:
        curvature = "positive definite (locally convex)"
    elif positive == 0:
        curvature = "negative definite (locally concave)"
    else:
        curvature = "indefinite (curving up along some directions, down along others)"
    critical = gradient_norm <= 1e-8 * max(scale, 1.0)
    if not critical:
        return f"not a critical point (the gradient is not zero); the Hessian is {curvature}"
    if curvature.startswith("positive"):
        return "a local minimum (gradient zero, Hessian positive definite)"
    if curvature.startswith("negative"):
        return "a local maximum (gradient zero, Hessian negative definite)"
    if curvature.startswith("indefinite"):
        return "a saddle point (gradient zero, Hessian indefinite)"
    return "a critical point where the Hessian is degenerate: the second derivative test is inconclusive"
