"""The library's front door: parse -> lower -> differentiate -> check, returning result objects.

The CLI is a thin layer over these functions; they never print.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import DerivcliError
from .results import GradResult, JacobianResult, ParseInfo, to_plain

if TYPE_CHECKING:
    import torch

    from .lowering import Program
    from .parsing import ParsedExpression


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

    @property
    def wrt_indices(self) -> list[int]:
        return [self.variables.index(name) for name in self.wrt]

    def parse_info(self) -> ParseInfo:
        return ParseInfo(self.parsed.source, self.parsed.canonical, self.parsed.notes)


def prepare(expression: str, point: Mapping[str, Any], wrt: Sequence[str] | None, dtype: str, device: str,
            seed: int | None = None) -> Setup:
    """Parse, check the bindings against the expression's variables, lower, and make the leaf tensors."""
    from .bindings import check_name
    from .derivatives import make_inputs, torch_device, torch_dtype
    from .lowering import lower
    from .parsing import parse

    parsed = parse(expression)
    values = {check_name(name): _as_value(name, value) for name, value in point.items()}
    variables = parsed.variables
    missing = [name for name in variables if name not in values]
    if missing:
        raise DerivcliError(f"no value for variable{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                            hint="give it with " + " ".join(f"--{name} VALUE" for name in missing))
    wrt_names = list(dict.fromkeys(wrt)) if wrt else list(variables)
    for name in wrt_names:
        if name not in values:
            raise DerivcliError(f"--wrt {name}: '{name}' is not a variable of the expression",
                                hint=f"its variables are {', '.join(variables) or 'none'}")
    warnings = [f"--{name} is given but '{name}' is not in the expression"
                for name in values if name not in variables and name not in wrt_names]
    variables = variables + [name for name in wrt_names if name not in variables]
    torch_type, torch_place = torch_dtype(dtype), torch_device(device)
    program = lower(parsed.expr, variables)
    inputs = make_inputs(values, variables, wrt_names, torch_type, torch_place)
    return Setup(parsed, program, values, variables, wrt_names, inputs, dtype, torch_type, torch_place, warnings)


def grad(
    expression: str,
    point: Mapping[str, Any] | None = None,
    *,
    wrt: Sequence[str] | None = None,
    check: bool = False,
    fd: bool = False,
    fd_steps: Sequence[float] | None = None,
    dtype: str = "float64",
    device: str = "cpu",
    **bindings: Any,
) -> GradResult:
    """Value and gradient of a scalar `expression` at a point, by torch autograd.

    Values are numbers, nested lists or tensors (vectors and matrices).  Variables not in `wrt` are held
    constant.  `check` adds SymPy's derivative evaluated at the point, `fd` a finite-difference table
    (along a fixed random direction for tensor variables).  A variable whose name clashes with a keyword
    goes in `point`.

    >>> result = grad("u**2 + v**3 + u*v", u=2, v=4)
    >>> result.value, result.gradient
    (76.0, {'u': 8.0, 'v': 50.0})
    >>> grad("sum(x*x)", x=[0, 1, 2, 3]).gradient
    {'x': [0.0, 2.0, 4.0, 6.0]}
    """
    from .checks import DEFAULT_STEPS, finite_differences, symbolic_check
    from .derivatives import gradient

    setup = prepare(expression, {**(point or {}), **bindings}, wrt, dtype, device)
    value_tensor, grads = gradient(setup.program, setup.inputs, setup.wrt_indices, setup.dtype, setup.device)
    value = float(value_tensor.detach())
    derivatives = {name: to_plain(g) for name, g in zip(setup.wrt, grads)}
    result = GradResult(
        expression=setup.parsed.canonical,
        point={name: to_plain(value_) for name, value_ in setup.values.items()},
        dtype=dtype,
        device=str(setup.device),
        value=value,
        gradient=derivatives,
        parse=setup.parse_info(),
        warnings=setup.warnings + _non_finite_warnings(value, derivatives),
    )
    if check:
        result.check = symbolic_check(setup, dict(zip(setup.wrt, grads)))
    if fd:
        result.finite_differences = finite_differences(setup, dict(zip(setup.wrt, grads)), value,
                                                       fd_steps or DEFAULT_STEPS)
    return result


def jacobian(
    expression: str,
    point: Mapping[str, Any] | None = None,
    *,
    wrt: Sequence[str] | None = None,
    dtype: str = "float64",
    device: str = "cpu",
    **bindings: Any,
) -> JacobianResult:
    """The Jacobian of a (vector- or matrix-valued) expression: for each variable, an array of shape
    output shape + variable shape.

    >>> jacobian("x**2", x=[1, 2]).jacobian
    {'x': [[2.0, 0.0], [0.0, 4.0]]}
    """
    from .derivatives import jacobians

    setup = prepare(expression, {**(point or {}), **bindings}, wrt, dtype, device)
    value, blocks = jacobians(setup.program, setup.inputs, setup.wrt_indices, setup.dtype, setup.device)
    plain_value = to_plain(value)
    result = JacobianResult(
        expression=setup.parsed.canonical,
        point={name: to_plain(value_) for name, value_ in setup.values.items()},
        dtype=dtype,
        device=str(setup.device),
        value=plain_value,
        output_shape=list(value.shape),
        jacobian={name: to_plain(block) for name, block in zip(setup.wrt, blocks)},
        variable_shapes={name: list(setup.inputs[i].shape) for name, i in zip(setup.wrt, setup.wrt_indices)},
        parse=setup.parse_info(),
        warnings=list(setup.warnings),
    )
    if not all(math.isfinite(v) for v in _flat(plain_value)):
        result.warnings.append("the value has non-finite entries at this point")
    if not all(math.isfinite(v) for block in result.jacobian.values() for v in _flat(block)):
        result.warnings.append("the Jacobian has non-finite entries at this point")
    return result


def _as_value(name: str, value: object) -> Any:
    """A number, or a vector/matrix (nested list, numpy array or tensor) as a float64 tensor."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().to(torch.float64) if value.dim() else float(value)
    if isinstance(value, (list, tuple)):
        from .bindings import tensor_from_list

        return tensor_from_list(name, list(value))
    if hasattr(value, "__array__") and hasattr(value, "tolist"):  # a numpy array
        from .bindings import tensor_from_list

        nested = value.tolist()
        return tensor_from_list(name, nested) if isinstance(nested, list) else float(nested)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise DerivcliError(f"the value of {name} must be a number or a list of numbers, "
                                f"got {value!r:.40}") from None
    return float(value)


def _flat(value: Any) -> list[float]:
    if isinstance(value, list):
        return [v for item in value for v in _flat(item)]
    return [value]


def _non_finite_warnings(value: float, derivatives: dict[str, Any]) -> list[str]:
    warnings = []
    if not math.isfinite(value):
        warnings.append(f"the value is {value} at this point (outside the function's domain, or a pole)")
    for name, derivative in derivatives.items():
        bad = [v for v in _flat(derivative) if not math.isfinite(v)]
        if bad:
            warnings.append(f"the derivative with respect to {name} is {bad[0]} at this point"
                            + (" (in some entries)" if isinstance(derivative, list) else ""))
    return warnings
