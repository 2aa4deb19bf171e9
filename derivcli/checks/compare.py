"""Independent checks of an autograd gradient: SymPy's derivative, and finite differences."""

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
    DifferenceRow,
    DifferenceTable,
    FdVerdict,
    SymbolicCheck,
    element_label,
    to_plain,
    worst,
)
from ..symbolic.budgeted import MAX_DERIVATIVE_SIZE, derivative_size
from ..symbolic.formula_text import formula, pretty_form

if TYPE_CHECKING:
    from ..differentiate.setup import Setup

DEFAULT_STEPS = tuple(float(f"1e-{k}") for k in range(1, 11))
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
    try:
        value = derivative.evalf(30, subs={symbol: sp.Rational(v) for symbol, v in point.items()})
        return float(value) if value.is_real and value.is_finite else fallback
    except (TypeError, ValueError, ArithmeticError):
        return fallback


MAX_STEP = 1e100  # h**2 and h**3 in the error estimates must stay finite
STEPS_RULE = "--fd-steps: give 1 to 40 step sizes, each above 0 and at most 1e100"


def parse_steps(text: str) -> tuple[float, ...]:
    """`--fd-steps`: a comma list (0.1,0.01) or a decade range (1e-1:1e-12), each step in (0, 1e100]."""
    try:
        if ":" in text:
            start, end = (float(part) for part in text.split(":"))
            if not (0 < end <= start):
                raise ValueError
            if start > MAX_STEP:
                raise DerivcliError(STEPS_RULE)
            first, last = round(math.log10(start)), round(math.log10(end))
            steps = tuple(float(f"1e{k}") for k in range(first, max(last, first - 40) - 1, -1))
        else:
            steps = tuple(float(part) for part in text.split(","))
    except (ValueError, OverflowError):
        raise DerivcliError(f"--fd-steps: cannot read '{text[:40]}'",
                            hint="give a range like 1e-1:1e-10 or a list like 0.1,0.01,0.001") from None
    if not steps or len(steps) > 40 or not all(0 < h <= MAX_STEP for h in steps):
        raise DerivcliError(STEPS_RULE)
    return steps


