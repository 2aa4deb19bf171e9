"""torch forms of the tensor operations that take settings (reductions over a dim, softmax's dim, shapes,
einsum, losses, linear algebra): torch's own functions, after checks that turn a wrong shape, dim or index
into one error naming the function and the shapes (torch's own messages name neither)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import DerivcliError
from ..limits import memory
from .torch_forms import broadcast_to, shape_text


def _dim(name: str, a: torch.Tensor, dim: int, extra: int = 0) -> int:
    """dim, checked against the tensor's dimensions (`extra`: unsqueeze may name one past the end)."""
    count = max(a.dim(), 1) + extra
    if not -count <= dim < count:
        raise DerivcliError(f"{name}: dim {dim} is out of range for {shape_text(a)} (dims {-count} to {count - 1})")
    return dim


def _reduction(name: str, whole: Callable[..., torch.Tensor], over: Callable[..., torch.Tensor]
               ) -> Callable[..., torch.Tensor]:
    def form(a: torch.Tensor, dim: int | None = None, keepdim: bool = False, **settings: Any) -> torch.Tensor:
        if dim is None:
            return whole(a, **settings)
        return over(a, _dim(name, a, dim), keepdim, **settings)

    form.__name__ = name
    return form


reduce_sum = _reduction("sum", torch.sum, lambda a, d, k: torch.sum(a, dim=d, keepdim=k))
reduce_mean = _reduction("mean", torch.mean, lambda a, d, k: torch.mean(a, dim=d, keepdim=k))
reduce_prod = _reduction("prod", torch.prod, lambda a, d, k: torch.prod(a, dim=d, keepdim=k))
# max(X, dim=1) is torch.max(X, dim=1).values; at a tie (a kink, reported) its gradient is split evenly among
# the tied elements as torch.amax splits it (and SymPy's Max, so --check agrees), not sent to one index
amax = _reduction("max", lambda a: torch.amax(a) if a.dim() else a, lambda a, d, k: torch.amax(a, dim=d, keepdim=k))
amin = _reduction("min", lambda a: torch.amin(a) if a.dim() else a, lambda a, d, k: torch.amin(a, dim=d, keepdim=k))
logsumexp = _reduction("logsumexp", lambda a: torch.logsumexp(a.reshape(-1), dim=0),
                       lambda a, d, k: torch.logsumexp(a, dim=d, keepdim=k))
norm = _reduction("norm", lambda a, p=2: torch.linalg.vector_norm(a, ord=p),
                  lambda a, d, k, p=2: torch.linalg.vector_norm(a, ord=p, dim=d, keepdim=k))


