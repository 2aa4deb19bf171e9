"""The library's front door: parse -> lower -> differentiate -> check, returning result objects.

The CLI is a thin layer over these functions; they never print.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .errors import DerivcliError
from .results import (
    DiffResult,
    GradResult,
    HessianResult,
    JacobianResult,
    ParseInfo,
    TaylorResult,
    element_names,
    to_plain,
)

if TYPE_CHECKING:
    import torch

    from .lowering import Program
    from .parsing import Context, ParsedExpression


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
        return ParseInfo(self.parsed.source, self.parsed.canonical, self.parsed.notes, self.parsed.as_written)


@lru_cache(maxsize=4096)
def compile_text(expression: str, extra: tuple[str, ...] = (), context: Context | None = None
                 ) -> tuple[ParsedExpression, Program]:
    """Parse and lower once per expression text, reading context and extra differentiated variables:
    streams and batches repeat expressions.  Results are never mutated, so sharing them is safe."""
    from .lowering import lower
    from .parsing import parse

    parsed = parse(expression, context)
    return parsed, lower(parsed.computed, parsed.variables + list(extra))


def reading_context(names: Sequence[str], wrt: Sequence[str] | None) -> Context:
    """What the command line says about names, for reading the text (see `parsing.Context`)."""
    from .parsing import Context

    return Context(frozenset(names), frozenset(wrt or ()))


def prepare(expression: str, point: Mapping[str, Any], wrt: Sequence[str] | None, dtype: str,
            device: str) -> Setup:
    """Parse, check the bindings against the expression's variables, lower, and make the leaf tensors."""
    from .derivatives import make_inputs, torch_device, torch_dtype
    from .names import binding_names

    names = binding_names(point)
    values = {names[name]: _as_value(name, value) for name, value in point.items()}
    context = reading_context(list(values), wrt)
    parsed, _ = compile_text(expression, (), context)
    wrt = _text_wrt(parsed, wrt)
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
    extra = tuple(name for name in wrt_names if name not in variables)
    variables = variables + list(extra)
    torch_type, torch_place = torch_dtype(dtype), torch_device(device)
    _, program = compile_text(expression, extra, context)
    inputs = make_inputs(values, variables, wrt_names, torch_type, torch_place)
    return Setup(parsed, program, values, variables, wrt_names, inputs, dtype, torch_type, torch_place, warnings)


def _text_wrt(parsed: ParsedExpression, wrt: Sequence[str] | None) -> Sequence[str] | None:
    """The variables to differentiate: --wrt, or what the text asks (`d/dx …`); both must agree."""
    if not parsed.wrt:
        return wrt
    if wrt and list(dict.fromkeys(wrt)) != list(parsed.wrt):
        raise DerivcliError(f"the expression differentiates by {', '.join(parsed.wrt)} but --wrt says "
                            f"{', '.join(wrt)}", hint="give one of them")
    return list(parsed.wrt)


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
    import torch

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
        warnings=list(setup.warnings),
    )
    if not (math.isfinite(value) and all(bool(torch.isfinite(g).all()) for g in grads)):
        from .diagnosis import diagnose

        result.diagnosis = diagnose(setup, value_tensor, grads)
        explained = {d.of for d in result.diagnosis}
        result.warnings += [d.message() for d in result.diagnosis] + [
            warning for warning, of in _non_finite(value, derivatives) if of not in explained]
    kinks: list[str] = []
    non_smooth = False
    if check or fd:
        from .kinks import candidate_nodes, find_kinks

        non_smooth = bool(candidate_nodes(setup))
        result.nondifferentiable = find_kinks(setup, dict(zip(setup.wrt, grads))) if non_smooth else []
        kinks = list(dict.fromkeys(kink.variable.split("[")[0] for kink in result.nondifferentiable))
        result.warnings += [kink.message() for kink in result.nondifferentiable]
    if check:
        result.check = symbolic_check(setup, dict(zip(setup.wrt, grads)))
        result.check.kinks = kinks
        result.check.undefined = not math.isfinite(value)
    if fd:
        result.finite_differences = finite_differences(setup, dict(zip(setup.wrt, grads)), value,
                                                       fd_steps or DEFAULT_STEPS, kinks, non_smooth)
    return result


