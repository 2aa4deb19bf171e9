"""The symbolic check of an autograd gradient: SymPy's derivative at 30 digits, element by element, and
the verdict of each number against the truth (`judge`).  Finite differences are in `differences`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sympy as sp
import torch

from ..errors import DerivcliError
from ..limits.budget import CHECK_SECONDS, OverBudget, time_budget
from ..lowering.program import lower
from ..results import (
    FAILING,
    SymbolicCheck,
    element_label,
    worst,
)
from ..symbolic.budgeted import MAX_DERIVATIVE_SIZE, derivative_size
from ..symbolic.exact import evaluated
from ..symbolic.formula_text import formula, pretty_form

if TYPE_CHECKING:
    from ..differentiate.setup import Setup

MAX_CHECK_WORK = 2_000_000  # nodes of all the derivatives the check builds together (size x how many)
MAX_CHECKED_ELEMENTS = 300  # tensor variables are checked element by element up to this many in all
TOLERANCES = {torch.float64: (1e-8, 1e-10), torch.float32: (1e-4, 1e-5)}  # (rtol, atol)


def agree(a: float, b: float, rtol: float, atol: float) -> bool:
    """Within tolerance, or the same non-finite value (both NaN, or the same infinity)."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))


MAX_REFERENCE_BITS = 256  # exact constants larger than this are left to the dtype's value
MAX_REFERENCE_ELEMENTS = 64  # derivatives of one variable evaluated at 30 digits (beyond: the dtype's value)


def judge(autograd: float, formula: float, truth: float, rtol: float, atol: float) -> str:
    """One computed number against the high-precision truth, by the dtype's tolerance alone.

    `agree`: within atol + rtol·|truth| of it.  `non-finite`: NaN or ±inf where the truth is finite.
    `inaccurate`: off the truth, where SymPy's formula in the same dtype is off the same way (both lose
    precision alike: (1 - cos(x))/x**2 at 1e-4).  `DISAGREE`: off the truth and off the formula.
    `undefined`: the truth is not finite either, and neither is the number."""
    if not math.isfinite(truth):
        return "undefined" if not math.isfinite(autograd) else "DISAGREE"
    if not math.isfinite(autograd):
        return "non-finite"
    if abs(autograd - truth) <= atol + rtol * abs(truth):
        return "agree"
    return "inaccurate" if agree(autograd, formula, rtol, atol) else "DISAGREE"


def _largest_error(estimates: Sequence[float], truths: Sequence[float]) -> float:
    """The largest relative error of the estimates against the truths (absolute where a truth is 0)."""
    errors = [abs(e - t) / abs(t) if t else abs(e - t) for e, t in zip(estimates, truths)]
    return max(errors, default=0.0)


def _central_difference(setup: Setup, name: str) -> float:
    """A central difference at the step that balances truncation and round-off, ∛ε·max(|x|, 1)."""
    index = setup.variables.index(name)
    plain = [value.detach() for value in setup.inputs]
    x = plain[index]
    h = torch.finfo(setup.dtype).eps ** (1 / 3) * max(1.0, abs(float(x)))

    def at(shifted: torch.Tensor) -> float:
        values = list(plain)
        values[index] = shifted
        with torch.no_grad():
            return float(setup.program(values, dtype=setup.dtype, device=setup.device).reshape(()))

    return (at(x + h) - at(x - h)) / (2 * h)


def symbolic_check(setup: Setup, autograd: dict[str, torch.Tensor], value: float) -> SymbolicCheck:
    """Differentiate with SymPy, lower each derivative by the same lowering, evaluate at the point.

    Tensor variables are expanded into their elements (`W[0, 1]`, …) and checked element by element.
    Skipped, with the reason, when that would be too large to do in reasonable time, or takes too long.
    """
    try:
        with time_budget(CHECK_SECONDS):
            return _symbolic_check(setup, autograd, value)
    except OverBudget:
        return _skipped(setup, f"SymPy took more than {CHECK_SECONDS:g} s over the derivative")


def elements_of(setup: Setup) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[sp.Symbol, float]]:
    """Each variable's value, its element symbols (W[0, 1], …) and the point as element symbol -> value."""
    from .expansion import element_symbols

    plain = {name: value.detach() for name, value in zip(setup.variables, setup.inputs)}
    symbols = {name: element_symbols(name, plain[name]) for name in setup.variables}
    point = {symbol: float(value) for name in setup.variables
             for symbol, value in element_pairs(symbols[name], plain[name])}
    return plain, symbols, point


