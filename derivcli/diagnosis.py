"""Why a value or a derivative is not finite: the first operation, in evaluation order, whose result
(or, for a derivative, whose slope) is not finite, with its column in the text and the reason.

It runs only when something already is NaN or infinite, so plain answers cost nothing more: the
Program is run again step by step (`Program.slots`), and for a derivative each step's local slope is
taken by autograd on that step alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sympy as sp
import torch

from .formula_text import formula

if TYPE_CHECKING:
    from .api import Setup


@dataclass
class Diagnosis:
    of: str  # "value", or "d/dx" for a derivative
    result: str  # nan, inf or -inf
    node: str  # the operation, as SymPy prints it
    column: int | None  # 1-based, where the text has it
    reason: str  # "gets -1, outside log's domain"
    element: list[int] | None = None  # the first non-finite element of a tensor result

    def message(self) -> str:
        where = f" at column {self.column}" if self.column is not None else ""
        element = f" (first at element {self.element})" if self.element else ""
        of = "the value" if self.of == "value" else self.of
        return f"{of} is {self.result}{element}: {self.node}{where} {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {"of": self.of, "result": self.result, "node": self.node, "column": self.column,
                "reason": self.reason, "element": self.element}


def diagnose(setup: Setup, value: torch.Tensor, gradients: Sequence[torch.Tensor]) -> list[Diagnosis]:
    """One diagnosis for a non-finite value, else one per non-finite derivative."""
    plain = [tensor.detach() for tensor in setup.inputs]
    if not bool(torch.isfinite(value).all()):
        found = _first_non_finite_value(setup, plain)
        if found is None:
            return []
        found.result = _kind(value)  # what the value is, though the first bad step may give inf on the way
        return [found]
    found_slope = None
    diagnoses = []
    for name, gradient in zip(setup.wrt, gradients):
        if bool(torch.isfinite(gradient).all()):
            continue
        found_slope = found_slope or _first_infinite_slope(setup, plain)
        if found_slope is not None:
            diagnoses.append(Diagnosis(f"d/d{name}", _kind(gradient), found_slope.node, found_slope.column,
                                       found_slope.reason, _first_bad(gradient)))
    return diagnoses


def _first_non_finite_value(setup: Setup, plain: list[torch.Tensor]) -> Diagnosis | None:
    program = setup.program
    with torch.no_grad():
        slots = program.slots(plain, setup.dtype, setup.device)
    for name, tensor in zip(program.variables, slots):
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            return Diagnosis("value", _kind(tensor), name, None, f"is given as {_number(tensor)}", _first_bad(tensor))
    base = len(program.variables) + len(program.constants)
    for position, ((_, arguments), node) in enumerate(zip(program.steps, program.nodes)):
        result = slots[base + position]
        if result.is_floating_point() and not bool(torch.isfinite(result).all()):
            element = _first_bad(result)
            values = [_at(slots[slot], element, result) for slot in arguments]
            return Diagnosis("value", _kind(result), _text(node), _column(setup, node),
                             _why_value(node, values, _at(result, element, result)), element)
    return None


def _first_infinite_slope(setup: Setup, plain: list[torch.Tensor]) -> Diagnosis | None:
    """The first step whose own derivative is not finite where its value is (sqrt at 0)."""
    program = setup.program
    with torch.no_grad():
        slots = program.slots(plain, setup.dtype, setup.device)
    base = len(program.variables) + len(program.constants)
    for position, ((function, arguments), node) in enumerate(zip(program.steps, program.nodes)):
        values = [slots[slot].detach().clone().requires_grad_(slots[slot].is_floating_point())
                  for slot in arguments]
        floating = [v for v in values if v.requires_grad]
        if not floating:
            continue
        try:
            with torch.enable_grad():
                output = function(*values)
                if not output.requires_grad:
                    continue
                slopes = torch.autograd.grad(output.sum(), floating, allow_unused=True)
        except RuntimeError:
            continue
        bad = [(slope, argument) for slope, argument in zip(slopes, floating)
               if slope is not None and not bool(torch.isfinite(slope).all())]
        if bad and bool(torch.isfinite(slots[base + position]).all()):
            slope, argument = bad[0]
            return Diagnosis("", _kind(slope), _text(node), _column(setup, node),
                             f"has an infinite slope where its argument is {_number(argument.detach())}")
    return None


def _why_value(node: sp.Basic, values: list[torch.Tensor], result: torch.Tensor) -> str:
    """The reason, read from the kind of operation and the numbers it got."""
    numbers = [_number(value) for value in values]
    finite_in = all(bool(torch.isfinite(value).all()) for value in values if value.is_floating_point())
    name = type(node).__name__
    if not finite_in:
        return f"gets {', '.join(numbers)}"
    first = values[0] if values else torch.tensor(math.nan)
    if isinstance(node, sp.Add) and _has(values, math.inf) and _has(values, -math.inf):
        return "is inf - inf"
    if isinstance(node, sp.Mul):
        from .lowering import _split_fraction

        count = len(_split_fraction(node.args)[0])
        top, bottom = values[:count], values[count:]
        if any(bool((value == 0).any()) for value in bottom):
            return "divides by zero" + (" (0/0)" if any(bool((value == 0).any()) for value in top) else "")
        if _has(values, math.inf) or _has(values, -math.inf):
            return f"multiplies {', '.join(numbers)}"
        return "overflows float64"
    if isinstance(node, sp.Pow):
        if bool((first == 0).any()) and node.exp.is_number and node.exp < 0:
            return "divides by zero (0 to a negative power)"
        if bool((first < 0).any()):
            return f"gets {numbers[0]}: a negative number to the power {formula(node.exp)} is not real"
        return "overflows float64"
    if name in ("log", "log1p", "log2", "log10"):
        edge = -1 if name == "log1p" else 0
        return f"gets {numbers[0]}, " + ("where log is -inf" if bool((first == edge).any()) else "outside log's domain")
    if name in ("asin", "acos", "atanh", "acosh", "asec", "acsc", "acoth", "asech"):
        return f"gets {numbers[0]}, outside {name}'s domain"
    if name in ("exp", "sinh", "cosh", "gamma", "factorial", "expm1"):
        return f"overflows float64 at {numbers[0]}"
    if name in ("tan", "sec", "csc", "cot", "coth", "csch"):
        return f"gets {numbers[0]}, at a pole of {name}"
    if name == "held":
        return f"is the constant {_text(node.args[0])}, which is {_kind(result)} in float arithmetic"
    return f"gets {', '.join(numbers)}"


def _at(tensor: torch.Tensor, element: list[int] | None, like: torch.Tensor) -> torch.Tensor:
    """The argument's element that made the result's first non-finite element (itself if it is a
    scalar or of another shape)."""
    if element is None or tensor.shape != like.shape:
        return tensor
    return tensor[tuple(element)]


def _text(node: sp.Basic) -> str:
    text = formula(node)
    return text if len(text) <= 60 else text[:57] + "..."


def _column(setup: Setup, node: sp.Basic) -> int | None:
    span = setup.parsed.spans.get(node)
    return None if span is None else span[0] + 1


def _has(values: list[torch.Tensor], number: float) -> bool:
    return any(bool((value == number).any()) for value in values if value.is_floating_point())


def _kind(tensor: torch.Tensor) -> str:
    flat = tensor.detach().reshape(-1)
    bad = flat[~torch.isfinite(flat)]
    return "nan" if bad.numel() == 0 else _number(bad[0])


def _number(tensor: torch.Tensor) -> str:
    """A scalar's value, or a tensor's first non-finite element (else its first element)."""
    flat = tensor.detach().reshape(-1).double()
    if flat.numel() == 0:
        return "an empty tensor"
    bad = flat[~torch.isfinite(flat)]
    value = float(bad[0] if bad.numel() else flat[0])
    return repr(value) if not math.isfinite(value) else f"{value:g}"


def _first_bad(tensor: torch.Tensor) -> list[int] | None:
    if tensor.dim() == 0:
        return None
    positions = torch.nonzero(~torch.isfinite(tensor.detach()))
    return [int(i) for i in positions[0].tolist()] if positions.numel() else None