def jacobian(
    expression: str,
    point: Mapping[str, Any] | None = None,
    *,
    wrt: Sequence[str] | None = None,
    check: bool = False,
    fd: bool = False,
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
        from .diagnosis import diagnose

        result.diagnosis = diagnose(setup, value, [])
        result.warnings += [item.message() for item in result.diagnosis] or [
            "the value has non-finite entries at this point"]
    if not all(math.isfinite(v) for block in result.jacobian.values() for v in _flat(block)):
        result.warnings.append("the Jacobian has non-finite entries at this point")
    named = dict(zip(setup.wrt, blocks))
    if check or fd:
        from .kinks import find_kinks

        result.nondifferentiable = find_kinks(setup, named)
        result.warnings += [kink.message() for kink in result.nondifferentiable]
    if check:
        from .matrix_checks import jacobian_check

        result.check = jacobian_check(setup, named)
    if fd:
        from .matrix_checks import jacobian_differences

        result.finite_differences = jacobian_differences(setup, named)
    return result


def _as_value(name: str, value: object) -> Any:
    """A number, or a vector/matrix (nested list, numpy array or tensor) as a float64 tensor."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().to(torch.float64) if value.dim() else float(value)
    if isinstance(value, (list, tuple)):
        from .tensor_values import tensor_from_list

        return tensor_from_list(name, list(value))
    if hasattr(value, "__array__") and hasattr(value, "tolist"):  # a numpy array
        from .tensor_values import tensor_from_list

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


def _flat(value: Any) -> list[float]:
    if isinstance(value, list):
        return [v for item in value for v in _flat(item)]
    return [value]


def non_finite_warnings(value: float, derivatives: dict[str, Any]) -> list[str]:
    return [warning for warning, _ in _non_finite(value, derivatives)]


def _non_finite(value: float, derivatives: dict[str, Any]) -> list[tuple[str, str]]:
    """(warning, what it is about: "value" or "d/dx") for each non-finite result."""
    warnings = []
    if not math.isfinite(value):
        warnings.append((f"the value is {value} at this point (outside the function's domain, or a pole)", "value"))
    for name, derivative in derivatives.items():
        bad = [v for v in _flat(derivative) if not math.isfinite(v)]
        if bad:
            warnings.append((f"the derivative with respect to {name} is {bad[0]} at this point"
                             + (" (in some entries)" if isinstance(derivative, list) else ""), f"d/d{name}"))
    return warnings


def hessian(
    expression: str,
    point: Mapping[str, Any] | None = None,
    *,
    wrt: Sequence[str] | None = None,
    check: bool = False,
    fd: bool = False,
    dtype: str = "float64",
    device: str = "cpu",
    **bindings: Any,
) -> HessianResult:
    """The Hessian over the differentiated variables (tensor variables flattened as x[0], x[1], …), with
    its eigenvalues and what they say about the point.

    >>> hessian("(1-x)**2 + 100*(y-x**2)**2", x=1, y=1).hessian
    [[802.0, -400.0], [-400.0, 200.0]]
    """
    import torch

    from .higher import classify
    from .higher import hessian as compute_hessian

    setup = prepare(expression, {**(point or {}), **bindings}, wrt, dtype, device)
    value, gradient, matrix = compute_hessian(setup.program, setup.inputs, setup.wrt_indices, setup.dtype,
                                              setup.device)
    labels = [label for name in setup.wrt
              for label in element_names(name, tuple(setup.inputs[setup.variables.index(name)].shape))]
    symmetric = (matrix + matrix.T) / 2
    finite = bool(torch.isfinite(symmetric).all()) if symmetric.numel() else True
    eigenvalues = torch.linalg.eigvalsh(symmetric).tolist() if finite and symmetric.numel() else []
    scale = float(symmetric.abs().max()) if symmetric.numel() and finite else 1.0
    gradient_norm = float(torch.linalg.vector_norm(gradient)) if gradient.numel() else 0.0
    verdict = classify(eigenvalues, gradient_norm, scale) if finite else "the Hessian has non-finite entries"
    result = HessianResult(
        expression=setup.parsed.canonical,
        point={name: to_plain(value_) for name, value_ in setup.values.items()},
        dtype=dtype,
        variables=labels,
        value=float(value),
        gradient=gradient.tolist(),
        hessian=matrix.tolist(),
        eigenvalues=eigenvalues,
        verdict=verdict,
        parse=setup.parse_info(),
        warnings=list(setup.warnings),
    )
    if not math.isfinite(result.value) or not bool(torch.isfinite(gradient).all()):
        from .derivatives import gradient as first_derivatives
        from .diagnosis import diagnose

        value_tensor, grads = first_derivatives(setup.program, setup.inputs, setup.wrt_indices, setup.dtype,
                                                setup.device)
        result.diagnosis = diagnose(setup, value_tensor, grads)
        result.warnings += [item.message() for item in result.diagnosis]
    if not math.isfinite(result.value) or not finite:
        result.warnings.append("non-finite values at this point")
    if check or fd:
        from .derivatives import gradient as first_derivatives
        from .kinks import find_kinks

        _, grads = first_derivatives(setup.program, setup.inputs, setup.wrt_indices, setup.dtype, setup.device)
        result.nondifferentiable = find_kinks(setup, dict(zip(setup.wrt, grads)))
        result.warnings += [kink.message() for kink in result.nondifferentiable]
    if check:
        from .matrix_checks import hessian_check

        result.check = hessian_check(setup, matrix)
    if fd:
        from .matrix_checks import hessian_differences

        result.finite_differences = hessian_differences(setup, matrix)
    return result


def diff(
    expression: str,
    wrt: Sequence[str] | str | None = None,
    order: int = 1,
    point: Mapping[str, Any] | None = None,
    *,
    formula: bool | None = None,
    dtype: str = "float64",
    device: str = "cpu",
    **bindings: Any,
) -> DiffResult:
    """The symbolic derivative of any order (mixed partials: wrt=["x", "y"]), and with a point its value
    by torch (nested autograd at low order, Taylor mode at high order) checked against the formula.

    `formula` builds SymPy's formula; by default it does without a point, and with one up to order 4
    (formulas grow about 2x per order).

    >>> diff("x**3", "x", 2).derivative
    '6*x'
    >>> diff("exp(2*x)", "x", 10, x=0).derivative_value
    1024.0
    """
    from .higher import check_order
    from .names import binding_names
    from .parsing import parse

    check_order(order)
    values = {**(point or {}), **bindings}
    names = [wrt] if isinstance(wrt, str) else list(wrt or [])
    parsed = parse(expression, reading_context(list(binding_names(values).values()), names))
    names = list(_text_wrt(parsed, names) or [])
    if not names:
        if len(parsed.variables) != 1:
            raise DerivcliError("say which variable to differentiate with --wrt",
                                hint=f"the variables are {', '.join(parsed.variables) or 'none'}")
        names = list(parsed.variables)
    if len(names) > 1 and order > 1:
        raise DerivcliError("give --order with one variable, or list the variables of a mixed partial",
                            hint="--wrt x --order 3 is d³/dx³; --wrt x,y,y is ∂³/∂x∂y²")
    sequence = names * order if len(names) == 1 else names
    check_order(len(sequence))
    result = DiffResult(expression=parsed.canonical, wrt=sequence, derivative=None, latex=None,
                        parse=ParseInfo(parsed.source, parsed.canonical, parsed.notes, parsed.as_written))
    build_formula = formula if formula is not None else (not values or len(sequence) <= 4)
    derivative = _formula(parsed, sequence, result) if build_formula else None
    if not build_formula:
        result.notes.append(f"SymPy's formula is not built at order {len(sequence)} (it grows about 2x per "
                            "order); --formula builds it anyway")
    if values:
        _diff_at_point(expression, parsed, sequence, values, derivative, dtype, device, result)
    return result


def _formula(parsed: ParsedExpression, sequence: list[str], result: DiffResult) -> Any:
    from .symbolic import nth_derivative, presentable

    for name in sequence:
        if name not in parsed.symbols:
            raise DerivcliError(f"--wrt {name}: '{name}' is not a variable of the expression",
                                hint=f"its variables are {', '.join(parsed.variables) or 'none'}")
    derivative = nth_derivative(parsed.expr, [parsed.symbols[name] for name in sequence])
    if derivative is None:
        result.notes.append("SymPy's formula would be too large to build (over 200,000 nodes)")
        return None
    result.derivative, result.latex, note = presentable(derivative)
    if note:
        result.notes.append(note)
    return derivative


def _diff_at_point(expression: str, parsed: ParsedExpression, sequence: list[str], values: Mapping[str, Any],
                   derivative: Any, dtype: str, device: str, result: DiffResult) -> None:
    """The derivative's value by torch, and by the lowered formula when there is one."""
    import torch

    from .checks import TOLERANCES, agree
    from .higher import NESTED_AUTOGRAD_MAX, nested_autograd
    from .lowering import lower

    setup = prepare(expression, values, list(dict.fromkeys(sequence)), dtype, device)
    for name in setup.wrt:
        if setup.inputs[setup.variables.index(name)].numel() != 1:
            raise DerivcliError(f"diff at a point needs scalar variables; {name} is a tensor",
                                hint="use 'derivcli hessian' or 'derivcli jacobian' for tensor variables")
    result.point = {name: to_plain(value) for name, value in setup.values.items()}
    result.dtype = dtype
    result.warnings = list(setup.warnings)
    single = len(set(sequence)) == 1
    value, derivative_value, method = None, None, None
    if single and len(sequence) > NESTED_AUTOGRAD_MAX:
        value, derivative_value, method = _taylor_mode(setup, sequence[0], len(sequence))
    if derivative_value is None:
        if len(sequence) > 2 * NESTED_AUTOGRAD_MAX:
            raise DerivcliError(f"order {len(sequence)} needs Taylor mode, which this expression does not support "
                                f"({method or 'mixed partials'})",
                                hint=f"nested autograd is used up to order {2 * NESTED_AUTOGRAD_MAX}")
        value, derivative_value = nested_autograd(setup.program, setup.inputs,
                                                  [setup.variables.index(name) for name in sequence],
                                                  setup.dtype, setup.device)
        method = f"nested autograd ({len(sequence)} backward passes)"
    result.value, result.derivative_value, result.method = value, derivative_value, method
    if derivative is not None:
        with torch.no_grad():
            program = lower(derivative, setup.variables)
            result.formula_value = float(program([v.detach() for v in setup.inputs], dtype=setup.dtype,
                                                 device=setup.device))
        rtol, atol = TOLERANCES[setup.dtype]
        # each order loses a little accuracy to rounding: widen the tolerance with the order
        result.agree = agree(derivative_value, result.formula_value, rtol * 10 ** min(len(sequence) - 1, 6), atol)
    for label, number in (("value", value), ("derivative", derivative_value)):
        if number is not None and not math.isfinite(number):
            result.warnings.append(f"the {label} is {number} at this point")


def _taylor_mode(setup: Setup, name: str, order: int) -> tuple[float | None, float | None, str | None]:
    """(f, f^(order), method) by Taylor-mode arithmetic, or Nones with the reason it does not apply."""
    try:
        from .taylor_mode import TaylorUnsupported, derivatives
    except ImportError:  # pragma: no cover - the module ships with derivcli
        return None, None, None
    point = {n: float(v.detach()) for n, v in zip(setup.variables, setup.inputs)}
    try:
        values = derivatives(setup.parsed.expr, name, point, order, dtype=setup.dtype)
    except TaylorUnsupported as error:
        return None, None, str(error)
    return values[0], values[order], "Taylor mode"


def taylor(
    expression: str,
    point: Mapping[str, Any] | None = None,
    *,
    wrt: str | None = None,
    order: int = 5,
    dtype: str = "float64",
    **bindings: Any,
) -> TaylorResult:
    """The Taylor polynomial around the point: coefficients f^(k)(a)/k! by torch (Taylor mode, or nested
    autograd) beside SymPy's series.

    >>> taylor("exp(x)", x=0, order=3).coefficients
    [1.0, 1.0, 0.5, 0.16666666666666666]
    """
    import sympy as sp

    from .checks import TOLERANCES, agree
    from .higher import check_order, nested_autograd
    from .symbolic import series_coefficients

    check_order(order)
    values = {**(point or {}), **bindings}
    setup = prepare(expression, values, [wrt] if wrt else None, dtype, "cpu")
    if len(setup.wrt) != 1:
        raise DerivcliError("say which variable to expand in with --wrt",
                            hint=f"the variables are {', '.join(setup.variables)}")
    name = setup.wrt[0]
    index = setup.variables.index(name)
    if setup.inputs[index].numel() != 1:
        raise DerivcliError(f"taylor expands in one scalar variable; {name} is a tensor")
    around = float(setup.inputs[index].detach())
    notes: list[str] = []
    _, _, method = _taylor_mode(setup, name, order)
    if method and method.startswith("Taylor"):
        from .taylor_mode import taylor_coefficients

        point_values = {n: float(v.detach()) for n, v in zip(setup.variables, setup.inputs)}
        coefficients = taylor_coefficients(setup.parsed.expr, name, point_values, order, dtype=setup.dtype).tolist()
    else:
        if order > 8:
            raise DerivcliError(f"order {order} needs Taylor mode, which this expression does not support",
                                hint="nested autograd is used up to order 8")
        coefficients = [nested_autograd(setup.program, setup.inputs, [index] * k, setup.dtype, setup.device)[1]
                        / math.factorial(k) for k in range(order + 1)]
        method = "nested autograd"
    symbol = setup.parsed.symbols.get(name, sp.Symbol(name, real=True))
    constants = {setup.parsed.symbols[n]: float(v.detach()) for n, v in zip(setup.variables, setup.inputs)
                 if n != name and n in setup.parsed.symbols and v.numel() == 1}
    reference = series_coefficients(setup.parsed.expr, symbol, around, order, constants)
    agreement = None
    if reference is None:
        notes.append("SymPy's series did not finish within the time budget")
    else:
        rtol, atol = TOLERANCES[setup.dtype]
        agreement = all(agree(a, b, rtol * 100, atol) for a, b in zip(coefficients, reference))
    shift = name if around == 0 else f"({name} - {around!r})"
    terms = [f"{c!r}" if k == 0 else f"{c!r}*{shift}" + (f"**{k}" if k > 1 else "")
             for k, c in enumerate(coefficients) if c != 0]
    return TaylorResult(
        expression=setup.parsed.canonical, variable=name, around=around,
        point={n: to_plain(v) for n, v in setup.values.items()}, order=order, coefficients=coefficients,
        method=method or "nested autograd", sympy_coefficients=reference,
        polynomial=" + ".join(terms).replace("+ -", "- ") or "0", parse=setup.parse_info(), agree=agreement,
        notes=notes, warnings=list(setup.warnings),
    )

