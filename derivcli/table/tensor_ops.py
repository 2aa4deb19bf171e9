"""SymPy forms of the everyday tensor operations of ML code: statistics, shapes, einsum, the losses of
torch.nn.functional, and small linear algebra.

Each computes torch's result element by element on numpy object arrays of SymPy scalars (`elements`),
for the symbolic check; the torch forms are in `torch_tensor_ops`.  Where SymPy cannot express the result
in reasonable size (the determinant of a large matrix has n! terms), `elements` raises `NotExpanded`,
and the check says so instead of passing.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from .sympy_forms import Abs, softplus
from .tensor_forms import TensorOp, along, class_rows, each, objects, reduce_loss

MAX_EXPANDED_MATRIX = 4  # det, inverse and solve are expanded for matrices up to 4 x 4 (24 terms a det)


class NotExpanded(Exception):
    """SymPy cannot compute this operation element by element in reasonable size; the message says why."""


class _Statistic(TensorOp):
    """var and std: over all elements or over dim, with torch's correction (n - correction in the
    denominator; unbiased=False is correction 0)."""

    def elements(self, a: Any, dim: int | None = None, correction: int = 1, keepdim: bool = False,
                 unbiased: bool | None = None) -> Any:
        if unbiased is not None:
            correction = int(unbiased)
        array = objects(a)
        if dim is None:
            return self.finish(self.variance(array, correction))
        return along(array, dim, lambda row: self.finish(self.variance(row, correction)), keepdim)

    @staticmethod
    def variance(row: Any, correction: int) -> sp.Expr:
        flat = list(objects(row).flat)
        centre = sp.Add(*flat) / len(flat)
        return sp.Add(*((value - centre) ** 2 for value in flat)) / (len(flat) - correction)

    def finish(self, variance: sp.Expr) -> sp.Expr:
        return variance


class var(_Statistic):
    pass


class std(_Statistic):
    def finish(self, variance: sp.Expr) -> sp.Expr:
        return sp.sqrt(variance)


class cumsum(TensorOp):
    def elements(self, a: Any, dim: int = 0) -> Any:
        import numpy as np

        array = objects(a)
        return np.cumsum(array, axis=dim) if array.ndim else array


class einsum(TensorOp):
    """Einstein summation; the equation is its first setting, printed first as torch writes it."""

    def elements(self, *arrays: Any, equation: str = "") -> Any:
        import numpy as np

        return np.einsum(equation, *(objects(array) for array in arrays))

    def _sympystr(self, printer: Any) -> str:
        operands = ", ".join(printer._print(arg) for arg in self.operands)
        return f'einsum("{self.settings["equation"]}", {operands})'


class outer(TensorOp):
    def elements(self, a: Any, b: Any) -> Any:
        import numpy as np

        return np.multiply.outer(objects(a), objects(b))


class bmm(TensorOp):
    def elements(self, a: Any, b: Any) -> Any:
        import numpy as np

        return np.matmul(objects(a), objects(b))


class reshape(TensorOp):
    def elements(self, a: Any, shape: list[int] | None = None) -> Any:
        return objects(a).reshape(shape or [])

    def _sympystr(self, printer: Any) -> str:
        return f"reshape({', '.join([printer._print(self.operands[0]), *map(str, self.settings['shape'])])})"


class cat(TensorOp):
    def elements(self, *arrays: Any, dim: int = 0) -> Any:
        import numpy as np

        return np.concatenate([objects(array) for array in arrays], axis=dim)


class stack(TensorOp):
    def elements(self, *arrays: Any, dim: int = 0) -> Any:
        import numpy as np

        return np.stack([objects(array) for array in arrays], axis=dim)


class unsqueeze(TensorOp):
    def elements(self, a: Any, dim: int = 0) -> Any:
        import numpy as np

        return np.expand_dims(objects(a), dim)


class tril(TensorOp):
    def elements(self, a: Any, diagonal: int = 0) -> Any:
        return _triangle(a, lambda row, column: column - row <= diagonal)


class triu(TensorOp):
    def elements(self, a: Any, diagonal: int = 0) -> Any:
        return _triangle(a, lambda row, column: column - row >= diagonal)


def _triangle(a: Any, keep: Any) -> Any:
    import numpy as np

    result = objects(a).copy()
    for position in np.ndindex(*result.shape):
        if not keep(position[-2], position[-1]):
            result[position] = sp.S.Zero
    return result


class gather(TensorOp):
    """out[i][j] = input[index[i][j]][j] for dim 0, and so on: torch.gather."""

    def constant_operands(self, arrays: list[Any]) -> tuple[int, ...]:
        return (1,)

    def elements(self, a: Any, index: Any, dim: int = 0) -> Any:
        import numpy as np

        array, picks = objects(a), objects(index)
        result = np.empty(picks.shape, dtype=object)
        for position in np.ndindex(*picks.shape):
            source = list(position)
            source[dim] = int(picks[position])
            result[position] = array[tuple(source)]
        return result


class layer_norm(TensorOp):
    """(x - mean)/sqrt(var + eps) over the last dim, the variance biased, as torch.nn.functional.layer_norm
    without weight and bias."""

    def elements(self, a: Any, eps: float = 1e-5) -> Any:
        import numpy as np

        array = objects(a)
        rows = array.reshape(-1, array.shape[-1]) if array.ndim else array.reshape(1, 1)
        result = np.empty(rows.shape, dtype=object)
        for row in range(rows.shape[0]):
            values = list(rows[row])
            centre = sp.Add(*values) / len(values)
            spread = sp.sqrt(sp.Add(*((value - centre) ** 2 for value in values)) / len(values) + sp.Float(eps))
            result[row] = [(value - centre) / spread for value in values]
        return result.reshape(array.shape)


class nll_loss(TensorOp):
    """-log_p at the class indices, mean over rows (as torch.nn.functional.nll_loss)."""

    def constant_operands(self, arrays: list[Any]) -> tuple[int, ...]:
        return (1,)

    def elements(self, log_p: Any, target: Any, reduction: str = "mean") -> Any:
        return reduce_loss(class_rows(log_p, target), reduction)


class binary_cross_entropy(TensorOp):
    def elements(self, p: Any, y: Any, reduction: str = "mean") -> Any:
        return reduce_loss(each(lambda q, t: -(t * sp.log(q) + (1 - t) * sp.log(1 - q)), p, y), reduction)


class binary_cross_entropy_with_logits(TensorOp):
    """softplus(x) - x*y, which is -(y log sigmoid(x) + (1 - y) log(1 - sigmoid(x)))."""

    def elements(self, x: Any, y: Any, reduction: str = "mean") -> Any:
        return reduce_loss(each(lambda logit, t: softplus(logit) - logit * t, x, y), reduction)


def _huber(difference: sp.Expr, delta: float) -> sp.Expr:
    size = Abs(difference)
    return sp.Piecewise((difference**2 / 2, size < delta), (delta * (size - sp.Float(delta) / 2), True))


class huber_loss(TensorOp):
    def elements(self, a: Any, b: Any, reduction: str = "mean", delta: float = 1.0) -> Any:
        return reduce_loss(each(lambda u, v: _huber(u - v, delta), a, b), reduction)


class smooth_l1_loss(TensorOp):
    """Huber's loss divided by beta (beta 0: the absolute error)."""

    def elements(self, a: Any, b: Any, reduction: str = "mean", beta: float = 1.0) -> Any:
        if beta == 0:
            return reduce_loss(each(lambda u, v: Abs(u - v), a, b), reduction)
        return reduce_loss(each(lambda u, v: _huber(u - v, beta) / sp.Float(beta), a, b), reduction)


