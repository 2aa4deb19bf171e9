"""The backward graph autograd records for an expression at a point: what `loss.grad_fn` and its
`next_functions` look like, with each node's value and incoming gradient.

The program runs once under a `TorchFunctionMode` that remembers every op's output tensor by its
`grad_fn`, so nodes that are internal to one lowered step (the multiply before a divide) still get their
values; a pre-hook on every node catches the gradient flowing into it during `backward()`.  The graph is a
DAG (x in both terms of x**2 + sin(x)); it is shown as a tree in which a node's second appearance is
marked "(see above)", and as Graphviz DOT.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..results import Number, ParseInfo, at_point, to_plain

if TYPE_CHECKING:
    import torch

MAX_DEPTH = 200  # deeper nodes are cut (a 5,000-term sum is a 5,000-deep chain of AddBackward0)
MAX_NODES = 2000
# every node's value and gradient is kept and shown: past this many numbers in all the graph is refused
# before the work (the variables) or as soon as the forward pass passes it (intermediates), not after
# seconds of matrix products and gigabytes of lists (sum(W@W@W@W) with W 2000 x 2000: 16 s, 2.9 GB)
MAX_NUMBERS = 1_000_000


@dataclass
class GraphNode:
    """One backward node: `name` like ExpBackward0; AccumulateGrad for a leaf, with its `variable`."""

    id: int  # the same id for every appearance of one node
    name: str
    variable: str | None = None
    value: Number | None = None  # the forward output this node differentiates, where known
    grad: Number | None = None  # the gradient flowing into it, d(output)/d(value), where known
    children: list[GraphNode] = field(default_factory=list)
    repeated: bool = False  # shown earlier in the tree: its children are not repeated
    truncated: bool = False  # beyond MAX_DEPTH or MAX_NODES: its children are not shown

    @property
    def label(self) -> str:
        return f"{self.variable} ({self.name})" if self.variable else self.name

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "name": self.name}
        if self.variable is not None:
            data["variable"] = self.variable
        data["value"] = self.value
        data["grad"] = self.grad
        if self.repeated:
            data["repeated"] = True
        if self.truncated:
            data["truncated"] = True
        data["children"] = [child.to_json() for child in self.children]
        return data


@dataclass
class GraphResult:
    expression: str
    point: dict[str, Number]
    dtype: str
    root: GraphNode | None  # None when nothing requires a gradient (a constant expression)
    node_count: int  # distinct backward nodes shown
    parse: ParseInfo
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self, explain_parse: bool = False) -> dict[str, Any]:
        return at_point(self, explain_parse, root=None if self.root is None else self.root.to_json(),
                        node_count=self.node_count, notes=self.notes)

    def nodes(self) -> list[GraphNode]:
        """Every appearance, in pre-order (the order of `tree_lines`)."""
        ordered: list[GraphNode] = []
        stack = [self.root] if self.root is not None else []
        while stack:
            node = stack.pop()
            ordered.append(node)
            stack.extend(reversed(node.children))
        return ordered

    def tree_lines(self) -> list[str]:
        """The tree as text, one node per line, with box-drawing branches."""
        if self.root is None:
            return ["(no backward nodes: " + (self.notes[0] if self.notes else "nothing requires a gradient") + ")"]
        lines: list[str] = []
        stack: list[tuple[GraphNode, str, str]] = [(self.root, "", "")]
        while stack:
            node, branch, indent = stack.pop()
            lines.append(branch + node.label + _details(node))
            for position, child in reversed(list(enumerate(node.children))):
                last = position == len(node.children) - 1
                stack.append((child, indent + ("└── " if last else "├── "), indent + ("    " if last else "│   ")))
        return lines

    def to_dot(self) -> str:
        """Graphviz DOT: one box per distinct node, edges in the forward direction (input -> consumer),
        so the output's node is at the bottom, as torchviz draws it."""
        lines = ["digraph autograd {", '  node [shape=box, fontname="Helvetica"];']
        if self.root is None:
            lines.append('  empty [label="no backward nodes", shape=plaintext];')
        declared: set[int] = set()
        edges: list[str] = []
        for node in self.nodes():
            if node.id not in declared:
                declared.add(node.id)
                parts = [node.label] + [f"{key} = {_short(value)}" for key, value in
                                        (("value", node.value), ("grad", node.grad)) if value is not None]
                if node.truncated:
                    parts.append("(inputs not shown)")
                style = ", style=filled, fillcolor=lightblue" if node.variable else ""
                lines.append(f'  n{node.id} [label="{_dot_escape(chr(10).join(parts))}"{style}];')
            if not node.repeated:
                edges.extend(f"  n{child.id} -> n{node.id};" for child in node.children)
        return "\n".join(lines + edges + ["}"]) + "\n"


