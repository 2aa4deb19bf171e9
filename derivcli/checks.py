"""Independent checks of an autograd gradient: SymPy's derivative, and finite differences."""

from __future__ import annotations

import math
from collections.abc import Sequence

import sympy as sp
import torch

from .errors import DerivcliError
from .lowering import Program, lower
from .parsing import ParsedExpression
from .results import DifferenceRow, DifferenceTable, SymbolicCheck

DEFAULT_STEPS = tuple(float(f"1e-{k}") for k in range(1, 11))
MAX_DERIVATIVE_SIZE = 200_000
TOLERANCES = {torch.float64: (1e-8, 1e-10), torch.float32: (1e-4, 1e-5)}  # (rtol, atol)


def agree(a: float, b: float, rtol: float, atol: float) -> bool:
    """Within tolerance, or the same non-finite value (both NaN, or the same infinity)."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))


def symbolic_check(parsed: ParsedExpression, inputs: Sequence[torch.Tensor], wrt: Sequence[str],
                   autograd: dict[str, float], dtype: torch.dtype, device: torch.device) -> SymbolicCheck:
    """Differentiate with SymPy, lower each derivative by the same lowering, evaluate at the point.

    Skipped, with the reason, when SymPy's derivative would be too large to build in reasonable time.
    """
    rtol, atol = TOLERANCES[dtype]
    size = derivative_size(parsed.expr)
    if size > MAX_DERIVATIVE_SIZE:
        reason = (f"SymPy's derivative would have about {size:,.0f} nodes (the limit is "
                  f"{MAX_DERIVATIVE_SIZE:,}); the autograd result is not checked")
        return SymbolicCheck({}, {}, {}, {}, {}, rtol, atol, skipped=reason)
    variables = parsed.variables
    plain = [value.detach() for value in inputs]
    formulas: dict[str, str] = {}
    values: dict[str, float] = {}
    for name in wrt:
        try:
            derivative = sp.diff(parsed.expr, parsed.symbols[name])
        except RecursionError:
            raise DerivcliError("the expression is too deeply nested for the symbolic check") from None
        formulas[name] = str(derivative)
        with torch.no_grad():
            values[name] = float(lower(derivative, variables)(plain, dtype=dtype, device=device))
        if not math.isfinite(values[name]) and math.isfinite(autograd[name]):
            values[name] = _high_precision(derivative, parsed, plain, variables, values[name])
    abs_error = {n: abs(autograd[n] - values[n]) for n in wrt}
    rel_error = {n: abs_error[n] / abs(values[n]) if values[n] else abs_error[n] for n in wrt}
    verdicts = {n: agree(autograd[n], values[n], rtol, atol) for n in wrt}
    return SymbolicCheck(formulas, values, abs_error, rel_error, verdicts, rtol, atol)


def derivative_size(expr: sp.Basic) -> float:
    """An estimate of the tree size of d(expr)/dx, from sizes alone (no differentiation).

    The product rule makes a k-factor product's derivative k products of k factors, and nested
    powers double at each level: sizes that would take SymPy minutes to build and print.
    """
    size: dict[sp.Basic, float] = {}
    dsize: dict[sp.Basic, float] = {}
    stack: list[tuple[sp.Basic, bool]] = [(expr, False)]
    while stack:
        node, children_done = stack.pop()
        if node in size:
            continue
        if not node.args:
            size[node] = dsize[node] = 1.0
            continue
        if not children_done:
            stack.append((node, True))
            stack.extend((arg, False) for arg in node.args if arg not in size)
            continue
        parts = [size[arg] for arg in node.args]
        dparts = [dsize[arg] for arg in node.args]
        size[node] = 1 + sum(parts)
        if isinstance(node, sp.Mul):
            dsize[node] = 1 + sum(dparts) + (len(parts) - 1) * sum(parts)
        else:  # sums add; powers and functions repeat their arguments in the outer derivative
            dsize[node] = 1 + sum(dparts) + (0 if isinstance(node, sp.Add) else 3 * sum(parts))
    return dsize[expr]


def _high_precision(derivative: sp.Expr, parsed: ParsedExpression, plain: Sequence[torch.Tensor],
                    variables: Sequence[str], fallback: float) -> float:
    """The derivative by SymPy's arbitrary-precision evaluation, where its float formula overflows
    (exp(-x)/(1 + exp(-x))**2 at x = -800 is inf/inf in floats, 0 in fact)."""
    point = {parsed.symbols[name]: sp.Rational(float(value)) for name, value in zip(variables, plain)}
    try:
        value = derivative.evalf(30, subs=point)
        return float(value) if value.is_real and value.is_finite else fallback
    except (TypeError, ValueError, ArithmeticError):
        return fallback


def parse_steps(text: str) -> tuple[float, ...]:
    """`--fd-steps`: a comma list (0.1,0.01) or a decade range (1e-1:1e-12)."""
    try:
        if ":" in text:
            start, end = (float(part) for part in text.split(":"))
            if not (0 < end <= start):
                raise ValueError
            first, last = round(math.log10(start)), round(math.log10(end))
            steps = tuple(float(f"1e{k}") for k in range(first, last - 1, -1))
        else:
            steps = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise DerivcliError(f"--fd-steps: cannot read '{text}'",
                            hint="give a range like 1e-1:1e-10 or a list like 0.1,0.01,0.001") from None
    if not steps or len(steps) > 40 or not all(0 < h < math.inf for h in steps):
        raise DerivcliError("--fd-steps: give 1 to 40 positive step sizes")
    return steps


def finite_differences(program: Program, inputs: Sequence[torch.Tensor], wrt: Sequence[str],
                       autograd: dict[str, float], value: float, steps: Sequence[float],
                       dtype: torch.dtype, device: torch.device) -> DifferenceTable:
    """Forward and central differences at each step h, against autograd, with the regime of each row.

    The regime compares estimates of the two errors: truncation |f''|h/2 (forward) or |f'''|h²/6
    (central) against round-off eps·(2|f| + |x f'|)/h; f'' and f''' come from nested autograd.
    """
    from .derivatives import second_and_third

    epsilon = torch.finfo(dtype).eps
    variables = program.variables
    plain = [value_.detach() for value_ in inputs]
    forward: dict[float, dict[str, float]] = {h: {} for h in steps}
    central: dict[float, dict[str, float]] = {h: {} for h in steps}
    regime: dict[float, dict[str, dict[str, str]]] = {h: {"forward": {}, "central": {}} for h in steps}
    theoretical: dict[str, dict[str, float]] = {"forward": {}, "central": {}}
    for name in wrt:
        index = variables.index(name)
        x = plain[index]
        h = torch.tensor(steps, dtype=dtype, device=device)
        shifted = list(plain)
        shifted[index] = torch.cat([x + h, x - h])
        with torch.no_grad():
            f_x = program(plain, dtype=dtype, device=device)
            f_shifted = program(shifted, dtype=dtype, device=device).expand(2 * len(steps))
        f_plus, f_minus = f_shifted[: len(steps)], f_shifted[len(steps):]
        forward_values = ((f_plus - f_x) / h).tolist()
        central_values = ((f_plus - f_minus) / (2 * h)).tolist()
        second, third = second_and_third(program, plain, index, dtype, device)
        scale = max(abs(float(x)), 1.0)
        theoretical["forward"][name] = math.sqrt(epsilon) * scale
        theoretical["central"][name] = epsilon ** (1 / 3) * scale
        roundoff = epsilon * (2 * abs(value) + abs(float(x) * autograd[name]))
        for step, fwd, cen in zip(steps, forward_values, central_values):
            forward[step][name] = fwd
            central[step][name] = cen
            regime[step]["forward"][name] = _regime(abs(second) * step / 2, roundoff / step)
            regime[step]["central"][name] = _regime(abs(third) * step**2 / 6, roundoff / (2 * step))
    rows = [
        DifferenceRow(
            h=step,
            forward=forward[step],
            central=central[step],
            forward_error={n: abs(forward[step][n] - autograd[n]) for n in wrt},
            central_error={n: abs(central[step][n] - autograd[n]) for n in wrt},
            regime=regime[step],
        )
        for step in steps
    ]
    best = {
        scheme: {n: _best_step(rows, scheme, n) for n in wrt} for scheme in ("forward", "central")
    }
    return DifferenceTable(rows, best, theoretical, epsilon)


def _regime(truncation: float, roundoff: float) -> str:
    return "truncation" if truncation >= roundoff else "round-off"


def _best_step(rows: Sequence[DifferenceRow], scheme: str, name: str) -> float:
    errors = [(getattr(row, f"{scheme}_error")[name], row.h) for row in rows]
    finite = [(error, h) for error, h in errors if math.isfinite(error)]
    return min(finite)[1] if finite else math.nan