def finite_differences(setup: Setup, autograd: dict[str, torch.Tensor], value: float,
                       steps: Sequence[float], kinks: Sequence[str] = (), non_smooth: bool = False) -> DifferenceTable:
    """Forward and central differences at each step h, against autograd, with the regime of each row.

    A scalar variable moves along its axis; a tensor variable along a fixed random unit direction v
    (seeded, so runs repeat), comparing (f(x + hv) - f(x))/h with autograd's gradient·v.  The regime
    compares estimates of the two errors: truncation |f''|h/2 (forward) or |f'''|h²/6 (central) against
    round-off ε(2δ + |x||f'|)/h, with f'' and f''' from nested autograd along the same direction, and δ
    the rounding that f's steps carry to it (`carried_rounding`: not |f|, which is 0 where f is, though
    f(x ± h) is computed through steps of size 1).
    """
    from ..differentiate.autograd import along

    dtype, device = setup.dtype, setup.device
    epsilon = torch.finfo(dtype).eps
    plain = [value_.detach() for value_ in setup.inputs]
    forward: dict[float, dict[str, float]] = {h: {} for h in steps}
    backward: dict[float, dict[str, float]] = {h: {} for h in steps}
    central: dict[float, dict[str, float]] = {h: {} for h in steps}
    expected: dict[float, dict[str, float]] = {h: {} for h in steps}  # the theory's central error at h
    gap: dict[float, dict[str, float]] = {h: {} for h in steps}  # what forward - backward may be, if smooth
    regime: dict[float, dict[str, dict[str, str]]] = {h: {"forward": {}, "central": {}} for h in steps}
    theoretical: dict[str, dict[str, float]] = {"forward": {}, "central": {}}
    reference: dict[str, float] = {}
    directions: dict[str, Any] = {}
    generator = torch.Generator().manual_seed(0)
    carried = carried_rounding(setup, value)
    for name in setup.wrt:
        index = setup.variables.index(name)
        x = plain[index]
        if x.dim() == 0:
            direction = torch.ones((), dtype=dtype, device=device)
        else:
            direction = torch.randn(x.shape, generator=generator, dtype=torch.float64).to(dtype=dtype, device=device)
            direction /= torch.linalg.vector_norm(direction)
            directions[name] = to_plain(direction)
        reference[name] = float((autograd[name].detach() * direction).sum())

        def at(shifted: torch.Tensor, index: int = index) -> float:
            values = list(plain)
            values[index] = shifted
            with torch.no_grad():
                return float(setup.program(values, dtype=dtype, device=device).reshape(()))

        f_x = at(x)
        _, second, third = along(setup.program, plain, index, direction, dtype, device)
        size = float(x.abs().max())
        theoretical["forward"][name] = math.sqrt(epsilon) * max(size, 1.0)
        theoretical["central"][name] = epsilon ** (1 / 3) * max(size, 1.0)
        roundoff = epsilon * (2 * carried + size * abs(reference[name]))
        for step in steps:
            h = torch.tensor(step, dtype=dtype, device=device)
            f_plus, f_minus = at(x + h * direction), at(x - h * direction)
            forward[step][name] = float((torch.tensor(f_plus, dtype=dtype) - f_x) / h.cpu())
            backward[step][name] = float((f_x - torch.tensor(f_minus, dtype=dtype)) / h.cpu())
            central[step][name] = float((torch.tensor(f_plus, dtype=dtype) - f_minus) / (2 * h.cpu()))
            expected[step][name] = abs(third) * step**2 / 6 + roundoff / (2 * step)
            gap[step][name] = abs(second) * step + 2 * roundoff / step
            regime[step]["forward"][name] = _regime(abs(second) * step / 2, roundoff / step)
            regime[step]["central"][name] = _regime(abs(third) * step**2 / 6, roundoff / (2 * step))
    rows = [
        DifferenceRow(
            h=step,
            forward=forward[step],
            central=central[step],
            forward_error={n: abs(forward[step][n] - reference[n]) for n in setup.wrt},
            central_error={n: abs(central[step][n] - reference[n]) for n in setup.wrt},
            regime=regime[step],
            backward=backward[step],
            backward_error={n: abs(backward[step][n] - reference[n]) for n in setup.wrt},
        )
        for step in steps
    ]
    best = {scheme: {n: _best_step(rows, scheme, n) for n in setup.wrt} for scheme in ("forward", "central")}
    # a tensor variable's kink (found from the expression, `non_smooth`) is confirmed along its direction
    kinked = set(kinks) | {name for name in setup.wrt
                           if non_smooth and _one_sided_disagree(rows, name, gap, reference[name])}
    verdicts = {name: _verdict(rows, name, expected, epsilon, reference[name], kinked) for name in setup.wrt}
    return DifferenceTable(rows, best, theoretical, epsilon, reference, directions, verdicts)


def carried_rounding(setup: Setup, value: float) -> float:
    """Σ √n·|v·∂f/∂v| over every value v that f's steps compute from n arguments: each step rounds its
    value by about ε·|v| (a sum of n terms by about √n times that), which reaches f multiplied by ∂f/∂v
    (first-order rounding-error analysis; autograd gives every ∂f/∂v in one backward pass).  At least |f|."""
    leaves = [tensor.detach().requires_grad_(tensor.is_floating_point()) for tensor in setup.inputs]
    with torch.enable_grad():
        slots = setup.program.slots(leaves, setup.dtype, setup.device)
        base = len(setup.program.variables) + len(setup.program.constants)
        steps = [(slot, math.sqrt(max(1, len(arguments)))) for slot, (_, arguments)
                 in zip(slots[base:], setup.program.steps) if slot.requires_grad]
        output = slots[setup.program.output]
        if not steps or not output.requires_grad:
            return abs(value)
        adjoints = torch.autograd.grad(output.sum(), [step for step, _ in steps], allow_unused=True)
    terms = [weight * (step.detach() * adjoint).abs().sum()
             for (step, weight), adjoint in zip(steps, adjoints) if adjoint is not None]
    total = float(sum((term for term in terms if bool(torch.isfinite(term))), torch.zeros((), dtype=torch.float64)))
    return max(total, abs(value)) if math.isfinite(value) else total


FD_SLACK = 10.0  # how far past the theory's error estimate the best difference may be and still agree