def autograd_graph(
    expression: str,
    point: Mapping[str, Any],
    *,
    wrt: Sequence[str] | None = None,
    dtype: str = "float64",
) -> GraphResult:
    """Evaluate `expression` at `point` (variables in `wrt`, default all, require gradients), run
    backward, and describe the graph autograd recorded.  A non-scalar value is back-propagated as its sum.
    """
    import torch

    from ..api import prepare

    setup = prepare(expression, point, wrt, dtype, "cpu")
    numbers = 2 * sum(tensor.numel() for tensor in setup.inputs)
    _check_numbers(numbers, "the variables")
    outputs: dict[Any, torch.Tensor] = {}
    with _Recorder(outputs, numbers):
        output = setup.program(setup.inputs, dtype=setup.dtype, device=setup.device)
    notes = [f"{name} is held constant, so it is not in the graph" for name in setup.variables
             if name not in setup.wrt]
    result = GraphResult(
        expression=setup.parsed.canonical,
        point={name: to_plain(value) for name, value in setup.values.items()},
        dtype=dtype, root=None, node_count=0, parse=setup.parse_info(), warnings=list(setup.warnings),
    )
    if not output.requires_grad:
        result.notes = ["the value does not depend on any differentiated variable, so autograd recorded no "
                        "backward nodes"] + notes
        return result
    if output.numel() != 1:
        notes.append(f"the value has shape {tuple(output.shape)}: the gradients are those of its sum")
    names = {id(tensor): name for name, tensor in zip(setup.variables, setup.inputs)}
    leaves = {id(tensor): tensor for tensor in setup.inputs}
    incoming: dict[Any, Any] = {}
    handles = [node.register_prehook(_catch(incoming, node)) for node in _all_nodes(output.grad_fn)]
    try:
        output.backward(torch.ones_like(output))
    finally:
        for handle in handles:
            handle.remove()

    def describe(node: Any, identity: int) -> GraphNode:
        name = node.name().replace("torch::autograd::", "")
        leaf = getattr(node, "variable", None)
        if leaf is not None and id(leaf) in leaves:
            return GraphNode(identity, name, variable=names[id(leaf)], value=to_plain(leaf), grad=_plain(leaf.grad))
        value = outputs.get(node)
        return GraphNode(identity, name, value=None if value is None else to_plain(value),
                         grad=_plain(incoming.get(node)))

    if output.grad_fn is None:  # the expression is a variable itself: the output is the leaf
        index = next(i for i, tensor in enumerate(setup.inputs) if tensor is output)
        result.root = GraphNode(0, "AccumulateGrad", variable=setup.variables[index], value=to_plain(output),
                                grad=_plain(output.grad))
        result.node_count = 1
    else:
        result.root, result.node_count, cut = _tree(output.grad_fn, describe)
        if cut:
            notes.append(f"the graph is cut at depth {MAX_DEPTH} or {MAX_NODES} nodes: nodes marked "
                         "'(inputs not shown)' have more below them")
    result.notes = notes
    return result


def _check_numbers(count: int, where: str) -> None:
    if count > MAX_NUMBERS:
        from ..errors import DerivcliError

        raise DerivcliError(f"graph shows each node's value and gradient, at most {MAX_NUMBERS:,} numbers in all; "
                            f"this one has more ({count:,} in {where})",
                            hint="use grad for the gradient of big tensors, or smaller ones to see the graph")