def _symbolic_check(setup: Setup, autograd: dict[str, torch.Tensor], value: float) -> SymbolicCheck:
    from ..table.tensor_ops import NotExpanded
    from .expansion import expand

    rtol, atol = TOLERANCES[setup.dtype]
    elements = sum(setup.inputs[setup.variables.index(name)].numel() for name in setup.variables)
    if elements > MAX_CHECKED_ELEMENTS and elements > len(setup.variables):
        return _skipped(setup, f"the variables have {elements:,} elements in all; the element-by-element "
                               f"symbolic check stops at {MAX_CHECKED_ELEMENTS}")
    tensors = elements > len(setup.variables) or _has_tensor_functions(setup.parsed.expr)
    if tensors:
        try:
            import numpy  # noqa: F401
        except ImportError:
            return _skipped(setup, "the element-by-element check of tensor expressions needs numpy")
    plain, symbols, point = elements_of(setup)
    try:
        # SymPy differentiates the simplified form: where both are defined they are one function, and the
        # derivative of an unsimplified tree can carry removable singularities ((x**2)**2 gives 4*x**4/x)
        scalar = expand(setup.parsed.expr, symbols, point) if tensors else setup.parsed.expr
    except RecursionError:
        raise DerivcliError("the expression is too deeply nested for the symbolic check") from None
    except NotExpanded as reason:
        return _skipped(setup, str(reason))
    size = derivative_size(scalar)
    if size > MAX_DERIVATIVE_SIZE:
        return _skipped(setup, f"SymPy's derivative would have about {size:,.0f} nodes (the limit is "
                               f"{MAX_DERIVATIVE_SIZE:,})")
    count = sum(plain[name].numel() for name in setup.wrt)
    if size * count > MAX_CHECK_WORK:
        return _skipped(setup, f"{count:,} derivatives of about {size:,.0f} nodes each are too many for SymPy "
                               f"(the limit is {MAX_CHECK_WORK:,} nodes in all)")
    names = [symbol.name for symbol in point]
    inputs = [torch.tensor(value, dtype=setup.dtype, device=setup.device) for value in point.values()]
    formulas: dict[str, Any] = {}
    values: dict[str, Any] = {}
    abs_error: dict[str, float] = {}
    rel_error: dict[str, float] = {}
    verdicts: dict[str, str] = {}
    findings: list[tuple[str, str, float, float, float]] = []  # (verdict, element, autograd, formula, truth)
    references: dict[str, Any] = {}
    reference_errors: dict[str, dict[str, float | None]] = {}
    closest: dict[str, str] = {}
    pretty: dict[str, str] = {}
    for name in setup.wrt:
        try:
            derivatives = [sp.diff(scalar, symbol) for symbol, _ in element_pairs(symbols[name], plain[name])]
        except (ArithmeticError, NotImplementedError, TypeError, ValueError) as error:
            # SymPy gives up on some constants (max(asin(1e300), y): "defined only for Real Values")
            return _skipped(setup, f"SymPy could not differentiate it ({type(error).__name__})")
        autograd_values = autograd[name].detach().reshape(-1).tolist()
        numbers = [evaluate_formula(derivative, names, inputs, point, setup, float(reference))
                   for derivative, reference in zip(derivatives, autograd_values)]
        truths = [high_precision(derivative, point, number) if len(derivatives) <= MAX_REFERENCE_ELEMENTS
                  else number for derivative, number in zip(derivatives, numbers)]
        difference = _central_difference(setup, name) if plain[name].numel() == 1 else None
        shape = tuple(plain[name].shape)
        formulas[name] = _reshape([formula(d) for d in derivatives], shape)
        shown = pretty_form(derivatives[0]) if len(derivatives) == 1 else None
        if shown is not None:
            pretty[name] = shown
        values[name] = _reshape(numbers, shape)
        references[name] = _reshape(truths, shape)
        errors = [abs(a - s) for a, s in zip(autograd_values, numbers)]
        abs_error[name] = max(errors, default=0.0)
        rel_error[name] = max((e / abs(s) if s else e for e, s in zip(errors, numbers)), default=0.0)
        judged = [judge(a, number, truth, rtol, atol) for a, number, truth in zip(autograd_values, numbers, truths)]
        verdicts[name] = worst(judged)
        if verdicts[name] in FAILING:
            element = judged.index(verdicts[name])
            label = element_label(name, tuple(plain[name].shape), element)
            findings.append((verdicts[name], label, autograd_values[element], numbers[element], truths[element]))
        reference_errors[name] = {
            "autograd": _largest_error(autograd_values, truths), "symbolic": _largest_error(numbers, truths),
            "finite_difference": None if difference is None else _largest_error([difference], truths)}
        closest[name] = min((error, method) for method, error in reference_errors[name].items()
                            if error is not None and math.isfinite(error))[1] if any(
            error is not None and math.isfinite(error) for error in reference_errors[name].values()) else "none"
    check = SymbolicCheck(formulas, values, abs_error, rel_error, verdicts, rtol, atol, reference=references,
                          reference_error=reference_errors, closest=closest, pretty=pretty)
    _judge_value(setup, check, scalar, point, value, findings)
    return check


