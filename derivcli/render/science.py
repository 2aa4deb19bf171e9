"""The views of propagate, sensitivity and emit: a table on a terminal (values as metrologists write them:
two significant digits of uncertainty, the value to match), tab-separated lines in a pipe and JSON, both
at full precision."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from ..science.uncertainty import rounded, two_significant
from ..wire import dumps
from .layout import console_for, print_fitting, print_formula, print_reading, reading_lines
from .numbers import binding_text, in_working_dtype, maybe_number, number

if TYPE_CHECKING:
    from ..emit.code import EmittedCode
    from ..science.propagation import PropagationResult
    from ..science.sensitivity import SensitivityResult


def _emit(result: Any, fmt: str, out: TextIO, explain_parse: bool, plain: Callable[[Any], list[str]],
          table: Callable[[Any, Any], None]) -> None:
    """propagate's and sensitivity's views: JSON; tab-separated lines after how the input was read; or a
    table under the formula and its reading."""
    if fmt == "json":
        out.write(dumps(result.to_json(explain_parse)) + "\n")
    elif fmt == "plain":
        lines = reading_lines(result.parse, explain_parse) if result.parse is not None else []
        out.write("".join(line + "\n" for line in lines + plain(result)))
    else:
        console = console_for(out)
        print_formula(console, "f", result.expression)
        if result.parse is not None:
            print_reading(console, result.parse, result.expression)
        table(result, console)


@in_working_dtype
def emit_propagation(result: PropagationResult, fmt: str, out: TextIO, explain_parse: bool = False) -> None:
    _emit(result, fmt, out, explain_parse, _propagation_plain, _propagation_table)


def _propagation_plain(result: PropagationResult) -> list[str]:
    lines = [f"value\t{number(result.value)}", f"uncertainty\t{number(result.uncertainty)}"]
    if result.expanded is not None and result.k is not None:
        lines.append(f"expanded\t{number(result.expanded)}\t{number(result.k)}")
    if result.output_covariance is not None:
        lines.append(f"output-covariance\t{number(result.output_covariance)}")
    lines += [f"budget\t{row.name}\t{number(row.value)}\t{number(row.uncertainty)}\t{number(row.sensitivity)}\t"
              f"{number(row.contribution)}\t{maybe_number(row.share)}" for row in result.budget]
    second = result.second_order
    if second is not None:
        lines.append(f"second-order\t{number(second.uncertainty)}\t{number(second.change)}\t"
                     f"{'trusted' if second.trusted else 'untrusted'}")
    check = result.monte_carlo
    if check is not None:
        lines += [f"mc-samples\t{check.samples}\t{check.seed}\t{check.nonfinite}",
                  f"mc-mean\t{number(check.mean)}", f"mc-uncertainty\t{number(check.uncertainty)}",
                  f"mc-interval\t{number(check.interval[0])}\t{number(check.interval[1])}\t{number(check.coverage)}",
                  f"mc-linear\t{number(check.linear_interval[0])}\t{number(check.linear_interval[1])}",
                  f"mc-verdict\t{check.verdict}\t{number(check.differences[0])}\t{number(check.differences[1])}\t"
                  f"{number(check.tolerance)}"]
    return lines


def _propagation_table(result: PropagationResult, console: Any) -> None:
    from rich.text import Text

    if isinstance(result.value, list):
        _tensor_outputs(console, result)
        return
    expanded = "" if result.expanded is None else f";  U = {two_significant(result.expanded)} (k = {result.k:g})"
    console.print(Text.assemble(("f = ", "bold"), (result.rounded, "bold cyan"),
                                (f"   (combined standard uncertainty, first order{expanded})", "dim")))
    headers = ["input", "value ± u", "∂f/∂x", "contribution", "share"]
    rows = [[row.name, rounded(row.value, row.uncertainty), f"{row.sensitivity:.4g}", two_significant(row.contribution),
             "-" if row.share is None else f"{100 * row.share:.1f} %"] for row in result.budget]
    print_fitting(console, headers, rows, ["left", "right", "right", "right", "right"])
    if result.correlated:
        console.print(Text("inputs are correlated: a share is the input's row of gᵀΣg (it may be negative)",
                           style="dim"))
    second = result.second_order
    if second is not None:
        change = "undefined" if math.isnan(second.uncertainty) else f"{100 * second.change:+.2g} %"
        verdict = "first order is good to 10 %" if second.trusted else "first order is NOT to be trusted"
        console.print(Text(f"second order (normal inputs): u = {two_significant(second.uncertainty)} ({change}): "
                           f"{verdict}", style="green" if second.trusted else "bold yellow"))
    check = result.monte_carlo
    if check is not None:
        style = {"agree": "green", "differ": "bold red"}.get(check.verdict, "yellow")
        interval = f"[{_at(check.interval[0], check.tolerance)}, {_at(check.interval[1], check.tolerance)}]"
        linear = f"[{_at(check.linear_interval[0], check.tolerance)}, {_at(check.linear_interval[1], check.tolerance)}]"
        console.print(Text(f"Monte Carlo ({check.samples:,} samples, seed {check.seed}): f = "
                           f"{rounded(check.mean, check.uncertainty)}; {100 * check.coverage:g} % interval {interval}, "
                           f"first order's {linear}: {check.verdict} (GUM-S1 §8, δ = "
                           f"{two_significant(check.tolerance)})", style=style))


def _tensor_outputs(console: Any, result: PropagationResult) -> None:
    """A tensor-valued f: each element as value ± u (and U), its correlations in --json."""
    from rich.text import Text

    from ..results import element_names

    values, deviations = _flat(result.value), _flat(result.uncertainty)
    labels = element_names("f", _shape(result.value))
    expanded = _flat(result.expanded) if result.expanded is not None else None
    rows = [[label, rounded(v, u), *([two_significant(expanded[i])] if expanded else [])]
            for i, (label, v, u) in enumerate(zip(labels, values, deviations))]
    print_fitting(console, ["output", "value ± u", *([f"U (k = {result.k:g})"] if expanded else [])], rows,
                  ["left", "right", "right"])
    console.print(Text("first order, J Σ Jᵀ; the outputs' covariance matrix is in --json (output_covariance)",
                       style="dim"))


def _flat(value: Any) -> list[float]:
    return [item for part in value for item in _flat(part)] if isinstance(value, list) else [value]


def _shape(value: Any) -> list[int]:
    return [len(value), *_shape(value[0])] if isinstance(value, list) and value else []


def _at(value: float, tolerance: float) -> str:
    """An end point to the decimal place of δ (and one more), as GUM-S1 compares them."""
    if tolerance <= 0 or not math.isfinite(value):
        return number(value)
    places = max(0, 1 - math.floor(math.log10(tolerance)))
    return f"{value:.{places}f}"


@in_working_dtype
def emit_sensitivity(result: SensitivityResult, fmt: str, out: TextIO, explain_parse: bool = False) -> None:
    _emit(result, fmt, out, explain_parse, _sensitivity_plain, _sensitivity_table)


def _sensitivity_plain(result: SensitivityResult) -> list[str]:
    lines: list[str] = []
    if result.local is not None:
        lines.append(f"value\t{maybe_number(result.value)}")
        lines += [f"input\t{row.name}\t{number(row.value)}\t{number(row.derivative)}\t{maybe_number(row.elasticity)}"
                  for row in result.local]
    if result.global_ is not None:
        lines += [f"samples\t{result.samples}\t{result.seed}\t{result.nonfinite}",
                  f"mean\t{maybe_number(result.value)}", f"variance\t{maybe_number(result.variance)}"]
        lines += [f"input\t{row.name}\t{number(row.low)}\t{number(row.high)}\t{number(row.dgsm)}\t"
                  f"{maybe_number(row.sobol_bound)}" for row in result.global_]
    return lines


def _sensitivity_table(result: SensitivityResult, console: Any) -> None:
    from rich.text import Text

    if result.local is not None:
        console.print(Text(f"at {', '.join(binding_text(name, v) for name, v in result.point.items())}:  "
                           f"f = {maybe_number(result.value)}", style="dim"))
        rows = [[str(rank), row.name, number(row.value), number(row.derivative),
                 "undefined" if row.elasticity is None else f"{row.elasticity:.4g}"]
                for rank, row in enumerate(result.local, 1)]
        print_fitting(console, ["rank", "input", "value", "∂f/∂x", "elasticity"], rows,
                      ["right", "left", "right", "right", "right"])
        console.print(Text("elasticity: ∂f/∂x · x/f, the % change of f for a 1 % change of x", style="dim"))
    if result.global_ is not None:
        held = ", ".join(f"{name} = {number(v)}" for name, v in result.point.items())
        console.print(Text(f"{result.samples:,} uniform samples (seed {result.seed}){'; ' + held if held else ''}: "
                           f"mean of f {_sig(result.value)}, variance {_sig(result.variance)}", style="dim"))
        rows = [[str(rank), row.name, f"[{number(row.low)}, {number(row.high)}]", _sig(row.dgsm),
                 _sig(row.sobol_bound)] for rank, row in enumerate(result.global_, 1)]
        print_fitting(console, ["rank", "input", "range", "ν = E[(∂f/∂x)²]", "total Sobol' index <="], rows,
                      ["right", "left", "right", "right", "right"])
        console.print(Text("the bound is (b - a)²·ν / (π²·Var f) (Sobol' & Kucherenko 2009), for uniform inputs",
                           style="dim"))


def _sig(value: Any) -> str:
    return "undefined" if value is None else f"{value:.4g}"


def emit_code(result: EmittedCode, fmt: str, out: TextIO) -> None:
    """The code itself in a pipe or on a terminal (ready to redirect into a file); JSON carries it too."""
    if fmt == "json":
        out.write(dumps(result.to_json()) + "\n")
    else:
        out.write(result.code)
