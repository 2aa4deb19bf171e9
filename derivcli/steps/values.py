"""Every step's numbers at a point, read from torch's autograd graph of the expression.

The Program derivcli lowers the expression to keeps the SymPy node of each torch operation, so a step whose
expression is a node of the graph gets, from autograd itself: the node's value, its derivative by the
variable, and the gradient arriving from above (d f / d node, what backpropagation sends into it); a
chain rule's local derivative f'(u) is autograd's derivative of the node by its input node.  The learner
sees the chain rule multiply out as backpropagation does: upstream × local is what arrives at the inner
node.  Steps that are no node of the graph (the quotient rule's numerator, a branch of an 'if', the
logarithmic differentiation's g·log(f)) are evaluated with torch from their own expression and result.  The root's
derivative is `grad`'s gradient, computed by the same call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sympy as sp
import torch

from ..differentiate.autograd import gradient, scalar_output
from ..errors import DerivcliError
from ..lowering.program import lower, stable_form
from ..results import Number, to_plain
from .tree import Step

if TYPE_CHECKING:
    from ..api import Setup

MAX_SHOWN = 64  # elements of a tensor value shown per step (the gradient itself is always whole)


@dataclass
class StepNumbers:
    """A step at the point: the value of its expression, its derivative (the partial steps of a chain
    rule: the local derivative f'(u)), and the gradient autograd sends into its node (d f / d node;
    None where the step is no node of the graph).  `source`: autograd, or formula where torch evaluated
    the step's own expression and result."""

    value: Number | None
    derivative: Number | None
    upstream: Number | None
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "derivative": self.derivative, "upstream": self.upstream, "source": self.source}


def attach_numbers(root: Step, setup: Setup) -> tuple[float, Number]:
    """Set `numbers` on every step; return (value, gradient) as `grad` computes them."""
    value, grads = gradient(setup.program, setup.inputs, setup.wrt_indices, setup.dtype, setup.device)
    graph = _Graph(setup)
    graph.number(root)
    root.numbers.value, root.numbers.derivative = float(value.detach()), to_plain(grads[0])
    return float(value.detach()), to_plain(grads[0])


class _Graph:
    """The expression's torch graph at the point, by SymPy node."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        program = lower(setup.parsed.computed, setup.program.variables, every_node=True)  # a step per node
        slots = program.slots(setup.inputs, setup.dtype, setup.device)
        base = len(slots) - len(program.steps)
        self.tensors: dict[sp.Basic, torch.Tensor] = {}
        if setup.parsed.written is None:  # torch computes the very tree the steps were built from
            self.tensors = {node: slots[base + position] for position, node in enumerate(program.nodes)}
        self.tensors.update({setup.parsed.symbols[name]: tensor for name, tensor in zip(setup.variables, setup.inputs)
                             if name in setup.parsed.symbols})
        self.variable = setup.inputs[setup.wrt_indices[0]]
        self.output = scalar_output(slots[program.output])
        self.upstream: dict[int, torch.Tensor] = {}

    def node(self, expr: sp.Expr) -> torch.Tensor | None:
        return self.tensors.get(stable_form(expr) or expr)

    def number(self, root: Step) -> None:
        """Backpropagate once for every node's upstream gradient, then number each step."""
        nodes = {id(tensor): tensor for step in root.walk() if step.wrt == root.wrt
                 for tensor in [self.node(step.expression)] if tensor is not None and tensor.requires_grad}
        if nodes and self.output.requires_grad:
            grads = torch.autograd.grad(self.output, list(nodes.values()), retain_graph=True, allow_unused=True,
                                        materialize_grads=True)
            self.upstream = dict(zip(nodes, grads))
        stack = [root]
        while stack:
            step = stack.pop()
            if step.numbers is None:
                step.numbers = self.numbers(step)
            if step.lets:
                self.partials(step)
            stack.extend(step.substeps)

    def numbers(self, step: Step) -> StepNumbers:
        tensor = self.node(step.expression)
        if tensor is None:
            return StepNumbers(self.evaluate(step.expression), self.evaluate(step.result), None, "formula")
        upstream = self.upstream.get(id(tensor))
        derivative = self.derivative(tensor, self.variable) if tensor.numel() == 1 else None  # else a Jacobian
        return StepNumbers(_plain(tensor), derivative, None if upstream is None else _plain(upstream), "autograd")

    def partials(self, chain: Step) -> None:
        """The chain rule's partial steps: f(u) at u's value, and the local derivative df/du, from autograd
        where f(u) and u are both nodes of the graph."""
        outer = self.node(chain.expression)
        for (symbol, inner), partial in zip(chain.lets, chain.substeps):
            inner_tensor = self.node(inner)
            numbers = chain.numbers
            if outer is not None and inner_tensor is not None and inner_tensor.requires_grad:
                local, source = self.derivative(outer, inner_tensor), "autograd"
            else:
                local, source = self.evaluate(partial.result.xreplace({symbol: inner})), "formula"
            partial.numbers = StepNumbers(numbers.value, local, numbers.upstream, source)

    def derivative(self, tensor: torch.Tensor, by: torch.Tensor) -> Number | None:
        """d tensor / d by from autograd: of a number, or element by element of an elementwise function
        (the chain rule's outer functions are all elementwise)."""
        if not tensor.requires_grad:
            return _plain(torch.zeros_like(by))
        if tensor.numel() != 1 and tensor.shape != by.shape:
            return None
        (grad,) = torch.autograd.grad(tensor.sum(), by, retain_graph=True, allow_unused=True, materialize_grads=True)
        return _plain(grad)

    def evaluate(self, expr: sp.Expr) -> Number | None:
        """expr at the point, by torch through derivcli's lowering; None where it cannot be lowered (a
        tensor function's derivative)."""
        setup = self.setup
        try:
            with torch.no_grad():
                program = lower(expr, setup.variables)
                return _plain(program([tensor.detach() for tensor in setup.inputs], setup.dtype, setup.device))
        except DerivcliError:
            return None


def _plain(tensor: torch.Tensor) -> Number | None:
    return to_plain(tensor) if tensor.numel() <= MAX_SHOWN else None
