"""Setting up one request: parse and lower once per text (cached), check the bindings against the
expression's variables, and make the leaf tensors."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..errors import DerivcliError
from ..results import (
    ParseInfo,
)

if TYPE_CHECKING:
    import torch

    from ..lowering.program import Program
    from ..parsing import Context, ParsedExpression


@dataclass
class Setup:
    """An expression ready to differentiate: parsed, lowered, with leaf tensors for its point."""

    parsed: ParsedExpression
    program: Program
    values: dict[str, Any]  # name -> float or float64 tensor, as given
    variables: list[str]  # the Program's inputs, in order
    wrt: list[str]
    inputs: list[torch.Tensor]
    dtype_name: str
    dtype: torch.dtype
    device: torch.device
    warnings: list[str]
    given: dict[str, Any] = field(default_factory=dict)  # name -> the value as the caller gave it (its kind)

    @property
    def wrt_indices(self) -> list[int]:
        return [self.variables.index(name) for name in self.wrt]

    def parse_info(self) -> ParseInfo:
        return ParseInfo(self.parsed.source, self.parsed.canonical, self.parsed.notes, self.parsed.as_written)


@lru_cache(maxsize=4096)
def compile_text(expression: str, extra: tuple[str, ...] = (), context: Context | None = None
                 ) -> tuple[ParsedExpression, Program]:
    """Parse and lower once per expression text, reading context and extra differentiated variables:
    streams and batches repeat expressions.  Results are never mutated, so sharing them is safe."""
    from ..lowering.program import lower
    from ..parsing import parse

    parsed = parse(expression, context)
    return parsed, lower(parsed.computed, parsed.variables + list(extra))


def reading_context(names: Sequence[str], wrt: Sequence[str] | None, values: Mapping[str, Any] | None = None
                    ) -> Context:
    """What the command line says about names, for reading the text (see `parsing.Context`); with the
    values, the ranks of the tensors among them (`max(X, 1)` reads two ways with a tensor X)."""
    return _context(names, wrt, tensor_ranks(values or {}))


def tensor_ranks(values: Mapping[str, Any]) -> frozenset[tuple[str, int]]:
    return frozenset((name, value.dim()) for name, value in values.items() if hasattr(value, "dim"))


def _context(names: Sequence[str], wrt: Sequence[str] | None, ranks: frozenset[tuple[str, int]]) -> Context:
    from ..parsing import Context

    return Context(frozenset(names), frozenset(wrt or ()), ranks=ranks)


class MissingValues(DerivcliError):
    """Variables of the expression without a value: the hint says how to give them on a command line; a
    batch says it in its own terms (streams.answer)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(f"no value for variable{'s' if len(names) > 1 else ''} {', '.join(names)}",
                         hint="give it with " + " ".join(f"--{name} VALUE" for name in names))
        self.names = names


def prepare(expression: str, point: Mapping[str, Any], wrt: Sequence[str] | None, dtype: str,
            device: str, share: bool = False) -> Setup:
    """Parse, check the bindings against the expression's variables, lower, and make the leaf tensors.

    `share`: the leaves may share memory with the tensors given (no copy), for callers that never write
    to them (`optimize` updates its leaves in place: it gets copies)."""
    names = _binding_names(tuple(point))
    values = {names[name]: _as_value(name, value) for name, value in point.items()}
    if not isinstance(dtype, str) or not isinstance(device, str):
        from .autograd import torch_device, torch_dtype

        torch_dtype(dtype), torch_device(device)  # say what is wrong with them (they are the plan's keys)
    plan = _plan(expression, tuple(values), tensor_ranks(values), None if wrt is None else tuple(wrt), dtype, device)
    if dtype == "float32":
        for name, value in values.items():
            _refuse_overflow(name, value)
    parsed, program = compile_text(expression, plan.extra, plan.context)
    inputs = make_inputs(values, plan.variables, plan.wrt, plan.dtype, plan.device, share)
    return Setup(parsed, program, values, list(plan.variables), list(plan.wrt), inputs, dtype, plan.dtype,
                 plan.device, list(plan.warnings), {names[name]: value for name, value in point.items()})


def make_inputs(point: dict[str, Any], variables: Sequence[str], wrt: Sequence[str], dtype: torch.dtype,
                device: torch.device, share: bool = False) -> list[torch.Tensor]:
    """One leaf tensor per variable (a vector or matrix stays one tensor); only the differentiated ones
    record gradients.  Each is a copy, unless `share`: then a tensor already in the dtype and on the device
    keeps its memory: a differentiated one (or one on the caller's graph) as a new leaf over it, a constant
    off any graph as the very tensor given."""
    import torch

    leaves = []
    for name in variables:
        value = point[name]
        if isinstance(value, float):  # a number: its fresh tensor is the leaf (no copy or view of it)
            leaves.append(torch.tensor(value, dtype=dtype, device=device, requires_grad=name in wrt))
            continue
        if not (isinstance(value, torch.Tensor) and value.dtype == dtype and value.device == device):
            value = torch.as_tensor(value, dtype=dtype, device=device)
        if not share:
            leaves.append(value.clone().requires_grad_(name in wrt))
        elif name in wrt or value.requires_grad:  # a new leaf over the same memory, the caller's untouched
            leaves.append(value.detach().requires_grad_(name in wrt))
        else:  # a constant off any graph, used as it is
            leaves.append(value)
    return leaves


