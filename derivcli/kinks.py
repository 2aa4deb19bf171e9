"""Points where f is not differentiable: a kink (|x| at 0), a jump (floor at an integer), a tie of
max/min, or the boundary of an `if`.

Found from the expression (a node sitting exactly at its non-smooth point, with its column) and confirmed
numerically by one-sided differences, which give the left and right derivatives; torch's autograd
returns one subgradient there, which is a fact about the function, not a failure.  Runs only with
`--check` or `--fd`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sympy as sp
import torch

from .errors import DerivcliError
from .formula_text import formula
from .lowering import lower
from .sympy_forms import Abs, ceiling, floor, relu, sign

if TYPE_CHECKING:
    from .api import Setup


@dataclass
class Kink:
    variable: str
    left: float  # the one-sided derivatives, by differences (±inf on the side of a jump)
    right: float
    autograd: float  # what torch returned there
    node: str  # the operation at its non-smooth point, as written
    column: int | None
    jump: float | None = None  # f(x+) - f(x-), where f is not even continuous
    output: list[int] | None = None  # for a tensor-valued f (a Jacobian), the element this is about
    at: float = math.nan  # the variable's (or element's) value at the point

    def message(self) -> str:
        at = self.at
        where = f" at column {self.column}" if self.column is not None else ""
        if self.jump is not None:
            return (f"f is not continuous at {self.variable} = {at:g} ({self.node}{where}): it jumps by "
                    f"{self.jump:.6g}; autograd returns {self.autograd:.6g}, the slope away from the jump")
        return (f"f is not differentiable at {self.variable} = {at:g} ({self.node}{where}): left derivative "
                f"{self.left:.6g}, right derivative {self.right:.6g}; autograd returns {self.autograd:.6g} "
                "(torch's subgradient)")

    def to_json(self) -> dict[str, Any]:

        return {"variable": self.variable, "left": self.left, "right": self.right,
                "autograd": self.autograd, "node": self.node, "column": self.column,
                "jump": self.jump, "output": self.output}


MAX_KINK_ELEMENTS = 64  # elements of a tensor variable looked at one by one


def find_kinks(setup: Setup, autograd: dict[str, torch.Tensor], candidates: list[sp.Basic] | None = None
               ) -> list[Kink]:
    """The variables (or a tensor variable's elements, `x[1]`) at which f has different left and right
    derivatives, with the node that makes it so (`candidates`: `candidate_nodes`, if already found)."""
    candidates = candidate_nodes(setup) if candidates is None else candidates
    if not candidates:
        return []
    node = candidates[0]
    span = setup.parsed.spans.get(node)
    shown = setup.parsed.source[span[0]:span[1]] if span is not None else _text(node)
    kinks = []
    for name in setup.wrt:
        variable = setup.inputs[setup.variables.index(name)]
        count = variable.numel()
        if count > MAX_KINK_ELEMENTS:
            continue
        gradient = autograd[name].detach()
        for position in range(count):
            (left, right), (left_fine, right_fine), jump, element, shape = one_sided(
                setup, name, position if variable.dim() else None)
            # a jump shows as a one-sided quotient that grows as 1/h: 16 times at a 16 times smaller step
            left = math.copysign(math.inf, left) if abs(left_fine) > 8 * abs(left) > 8 else left
            right = math.copysign(math.inf, right) if abs(right_fine) > 8 * abs(right) > 8 else right
            finite = math.isfinite(left) and math.isfinite(right)
            if finite and abs(left - right) <= 1e-4 * max(1.0, abs(left), abs(right)):
                continue
            label = name if not variable.dim() else \
                f"{name}[{', '.join(str(int(i)) for i in torch.unravel_index(torch.tensor(position), variable.shape))}]"
            output = [int(i) for i in torch.unravel_index(torch.tensor(element), shape)] if shape else None
            slope = gradient.reshape(*shape, -1)[..., position].reshape(-1)[element] if variable.dim() else \
                gradient.reshape(-1)[element]
            kinks.append(Kink(label, left, right, float(slope), shown, None if span is None else span[0] + 1,
                              None if finite else jump, output, float(variable.detach().reshape(-1)[position])))
    return kinks


def candidate_nodes(setup: Setup) -> list[sp.Basic]:
    """The nodes of the expression that sit at their non-smooth point here (in any element)."""
    return [node for node in sp.preorder_traversal(setup.parsed.computed) if _at_non_smooth_point(setup, node)]


def one_sided(setup: Setup, name: str, position: int | None = None
              ) -> tuple[tuple[float, float], tuple[float, float], float, int, tuple[int, ...]]:
    """The left and right difference quotients at h (a little above the round-off optimum) and at h/16,
    and f(x + h) - f(x - h), moving the variable (or its element at the flat `position`); for a
    tensor-valued f, of the element where left and right differ most (its flat index and f's shape
    come last)."""
    index = setup.variables.index(name)
    plain = [value.detach() for value in setup.inputs]
    x = plain[index]
    unit = torch.zeros_like(x)
    unit.reshape(-1)[0 if position is None else position] = 1.0
    h = math.sqrt(torch.finfo(setup.dtype).eps) * max(1.0, abs(float((x * unit).sum())))

    def at(value: torch.Tensor) -> torch.Tensor:
        values = list(plain)
        values[index] = value
        with torch.no_grad():
            return setup.program(values, dtype=setup.dtype, device=setup.device).double()

    f_x = at(x)
    shape = tuple(f_x.shape)

    def quotients(step: float) -> tuple[torch.Tensor, torch.Tensor]:
        return (f_x - at(x - step * unit)) / step, (at(x + step * unit) - f_x) / step

    (left, right), (left_fine, right_fine) = quotients(h), quotients(h / 16)
    gap = (left - right).abs().reshape(-1).nan_to_num(nan=0.0)
    element = int(gap.argmax()) if gap.numel() else 0

    def pick(tensor: torch.Tensor) -> float:
        return float(tensor.reshape(-1)[element])

    jump = pick(at(x + h * unit) - at(x - h * unit))
    return (pick(left), pick(right)), (pick(left_fine), pick(right_fine)), jump, element, shape


def _at_non_smooth_point(setup: Setup, node: sp.Basic) -> bool:
    """Whether the node sits at its non-smooth point, in any element of a tensor argument."""
    if isinstance(node, (Abs, sp.Abs, relu, sign, sp.sign, sp.Heaviside)) or type(node).__name__ in (
            "leaky_relu", "elu"):
        value = _value(setup, node.args[0])
        return value is not None and bool((value == 0).any())
    if isinstance(node, (floor, ceiling, sp.floor, sp.ceiling)):
        value = _value(setup, node.args[0])
        return value is not None and bool((torch.isfinite(value) & (value == value.round())).any())
    if type(node).__name__ == "hardtanh":
        value = _value(setup, node.args[0])
        bounds = [_value(setup, arg) for arg in node.args[1:]]
        if value is None or any(bound is None for bound in bounds):
            return False
        low = bounds[0] if bounds else torch.tensor(-1.0)
        high = bounds[1] if len(bounds) > 1 else torch.tensor(1.0)
        assert low is not None and high is not None
        return bool(((value == low) | (value == high)).any())
    if isinstance(node, (sp.Max, sp.Min)):
        values = [_value(setup, arg) for arg in node.args]
        if any(value is None for value in values):
            return False
        try:
            stacked = torch.stack(torch.broadcast_tensors(*values))  # type: ignore[arg-type]
        except RuntimeError:
            return False
        extreme = stacked.max(dim=0).values if isinstance(node, sp.Max) else stacked.min(dim=0).values
        return bool(((stacked == extreme).sum(dim=0) > 1).any())
    if isinstance(node, sp.Piecewise):
        return any(_on_boundary(setup, condition) for _, condition in node.args)
    return False


def _on_boundary(setup: Setup, condition: sp.Basic) -> bool:
    if isinstance(condition, sp.core.relational.Relational) and not isinstance(condition, (sp.Eq, sp.Ne)):
        left = _value(setup, condition.lhs)  # each side alone: no SymPy arithmetic on their constants
        right = _value(setup, condition.rhs)
        if left is None or right is None:
            return False
        try:
            return bool((left == right).any())
        except RuntimeError:
            return False
    return isinstance(condition, (sp.And, sp.Or)) and any(_on_boundary(setup, arg) for arg in condition.args)


def _value(setup: Setup, expr: sp.Basic) -> torch.Tensor | None:
    """A subexpression's value at the point (None where the lowering cannot run it alone)."""
    try:
        program = lower(expr, setup.variables)
        with torch.no_grad():
            return program([value.detach() for value in setup.inputs], dtype=setup.dtype, device=setup.device)
    except (DerivcliError, RuntimeError, TypeError, ValueError):
        return None


def _text(node: sp.Basic) -> str:
    text = formula(node)
    return text if len(text) <= 60 else text[:57] + "..."
