"""Derivatives at a point by torch autograd: `grad`, `jacobian`, `hessian`, with their checks."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..differentiate.setup import Setup, prepare
from ..errors import DerivcliError
from ..results import GradResult, HessianResult, JacobianResult, element_names, to_plain
from .returned import ArrayGradResult, all_finite, echo, in_kind, kind, to_flat


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
    expect: str | None = None,
    exact: Mapping[str, str] | None = None,
    as_lists: bool = False,
    **bindings: Any,
) -> GradResult:
    """Value and gradient of a scalar `expression` at a point, by torch autograd.

    Values are numbers, nested lists, numpy arrays or torch tensors (vectors and matrices).  Each
    derivative comes back in its variable's kind: a tensor for a tensor (in `dtype`, on `device`, never
    copied into lists), a numpy array for an array, lists for lists, a float for a number; `as_lists`
    gives lists for all (the JSON form).  The point in the result is given back the same way.

    Variables not in `wrt` are held constant.  `check` adds SymPy's derivative evaluated at the point,
    `fd` a finite-difference table (along a fixed random direction for tensor variables).  `expect`
    checks a derivative worked out by hand (a formula, or a number), `exact` gives exact values at a point
    written exactly (the values' texts: {"x": "pi/3"}).  A variable whose name clashes with a keyword goes
    in `point`.

    >>> result = grad("u**2 + v**3 + u*v", u=2, v=4)
    >>> result.value, result.gradient
    (76.0, {'u': 8.0, 'v': 50.0})
    >>> grad("sum(x*x)", x=[0, 1, 2, 3]).gradient
    {'x': [0.0, 2.0, 4.0, 6.0]}
    >>> import torch
    >>> grad("sum(x*x)", x=torch.tensor([0.0, 1.0, 2.0])).gradient
    {'x': tensor([0., 2., 4.], dtype=torch.float64)}
    """
    # (a training loop calls this for every step: `import a.b as b` costs a fifth of `from ..a import b`)
    import derivcli.checks.kinks as kink_search
    import derivcli.differentiate.autograd as engine

    setup = prepare(expression, bindings if point is None else {**point, **bindings}, wrt, dtype, device, share=True)
    candidates = {}

    def look(slots: list[Any]) -> None:
        candidates.update(kink_search.candidate_nodes(setup, slots))

    value_tensor, grads = engine.gradient(setup.program, setup.inputs, setup.wrt_indices, setup.dtype,
                                          setup.device, look if kink_search.watched_nodes(setup.program) else None)
    value = float(value_tensor.detach())
    forms = {name: "plain" if as_lists else kind(given) for name, given in setup.given.items()}
    result = (GradResult if all(form == "plain" for form in forms.values()) else ArrayGradResult)(
        expression=setup.parsed.canonical,
        point={name: echo(forms[name], setup.given[name], value_) for name, value_ in setup.values.items()},
        dtype=dtype,
        device=str(setup.device),
        value=value,
        gradient={name: in_kind(forms[name], g) for name, g in zip(setup.wrt, grads)},
        parse=setup.parse_info(),
        warnings=list(setup.warnings),
    )
    if not all_finite(value, grads):
        from ..checks.diagnosis import diagnose

        result.diagnosis = diagnose(setup, value_tensor, grads)
        explained = {d.of for d in result.diagnosis}
        result.warnings += [d.message() for d in result.diagnosis] + [
            warning for warning, of in _non_finite(value, result.gradient) if of not in explained]
    non_smooth, kinks = (_look_for_kinks(setup, result, dict(zip(setup.wrt, grads)), check or fd, candidates)
                         if candidates or check or fd else (False, []))
    if check:
        from ..checks.compare import symbolic_check

        result.check = symbolic_check(setup, dict(zip(setup.wrt, grads)), value)
        result.check.kinks = kinks
        result.warnings += result.check.findings
    if fd:
        from ..checks.differences import DEFAULT_STEPS, finite_differences

        result.finite_differences = finite_differences(setup, dict(zip(setup.wrt, grads)), value,
                                                       fd_steps or DEFAULT_STEPS, kinks, non_smooth)
    if expect is not None or exact is not None:
        _answers(setup, result, expect, exact)
    return result


def _answers(setup: Setup, result: GradResult, expect: str | None, exact: Mapping[str, str] | None) -> None:
    """--expect and --exact: the symbolic derivatives of scalar variables against the learner's answer."""
    from ..checks.compare import TOLERANCES
    from ..learn import check_answers

    tensors = [name for name in setup.wrt if hasattr(setup.values[name], "dim")]
    if tensors:
        raise DerivcliError(f"--expect and --exact work with scalar variables; {tensors[0]} is a tensor")
    labels = {name: f"d/d{name}" for name in setup.wrt}
    reference = result.check.reference if result.check is not None else {}
    check_answers(result, setup.parsed, {labels[name]: [name] for name in setup.wrt}, expect, exact,
                  value_of={labels[name]: float(result.gradient[name]) for name in setup.wrt},  # type: ignore[arg-type]
                  truth_of={labels[name]: value for name, value in reference.items()},
                  tolerance=TOLERANCES[setup.dtype])


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
    from ..differentiate.autograd import jacobians

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
    if not all(math.isfinite(v) for v in to_flat(plain_value)):
        from ..checks.diagnosis import diagnose

        result.diagnosis = diagnose(setup, value, [])
        result.warnings += [item.message() for item in result.diagnosis] or [
            "the value has non-finite entries at this point"]
    if not all(math.isfinite(v) for block in result.jacobian.values() for v in to_flat(block)):
        result.warnings.append("the Jacobian has non-finite entries at this point")
    named = dict(zip(setup.wrt, blocks))
    _look_for_kinks(setup, result, named, check or fd)
    if check:
        from ..checks.matrix import jacobian_check

        result.check = jacobian_check(setup, named)
    if fd:
        from ..checks.matrix import jacobian_differences

        result.finite_differences = jacobian_differences(setup, named)
    _matrix_findings(result, "Jacobian")
    return result


def _matrix_findings(result: Any, what: str) -> None:
    """A failing check of a Jacobian or Hessian, said in the warnings."""
    for check in (result.check, result.finite_differences):
        message = None if check is None else check.message(what)
        if message is not None:
            result.warnings.append(message)


def _look_for_kinks(setup: Setup, result: Any, autograd: dict[str, Any], checked: bool,
                    candidates: dict[Any, Any] | None = None) -> tuple[bool, list[str]]:
    """Record where f is not differentiable on the result, and warn, on every answer (a smooth Program
    costs a scan of its steps).  `nondifferentiable` is in the result where a kink is found, and always
    with --check or --fd (`checked`).  `candidates`: `candidate_nodes`, where already found.  Returns
    whether any node sits at its non-smooth point, and the variables with a kink."""
    if candidates is None:
        from ..checks.kinks import candidate_nodes

        candidates = candidate_nodes(setup)
    if not candidates:  # the common case, on every call: nothing sits at its non-smooth point
        result.nondifferentiable = [] if checked else None
        return False, []
    from ..checks.kinks import find_kinks, unexamined

    kinks = find_kinks(setup, autograd, candidates)
    result.nondifferentiable = kinks if kinks or checked else None
    result.warnings += [kink.message() for kink in kinks] + unexamined(setup, candidates)
    return bool(candidates), list(dict.fromkeys(kink.variable.split("[")[0] for kink in kinks))


def non_finite_warnings(value: float, derivatives: dict[str, Any]) -> list[str]:
    return [warning for warning, _ in _non_finite(value, derivatives)]


def _non_finite(value: float, derivatives: dict[str, Any]) -> list[tuple[str, str]]:
    """(warning, what it is about: "value" or "d/dx") for each non-finite result; derivatives of any kind
    (floats, lists, tensors, numpy arrays)."""
    from .returned import first_non_finite

    warnings = []
    if not math.isfinite(value):
        warnings.append((f"the value is {value} at this point (outside the function's domain, or a pole)", "value"))
    for name, derivative in derivatives.items():
        bad = first_non_finite(derivative)
        if bad is not None:
            entries = isinstance(derivative, list) or bool(getattr(derivative, "ndim", 0))
            warnings.append((f"the derivative with respect to {name} is {bad} at this point"
                             + (" (in some entries)" if entries else ""), f"d/d{name}"))
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

    from ..differentiate.higher import classify
    from ..differentiate.higher import hessian as compute_hessian

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
    # the flat gradient, back in each variable's shape, for the diagnoses and the kink search
    sizes = [setup.inputs[index].numel() for index in setup.wrt_indices]
    grads = [piece.reshape(setup.inputs[index].shape)
             for piece, index in zip(torch.split(gradient, sizes), setup.wrt_indices)]
    if not math.isfinite(result.value) or not bool(torch.isfinite(gradient).all()):
        from ..checks.diagnosis import diagnose

        result.diagnosis = diagnose(setup, value, grads)
        result.warnings += [item.message() for item in result.diagnosis]
    if not math.isfinite(result.value) or not finite:
        result.warnings.append("non-finite values at this point")
    _look_for_kinks(setup, result, dict(zip(setup.wrt, grads)), check or fd)
    if check:
        from ..checks.matrix import hessian_check

        result.check = hessian_check(setup, matrix)
    if fd:
        from ..checks.matrix import hessian_differences

        result.finite_differences = hessian_differences(setup, matrix)
    _matrix_findings(result, "Hessian")
    return result
