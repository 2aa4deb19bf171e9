"""Element-wise expansion: a tensor expression as one SymPy scalar over the elements of its variables.

The symbolic check needs SymPy's own derivative, but SymPy cannot differentiate `sum(relu(W @ x))`
with respect to a matrix.  Expanded, `W` becomes a grid of symbols `W[0, 0]`, `W[0, 1]`, … (a numpy
object array), every operation computes on those grids (each tensor function has its `on_elements`), and
the scalar result is an ordinary SymPy expression to differentiate element by element.  A scalar
expression comes back unchanged.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from ..errors import DerivcliError
from ..table.sympy_forms import TensorFunction
from ..table.tensor_forms import TensorOp, detach, index


def element_symbols(name: str, value: Any) -> Any:
    """A scalar's own symbol, or an object array of symbols named like the elements (`W[0, 1]`)."""
    if not hasattr(value, "shape") or len(value.shape) == 0:
        return sp.Symbol(name, real=True)
    import numpy as np

    grid = np.empty(tuple(value.shape), dtype=object)
    for position in np.ndindex(*grid.shape):
        grid[position] = sp.Symbol(f"{name}[{', '.join(map(str, position))}]", real=True)
    return grid


def expand(expr: sp.Basic, symbols: dict[str, Any], point: dict[sp.Symbol, float]) -> sp.Expr:
    """Compute a scalar `expr` on element symbols; `point` (element symbol -> value) freezes what `detach`
    wraps."""
    result = expand_elements(expr, symbols, point)
    if hasattr(result, "shape") and result.shape != ():
        raise DerivcliError(f"the expression's value has shape {tuple(result.shape)}, not a single number")
    return result[()] if hasattr(result, "shape") else result


def expand_elements(expr: sp.Basic, symbols: dict[str, Any], point: dict[sp.Symbol, float]) -> Any:
    """Compute `expr` on element symbols: a SymPy scalar, or an object array of them for a tensor value."""
    results: dict[sp.Basic, Any] = {}
    stack: list[tuple[sp.Basic, bool]] = [(expr, False)]
    while stack:
        node, children_done = stack.pop()
        if node in results and not children_done:
            continue
        if isinstance(node, sp.Symbol):
            results[node] = symbols.get(node.name, node)
            continue
        if not node.args or node.is_Number:
            results[node] = node
            continue
        if not children_done:
            stack.append((node, True))
            stack.extend((arg, False) for arg in node.args if arg not in results)
            continue
        results[node] = _apply(node, [results[arg] for arg in node.args], point)
    return results[expr]


def _at_point(value: Any, point: dict[sp.Symbol, float]) -> Any:
    """The value with every element symbol replaced by its value at the point."""
    import numpy as np

    return np.vectorize(lambda element: sp.sympify(element).xreplace(point), otypes=[object])(value)


def _apply(node: sp.Basic, args: list[Any], point: dict[sp.Symbol, float]) -> Any:
    """One node on expanded arguments: unchanged when nothing below it was expanded.  Scalar nodes
    (Add, sin, Piecewise pairs, …) apply element by element with broadcasting."""
    import numpy as np

    if isinstance(node, detach):  # the value stays, the derivative does not: freeze it at the point
        return _at_point(args[0], point)
    if isinstance(node, index):
        return node.on_elements(args[0])
    if isinstance(node, TensorOp):  # indices (cross_entropy's classes, gather's) are read at the point
        data = node.constant_operands(args[:len(node.operands)])
        return node.on_elements(*(_at_point(arg, point) if position in data else arg
                                  for position, arg in enumerate(args)))
    if isinstance(node, TensorFunction):
        return node.on_elements(*args)
    if all(new is old for new, old in zip(args, node.args)):
        return node
    if any(hasattr(arg, "shape") for arg in args):
        return np.vectorize(lambda *elements: node.func(*elements), otypes=[object])(*args)
    return node.func(*args)