def _one_sided_disagree(rows: Sequence[DifferenceRow], name: str, gap: dict[float, dict[str, float]],
                        reference: float) -> bool:
    """A kink seen in the table itself (also along a tensor variable's direction): forward and backward
    quotients stay apart at every step where a smooth function would bring them together."""
    apart = [abs(row.forward[name] - row.backward[name]) > 100 * gap[row.h][name] + 1e-6 * max(1.0, abs(reference))
             for row in rows if math.isfinite(row.forward[name]) and math.isfinite(row.backward[name])
             and gap[row.h][name] < 1e-3 * max(1.0, abs(reference))]
    return bool(apart) and all(apart)


def _verdict(rows: Sequence[DifferenceRow], name: str, expected: dict[float, dict[str, float]], epsilon: float,
             reference: float, kinks: set[str]) -> FdVerdict:
    """Whether the differences agree with autograd, judged where they agree with each other.

    The plateau is the widest run of consecutive steps whose central differences agree within what the
    theory allows each (truncation plus round-off, with slack): there the differences are what the
    theory says they are.  On it, the step the theory trusts most is judged, by Richardson's
    extrapolation with the next larger step where truncation dominates there, against the theory's
    allowance plus how far its neighbours on the plateau lie.  Never the step closest to autograd: a
    lucky step whose truncation cancels a wrong derivative would pass it."""
    if name in kinks:
        return FdVerdict(None, math.nan, math.nan, math.nan, "kink")
    ordered = sorted((row for row in rows if math.isfinite(row.central[name])), key=lambda row: -row.h)
    if not ordered:
        return FdVerdict(None, math.nan, math.nan, math.nan, "not finite")
    central = [row.central[name] for row in ordered]
    allowed = [FD_SLACK * expected[row.h][name] + 100 * epsilon * max(1.0, abs(value))
               for row, value in zip(ordered, central)]
    together = [abs(central[k] - central[k + 1]) <= allowed[k] + allowed[k + 1] for k in range(len(ordered) - 1)]
    run = _widest_run(together)
    first, last = run if run is not None else (0, len(ordered) - 1)
    plateau = None if run is None else (ordered[first].h, ordered[last].h)
    k = min(range(first, last + 1), key=lambda i: (expected[ordered[i].h][name], i))
    estimate, method = central[k], "central"
    if k > first and ordered[k].regime["central"][name] == "truncation":
        q = (ordered[k - 1].h / ordered[k].h) ** 2
        estimate, method = central[k] + (central[k] - central[k - 1]) / (q - 1), "richardson"
    if not math.isfinite(reference):
        verdict = "non-finite" if plateau is not None else "not finite"
        return FdVerdict(False if plateau is not None else None, ordered[k].h, math.inf, expected[ordered[k].h][name],
                         verdict, plateau, estimate, method)
    error = abs(estimate - reference)
    # what the data itself says of the judged step: how far its neighbours lie.  The theory's allowance
    # assumes f smooth to third order; where it is not (softsign at 0, min(x, 2x)·x at 0) the differences
    # converge as h, and one that does is off by about its distance to the next
    spread = max((abs(central[j] - central[k]) for j in (k - 1, k + 1) if first <= j <= last), default=0.0)
    agree = error <= allowed[k] + 2 * spread
    return FdVerdict(agree, ordered[k].h, error, expected[ordered[k].h][name], "agree" if agree else "DISAGREE",
                     plateau, estimate, method)


def _widest_run(together: Sequence[bool]) -> tuple[int, int] | None:
    """The first and last step of the widest run of steps whose neighbours agree (the first, where
    several are as wide; None where no two neighbours do)."""
    best: tuple[int, int] | None = None
    start = None
    for position, agrees in enumerate([*together, False]):
        if agrees and start is None:
            start = position
        elif not agrees and start is not None:
            if best is None or position - start > best[1] - best[0]:
                best = (start, position)
            start = None
    return best


def _regime(truncation: float, roundoff: float) -> str:
    return "truncation" if truncation >= roundoff else "round-off"


def _best_step(rows: Sequence[DifferenceRow], scheme: str, name: str) -> float:
    errors = [(getattr(row, f"{scheme}_error")[name], row.h) for row in rows]
    finite = [(error, h) for error, h in errors if math.isfinite(error)]
    return min(finite)[1] if finite else math.nan
