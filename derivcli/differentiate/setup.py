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
    from ..parsing import Context

    ranks = frozenset((name, value.dim()) for name, value in (values or {}).items() if hasattr(value, "dim"))
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
    from ..inputs.names import binding_names
    from .autograd import make_inputs, torch_device, torch_dtype

    names = binding_names(point)
    values = {names[name]: _as_value(name, value) for name, value in point.items()}
    context = reading_context(list(values), wrt, values)
    parsed, _ = compile_text(expression, (), context)
    wrt = text_wrt(parsed, wrt)
    variables = parsed.variables
    missing = [name for name in variables if name not in values]
    if missing:
        raise MissingValues(missing)
    wrt_names = list(dict.fromkeys(wrt)) if wrt else list(variables)
    for name in wrt_names:
        if name not in values:
            raise DerivcliError(f"--wrt {name}: '{name}' is not a variable of the expression",
                                hint=f"its variables are {', '.join(variables) or 'none'}")
    warnings = [f"--{name} is given but '{name}' is not in the expression"
                for name in values if name not in variables and name not in wrt_names]
    extra = tuple(name for name in wrt_names if name not in variables)
    variables = variables + list(extra)
    torch_type, torch_place = torch_dtype(dtype), torch_device(device)
    for name, value in values.items():
        _refuse_overflow(name, value, dtype)
    _, program = compile_text(expression, extra, context)
    inputs = make_inputs(values, variables, wrt_names, torch_type, torch_place, share)
    return Setup(parsed, program, values, variables, wrt_names, inputs, dtype, torch_type, torch_place, warnings,
                 {names[name]: value for name, value in point.items()})


def text_wrt(parsed: ParsedExpression, wrt: Sequence[str] | None) -> Sequence[str] | None:
    """The variables to differentiate: --wrt, or what the text asks (`d/dx …`); both must agree."""
    if not parsed.wrt:
        return wrt
    if wrt and list(dict.fromkeys(wrt)) != list(parsed.wrt):
        raise DerivcliError(f"the expression differentiates by {', '.join(parsed.wrt)} but --wrt says "
                            f"{', '.join(wrt)}", hint="give one of them")
    return list(parsed.wrt)


FLOAT32_LARGEST = 3.4028234663852886e38


def _refuse_overflow(name: str, value: Any, dtype: str) -> None:
    """A finite value float32 cannot hold (`--x 1e40 --dtype float32`) would silently become inf: refuse
    it, naming the dtype.  (Infinity itself, written `inf`, is the user's to give; values are float64 already,
    so float64 needs no look, and a tensor in float64 costs no pass over it.)"""
    if dtype != "float32":
        return
    import torch

    magnitude = torch.as_tensor(value, dtype=torch.float64).abs()
    if bool(((magnitude > FLOAT32_LARGEST) & (magnitude != math.inf)).any()):
        raise DerivcliError(f"the value of {name} overflows float32 (largest float32: about {FLOAT32_LARGEST:.2g})",
                            hint="use --dtype float64")


def _as_value(name: str, value: object) -> Any:
    """A number, or a vector/matrix (nested list, numpy array or tensor) as a float64 tensor."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().to(torch.float64) if value.dim() else float(value)
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