class kl_div(TensorOp):
    """target*(log(target) - input) per element (0 where the target is 0, as torch's xlogy), input being
    log-probabilities; with log_target, exp(target)*(target - input)."""

    def elements(self, log_q: Any, target: Any, reduction: str = "mean", log_target: bool = False) -> Any:
        def pointwise(x: sp.Expr, t: sp.Expr) -> sp.Expr:
            if log_target:
                return sp.exp(t) * (t - x)
            return sp.Piecewise((t * sp.log(t), sp.Ne(t, 0)), (sp.S.Zero, True)) - t * x

        losses = each(pointwise, log_q, target)
        return reduce_loss(losses, reduction, rows=losses.shape[0] if losses.ndim else 1)


class cosine_similarity(TensorOp):
    """sum(x1*x2)/(|x1| |x2|) along dim (torch clamps each norm below at eps, far from any point checked)."""

    def elements(self, a: Any, b: Any, dim: int = 1, eps: float = 1e-8) -> Any:
        import numpy as np

        first, second = np.broadcast_arrays(objects(a), objects(b))
        products = first * second
        dots = products.sum(axis=dim)
        norms = each(sp.sqrt, (first**2).sum(axis=dim)) * each(sp.sqrt, (second**2).sum(axis=dim))
        return objects(dots) / objects(norms)


def _matrices(a: Any, what: str) -> Any:
    """The batch of square matrices as SymPy matrices, refused past the size SymPy expands in time."""
    array = objects(a)
    size = array.shape[-1]
    if size > MAX_EXPANDED_MATRIX:
        raise NotExpanded(f"SymPy does not expand the {what} of a {size} x {size} matrix element by element "
                          f"(only up to {MAX_EXPANDED_MATRIX} x {MAX_EXPANDED_MATRIX}); --fd checks it by finite "
                          "differences")
    return array


def _per_matrix(array: Any, function: Any) -> Any:
    import numpy as np

    batch = array.shape[:-2]
    results = [function(sp.Matrix(array[position].tolist())) for position in np.ndindex(*batch)]
    if all(not isinstance(result, sp.MatrixBase) for result in results):
        return objects(results).reshape(batch) if batch else results[0]
    stacked = np.array([np.array(result.tolist(), dtype=object) for result in results], dtype=object)
    return stacked.reshape(*batch, *stacked.shape[1:])


class det(TensorOp):
    def elements(self, a: Any) -> Any:
        return _per_matrix(_matrices(a, "determinant"), lambda matrix: matrix.det(method="berkowitz"))


def _inverse(a: Any, what: str) -> Any:
    return _per_matrix(_matrices(a, what), lambda matrix: matrix.adjugate() / matrix.det(method="berkowitz"))


class inverse(TensorOp):
    def elements(self, a: Any) -> Any:
        return _inverse(a, "inverse")


class solve(TensorOp):
    """x with A x = B, B a vector (n,) or a matrix (n, k): inverse(A) @ B, element by element."""

    def elements(self, a: Any, b: Any) -> Any:
        import numpy as np

        return np.matmul(_inverse(a, "solution of a system"), objects(b))