def _tree(root: Any, describe: Any) -> tuple[GraphNode, int, bool]:
    """Pre-order walk of the DAG, iterative (graphs can be thousands of nodes deep).  A node is expanded
    where it first appears in that order; later appearances are marked repeated."""
    ids: dict[Any, int] = {}
    holder = GraphNode(-1, "")
    cut = False
    stack: list[tuple[Any, GraphNode, int]] = [(root, holder, 0)]
    while stack:
        node, parent, depth = stack.pop()
        if node in ids:
            again = describe(node, ids[node])
            again.repeated = True
            parent.children.append(again)
            continue
        ids[node] = len(ids)
        shown = describe(node, ids[node])
        parent.children.append(shown)
        children = [child for child, _ in node.next_functions if child is not None]
        if children and (depth >= MAX_DEPTH or len(ids) >= MAX_NODES):
            shown.truncated = cut = True
            continue
        stack.extend((child, shown, depth + 1) for child in reversed(children))
    return holder.children[0], len(ids), cut


def _all_nodes(root: Any) -> list[Any]:
    seen: set[Any] = set()
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(child for child, _ in node.next_functions if child is not None and child not in seen)
    return list(seen)


def _catch(incoming: dict[Any, Any], node: Any) -> Any:
    def hook(grad_outputs: tuple[torch.Tensor | None, ...]) -> None:
        present = [grad for grad in grad_outputs if grad is not None]
        if present:
            incoming[node] = present[0].detach().clone()

    return hook


def _plain(value: Any) -> Number | None:
    return None if value is None else to_plain(value)


def _short(value: Number) -> str:
    if isinstance(value, list):
        shape = []
        while isinstance(value, list):
            shape.append(len(value))
            value = value[0] if value else None
        return "tensor " + "×".join(map(str, shape))
    return f"{value:.6g}" if math.isfinite(value) else str(value)


def _details(node: GraphNode) -> str:
    if node.repeated:
        return "  (see above)"
    parts = [f"{key}={_short(value)}" for key, value in (("value", node.value), ("grad", node.grad))
             if value is not None]
    if node.truncated:
        parts.append("(inputs not shown)")
    return ("  " + "  ".join(parts)) if parts else ""


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class _Recorder:
    """Remembers each op's output tensor by its grad_fn while the program runs (and stops it once they
    pass MAX_NUMBERS)."""

    def __init__(self, outputs: dict[Any, Any], numbers: int) -> None:
        from torch.overrides import TorchFunctionMode

        recorder = self

        class Mode(TorchFunctionMode):
            def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
                result = func(*args, **(kwargs or {}))
                recorder.keep(result)
                return result

        self.outputs = outputs
        self.numbers = numbers  # the variables' and the values kept, with as many gradients to come
        self.mode = Mode()

    def keep(self, result: Any) -> None:
        import torch

        for item in result if isinstance(result, (tuple, list)) else (result,):
            if isinstance(item, torch.Tensor) and item.grad_fn is not None and item.grad_fn not in self.outputs:
                self.outputs[item.grad_fn] = item.detach()
                self.numbers += 2 * item.numel()
                _check_numbers(self.numbers, "the variables and the nodes computed so far")

    def __enter__(self) -> _Recorder:
        self.mode.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.mode.__exit__(*exc)


# The wire contract of this module's to_json: tests/schema_build.py gathers every module's into
# derivcli/schemas/derivcli.schema.json (its $defs; JSON_OUTPUTS also join its root).
JSON_SCHEMA = {
    "graph": {
        "allOf": [{"$ref": "#/$defs/at_point"}], "required": ["root", "node_count", "notes"],
        "properties": {
            "root": {"type": "object", "required": ["id", "name", "children"]}, "node_count": {"type": "integer"},
        },
    },
}
JSON_OUTPUTS = ("graph",)
