"""The library's front door: parse -> lower -> differentiate -> check, returning result objects.

The CLI is a thin layer over these functions; they never print.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from .errors import DerivcliError
from .results import GradResult, ParseInfo


def grad(
    expression: str,
    point: Mapping[str, float] | None = None,
    *,
    wrt: Sequence[str] | None = None,
    check: bool = False,
    fd: bool = False,
    fd_steps: Sequence[float] | None = None,
    dtype: str = "float64",
    device: str = "cpu",
    **bindings: float,
) -> GradResult:
    """Value and gradient of `expression` at a point, by torch autograd.

    Variables not in `wrt` are held constant.  `check` adds SymPy's derivative evaluated at the point,
    `fd` a finite-difference table.  A variable whose name clashes with a keyword goes in `point`.

    >>> result = grad("u**2 + v**3 + u*v", u=2, v=4)
    >>> result.value, result.gradient
    (76.0, {'u': 8.0, 'v': 50.0})
    """
    from .bindings import check_name
    from .checks import DEFAULT_STEPS, finite_differences, symbolic_check
    from .derivatives import gradient, make_inputs, torch_device, torch_dtype
    from .lowering import lower
    from .parsing import parse

    parsed = parse(expression)
    values = {check_name(name): _as_float(name, value) for name, value in {**(point or {}), **bindings}.items()}
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
    value_tensor, grads = gradient(program, inputs, [variables.index(n) for n in wrt_names], torch_type,
                                   torch_place)
    value = float(value_tensor.detach())
    derivatives = {name: float(g) for name, g in zip(wrt_names, grads)}
    warnings += _non_finite_warnings(value, derivatives)

    result = GradResult(
        expression=parsed.canonical,
        point={name: values[name] for name in values},
        dtype=dtype,
        device=str(torch_place),
        value=value,
        gradient=derivatives,
        parse=ParseInfo(expression, parsed.canonical, parsed.notes),
        warnings=warnings,
    )
    if check:
        result.check = symbolic_check(parsed, inputs, wrt_names, derivatives, torch_type, torch_place)
    if fd:
        result.finite_differences = finite_differences(program, inputs, wrt_names, derivatives, value,
                                                       fd_steps or DEFAULT_STEPS, torch_type, torch_place)
    return result


def _as_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise DerivcliError(f"the value of {name} must be a number, got {value!r:.40}") from None
    return float(value)


def _non_finite_warnings(value: float, derivatives: dict[str, float]) -> list[str]:
    warnings = []
    if not math.isfinite(value):
        warnings.append(f"the value is {value} at this point (outside the function's domain, or a pole)")
    for name, derivative in derivatives.items():
        if not math.isfinite(derivative):
            warnings.append(f"the derivative with respect to {name} is {derivative} at this point")
    return warnings
