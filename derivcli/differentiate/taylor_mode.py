"""Univariate Taylor mode: truncated Taylor polynomials pushed through the SymPy expression.

Nested autograd costs about 4x per order and `sympy.diff` about 2x, so the 20th derivative is out of
reach for both; propagating the coefficients c_0..c_n of t -> f(x0 + t) costs O(n^2) per node and gives
every derivative up to n at once (f^(k)(x0) = k! c_k).

Each node's value is a 1-D tensor of n + 1 coefficients.  Most rules are linear ODEs in the result (exp:
e' = e u'; u^a: u p' = a u' p; sin/cos jointly), whose coefficient recurrences form a lower-triangular
system, so one `solve_triangular` replaces the O(n) Python loop of the textbook recurrence (same
arithmetic: forward substitution is the recurrence).  Functions with an explicit derivative (log, atan,
erf, softplus, ...) integrate the derivative's series; functions whose derivatives at the base point are
known (loggamma, polygamma) use the generic composition `compose`.

Kinks (abs, relu, max, min, floor, sign, piecewise conditions) pick the smooth piece active at x0, with
torch's conventions at the kink itself (sign(0) = 0, ties of max/min split evenly), so values and first
derivatives agree with torch autograd.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Union

import sympy as sp
import torch

from ..errors import DerivcliError
from ..lowering.program import to_float
from ..table.sympy_forms import TensorFunction
from .taylor_algebra import Algebra
from .taylor_rules import LOGIC, RELATIONS, RULES, TaylorUnsupported, power

MAX_ORDER = 200
SCALED_ABOVE = 120  # above this order `derivatives` seeds x0 + 4t: k!·c_k for exp-like f would underflow c_k

Tensor = torch.Tensor
Value = Union[Tensor, bool]  # a node's series, or the truth of a condition


# ------------------------------------------------------------------------------------------ public API
def taylor_coefficients(expr: sp.Basic, variable: str, point: dict[str, float], order: int,
                        dtype: torch.dtype = torch.float64) -> Tensor:
    """Coefficients c_0..c_order of t -> f(x0 + t) at t = 0, x0 = point[variable], the other variables held
    at their point values: f^(k)(x0) = k!·c_k."""
    return _coefficients(expr, variable, point, order, dtype, scale=1.0)


def derivatives(expr: sp.Basic, variable: str, point: dict[str, float], order: int,
                dtype: torch.dtype = torch.float64) -> list[float]:
    """[f(x0), f'(x0), ..., f^(order)(x0)].

    At high orders the series of f(x0 + 4t) is computed instead (4^k c_k): the exact power-of-two seed
    changes no rounding, but keeps c_k of entire functions (1/200! ≈ 1e-375) from underflowing.
    """
    scale = 1.0 if order <= SCALED_ABOVE else 4.0
    coefficients = _coefficients(expr, variable, point, order, dtype, scale=scale)
    return [_times_factorial(float(c), k, scale) for k, c in enumerate(coefficients.tolist())]


def compose(g_coefficients: Tensor, u: Tensor) -> Tensor:
    """The series of g(u(t)) from g's Taylor coefficients at u0 = u[0], g^(k)(u0)/k! for k = 0..n (not the
    derivatives themselves, which overflow at high k), and u's coefficients: for any g whose derivatives at
    a point are known."""
    return Algebra(len(u) - 1, u.dtype).compose(g_coefficients.to(u.dtype), u)


def check_order(order: int) -> int:
    """The order as an int in 0..MAX_ORDER, else ValueError."""
    if isinstance(order, bool) or not isinstance(order, int):
        raise ValueError(f"the order must be an integer, got {order!r}")
    if order < 0:
        raise ValueError(f"the order must be at least 0, got {order}")
    if order > MAX_ORDER:
        raise ValueError(f"order {order} is too high for Taylor mode (the limit is {MAX_ORDER})")
    return order


def _coefficients(expr: sp.Basic, variable: str, point: dict[str, float], order: int, dtype: torch.dtype,
                  scale: float) -> Tensor:
    check_order(order)
    if variable not in point:
        raise DerivcliError(f"no value for variable '{variable}'", hint=f"pass --{variable} VALUE")
    from ..lowering.program import stable_forms  # the same overflow-free rewrites the torch evaluation uses

    try:
        expr = stable_forms(expr)
    except RecursionError:  # a very deep expression: the rewrite only helps at extreme arguments
        pass
    values = {name: float(value) for name, value in point.items()}
    return _Walk(Algebra(order, dtype), variable, values, scale).run(expr)


def _times_factorial(coefficient: float, k: int, scale: float) -> float:
    """k!·c / scale^k, rounded once (k! alone overflows float64 above 170)."""
    if not math.isfinite(coefficient):
        return coefficient
    try:
        return float(Fraction(coefficient) * math.factorial(k) / Fraction(scale) ** k)
    except OverflowError:
        return math.copysign(math.inf, coefficient)


# ------------------------------------------------------------------------------------------ the walk
class _Walk:
    """One iterative post-order pass over the expression DAG, each distinct subexpression once.

    Alongside each value it records whether the node is constant in t (no path to the variable): those
    keep only c_0, so a function overflowing at a constant (exp(1000)) cannot spread NaN into derivatives.
    A Piecewise evaluates its conditions first and then only the branch they select.
    """

    def __init__(self, algebra: Algebra, variable: str, point: dict[str, float], scale: float) -> None:
        self.algebra = algebra
        self.variable = variable
        self.point = point
        self.scale = scale
        self.values: dict[sp.Basic, Value] = {}
        self.constant: dict[sp.Basic, bool] = {}
        self.branch: dict[sp.Basic, sp.Basic] = {}

    def run(self, root: sp.Basic) -> Tensor:
        stack: list[tuple[sp.Basic, int]] = [(root, 0)]
        while stack:
            node, stage = stack.pop()
            if node in self.values:
                continue
            if stage == 0:
                if self.leaf(node):
                    continue
                stack.append((node, 1))
                stack.extend((child, 0) for child in reversed(self.children(node)) if child not in self.values)
            elif stage == 1 and isinstance(node, sp.Piecewise):
                branch = self.choose(node)
                self.branch[node] = branch
                if branch not in self.values:
                    stack.append((node, 2))
                    stack.append((branch, 0))
                    continue
                self.finish_piecewise(node)
            elif stage == 1:
                self.evaluate(node)
            else:
                self.finish_piecewise(node)
        value = self.values[root]
        if not isinstance(value, Tensor):
            raise TaylorUnsupported(type(root).__name__)
        return value

    def leaf(self, node: sp.Basic) -> bool:
        """Store a leaf's value; False for an inner node."""
        a = self.algebra
        if isinstance(node, sp.Symbol):
            if node.name == self.variable:
                series = a.constant(self.point[node.name])
                if a.size > 1:
                    series[1] = self.scale
                self.store(node, series, constant=False)
                return True
            if node.name not in self.point:
                raise DerivcliError(f"no value for variable '{node.name}'", hint=f"pass --{node.name} VALUE")
            self.store(node, a.constant(self.point[node.name]), constant=True)
            return True
        if node is sp.true or node is sp.false:
            self.store(node, bool(node), constant=True)
            return True
        if node.is_Number or isinstance(node, sp.NumberSymbol):
            self.store(node, a.constant(_to_float(node)), constant=True)
            return True
        return False

    def children(self, node: sp.Basic) -> list[sp.Basic]:
        if isinstance(node, sp.Piecewise):
            return [pair.cond for pair in node.args]
        return list(node.args)

    def store(self, node: sp.Basic, value: Value, constant: bool) -> None:
        if constant and isinstance(value, Tensor) and self.algebra.size > 1:
            value = self.algebra.constant(value[0])
        self.values[node] = value
        self.constant[node] = constant

    def choose(self, node: sp.Piecewise) -> sp.Basic:
        """The first branch whose condition holds at the point (conditions already evaluated)."""
        for pair in node.args:
            if self.values[pair.cond] is True:
                return pair.expr
        return sp.nan  # no branch applies: undefined there, as the torch evaluation says

    def finish_piecewise(self, node: sp.Basic) -> None:
        branch = self.branch[node]
        self.store(node, self.values[branch], self.constant[branch])

    def evaluate(self, node: sp.Basic) -> None:
        children = self.children(node)
        values = [self.values[child] for child in children]
        kind = type(node)
        for relation_type, relation in RELATIONS.items():
            if isinstance(node, relation_type):
                left, right = (self.scalar(node, value) for value in values)
                self.store(node, relation(left, right), constant=True)
                return
        for logic_type, logic in LOGIC.items():
            if isinstance(node, logic_type):
                if not all(isinstance(value, bool) for value in values):
                    raise TaylorUnsupported(kind.__name__)
                self.store(node, bool(logic([bool(value) for value in values])), constant=True)
                return
        if isinstance(node, TensorFunction) or not all(isinstance(value, Tensor) for value in values):
            raise TaylorUnsupported(kind.__name__)
        series = [value for value in values if isinstance(value, Tensor)]
        constant = all(self.constant[child] for child in children)
        self.store(node, self.apply(node, children, series), constant)

    def scalar(self, node: sp.Basic, value: Value) -> float:
        if not isinstance(value, Tensor):
            raise TaylorUnsupported(type(node).__name__)
        return float(value[0])

    def apply(self, node: sp.Basic, children: list[sp.Basic], args: list[Tensor]) -> Tensor:
        a = self.algebra
        if isinstance(node, sp.Add):
            return torch.stack(args).sum(0)
        if isinstance(node, sp.Mul):  # constant factors scale; the others multiply as series
            factor = torch.ones((), dtype=a.dtype)
            varying: list[Tensor] = []
            for child, value in zip(children, args):
                if self.constant[child]:
                    factor = factor * value[0]
                else:
                    varying.append(value)
            if not varying:
                return a.constant(factor)
            result = torch.where(varying[0] != 0, varying[0] * factor, 0.0)  # 0·inf: still 0 here
            for value in varying[1:]:
                result = a.mul(result, value)
            return result
        if isinstance(node, sp.Pow):
            return power(a, args[0], args[1], exponent_constant=self.constant[children[1]])
        for cls in type(node).__mro__:
            rule = RULES.get(cls)
            if rule is not None:
                return rule(a, node, args)
        raise TaylorUnsupported(type(node).__name__)


def _to_float(number: sp.Basic) -> float:
    try:
        return to_float(number)
    except DerivcliError as error:  # a non-real constant (I): leave it to the evaluation that reports it
        raise TaylorUnsupported(type(number).__name__) from error
