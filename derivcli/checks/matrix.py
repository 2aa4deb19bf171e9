"""`--check` and `--fd` for `jacobian` and `hessian`: every entry, against SymPy's derivative (judged
against its 30-digit value, as `grad --check` is) and against central differences of what autograd
differentiated (the outputs for a Jacobian, autograd's gradient for a Hessian).

Entries are checked element by element while there are few enough (`MAX_ENTRIES`); past that, or where
SymPy's derivatives would be too big, the check says it was skipped and why.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sympy as sp
import torch

from ..limits.budget import CHECK_SECONDS, OverBudget, time_budget
from ..results import FAILING, MatrixCheck, worst
from ..symbolic.budgeted import MAX_DERIVATIVE_SIZE, derivative_size
from ..table.tensor_ops import NotExpanded
from .compare import (
    TOLERANCES,
    element_pairs,
    elements_of,
    evaluate_formula,
    high_precision,
    judge,
)

if TYPE_CHECKING:
    from ..differentiate.setup import Setup

MAX_ENTRIES = 400
FD_SLACK = 1e3  # central differences at the balanced step are good to about ε^(2/3) of the scale


def jacobian_check(setup: Setup, blocks: dict[str, torch.Tensor]) -> MatrixCheck:
    """d(output element)/d(variable element) by SymPy, per variable, in the Jacobian's shape."""
    from .expansion import expand_elements

    def entries() -> tuple[dict[str, Any], float, str]:
        plain, symbols, point = elements_of(setup)
        outputs = expand_elements(setup.parsed.expr, symbols, point)
        flat = list(outputs.reshape(-1)) if hasattr(outputs, "shape") else [outputs]
        return _compare(setup, plain, symbols, point, flat, blocks)

    return _symbolic("symbolic", setup, sum(block.numel() for block in blocks.values()), entries)


def hessian_check(setup: Setup, matrix: torch.Tensor) -> MatrixCheck:
    """d²f/(d element_i d element_j) by SymPy, over the differentiated variables' elements."""
    from .expansion import expand

    def entries() -> tuple[dict[str, Any], float, str]:
        plain, symbols, point = elements_of(setup)
        scalar = expand(setup.parsed.expr, symbols, point)
        wrt_symbols = [symbol for name in setup.wrt for symbol, _ in element_pairs(symbols[name], plain[name])]
        first = [sp.diff(scalar, symbol) for symbol in wrt_symbols]
        return _compare(setup, plain, symbols, point, first, {"hessian": matrix}, wrt_symbols)

    return _symbolic("symbolic", setup, matrix.numel(), entries)


def _symbolic(method: str, setup: Setup, count: int,
              entries: Callable[[], tuple[dict[str, Any], float, str]]) -> MatrixCheck:
    if count > MAX_ENTRIES:
        return MatrixCheck(method, {}, math.nan, None, f"{count:,} entries; the check goes element by element "
                                                      f"up to {MAX_ENTRIES}")
    try:
        with time_budget(CHECK_SECONDS):
            values, largest, verdict = entries()
            verdict, cause = _explained(setup, verdict)
    except OverBudget:
        return MatrixCheck(method, {}, math.nan, None, f"SymPy took more than {CHECK_SECONDS:g} s")
    except NotExpanded as reason:
        return MatrixCheck(method, {}, math.nan, None, str(reason))
    except _TooBig as error:
        return MatrixCheck(method, {}, math.nan, None, str(error))
    except (ArithmeticError, NotImplementedError, TypeError, ValueError) as error:
        return MatrixCheck(method, {}, math.nan, None, f"SymPy could not differentiate it ({type(error).__name__})")
    return MatrixCheck.judged(method, values, largest, verdict, cause=cause)


def _explained(setup: Setup, verdict: str) -> tuple[str, str | None]:
    """A failing verdict stands where f is defined here (else there is no derivative to compare:
    `undefined`), with where f loses the precision the failing entries show: a scalar f's Program
    traced step by step; past a tensor step, f is taken as undefined where its value is not finite,
    unless a scalar step before it overflowed."""
    from .diagnosis import trace

    if verdict not in FAILING:
        return verdict, None
    traced = trace(setup)
    cause = None if traced.loss is None else traced.loss.message()
    if traced.defined is None and not traced.overflowed():
        with torch.no_grad():
            value = setup.program([v.detach() for v in setup.inputs], dtype=setup.dtype, device=setup.device)
        return (verdict if bool(torch.isfinite(value).all()) else "undefined"), cause
    return (verdict if traced.defined is not False else "undefined"), cause


class _TooBig(Exception):
    pass