@lru_cache(maxsize=1024)
def _binding_names(given: tuple[str, ...]) -> dict[str, str]:
    """`binding_names`, once per set of names: a loop over calls gives the same ones every time.  (The
    dict is shared: callers only read it.)"""
    from ..inputs.names import binding_names

    return binding_names(given)


@dataclass(frozen=True)
class _Plan:
    """What a call's text, variable names, tensor ranks, --wrt, dtype and device decide, whatever the
    values: a loop over calls (a training step, a sweep) works it out once.  The parsed text and its
    Program stay `compile_text`'s to cache (and to forget)."""

    context: Context
    extra: tuple[str, ...]  # differentiated variables the text does not hold
    variables: tuple[str, ...]
    wrt: tuple[str, ...]
    warnings: tuple[str, ...]
    dtype: torch.dtype
    device: torch.device


@lru_cache(maxsize=1024)
def _plan(expression: str, bound: tuple[str, ...], ranks: frozenset[tuple[str, int]], wrt: tuple[str, ...] | None,
          dtype: str, device: str) -> _Plan:
    """Read the text in the context of the names given, and check the names against its variables
    (errors are raised, never cached)."""
    from .autograd import torch_device, torch_dtype

    context = _context(bound, wrt, ranks)
    parsed, _ = compile_text(expression, (), context)
    asked = text_wrt(parsed, wrt)
    variables = parsed.variables
    missing = [name for name in variables if name not in bound]
    if missing:
        raise MissingValues(missing)
    wrt_names = list(dict.fromkeys(asked)) if asked else list(variables)
    for name in wrt_names:
        if name not in bound:
            raise DerivcliError(f"--wrt {name}: '{name}' is not a variable of the expression",
                                hint=f"its variables are {', '.join(variables) or 'none'}")
    warnings = [f"--{name} is given but '{name}' is not in the expression"
                for name in bound if name not in variables and name not in wrt_names]
    extra = tuple(name for name in wrt_names if name not in variables)
    torch_type, torch_place = torch_dtype(dtype), torch_device(device)
    return _Plan(context, extra, tuple(variables) + extra, tuple(wrt_names), tuple(warnings), torch_type,
                 torch_place)


def text_wrt(parsed: ParsedExpression, wrt: Sequence[str] | None) -> Sequence[str] | None:
    """The variables to differentiate: --wrt, or what the text asks (`d/dx …`); both must agree."""
    if not parsed.wrt:
        return wrt
    if wrt and list(dict.fromkeys(wrt)) != list(parsed.wrt):
        raise DerivcliError(f"the expression differentiates by {', '.join(parsed.wrt)} but --wrt says "
                            f"{', '.join(wrt)}", hint="give one of them")
    return list(parsed.wrt)


FLOAT32_LARGEST = 3.4028234663852886e38


def _refuse_overflow(name: str, value: Any) -> None:
    """A finite value float32 cannot hold (`--x 1e40 --dtype float32`) would silently become inf: refuse
    it, naming the dtype.  (Infinity itself, written `inf`, is the user's to give; values are float64 already,
    so float64 needs no look, and a tensor in float64 costs no pass over it.)"""
    import torch

    magnitude = torch.as_tensor(value, dtype=torch.float64).abs()
    if bool(((magnitude > FLOAT32_LARGEST) & (magnitude != math.inf)).any()):
        raise DerivcliError(f"the value of {name} overflows float32 (largest float32: about {FLOAT32_LARGEST:.2g})",
                            hint="use --dtype float64")


def _as_value(name: str, value: object) -> Any:
    """A number, or a vector/matrix (nested list, numpy array or tensor) as a float64 tensor."""
    import torch

    if isinstance(value, torch.Tensor):
        if not value.dim():
            return float(value)
        own = value.detach() if value.requires_grad else value  # a tensor off any graph is used as it is
        return own if own.dtype == torch.float64 else own.to(torch.float64)
    if isinstance(value, (list, tuple)):
        from ..inputs.tensor_values import tensor_from_list

        return tensor_from_list(name, list(value))
    if _numeric_numpy(value):  # torch reads the array's memory: no pass through Python lists
        array: Any = value
        if not array.ndim:
            return float(array)
        shared = array.flags.writeable and min(array.strides) >= 0  # what torch can share (nothing writes to it)
        return torch.as_tensor(array if shared else array.copy()).to(torch.float64)
    if hasattr(value, "__array__") and hasattr(value, "tolist"):  # another array: its lists are checked
        from ..inputs.tensor_values import tensor_from_list

        nested = value.tolist()
        return tensor_from_list(name, nested) if isinstance(nested, list) else float(nested)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str) and not value.isascii():  # float() reads Bengali '৪' (it looks like 8) as 4
            raise DerivcliError(f"the value of {name} must be written in ASCII digits, got {value!r:.40}")
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise DerivcliError(f"the value of {name} must be a number or a list of numbers, "
                                f"got {value!r:.40}") from None
    try:
        return float(value)
    except OverflowError:  # an integer beyond float64 (JSON allows any number of digits)
        raise DerivcliError(f"the value of {name} overflows float64 (about {len(str(abs(value))):,} digits)",
                            hint="float64 holds numbers up to about 1.8e308") from None


def _numeric_numpy(value: object) -> bool:
    """A non-empty numpy array of integers or floats up to 64 bits, which torch reads as it is; empty ones,
    booleans and objects go through the lists' checks and errors."""
    import sys

    numpy = sys.modules.get("numpy")
    return (numpy is not None and isinstance(value, numpy.ndarray) and value.size > 0
            and value.dtype.kind in "fiu" and value.dtype.itemsize <= 8 and value.dtype.isnative)
