"""The arguments of a function that takes settings (`sum(X, dim=1)`, `einsum("ij,jk->ik", A, B)`,
`cat([A, B], dim=0)`): positional and name=value arguments matched to the table entry's signature as Python
matches them, and each checked for its kind, before anything is built.

A setting is a literal written in the text (a whole number, a number, True/False, a quoted text the
table allows), never a computed value: it has no gradient, and nothing in it runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..errors import DerivcliError
from ..table.functions import REST, FunctionSpec, Param, resolve
from .syntax import Call, Flag, Items, Node, Num, Span, Text, Unary

EINSUM_TERM = re.compile(r"[A-Za-z]*(?:\.\.\.)?[A-Za-z]*\Z")


def bind(spec: FunctionSpec, call: Call, source: str) -> dict[str, Any]:
    """Each given argument by its parameter's name: a syntax node for a tensor, a list of them for a list
    or the rest, a Python value for a setting.  Arguments left out are absent."""

    def error(message: str, span: Span, hint: str | None = None) -> DerivcliError:
        return DerivcliError(f"{spec.name}(): {message}", span=span, source=source, hint=hint)

    accepted = {param.name: param for param in spec.keywords()}
    given: dict[str, Any] = {}
    spans: dict[str, Span] = {}
    positional = list(call.args) if spec.signature else []
    for param in spec.signature:
        if not positional:
            break
        if param.kind in REST:
            given[param.name], positional = positional, []
        else:
            given[param.name] = positional.pop(0)
        spans[param.name] = _span(given[param.name], call.span)
    if positional:
        raise error(f"takes at most {len(spec.signature)} arguments ({spec.arity_text()})",
                    (positional[0].span[0], call.span[1]))
    for keyword in call.keywords:
        if not accepted:
            raise error("takes no settings (name=value arguments)", keyword.span)
        if keyword.name not in accepted:
            raise error(f"no setting '{keyword.name}'", keyword.span, hint=f"it accepts: {', '.join(accepted)}")
        if keyword.name in given:
            raise error(f"{keyword.name} is given twice", keyword.span)
        given[keyword.name], spans[keyword.name] = keyword.value, keyword.span
    bound: dict[str, Any] = {}
    for param in (*spec.signature, *spec.keyword_only):
        if param.name in given:
            bound[param.name] = _convert(param, given[param.name], spans[param.name], error)
        elif param.required or param.kind in ("tensor", "tensors") and param.default is None:
            raise error(f"{param.name} is missing ({spec.arity_text()})", call.span)
    if spec.name == "clamp" and "min" not in bound and "max" not in bound:
        raise error("give min or max (or both), as torch.clamp", call.span)
    if bound.get("keepdim") and bound.get("dim") is None:
        raise error("keepdim needs dim", spans["keepdim"], hint="give dim=…, or leave keepdim out")
    if "unbiased" in bound and "correction" in bound:
        raise error("give correction or unbiased, not both", spans["unbiased"])
    if "equation" in bound:
        check_equation(bound["equation"], len(bound.get("operands", [])), spans["equation"], error)
    return bound


def make_call(spec: FunctionSpec, bound: dict[str, Any], build: Callable[[Node], Any]) -> Any:
    """The SymPy node of a function with a signature: its tensors built (`build`), in order, and its
    settings (those differing from the defaults) handed to the SymPy form's `make`."""
    operands: list[Any] = []
    settings: dict[str, Any] = {}
    for param in spec.signature:
        value = bound.get(param.name)
        if param.kind == "tensor":
            operands.append(None if value is None else build(value))
        elif param.kind in ("tensors", "operands"):
            operands += [build(item) for item in value or []]
        elif value is not None and value != param.default:
            settings[param.name] = value
    return resolve(spec.sympy).make(operands, settings)


def _span(value: Any, whole: Span) -> Span:
    if isinstance(value, list):
        return (value[0].span[0], value[-1].span[1]) if value else whole
    return value.span  # type: ignore[no-any-return]


def _convert(param: Param, value: Any, span: Span, error: Any) -> Any:
    kind = param.kind
    if kind == "tensor":
        return _tensor(param, value, error)
    if kind == "operands":
        return [_tensor(param, item, error) for item in value]
    if kind == "tensors":
        if not isinstance(value, Items):
            raise error(f"{param.name} is a list of tensors in brackets", span, hint="write [A, B]")
        return [_tensor(param, item, error) for item in value.elements]
    if kind == "ints":
        return [_whole(param, item, error) for item in value]
    if kind == "int":
        return _whole(param, value, error)
    if kind == "number":
        number = _number(value)
        if number is None:
            raise error(f"{param.name} must be a number written in the expression", span)
        return number
    if kind == "bool":
        if not isinstance(value, Flag):
            raise error(f"{param.name} must be True or False", span)
        return value.value
    assert kind == "text"
    if not isinstance(value, Text):
        raise error(f"{param.name} must be a quoted text", span)
    if param.choices and value.value not in param.choices:
        raise error(f'{param.name}="{value.value}" is not one of {", ".join(param.choices)}', span)
    return value.value


def _tensor(param: Param, node: Node, error: Any) -> Node:
    if isinstance(node, (Text, Flag, Items)):
        what = {Text: "a quoted text", Flag: "True or False", Items: "a list"}[type(node)]
        raise error(f"{param.name} is a tensor or a number, not {what}", node.span)
    return node


def _number(node: Any) -> float | None:
    sign = 1.0
    if isinstance(node, Unary) and node.op in ("-", "+"):
        sign, node = (-1.0 if node.op == "-" else 1.0), node.operand
    return sign * float(node.text) if isinstance(node, Num) else None


def _whole(param: Param, node: Any, error: Any) -> int:
    number = _number(node)
    if number is None or not number.is_integer() or abs(number) > 2**31:
        raise error(f"{param.name} must be a whole number written in the expression", node.span)
    return int(number)


def check_equation(equation: str, count: int, span: Span, error: Any) -> None:
    """An einsum equation holds letters, commas, '->' and '...' only, one term per operand."""
    inputs, arrow, output = equation.replace(" ", "").partition("->")
    terms = inputs.split(",")
    if not all(EINSUM_TERM.match(term) for term in [*terms, output]) or "->" in output:
        raise error(f'cannot read the equation "{equation}"', span,
                    hint='write letters, commas, "->" and "...", as in "ij,jk->ik"')
    if len(terms) != count:
        raise error(f'"{equation}" names {len(terms)} operand{"s" if len(terms) != 1 else ""}, got {count}', span)

