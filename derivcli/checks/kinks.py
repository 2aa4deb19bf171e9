"""Points where f is not differentiable: a kink (|x| at 0), a jump (floor at an integer), a tie of
max/min, or the boundary of an `if`.

Found from the expression (a node sitting exactly at its non-smooth point, with its column) and confirmed
numerically by one-sided differences, which give the left and right derivatives; torch's autograd
returns one subgradient there, which is a fact about the function, not a failure.  Runs on every
answer at a point: a Program without a non-smooth step costs one scan of its steps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sympy as sp
import torch

from ..errors import DerivcliError
from ..lowering.program import lower
from ..results import element_label
from ..symbolic.formula_text import formula
from ..table.activations import KINKS
from ..table.sympy_forms import NON_SMOOTH, NON_SMOOTH_NAMES, Abs, ceiling, floor, relu, sign

if TYPE_CHECKING:
    from ..differentiate.setup import Setup


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


def find_kinks(setup: Setup, autograd: dict[str, torch.Tensor],
               candidates: dict[sp.Basic, torch.Tensor] | None = None) -> list[Kink]:
    """The variables (or a tensor variable's elements, `x[1]`) at which f has different left and right
    derivatives, with the node that makes it so (`candidates`: `candidate_nodes`, if already found)."""
    candidates = candidate_nodes(setup) if candidates is None else candidates
    kinks: list[Kink] = []
    for name in setup.wrt:
        variable = setup.inputs[setup.variables.index(name)]
        count = variable.numel()
        nodes = {node: where for node, where in candidates.items()
                 if name in {symbol.name for symbol in node.free_symbols}}
        if count > MAX_KINK_ELEMENTS or not nodes:
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
            label = element_label(name, tuple(variable.shape), position)
            node = _culprit(nodes, variable, position)
            span = setup.parsed.spans.get(node)
            shown = setup.parsed.source[span[0]:span[1]] if span is not None else _text(node)
            output = [int(i) for i in torch.unravel_index(torch.tensor(element), shape)] if shape else None
            slope = gradient.reshape(*shape, -1)[..., position].reshape(-1)[element] if variable.dim() else \
                gradient.reshape(-1)[element]
            kinks.append(Kink(label, left, right, float(slope), shown, None if span is None else span[0] + 1,
                              None if finite else jump, output, float(variable.detach().reshape(-1)[position])))
    return kinks


def _culprit(nodes: dict[sp.Basic, torch.Tensor], variable: torch.Tensor, position: int) -> sp.Basic:
    """The node that puts this element at a kink: one whose argument is elementwise in the variable
    and sits at its non-smooth point in this element, else the first that depends on the variable."""
    for node, where in nodes.items():
        if where.shape == variable.shape and bool(where.reshape(-1)[position]):
            return node
    return next(iter(nodes))


def candidate_nodes(setup: Setup, slots: Sequence[torch.Tensor] | None = None) -> dict[sp.Basic, torch.Tensor]:
    """The nodes of the expression that sit at their non-smooth point here, each with where (per element
    of its argument), in evaluation order (an `if`'s branches right after it).  `slots`: the Program's
    values at this point where the caller has them (grad's own forward pass, still on autograd's graph:
    what is read from them keeps nothing of it), else evaluated again."""
    program = setup.program
    steps = watched_nodes(program)
    if not steps:
        return {}
    if slots is None:
        with torch.no_grad():
            slots = program.slots([value.detach() for value in setup.inputs], setup.dtype, setup.device)
    found = {}
    values = None
    for node, argument in _watched_arguments(program):
        if argument is not None:  # a zero of an argument the forward pass holds (relu, |x|: most kinks)
            where = _zeros(slots[argument])  # (a comparison and a count: nothing of autograd's graph kept)
        else:
            values = values or _SlotValues(program, slots)
            where = _non_smooth_where(setup, node, values)
        if where is not None and bool(where.any()):
            found[node] = where
    return found


def watched_nodes(program: Any) -> tuple[sp.Basic, ...]:
    """The Program's nodes of a kind that has non-smooth points (its `if` branches' too), found by a scan
    of its steps once per Program: a smooth one (most) then costs the kink search nothing."""
    if "non_smooth" not in program.memo:
        program.memo["non_smooth"] = tuple(dict.fromkeys(_non_smooth_steps(program)))
    return program.memo["non_smooth"]  # type: ignore[no-any-return]


ZERO_KINKS = (Abs, sp.Abs, relu, sign, sp.sign, sp.Heaviside)  # non-smooth where the argument is 0
ZERO_KINK_NAMES = ("leaky_relu", "elu")


def _watched_arguments(program: Any) -> tuple[tuple[sp.Basic, int | None], ...]:
    """Each watched node with the slot of its argument where it is non-smooth at that argument's zeros
    (else None: `_non_smooth_where` looks), worked out once per Program."""
    if "watched_arguments" not in program.memo:
        values = _SlotValues(program, [])
        program.memo["watched_arguments"] = tuple(
            (node, values.slot(node.args[0]) if isinstance(node, ZERO_KINKS) or type(node).__name__ in ZERO_KINK_NAMES
             else None) for node in watched_nodes(program))
    return program.memo["watched_arguments"]  # type: ignore[no-any-return]


class _SlotValues:
    """The value of a node, or of a variable's symbol, in the forward pass's slots (`node in values`,
    `values[node]`), by a map from node to slot made once per Program."""

    def __init__(self, program: Any, slots: Sequence[torch.Tensor]) -> None:
        if "slot_of" not in program.memo:
            base = len(program.variables) + len(program.constants)
            program.memo["slot_of"] = {node: base + position for position, node in enumerate(program.nodes)}
        self.slot_of: dict[sp.Basic, int] = program.memo["slot_of"]
        self.variables: list[str] = program.variables
        self.slots = slots

    def slot(self, expr: sp.Basic) -> int | None:
        if isinstance(expr, sp.Symbol):  # the parser makes one symbol per name: a name is its variable
            return self.variables.index(expr.name) if expr.name in self.variables else None
        return self.slot_of.get(expr)

    def __contains__(self, expr: sp.Basic) -> bool:
        return self.slot(expr) is not None

    def __getitem__(self, expr: sp.Basic) -> torch.Tensor:
        slot = self.slot(expr)
        if slot is None:
            raise KeyError(expr)
        return self.slots[slot].detach()


def unexamined(setup: Setup, candidates: dict[sp.Basic, torch.Tensor]) -> list[str]:
    """Warnings for the variables too large to look at element by element, where a node that depends
    on them sits at its non-smooth point: f may have a kink there, unconfirmed."""
    warnings = []
    for name in setup.wrt:
        count = setup.inputs[setup.variables.index(name)].numel()
        nodes = [node for node in candidates if name in {symbol.name for symbol in node.free_symbols}]
        if count > MAX_KINK_ELEMENTS and nodes:
            span = setup.parsed.spans.get(nodes[0])
            where = f" at column {span[0] + 1}" if span is not None else ""
            warnings.append(f"{_text(nodes[0])}{where} sits at its non-smooth point here; {name} has {count:,} "
                            f"elements, more than the {MAX_KINK_ELEMENTS} looked at one by one, so f may not be "
                            f"differentiable in {name} here (not confirmed)")
    return warnings




def _non_smooth_steps(program: Any) -> list[sp.Basic]:
    """The Program's nodes (and those in its `if` branches) of a kind that has non-smooth points."""
    found = []
    for (function, _), node in zip(program.steps, program.nodes):
        if isinstance(node, NON_SMOOTH) or type(node).__name__ in NON_SMOOTH_NAMES:
            found.append(node)
        for branch in getattr(function, "branches", ()):
            found += _non_smooth_steps(branch)
    return found


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


def _non_smooth_where(setup: Setup, node: sp.Basic, known: _SlotValues) -> torch.Tensor | None:
    """Where (a boolean per element of the node's argument) the node sits at its non-smooth point: an
    argument at 0 (|x|, relu, sign, …; a norm of zeros), at an integer (floor), at a bound (hardtanh), a
    tie (max, min, and the largest or smallest element of a tensor), or an `if` on its boundary.  None
    where the arguments cannot be had."""
    name = type(node).__name__
    value = _value(setup, node.args[0], known) if node.args and not isinstance(node, sp.Piecewise) else None
    if isinstance(node, ZERO_KINKS) or name in ZERO_KINK_NAMES:
        return None if value is None else _zeros(value)
    if name == "norm":
        return None if value is None else (value == 0) & bool((value == 0).all())
    if name in ("amax", "amin"):
        if value is None or value.numel() < 2:
            return None
        dim = getattr(node, "settings", {}).get("dim")  # max(X, dim=1): ties within each slice along dim
        if dim is not None:
            extreme = value.amax(dim=dim, keepdim=True) if name == "amax" else value.amin(dim=dim, keepdim=True)
            tied = value == extreme
            return tied & (tied.sum(dim=dim, keepdim=True) > 1)
        tied = value == (value.max() if name == "amax" else value.min())
        return tied & bool(tied.sum() > 1)
    if isinstance(node, (floor, ceiling, sp.floor, sp.ceiling)):
        return None if value is None else torch.isfinite(value) & (value == value.round())
    if name in KINKS:  # relu6, hardsigmoid, hardswish, selu: at fixed points
        return None if value is None else torch.stack([value == point for point in KINKS[name]]).any(dim=0)
    if name == "hardtanh" or name == "clamp":
        bounds = [_value(setup, arg, known) for arg in node.args[1:]]
        if value is None or any(bound is None for bound in bounds):
            return None
        low = bounds[0] if bounds else torch.tensor(-1.0)
        high = bounds[1] if len(bounds) > 1 else torch.tensor(1.0)
        assert low is not None and high is not None
        return (value == low) | (value == high)
    if isinstance(node, (sp.Max, sp.Min)):
        values = [_value(setup, arg, known) for arg in node.args]
        if any(value is None for value in values):
            return None
        try:
            stacked = torch.stack(torch.broadcast_tensors(*values))  # type: ignore[arg-type]
        except RuntimeError:
            return None
        extreme = stacked.max(dim=0).values if isinstance(node, sp.Max) else stacked.min(dim=0).values
        return (stacked == extreme).sum(dim=0) > 1
    if isinstance(node, sp.Piecewise):
        found = [_on_boundary(setup, condition, known) for _, condition in node.args]
        masks = [mask for mask in found if mask is not None]
        try:
            return torch.stack(torch.broadcast_tensors(*masks)).any(dim=0) if masks else None
        except RuntimeError:
            return torch.tensor(any(bool(mask.any()) for mask in masks))
    return None


def _zeros(value: torch.Tensor) -> torch.Tensor | None:
    """Where `value` is 0, or None where it is nowhere: one count first, a third of the mask's cost, for
    the common case on every call (a relu or |x| whose argument is nowhere exactly 0)."""
    return value == 0 if int(torch.count_nonzero(value)) < value.numel() else None


def _on_boundary(setup: Setup, condition: sp.Basic, known: _SlotValues) -> torch.Tensor | None:
    if isinstance(condition, sp.core.relational.Relational) and not isinstance(condition, (sp.Eq, sp.Ne)):
        # each side alone: no SymPy arithmetic on their constants
        left = _value(setup, condition.lhs, known)
        right = _value(setup, condition.rhs, known)
        if left is None or right is None:
            return None
        try:
            return left == right
        except RuntimeError:
            return None
    if isinstance(condition, (sp.And, sp.Or)):
        masks = [mask for mask in (_on_boundary(setup, arg, known) for arg in condition.args) if mask is not None]
        return torch.tensor(any(bool(mask.any()) for mask in masks)) if masks else None
    return None


def _value(setup: Setup, expr: sp.Basic, known: _SlotValues) -> torch.Tensor | None:
    """A subexpression's value at the point: from the forward pass where it is one of its steps, else
    by lowering it alone (None where that cannot run)."""
    if expr in known:
        return known[expr]
    try:
        program = lower(expr, setup.variables)
        with torch.no_grad():
            return program([value.detach() for value in setup.inputs], dtype=setup.dtype, device=setup.device)
    except (DerivcliError, RuntimeError, TypeError, ValueError):
        return None


def _text(node: sp.Basic) -> str:
    text = formula(node)
    return text if len(text) <= 60 else text[:57] + "..."
