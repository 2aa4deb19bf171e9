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

from ..symbolic.exact import evaluated
from ..symbolic.formula_text import formula
from ..table.sympy_forms import TensorFunction

if TYPE_CHECKING:
    from ..differentiate.setup import Setup


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
        from ..lowering.program import _split_fraction

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


# ------------------------------------------------------------------------- where precision is lost
MAX_TRACED_STEPS = 2_000  # the trace evaluates each step once at TRACE_DIGITS: beyond this, it says nothing
TRACE_DIGITS = 40


@dataclass
class PrecisionLoss:
    """The step of the Program where the working dtype's value leaves the true one: the cause of an
    inaccurate or non-finite answer that the 30-digit reference shows."""

    kind: str  # overflow, underflow, cancellation, inaccurate operation, amplified rounding
    node: str
    column: int | None
    computed: float  # the step's value in the working dtype
    true: float  # the step's true value (inf where it is beyond every float)
    relative_error: float
    true_text: str = ""  # the true value to 12 digits, also beyond the floats' range (e^800)

    def message(self) -> str:
        where = f" at column {self.column}" if self.column is not None else ""
        true = self.true_text or _short(self.true)
        shown = f"{self.node}{where} gives {_short(self.computed)} where the true value is {true}"
        return {
            "overflow": f"{self.node}{where} overflows to {_short(self.computed)} (its true value is {true})",
            "underflow": f"{self.node}{where} underflows to {_short(self.computed)} (its true value is {true})",
            "cancellation": f"cancellation at {shown} (relative error {self.relative_error:.2g}): nearly equal "
                            "numbers are subtracted and their rounding errors remain",
            "inaccurate operation": f"torch's {shown} (relative error {self.relative_error:.2g}) for its own "
                                    "rounded arguments: the operation itself is inaccurate here",
        }.get(self.kind, f"precision is lost at {shown} (relative error {self.relative_error:.2g}): the rounding "
                         "of its arguments is amplified")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "node": self.node, "column": self.column, "computed": self.computed,
                "true": self.true, "true_text": self.true_text or _short(self.true),
                "relative_error": self.relative_error}


@dataclass
class Trace:
    """Each step of the Program evaluated at TRACE_DIGITS digits beside its value in the working dtype."""

    defined: bool | None  # every step real and finite over the reals (None: tensors, or too many steps)
    value: float | None  # f's true value where defined
    loss: PrecisionLoss | None  # the step where the most precision is lost, where any is

    def overflowed(self) -> bool:
        """A step overflowed where its true value is finite: f's non-finite value is the dtype's."""
        return self.loss is not None and self.loss.kind == "overflow"


def trace(setup: Setup) -> Trace:
    """Run the Program step by step in the working dtype and again at high precision, each step's true
    value from its arguments' true values, and find the first step whose relative error jumps past its
    arguments' (the largest jump; a non-finite value where the truth is finite wins).  Scalar steps only:
    a tensor step ends the trace, with only the loss seen before it.  Within the check's time budget
    (the one around it, where there is one): past it, the trace has nothing to say."""
    from ..limits.budget import CHECK_SECONDS, OverBudget, time_budget

    try:
        with time_budget(CHECK_SECONDS):
            return _trace(setup)
    except OverBudget:
        return Trace(None, None, None)


def _trace(setup: Setup) -> Trace:
    program = setup.program
    if len(program.steps) > MAX_TRACED_STEPS:
        return Trace(None, None, None)
    plain = [tensor.detach() for tensor in setup.inputs]
    with torch.no_grad():
        slots = program.slots(plain, setup.dtype, setup.device)
    epsilon = torch.finfo(setup.dtype).eps
    exact = {_symbol(setup, name): sp.Rational(float(value)) for name, value in zip(program.variables, plain)
             if value.dim() == 0}
    base = len(program.variables) + len(program.constants)
    truths: dict[int, sp.Basic] = {}  # slot -> true value
    errors: dict[int, float] = {}  # slot -> relative error in the working dtype
    best: tuple[float, int] | None = None  # (jump, step)
    for position, ((_, arguments), node) in enumerate(zip(program.steps, program.nodes)):
        slot = base + position
        computed = slots[slot]
        if computed.numel() != 1 or isinstance(node, TensorFunction):  # what the scalar steps before it show
            return Trace(None, None, None if best is None else _loss(setup, best[1], slots, truths, errors))
        known = {program.nodes[argument - base]: truths[argument] for argument in arguments
                 if argument >= base and argument in truths}
        true = evaluated(node.xreplace(known).xreplace(exact), TRACE_DIGITS)
        if true is None:
            return Trace(None, None, None)
        if true in (sp.true, sp.false) or computed.dtype == torch.bool:
            truths[slot] = true
            continue
        if not (true.is_number and true.is_extended_real and true.is_finite):
            return Trace(False, None, None)  # not real, or not finite: f is not defined here
        truths[slot] = true
        error = _relative_error(float(computed), true, epsilon)
        errors[slot] = error
        before = max([errors.get(argument, 0.0) for argument in arguments] + [epsilon])
        jump = error / before
        if error > 64 * epsilon and jump > 64 and (best is None or jump > best[0]):
            best = (jump, position)
    root = truths.get(program.output)
    value = float(root) if root is not None and program.output >= base else None
    if program.output < base:  # f is a variable or a constant
        value = float(slots[program.output])
    loss = None if best is None else _loss(setup, best[1], slots, truths, errors)
    return Trace(True, value, loss)


