"""How many dimensions a piece of the syntax tree has, from the ranks of the bound tensors: what tells
`max(X, 1)` (two readings for a tensor X) from `max(x, 1)` (one reading for a number).

torch users read `torch.max(X, 1)` as the maximum over dimension 1; derivcli's `max` of two arguments
is the elementwise maximum.  With a tensor and a whole-number literal the text means either, so it is
refused with both readings; a float (`max(X, 1.0)`) or SymPy's spelling (`Max(X, 1)`) has only one.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import DerivcliError
from ..table.functions import by_name
from .syntax import (
    BoolOp,
    Call,
    Chain,
    Compare,
    Flag,
    IfElse,
    Items,
    Name,
    Node,
    Num,
    Postfix,
    Power,
    SliceItem,
    TensorLiteral,
    Unary,
)

REDUCTIONS = frozenset({"sum", "mean", "prod", "norm", "logsumexp", "var", "std", "dot", "det", "mse_loss",
                        "cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
                        "huber_loss", "smooth_l1_loss", "kl_div"})


def rank(node: Node, ranks: Mapping[str, int]) -> int:
    """The number of dimensions of the node's value (0 for a number); where unsure, the largest its
    parts have, so that a possible tensor is never taken for a number."""
    if isinstance(node, Num):
        return 0
    if isinstance(node, Name):
        return ranks.get(node.id, 0)
    if isinstance(node, TensorLiteral):
        return len(node.shape)
    if isinstance(node, Items):
        return max((rank(element, ranks) for element in node.elements), default=0)
    if isinstance(node, Unary):
        return rank(node.operand, ranks)
    if isinstance(node, Power):
        return max(rank(node.base, ranks), rank(node.exponent, ranks))
    if isinstance(node, Postfix):
        indices = sum(1 for item in node.items if not isinstance(item, SliceItem))  # x[0] drops one; x[1:3] none
        return max(rank(node.base, ranks) - indices, 0)
    if isinstance(node, Chain):
        result = 0
        for op, item, _ in node.items:
            result = _matmul(result, rank(item, ranks)) if op == "@" else max(result, rank(item, ranks))
        return result
    if isinstance(node, Call):
        spec = by_name().get(node.name)
        name = spec.name if spec is not None else node.name
        settings = {keyword.name: keyword.value for keyword in node.keywords}
        if name in REDUCTIONS or name in ("max", "min") and len(node.args) == 1:
            if "dim" in settings and not isinstance(settings.get("keepdim"), Flag):  # over one dim
                return max(rank(node.args[0], ranks) - 1, 0)
            return rank(node.args[0], ranks) if "dim" in settings or "reduction" in settings else 0
        if name in ("reshape", "unsqueeze", "stack", "outer", "einsum"):
            return max(rank(node.args[0], ranks), 1) + 1  # at least one more dimension: never a number
        args = [rank(arg, ranks) for arg in node.args]
        if name == "matmul" and len(args) == 2:
            return _matmul(*args)
        return max(args, default=0)
    if isinstance(node, IfElse):
        return max(rank(node.body, ranks), rank(node.orelse, ranks))
    if isinstance(node, (Compare, BoolOp)):
        parts = node.operands if isinstance(node, Compare) else node.values
        return max(rank(part, ranks) for part in parts)
    return 0


def _matmul(left: int, right: int) -> int:
    """vector @ vector is a number, matrix @ vector a vector, matrix @ matrix a matrix."""
    return max(left + right - 2, 0)


def refuse_dimension_reading(call: Call, ranks: Mapping[str, int], source: str) -> None:
    """`max(X, 1)` / `min(X, -1)` with a tensor X: torch's dimension reading or the elementwise one."""
    if len(call.args) != 2 or call.name not in ("max", "min") or not ranks:
        return
    tensor, literal = call.args
    if isinstance(literal, Unary) and literal.op in ("-", "+"):
        literal = literal.operand
    if not (isinstance(literal, Num) and literal.text.isdigit()) or rank(tensor, ranks) == 0:
        return
    written, first = (source[span[0]:span[1]] for span in (call.span, tensor.span))
    number = source[call.args[1].span[0]:call.args[1].span[1]]
    other = "maximum" if call.name == "max" else "minimum"
    raise DerivcliError(f"'{written}' reads two ways with a tensor: torch.{call.name}({first}, {number}), the {other} "
                        f"over dimension {number}, or the elementwise {other} of {first} and {number}",
                        span=call.span, source=source,
                        hint=f"for the {other} over dimension {number} write {call.name}({first}, dim={number}); for "
                             f"the elementwise {other} write {call.name}({first}, {number}.0) or "
                             f"{call.name.capitalize()}({first}, {number})")