def _judge_value(setup: Setup, check: SymbolicCheck, scalar: sp.Expr, point: dict[sp.Symbol, float], value: float,
                 findings: list[tuple[str, str, float, float, float]]) -> None:
    """f's own value against its truth, whether f is defined here at all, and where a failing number
    loses its precision (the Program traced step by step at high precision, only when something fails
    or is not finite)."""
    from .diagnosis import trace

    rtol, atol = check.rtol, check.atol
    traced = trace(setup) if findings or not math.isfinite(value) else None
    if math.isfinite(value):
        check.value_reference = high_precision(scalar, point, value)
    elif traced is not None and (traced.defined or traced.defined is None and traced.overflowed()):
        # f is defined here, though its value in the dtype is not finite
        check.value_reference = traced.value if traced.value is not None else high_precision(scalar, point, value)
    else:
        check.undefined = True  # not finite in fact (a pole, outside the domain): no derivative to compare
        check.value_verdict = "undefined"
        return
    check.value_verdict = judge(value, value, check.value_reference, rtol, atol)
    if check.value_verdict in FAILING:
        findings.insert(0, (check.value_verdict, "", value, value, check.value_reference))
        traced = traced or trace(setup)
    check.cause = None if traced is None else traced.loss
    cause = "" if check.cause is None else f": {check.cause.message()}"
    if traced is not None and traced.defined and check.cause is None:
        cause = "; no step of f loses precision, so the derivative's own arithmetic does"
    dtype = setup.dtype_name
    for verdict, label, computed, symbolic, truth in findings:
        of = f"d/d{label}" if label else "the value"
        why = {"inaccurate": f" (SymPy's formula in {dtype} is off the same way)",
               "DISAGREE": f" and SymPy's formula in {dtype} gives {symbolic:.12g}"}.get(verdict, "") if label else ""
        check.findings.append(f"{verdict}: {of} is {computed:.12g} where the true value is {truth:.12g}{why}"
                              + (cause if verdict != "DISAGREE" or check.cause is not None else ""))


def _skipped(setup: Setup, reason: str) -> SymbolicCheck:
    rtol, atol = TOLERANCES[setup.dtype]
    return SymbolicCheck({}, {}, {}, {}, {}, rtol, atol,
                         skipped=reason + "; the autograd result is not checked")


def _has_tensor_functions(expr: sp.Basic) -> bool:
    from ..table.sympy_forms import TensorFunction

    return any(isinstance(node, TensorFunction) for node in sp.preorder_traversal(expr))


def element_pairs(symbols: Any, value: torch.Tensor) -> list[tuple[sp.Symbol, float]]:
    """(element symbol, element value) in row-major order."""
    if value.dim() == 0:
        return [(symbols, float(value))]
    return list(zip(symbols.reshape(-1).tolist(), value.reshape(-1).tolist()))


def _reshape(flat: list[Any], shape: tuple[int, ...]) -> Any:
    if not shape:
        return flat[0]
    step = len(flat) // shape[0]
    return [_reshape(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def evaluate_formula(derivative: sp.Expr, names: list[str], inputs: list[torch.Tensor],
                     point: dict[sp.Symbol, float], setup: Setup, reference: float) -> float:
    with torch.no_grad():
        value = float(lower(derivative, names)(inputs, dtype=setup.dtype, device=setup.device))
    if not math.isfinite(value) and math.isfinite(reference):
        value = high_precision(derivative, point, value)
    return value


def high_precision(derivative: sp.Expr, point: dict[sp.Symbol, float], fallback: float) -> float:
    """The derivative by SymPy's arbitrary-precision evaluation (mpmath, 30 digits) at the point's exact
    binary value: the truth that autograd and the float formula are judged against (and the answer
    where the float formula overflows: exp(-x)/(1 + exp(-x))**2 at x = -800 is inf/inf in floats, 0 in
    fact).  Where it cannot be had, the fallback, as for exact constants of huge size (a 10**300-th root),
    which mpmath would spend unbounded memory on."""
    if any(node.is_Rational and max(abs(node.p).bit_length(), node.q.bit_length()) > MAX_REFERENCE_BITS
           for node in sp.preorder_traversal(derivative) if getattr(node, "is_Rational", False)):
        return fallback
    value = evaluated(derivative, 30, subs={symbol: sp.Rational(v) for symbol, v in point.items()})
    if value is None or not (value.is_Number and value.is_real and value.is_finite):
        return fallback
    return float(value)