def _loss(setup: Setup, position: int, slots: list[torch.Tensor], truths: dict[int, sp.Basic],
          errors: dict[int, float]) -> PrecisionLoss:
    """What kind of loss the step at `position` is: read from its value, its truth, and the operation
    applied exactly to its rounded arguments."""
    program = setup.program
    base = len(program.variables) + len(program.constants)
    node = program.nodes[position]
    _, arguments = program.steps[position]
    computed, true = float(slots[base + position]), truths[base + position]
    finfo = torch.finfo(setup.dtype)
    kind = "amplified rounding"
    if not math.isfinite(computed):
        kind = "overflow"
    elif abs(computed) < finfo.tiny and true != 0:
        kind = "underflow"
    else:
        rounded = {program.nodes[a - base]: sp.Float(float(slots[a]), TRACE_DIGITS) for a in arguments if a >= base}
        rounded.update({_symbol(setup, name): sp.Rational(float(slots[i])) for i, name in enumerate(program.variables)})
        operation = evaluated(node.xreplace(rounded), TRACE_DIGITS)
        own = 0.0
        if operation is not None and operation.is_extended_real:
            own = _relative_error(computed, operation, finfo.eps)
        if own > 64 * finfo.eps:
            kind = "inaccurate operation"
        elif isinstance(node, sp.Add):
            kind = "cancellation"
    return PrecisionLoss(kind, _text(node), _column(setup, node), computed, float(true), errors[base + position],
                         _text_of(true))


def _symbol(setup: Setup, name: str) -> sp.Symbol:
    return setup.parsed.symbols.get(name) or sp.Symbol(name)


def _relative_error(computed: float, true: Any, epsilon: float) -> float:
    if not math.isfinite(computed):
        return math.inf
    exact = sp.Float(true, TRACE_DIGITS)
    scale = abs(exact) if exact != 0 else sp.Float(epsilon) ** 2
    return float(abs(sp.Float(computed, TRACE_DIGITS) - exact) / scale)


def _text_of(true: sp.Basic) -> str:
    """A true value to 12 digits, in the same style as the floats beside it."""
    text = sp.Float(true, 12).__str__()
    mantissa, _, exponent = text.partition("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    return mantissa + (f"e{int(exponent):+03d}" if exponent else "")


def _short(number: float) -> str:
    return f"{number:.12g}"


# The wire contract of this module's to_json: tests/schema_build.py gathers every module's into
# derivcli/schemas/derivcli.schema.json (its $defs; JSON_OUTPUTS also join its root).
JSON_SCHEMA = {
    "verdict": {
        "description": (
            "A number judged against its 30-digit truth: agree (within the dtype's tolerance), DISAGREE (off it, and "
            "off SymPy's formula in the same dtype), inaccurate (off it, as the formula is: precision lost alike), "
            "non-finite (NaN or infinite where the truth is finite), kink (f has no derivative here), undefined (the "
            "truth is not finite either). DISAGREE, inaccurate and non-finite exit 1."
        ),
        "enum": ["agree", "DISAGREE", "inaccurate", "non-finite", "kink", "undefined"],
    },
    "precision_loss": {
        "description": "The step of f where the working dtype leaves the truth: the cause of a failing verdict.",
        "type": "object", "required": ["kind", "node", "column", "computed", "true", "true_text", "relative_error"],
        "additionalProperties": False,
        "properties": {
            "kind": {"enum": ["overflow", "underflow", "cancellation", "inaccurate operation", "amplified rounding"]},
            "node": {"type": "string"}, "column": {"type": ["integer", "null"], "minimum": 1},
            "computed": {"$ref": "#/$defs/number"}, "true": {"$ref": "#/$defs/number"}, "true_text": {"type": "string"},
            "relative_error": {"$ref": "#/$defs/number"},
        },
    },
}
