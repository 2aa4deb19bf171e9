"""SymPy forms of the tensor operations: products, reductions, softmax, the first losses, indexing.

Tensor operations are opaque to SymPy: they never evaluate and have no `fdiff`.  Each knows how to print
itself and how to compute its result element by element on a numpy object array of SymPy scalars
(`on_elements`), which is how the symbolic check handles tensor expressions.  numpy is imported only
there (it is an optional extra).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sympy as sp
from sympy.core.symbol import Str

from .sympy_forms import TensorFunction

NONE = -(2**62)  # an index item's missing start/stop/step


def objects(array: Any) -> Any:
    """The value as a numpy object array (a 0-d one for a scalar)."""
    import numpy as np

    return np.asarray(array, dtype=object)


def each(function: Callable[..., Any], *arrays: Any) -> Any:
    """A scalar SymPy function applied element by element."""
    import numpy as np

    return np.vectorize(function, otypes=[object])(*(objects(array) for array in arrays))


def along(array: Any, dim: int, whole: Callable[[Any], Any], keepdim: bool = False) -> Any:
    """`whole` (a function of a 1-d object array) applied along `dim`, the way torch reduces over a dim."""
    import numpy as np

    array = objects(array)
    if array.ndim == 0:
        return whole(array.reshape(1))
    moved = np.moveaxis(array, dim, -1)
    result = np.empty(moved.shape[:-1], dtype=object)
    for position in np.ndindex(*result.shape):
        result[position] = whole(moved[position])
    return np.expand_dims(result, dim) if keepdim else result


def elements_sum(array: Any) -> sp.Expr:
    return sp.Add(*objects(array).flat)


def _literal(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


class TensorOp(TensorFunction):
    """A tensor operation that may carry settings written in the text (`dim=1`, `keepdim=True`, an einsum
    equation).  They ride along as one last argument, a SymPy `Str` holding them as JSON, so the node stays
    an ordinary SymPy tree (hashable, walkable, picklable) that SymPy's algebra cannot see into; without
    settings the node is just its operands (`sum(X)`).  The lowering calls the torch form with the
    operands and the settings as keywords; `elements` computes the same on element symbols."""

    @classmethod
    def make(cls, operands: list[Any], settings: dict[str, Any]) -> sp.Expr:
        if not settings:
            return cls(*operands)
        return cls(*operands, Str(json.dumps(settings, sort_keys=True)))

    @property
    def operands(self) -> tuple[Any, ...]:
        return self.args[:-1] if self.args and isinstance(self.args[-1], Str) else self.args

    @property
    def settings(self) -> dict[str, Any]:
        last = self.args[-1] if self.args else None
        return json.loads(last.name) if isinstance(last, Str) else {}

    def on_elements(self, *args: Any) -> Any:
        return self.elements(*args[:len(self.operands)], **self.settings)

    def constant_operands(self, arrays: list[Any]) -> tuple[int, ...]:
        """The positions of operands that are data, not values to differentiate (class indices, gather's
        indices): the check gives them their values at the point, as torch reads them."""
        return ()

    def elements(self, *arrays: Any, **settings: Any) -> Any:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def _sympystr(self, printer: Any) -> str:
        name = getattr(self, "display_name", type(self).__name__)
        shown = [printer._print(arg) for arg in self.operands]
        shown += [f"{key}={_literal(value)}" for key, value in self.settings.items()]
        return f"{name}({', '.join(shown)})"

    def _eval_derivative(self, symbol: sp.Symbol) -> sp.Expr:
        """The chain rule over the operands only (the settings are no expression to differentiate)."""
        return sp.Add(*(self.fdiff(position) * operand.diff(symbol)
                        for position, operand in enumerate(self.operands, start=1) if operand.has(symbol)))


class _Reduction(TensorOp):
    """A reduction over all elements, or over `dim` (`keepdim` keeps it, of size 1); of a single number
    reduced whole, that number (so SymPy can evaluate it)."""

    @classmethod
    def eval(cls, *args: sp.Expr) -> sp.Expr | None:  # type: ignore[override]
        return args[0] if len(args) == 1 and args[0].is_number else None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        """Of a scalar, the reduction is the identity.  (Tensor arguments never reach SymPy's diff: the
        check expands them into elements first.)"""
        return sp.S.One

    def whole(self, array: Any) -> sp.Expr:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def elements(self, a: Any, dim: int | None = None, keepdim: bool = False) -> Any:
        return reduced(a, self.whole, dim, keepdim)


def reduced(a: Any, whole: Callable[[Any], sp.Expr], dim: int | None, keepdim: bool) -> Any:
    """`whole` of every element, or along dim."""
    return whole(objects(a)) if dim is None else along(a, dim, whole, keepdim)


class matmul(TensorFunction):
    def _sympystr(self, printer: Any) -> str:
        return f"({printer._print(self.args[0])} @ {printer._print(self.args[1])})"

    def on_elements(self, a: Any, b: Any) -> Any:
        import numpy as np

        return np.matmul(a, b)


class dot(TensorFunction):
    def on_elements(self, a: Any, b: Any) -> Any:
        import numpy as np

        return np.dot(a, b)


class tsum(_Reduction):
    display_name = "sum"

    def whole(self, array: Any) -> sp.Expr:
        return elements_sum(array)


class mean(_Reduction):
    def whole(self, array: Any) -> sp.Expr:
        return elements_sum(array) / array.size


class prod(_Reduction):
    def whole(self, array: Any) -> sp.Expr:
        return sp.Mul(*array.flat)


class norm(_Reduction):
    """The p-norm (p = 2: Euclidean, Frobenius for a matrix); of a number, its absolute value."""

    @classmethod
    def eval(cls, *args: sp.Expr) -> None:  # type: ignore[override]
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        from .sympy_forms import sign

        return sign(self.operands[0])

    def elements(self, a: Any, dim: int | None = None, keepdim: bool = False, p: float = 2) -> Any:
        from .sympy_forms import Abs

        exponent = sp.Integer(int(p)) if float(p).is_integer() else sp.Float(p)

        def whole(array: Any) -> sp.Expr:
            if p == 2:
                return sp.sqrt(elements_sum(array**2))
            return elements_sum(each(lambda element: Abs(element) ** exponent, array)) ** (1 / exponent)

        return reduced(a, whole, dim, keepdim)


class amax(_Reduction):
    display_name = "max"

    def whole(self, array: Any) -> sp.Expr:
        return sp.Max(*array.flat)


class amin(_Reduction):
    display_name = "min"

    def whole(self, array: Any) -> sp.Expr:
        return sp.Min(*array.flat)


class logsumexp(_Reduction):
    @classmethod
    def eval(cls, *args: sp.Expr) -> None:  # type: ignore[override]
        return None

    def whole(self, array: Any) -> sp.Expr:
        return sp.log(elements_sum(each(sp.exp, array)))


def log_softmax_elements(a: Any, dim: int = -1) -> Any:
    array = objects(a)
    if array.ndim == 0:
        return array - array  # log_softmax of one number is 0
    totals = each(sp.log, each(sp.exp, array).sum(axis=dim, keepdims=True))
    return array - totals


class softmax(TensorOp):
    """softmax along `dim` (the last by default)."""

    def elements(self, a: Any, dim: int = -1) -> Any:
        exps = each(sp.exp, a)
        return exps / (exps.sum(axis=dim, keepdims=True) if exps.ndim else exps)


class log_softmax(TensorOp):
    def elements(self, a: Any, dim: int = -1) -> Any:
        return log_softmax_elements(a, dim)


def reduce_loss(losses: Any, reduction: str = "mean", rows: int | None = None) -> Any:
    """Per-element (or per-row) losses reduced as torch does: mean, sum, none; batchmean divides the sum by
    the rows."""
    array = objects(losses)
    if reduction == "none":
        return array
    if reduction == "sum":
        return elements_sum(array)
    return elements_sum(array) / (rows if reduction == "batchmean" and rows is not None else max(array.size, 1))


class mse_loss(TensorOp):
    """Mean squared error, mean reduction (as torch.nn.functional.mse_loss)."""

    def elements(self, a: Any, b: Any, reduction: str = "mean") -> Any:
        return reduce_loss((objects(a) - objects(b)) ** 2, reduction)


def class_rows(log_p: Any, target: Any) -> Any:
    """-log_p at each row's class index: (C,) with a number, or (N, C) with (N,) indices (values, never
    symbols: `constant_operands`)."""
    import numpy as np

    log_p, target = objects(log_p), objects(target)
    if log_p.ndim == 1:
        return -log_p[int(target[()])]
    return np.array([-log_p[row, int(target[row])] for row in range(log_p.shape[0])], dtype=object)


class cross_entropy(TensorOp):
    """Cross entropy of logits against class indices or probabilities (the target's shape tells which),
    mean over rows."""

    def constant_operands(self, arrays: list[Any]) -> tuple[int, ...]:
        return (1,) if objects(arrays[1]).ndim == objects(arrays[0]).ndim - 1 else ()

    def elements(self, logits: Any, target: Any, reduction: str = "mean") -> Any:
        log_p = objects(log_softmax_elements(logits))  # (a number for a number's logits)
        target_array = objects(target)
        if target_array.ndim == log_p.ndim - 1:
            return reduce_loss(class_rows(log_p, target_array), reduction)
        rows = objects(-(target_array * log_p))
        per_row = rows if rows.ndim == 0 else rows.sum(axis=-1)
        return reduce_loss(per_row, reduction)


class transpose(TensorFunction):
    def _sympystr(self, printer: Any) -> str:
        return f"{printer._print(self.args[0])}.T"

    def on_elements(self, a: Any) -> Any:
        return objects(a).T


class detach(TensorFunction):
    """Stops the gradient: the value flows, the derivative does not (the check substitutes the point)."""

    def on_elements(self, a: Any) -> Any:  # the check handles detach itself, with the point's values
        raise NotImplementedError


class index(TensorFunction):
    """x[i], W[i, j], x[1:3]: args are the tensor, then (is_slice, start, stop, step) per index item."""

    def items(self) -> tuple[Any, ...]:
        flat = [int(arg) for arg in self.args[1:]]
        items: list[Any] = []
        for position in range(0, len(flat), 4):
            is_slice, start, stop, step = flat[position:position + 4]
            if is_slice:
                items.append(slice(*(None if v == NONE else v for v in (start, stop, step))))
            else:
                items.append(start)
        return tuple(items)

    def _sympystr(self, printer: Any) -> str:
        def text(item: Any) -> str:
            if isinstance(item, slice):
                parts = ["" if v is None else str(v) for v in (item.start, item.stop, item.step)]
                return ":".join(parts[:2] if item.step is None else parts)
            return str(item)

        return f"{printer._print(self.args[0])}[{', '.join(text(item) for item in self.items())}]"

    def on_elements(self, a: Any) -> Any:
        return objects(a)[self.items()]


class constant_tensor(TensorFunction):
    """A constant tensor written inline, `[[1, 2], [3, 4]]`: args are the rank, the shape, then the
    elements in row-major order (all numbers, so SymPy differentiates it to 0)."""

    @classmethod
    def of(cls, shape: tuple[int, ...], elements: list[sp.Expr]) -> constant_tensor:
        return cls(sp.Integer(len(shape)), *(sp.Integer(size) for size in shape), *elements)

    @property
    def shape(self) -> tuple[int, ...]:
        rank = int(self.args[0])
        return tuple(int(size) for size in self.args[1:1 + rank])

    @property
    def elements(self) -> tuple[sp.Expr, ...]:
        return self.args[1 + len(self.shape):]

    def nested(self, element: Any) -> Any:
        """The elements, each made by `element`, nested as lists in the tensor's shape."""
        flat = [element(value) for value in self.elements]
        for size in reversed(self.shape[1:]):
            flat = [flat[start:start + size] for start in range(0, len(flat), size)]
        return flat

    def _sympystr(self, printer: Any) -> str:
        return str(self.nested(printer._print)).replace("'", "")

    def on_elements(self, *args: Any) -> Any:
        return objects(self.elements).reshape(self.shape)


def encode_index(items: list[Any]) -> list[sp.Integer]:
    """Index items (ints and slices) as the Integer args of `index`."""
    encoded: list[int] = []
    for item in items:
        if isinstance(item, slice):
            encoded += [1, *(NONE if v is None else v for v in (item.start, item.stop, item.step))]
        else:
            encoded += [0, item, 0, 0]
    return [sp.Integer(v) for v in encoded]