def _statistic(name: str, function: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    def form(a: torch.Tensor, dim: int | None = None, correction: int = 1, keepdim: bool = False,
             unbiased: bool | None = None) -> torch.Tensor:
        if unbiased is not None:
            correction = int(unbiased)
        count = a.numel() if dim is None else (a.shape[_dim(name, a, dim)] if a.dim() else 1)
        if count - correction <= 0:
            raise DerivcliError(f"{name}: {count} element{'s' if count != 1 else ''} with correction={correction} "
                                f"leave no degrees of freedom ({shape_text(a)})", hint="give correction=0")
        if dim is None:
            return function(a, correction=correction)
        return function(a, dim=dim, correction=correction, keepdim=keepdim)

    return form


var = _statistic("var", torch.var)
std = _statistic("std", torch.std)


def softmax(a: torch.Tensor, dim: int = -1) -> torch.Tensor:
    return torch.softmax(a, dim=_dim("softmax", a, dim)) if a.dim() else torch.ones_like(a)


def log_softmax(a: torch.Tensor, dim: int = -1) -> torch.Tensor:
    return torch.log_softmax(a, dim=_dim("log_softmax", a, dim)) if a.dim() else torch.zeros_like(a)


def cumsum(a: torch.Tensor, dim: int = 0) -> torch.Tensor:
    return torch.cumsum(a, dim=_dim("cumsum", a, dim))


def einsum(*operands: torch.Tensor, equation: str = "") -> torch.Tensor:
    """torch.einsum, the equation already read by the parser (letters, commas, '->' and '...' only)."""
    terms = equation.replace(" ", "").partition("->")[0].split(",")
    sizes: dict[str, int] = {}
    for term, operand in zip(terms, operands):
        letters = term.replace("...", "")
        if len(letters) > operand.dim() or "..." not in term and len(letters) != operand.dim():
            raise DerivcliError(f'einsum: "{term}" does not fit {shape_text(operand)}')
        if "..." not in term:
            for letter, size in zip(letters, operand.shape):
                if sizes.setdefault(letter, size) != size:
                    shapes = ", ".join(shape_text(o) for o in operands)
                    raise DerivcliError(f"einsum: '{letter}' is {sizes[letter]} in one operand and {size} in "
                                        f"another ({shapes})")
    output = equation.replace(" ", "").partition("->")[2]
    if "->" in equation and "..." not in equation:
        size = math.prod(sizes.get(letter, 1) for letter in output)
        memory.check(2 * size, f'einsum "{equation}" (a result of {size:,} elements, and its gradient)')
    try:
        return torch.einsum(equation, *operands)
    except RuntimeError as error:
        raise DerivcliError(f"einsum: {str(error).splitlines()[0]}") from None


def outer(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    if a.dim() != 1 or b.dim() != 1:
        raise DerivcliError(f"outer needs two vectors, got {shape_text(a)} and {shape_text(b)}")
    memory.check(2 * a.numel() * b.numel(), f"outer of {shape_text(a)} and {shape_text(b)}")
    return torch.outer(a, b)


def bmm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    if a.dim() != 3 or b.dim() != 3 or a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise DerivcliError(f"bmm needs (b, n, m) and (b, m, p), got {shape_text(a)} and {shape_text(b)}")
    return torch.bmm(a, b)


def reshape(a: torch.Tensor, shape: list[int] | None = None) -> torch.Tensor:
    sizes = list(shape or [])
    known = math.prod(size for size in sizes if size != -1)
    inferred = sizes.count(-1)
    fits = inferred == 0 and known == a.numel() or inferred == 1 and known and a.numel() % known == 0
    if inferred > 1 or any(size < -1 for size in sizes) or not fits:
        raise DerivcliError(f"reshape: cannot view {shape_text(a)} ({a.numel()} elements) as "
                            f"({', '.join(map(str, sizes))})")
    return torch.reshape(a, sizes)


def _joined(name: str, tensors: tuple[torch.Tensor, ...], dim: int, new: bool) -> None:
    shapes = ", ".join(shape_text(t) for t in tensors)
    first = tensors[0]
    _dim(name, first, dim, extra=1 if new else 0)
    for other in tensors[1:]:
        same = other.shape == first.shape if new else other.dim() == first.dim() and all(
            size == size_first for axis, (size, size_first) in enumerate(zip(other.shape, first.shape))
            if axis != dim % max(first.dim(), 1))
        if not same or (not new and first.dim() == 0):
            rule = "the same shape" if new else f"the same sizes except along dim {dim}"
            raise DerivcliError(f"{name} needs tensors of {rule}, got {shapes}")


def cat(*tensors: torch.Tensor, dim: int = 0) -> torch.Tensor:
    _joined("cat", tensors, dim, new=False)
    return torch.cat(tensors, dim=dim)


def stack(*tensors: torch.Tensor, dim: int = 0) -> torch.Tensor:
    _joined("stack", tensors, dim, new=True)
    return torch.stack(tensors, dim=dim)


def unsqueeze(a: torch.Tensor, dim: int = 0) -> torch.Tensor:
    count = a.dim() + 1
    if not -count <= dim < count:
        raise DerivcliError(f"unsqueeze: dim {dim} is out of range for {shape_text(a)} (dims {-count} to {count - 1})")
    return torch.unsqueeze(a, dim)


def _matrix(name: str, a: torch.Tensor) -> None:
    if a.dim() < 2:
        raise DerivcliError(f"{name} needs a matrix (or a batch of them), got {shape_text(a)}")


def tril(a: torch.Tensor, diagonal: int = 0) -> torch.Tensor:
    _matrix("tril", a)
    return torch.tril(a, diagonal)


def triu(a: torch.Tensor, diagonal: int = 0) -> torch.Tensor:
    _matrix("triu", a)
    return torch.triu(a, diagonal)


def _indices(name: str, index: torch.Tensor, size: int, what: str) -> torch.Tensor:
    """Indices given as numbers, checked to be whole and in 0..size-1 (torch wants them as int64)."""
    values = index.detach()
    whole = torch.isfinite(values) & (values == values.round())
    if not bool(whole.all()) or bool(((values < 0) | (values >= size)).any()):
        bad = values[~whole | (values < 0) | (values >= size)].reshape(-1)[0].item()
        raise DerivcliError(f"{name}: {what} {bad:g} is not a whole number in 0..{size - 1}")
    return values.to(torch.long)


def gather(a: torch.Tensor, index: torch.Tensor, dim: int = 0) -> torch.Tensor:
    _dim("gather", a, dim)
    fits = index.dim() == a.dim() and all(i <= s for axis, (i, s) in enumerate(zip(index.shape, a.shape))
                                          if axis != dim % max(a.dim(), 1))
    if not fits:
        raise DerivcliError(f"gather: index {shape_text(index)} does not fit input {shape_text(a)} along dim {dim}")
    return torch.gather(a, dim, _indices("gather", index, a.shape[dim] if a.dim() else 1, "index"))


def layer_norm(a: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    if a.dim() == 0:
        raise DerivcliError("layer_norm needs a vector or more (it normalizes over the last dim), got a scalar")
    return F.layer_norm(a, a.shape[-1:], eps=eps)


def _reduced(losses: torch.Tensor, reduction: str, rows: int = 1) -> torch.Tensor:
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / rows if reduction == "batchmean" else losses.mean()


def mse_loss(a: torch.Tensor, b: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    return _reduced((a - broadcast_to(b, a, "mse_loss")) ** 2, reduction)


def _class_target(name: str, scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor | None:
    """The class indices, where the target holds them ((C,) with a number, (N, C) with (N,)); None where
    the target is probabilities (the scores' own shape)."""
    if scores.dim() > 2:
        raise DerivcliError(f"{name} takes scores (C,) or (N, C), got {shape_text(scores)}")
    if target.shape == scores.shape:
        return None
    if target.dim() != scores.dim() - 1 or target.dim() == 1 and target.shape[0] != scores.shape[0]:
        raise DerivcliError(f"{name}: target {shape_text(target)} must be class indices ((N,) for (N, C), a "
                            f"number for (C,)) or probabilities of the same shape, not for {shape_text(scores)}")
    return _indices(name, target, scores.shape[-1], "class index")


def cross_entropy(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Logits (C,) or (N, C) against class indices or probabilities (torch tells them by dtype; here the
    target's shape tells)."""
    classes = _class_target("cross_entropy", logits, target)
    if classes is not None:
        return F.cross_entropy(logits, classes, reduction=reduction)
    log_p = torch.log_softmax(logits, dim=-1) if logits.dim() else torch.zeros_like(logits)
    rows = -(target * log_p).sum(dim=-1) if logits.dim() else -(target * log_p)
    return _reduced(rows, reduction)


def nll_loss(log_p: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    classes = _class_target("nll_loss", log_p, target)
    if classes is None or log_p.dim() == 0:
        raise DerivcliError(f"nll_loss takes class indices, got target {shape_text(target)} for {shape_text(log_p)}")
    return F.nll_loss(log_p, classes, reduction=reduction)


def _pair(name: str, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return broadcast_to(b, a, name)


def binary_cross_entropy(p: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    if not bool(((p > 0) & (p < 1)).all()):  # at 0 and 1 torch clamps the log at -100: its gradient is no
        raise DerivcliError("binary_cross_entropy: the input must be probabilities strictly between 0 and 1 "
                            "(torch clamps the log at 0 and 1, where its gradient is not the loss's derivative)",
                            hint="for logits use binary_cross_entropy_with_logits")
    return F.binary_cross_entropy(p, _pair("binary_cross_entropy", p, y), reduction=reduction)


def binary_cross_entropy_with_logits(x: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(x, _pair("binary_cross_entropy_with_logits", x, y),
                                              reduction=reduction)


def huber_loss(a: torch.Tensor, b: torch.Tensor, reduction: str = "mean", delta: float = 1.0) -> torch.Tensor:
    if not delta > 0:
        raise DerivcliError(f"huber_loss: delta must be above 0, got {delta:g}")
    return F.huber_loss(a, _pair("huber_loss", a, b), reduction=reduction, delta=delta)


def smooth_l1_loss(a: torch.Tensor, b: torch.Tensor, reduction: str = "mean", beta: float = 1.0) -> torch.Tensor:
    if beta < 0:
        raise DerivcliError(f"smooth_l1_loss: beta must be 0 or above, got {beta:g}")
    return F.smooth_l1_loss(a, _pair("smooth_l1_loss", a, b), reduction=reduction, beta=beta)


def kl_div(log_q: torch.Tensor, target: torch.Tensor, reduction: str = "mean", log_target: bool = False
           ) -> torch.Tensor:
    """torch.nn.functional.kl_div's pointwise terms, reduced here (torch warns on its own 'mean')."""
    losses = F.kl_div(log_q, _pair("kl_div", log_q, target), reduction="none", log_target=log_target)
    return _reduced(losses, reduction, rows=losses.shape[0] if losses.dim() else 1)


def cosine_similarity(a: torch.Tensor, b: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    try:
        shape = torch.broadcast_shapes(a.shape, b.shape)
    except RuntimeError:
        raise DerivcliError(f"cosine_similarity: {shape_text(a)} and {shape_text(b)} do not match") from None
    _dim("cosine_similarity", torch.empty(shape), dim)
    if not shape:
        raise DerivcliError("cosine_similarity needs vectors, got scalars")
    return F.cosine_similarity(a, b, dim=dim, eps=eps)


def _square(name: str, a: torch.Tensor) -> None:
    if a.dim() < 2 or a.shape[-1] != a.shape[-2]:
        raise DerivcliError(f"{name} needs a square matrix (or a batch of them), got {shape_text(a)}")


def det(a: torch.Tensor) -> torch.Tensor:
    _square("det", a)
    return torch.linalg.det(a)


def inverse(a: torch.Tensor) -> torch.Tensor:
    _square("inverse", a)
    try:
        return torch.linalg.inv(a)
    except RuntimeError:
        raise DerivcliError(f"inverse: the matrix {shape_text(a)} is singular (it has no inverse)") from None


def solve(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    _square("solve", a)
    if a.dim() != 2 or b.dim() not in (1, 2) or b.shape[0] != a.shape[0]:
        raise DerivcliError(f"solve needs A (n, n) and b (n,) or (n, k), got {shape_text(a)} and {shape_text(b)}")
    try:
        return torch.linalg.solve(a, b)
    except RuntimeError:
        raise DerivcliError(f"solve: the matrix {shape_text(a)} is singular (no unique solution)") from None