def _compare(setup: Setup, plain: dict[str, torch.Tensor], symbols: dict[str, Any], point: dict[sp.Symbol, float],
             outputs: list[sp.Expr], blocks: dict[str, torch.Tensor],
             wrt_symbols: list[sp.Symbol] | None = None) -> tuple[dict[str, Any], float, str]:
    """Each output differentiated by each differentiated element, evaluated as `grad --check` does, and
    judged against its truth as `grad --check` does; returns (values per block, largest error, the
    worst entry's verdict)."""
    rtol, atol = TOLERANCES[setup.dtype]
    names = [symbol.name for symbol in point]
    inputs = [torch.tensor(value, dtype=setup.dtype, device=setup.device) for value in point.values()]
    if any(derivative_size(output) > MAX_DERIVATIVE_SIZE for output in outputs):
        raise _TooBig(f"SymPy's derivatives would have over {MAX_DERIVATIVE_SIZE:,} nodes")
    values: dict[str, Any] = {}
    largest, verdicts = 0.0, []
    for name, block in blocks.items():
        by = wrt_symbols if wrt_symbols is not None else [s for s, _ in element_pairs(symbols[name], plain[name])]
        autograd = block.detach().reshape(len(outputs), len(by)).tolist()
        numbers = []
        for row, output in zip(autograd, outputs):
            for a, symbol in zip(row, by):
                derivative = sp.diff(output, symbol)
                number = evaluate_formula(derivative, names, inputs, point, setup, a)
                truth = high_precision(derivative, point, number)
                numbers.append(number)
                if math.isfinite(a) and math.isfinite(number):
                    largest = max(largest, abs(a - number))
                verdicts.append(judge(a, number, truth, rtol, atol))
        values[name] = torch.tensor(numbers, dtype=torch.float64).reshape(block.shape).tolist()
    return values, largest, worst(verdicts)


def jacobian_differences(setup: Setup, blocks: dict[str, torch.Tensor]) -> MatrixCheck:
    """Central differences of the outputs, one differentiated element at a time."""
    def function(values: list[torch.Tensor]) -> torch.Tensor:
        with torch.no_grad():
            return setup.program(values, dtype=setup.dtype, device=setup.device)

    return _differences(setup, blocks, function)


def hessian_differences(setup: Setup, matrix: torch.Tensor) -> MatrixCheck:
    """Central differences of autograd's gradient, one differentiated element at a time."""
    from ..differentiate.autograd import gradient

    def function(values: list[torch.Tensor]) -> torch.Tensor:
        leaves = [value.detach().clone().requires_grad_(index in setup.wrt_indices)
                  for index, value in enumerate(values)]
        _, grads = gradient(setup.program, leaves, setup.wrt_indices, setup.dtype, setup.device)
        return torch.cat([g.detach().reshape(-1) for g in grads])

    return _differences(setup, {"hessian": matrix}, function, stacked=True)


def _differences(setup: Setup, blocks: dict[str, torch.Tensor], function: Callable[[list[torch.Tensor]], torch.Tensor],
                 stacked: bool = False) -> MatrixCheck:
    count = sum(block.numel() for block in blocks.values())
    if count > MAX_ENTRIES:
        return MatrixCheck("finite differences", {}, math.nan, None,
                           f"{count:,} entries; the differences go element by element up to {MAX_ENTRIES}")
    epsilon = torch.finfo(setup.dtype).eps
    plain = [value.detach() for value in setup.inputs]
    center = function(plain)
    columns: list[torch.Tensor] = []
    per_variable: dict[str, list[torch.Tensor]] = {}
    for name, index in zip(setup.wrt, setup.wrt_indices):
        flat = plain[index].reshape(-1)
        for element in range(flat.numel()):
            h = epsilon ** (1 / 3) * max(1.0, abs(float(flat[element])))
            shifted = []
            for sign in (1, -1):
                moved = flat.clone()
                moved[element] += sign * h
                inputs = list(plain)
                inputs[index] = moved.reshape(plain[index].shape)
                shifted.append(function(inputs))
            column = ((shifted[0] - shifted[1]) / (2 * h)).reshape(-1)
            columns.append(column)
            per_variable.setdefault(name, []).append(column)
    values: dict[str, Any] = {}
    largest, verdicts = 0.0, []
    scale = max([1.0, float(center.abs().max()) if center.numel() else 1.0]
                + [float(block.abs().max()) for block in blocks.values() if block.numel()])
    allowed = FD_SLACK * epsilon ** (2 / 3) * scale
    sources = {"hessian": columns} if stacked else per_variable
    for name, block in blocks.items():
        estimate = torch.stack(sources[name], dim=-1).reshape(block.shape).to(block.dtype)
        error = (estimate - block).abs()
        finite = torch.isfinite(error)
        if bool(finite.any()):
            largest = max(largest, float(error[finite].max()))
        # NaN never agrees: a non-finite entry where the differences are finite fails; where neither is
        # finite there is nothing to compare; where only the differences are not, they cannot judge it
        measured = torch.isfinite(estimate)
        verdicts += ["agree" if bool((error[finite] <= allowed).all()) else "DISAGREE"]
        if bool((measured & ~torch.isfinite(block)).any()):
            verdicts.append("non-finite")
        if bool((~measured & ~torch.isfinite(block)).any()):
            verdicts.append("undefined")
        values[name] = estimate.tolist()
    verdict, cause = _explained(setup, worst(verdicts))
    return MatrixCheck.judged("finite differences", values, largest, verdict, tolerance=allowed, cause=cause)
