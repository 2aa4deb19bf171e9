"""The point commands' views: grad (with its check and finite-difference tables), jacobian, hessian."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, TextIO

from ..results import element_names
from ..wire import dumps
from .answers import answer_lines, print_answers
from .layout import (
    console_for,
    print_fitting,
    print_formula,
    print_grid,
    print_reading,
    reading_lines,
    table_width,
)
from .numbers import binding_text, in_working_dtype, number, shape_text, short, step_text

if TYPE_CHECKING:
    from ..results import DifferenceTable, GradResult, HessianResult, JacobianResult

@in_working_dtype
def emit_grad(result: GradResult, fmt: str, out: TextIO, explain_parse: bool = False) -> None:
    if fmt == "json":
        out.write(dumps(result.to_json(explain_parse)) + "\n")
    elif fmt == "plain":
        out.write("".join(line + "\n" for line in _grad_plain(result, explain_parse)))
    else:
        _grad_table(result, out)


def _grad_plain(result: GradResult, explain_parse: bool) -> list[str]:
    lines = reading_lines(result.parse, explain_parse)
    lines.append(f"value\t{number(result.value)}")
    lines.extend(f"d/d{name}\t{number(value)}" for name, value in result.gradient.items())
    if result.check is not None and result.check.skipped is not None:
        lines.append(f"check\tskipped\t{result.check.skipped}")
    elif result.check is not None:
        check = result.check
        truth = "-" if check.value_reference is None else number(check.value_reference)
        lines.append(f"check-value\t{check.value_verdict}\t{truth}")
        for name, formula in check.derivatives.items():
            verdict = check.verdict(name)
            if name in check.reference:
                errors = check.reference_error.get(name, {})
                lines.append(f"check-reference\t{name}\t{number(check.reference[name])}\t"
                             f"closest\t{check.closest.get(name, 'none')}\t" + "\t".join(
                                 f"{method}={'-' if errors.get(method) is None else short(errors[method] or 0.0)}"
                                 for method in ("autograd", "symbolic", "finite_difference")))
            lines.append(f"check\t{name}\t{verdict}\t{number(check.gradient[name])}\t"
                         f"{short(check.abs_error[name])}\t{formula if isinstance(formula, str) else '(elementwise)'}")
    if result.finite_differences is not None:
        table = result.finite_differences
        for row in table.rows:
            for name in row.forward:
                lines.append(f"fd\t{name}\t{number(row.h)}\t{number(row.forward[name])}\t"
                             f"{number(row.central[name])}\t{short(row.forward_error[name])}\t"
                             f"{short(row.central_error[name])}")
        for scheme in ("forward", "central"):
            for name, h in table.best_h[scheme].items():
                lines.append(f"fd-best\t{name}\t{scheme}\t{number(h)}\t"
                             f"{number(table.theoretical_h[scheme][name])}")
        for name, fd_verdict in table.verdicts.items():
            plateau = "-" if fd_verdict.plateau is None else ":".join(number(h) for h in fd_verdict.plateau)
            lines.append(f"fd-verdict\t{name}\t{fd_verdict.verdict}\t{short(fd_verdict.error)}\t"
                         f"{short(fd_verdict.expected_error)}\t{number(fd_verdict.best_h)}\t{plateau}")
    for kink in result.nondifferentiable or []:
        lines.append(f"kink\t{kink.variable}\t{number(kink.left)}\t{number(kink.right)}\t{kink.node}")
    return lines + answer_lines(result)


def print_header(console: Any, result: Any, show_value: bool = True) -> None:
    """What every point view starts with: f, how it was read, and the point, the value and the dtype."""
    from rich.text import Text

    at = ", ".join(binding_text(name, value) if not isinstance(value, list)
                   else f"{name}: {shape_text(value)} tensor" for name, value in result.point.items())
    print_formula(console, "f", result.expression)
    print_reading(console, result.parse, result.expression)
    value = f":  f = {number(result.value)}" if show_value else ""
    console.print(Text(f"at {at or 'no variables'}{value}   ({result.dtype}, {getattr(result, 'device', 'cpu')})",
                       style="dim"))


def _grad_table(result: GradResult, out: TextIO) -> None:
    from rich.text import Text

    console = console_for(out)
    print_header(console, result, show_value=False)  # f is the table's first row

    check = result.check if result.check is not None and result.check.skipped is None else None
    headers = ["", "autograd"] + (["symbolic", "abs error", "rel error", "check"] if check is not None else [])
    rows = [["f", number(result.value), *([""] * 4 if check else [])]]
    for name, value in result.gradient.items():
        tensor = isinstance(value, list)
        cells = [f"∂f/∂{name}", f"{shape_text(value)} tensor ↓" if tensor else number(value)]
        if check is not None:
            verdict = check.verdict(name)
            shown = {"agree": "[green]agree[/]", "kink": "[yellow]kink[/]", "undefined": "[yellow]undefined[/]"
                     }.get(verdict, f"[bold red]{verdict}[/]")
            cells += ["by element" if tensor else number(check.gradient[name]), short(check.abs_error[name]),
                      short(check.rel_error[name]), shown]
        rows.append(cells)
    justify = ["left", "right", "right", "right", "right", "center"]
    if check is not None and table_width(headers, rows) > console.width:  # the verdict stays in the table
        headers, justify, *rows = [cells[:4] + cells[5:] for cells in (headers, justify, *rows)]
    print_fitting(console, headers, rows, justify)
    for name, value in result.gradient.items():
        if isinstance(value, list):
            print_grid(console, f"∂f/∂{name} (autograd)", value)
    if check is not None:
        for name, formula in check.derivatives.items():
            if isinstance(formula, str):
                print_formula(console, f"∂f/∂{name}", formula, check.pretty.get(name))
        for name, errors in check.reference_error.items():
            ranked = sorted((error, method) for method, error in errors.items() if error is not None)
            console.print(Text(f"∂f/∂{name} by SymPy and mpmath (30 digits): {number(check.reference[name])}; "
                               "relative errors: " + ", ".join(f"{method.replace('_', ' ')} {short(error)}"
                                                               for error, method in ranked), style="dim"))
        if check.value_verdict != "agree" and check.value_reference is not None:
            console.print(Text(f"f by SymPy and mpmath (30 digits): {number(check.value_reference)}", style="dim"))
        console.print(Text(_check_summary(check), style="yellow" if check.agree is None or check.kinks and not
                           check.failed else "green" if check.agree else "bold red"))
    if result.check is not None and result.check.skipped is not None:
        console.print(Text(f"check skipped: {result.check.skipped}", style="yellow"))
    if result.finite_differences is not None:
        for name in result.gradient:
            _difference_table(console, result.finite_differences, name)
    print_answers(console, result)


def _check_summary(check: Any) -> str:
    """The check's verdict in one sentence, with the rule it applied."""
    rule = f" (the dtype's tolerance against the 30-digit value: rtol {check.rtol:g}, atol {check.atol:g})"
    if check.undefined:
        return "f is not defined at this point: there is no derivative to compare"
    if check.failed:
        return f"the check fails: {check.overall}{rule}"
    if check.agree is None:
        return "a derivative is not finite at this point, in fact: there is no number to compare"
    if check.kinks:
        return (f"f is not differentiable in {', '.join(check.kinks)} here (a kink): nothing to agree on; "
                "elsewhere autograd agrees with the truth" + rule)
    return "autograd agrees with the truth" + rule


def _difference_table(console: Any, table: DifferenceTable, name: str) -> None:
    best_forward = table.best_h["forward"][name]
    best_central = table.best_h["central"][name]
    what = f"∂f/∂{name}" if name not in table.directions else \
        f"∂f/∂{name} along a random unit direction v (autograd ∇f·v"
    title = f"finite differences for {what} (autograd {number(table.autograd[name])})" \
        if name not in table.directions else f"finite differences for {what} = {number(table.autograd[name])})"
    verdict = table.verdicts.get(name)
    if verdict is not None and verdict.verdict == "kink":  # one-sided quotients: the right and left derivatives
        print_fitting(console, ["h", "forward (right)", "backward (left)"],
                      [[step_text(row.h), number(row.forward[name]), number(row.backward[name])] for row in table.rows],
                      ["right"] * 3, title)
        console.print("[yellow]f is not differentiable here: the forward and backward columns are the right and "
                      "left derivatives[/]")
        return
    rows = [[step_text(row.h), number(row.forward[name]),
             short(row.forward_error[name]) + (" ★" if row.h == best_forward else ""), row.regime["forward"][name],
             number(row.central[name]), short(row.central_error[name]) + (" ★" if row.h == best_central else ""),
             row.regime["central"][name]] for row in table.rows]
    print_fitting(console, ["h", "forward", "error", "regime", "central", "error", "regime"], rows,
                  ["right", "right", "right", "left", "right", "right", "left"], title, units=[[1, 2, 3], [4, 5, 6]])
    console.print(
        f"best h: forward {short(best_forward)} (theory √ε·max(|x|,1) = "
        f"{short(table.theoretical_h['forward'][name])}), central {short(best_central)} "
        f"(theory ∛ε·max(|x|,1) = {short(table.theoretical_h['central'][name])})"
    )
    if verdict is None or verdict.verdict == "kink":
        return
    if verdict.verdict == "not finite":
        console.print("[yellow]the finite differences are not finite either: nothing to compare[/]")
        return
    where = ("no two neighbouring steps agree with each other" if verdict.plateau is None else
             f"on the plateau h = {step_text(verdict.plateau[0])} … {step_text(verdict.plateau[1])} the central "
             "differences agree with each other")
    judged = f"at h = {step_text(verdict.best_h)}" + (" (Richardson)" if verdict.method == "richardson" else "")
    if verdict.verdict == "non-finite":
        console.print(f"[bold red]autograd is not finite where the finite differences are[/]: {where}; {judged} "
                      f"they give {number(verdict.estimate)}")
        return
    console.print(f"[{'green' if verdict.agree else 'bold red'}]finite differences {verdict.verdict} with "
                  f"autograd[/]: {where}; {judged} the error is {short(verdict.error)}, where the theory allows "
                  f"about {short(verdict.expected_error)}")


def matrix_check_lines(result: Any) -> list[str]:
    """Plain lines for a Jacobian's or Hessian's --check and --fd."""
    lines = []
    for name, item in (("check", result.check), ("fd", result.finite_differences)):
        if item is not None:
            verdict = "skipped" if item.skipped is not None else item.verdict
            lines.append(f"{name}\t{verdict}\t" + (item.skipped or short(item.max_abs_error)))
    for kink in getattr(result, "nondifferentiable", None) or []:
        lines.append(f"kink\t{kink.variable}\t{number(kink.left)}\t{number(kink.right)}\t{kink.node}")
    return lines


def print_matrix_checks(console: Any, result: Any) -> None:
    """The table view's lines for a Jacobian's or Hessian's --check and --fd."""
    for label, item in (("SymPy's derivatives", result.check), ("central differences", result.finite_differences)):
        if item is None:
            continue
        if item.skipped is not None:
            console.print(f"[yellow]{label}: skipped ({item.skipped})[/]")
        elif item.agree:
            console.print(f"[green]{label} agree with autograd[/] in every entry "
                          f"(largest difference {short(item.max_abs_error)})")
        else:
            console.print(f"[{'yellow' if item.agree is None else 'bold red'}]{label}: {item.verdict}[/] "
                          f"(largest finite difference {short(item.max_abs_error)})")


@in_working_dtype
def emit_jacobian(result: JacobianResult, fmt: str, out: TextIO, explain_parse: bool = False) -> None:
    if fmt == "json":
        out.write(dumps(result.to_json(explain_parse)) + "\n")
        return
    if fmt == "plain":
        lines = reading_lines(result.parse, explain_parse)
        lines.append(f"value\t{number(result.value)}")
        for name, block in result.jacobian.items():
            shape = result.variable_shapes[name]
            if len(shape) > 1:  # a matrix's entries go flat, row-major: a line names each column
                lines.append("columns\t" + "\t".join(element_names(name, shape)))
            for label, row in _jacobian_rows(block, result.output_shape, shape):
                lines.append(f"d{label}/d{name}\t" + "\t".join(number(v) for v in row))
        lines += matrix_check_lines(result)
        out.write("".join(line + "\n" for line in lines))
        return

    console = console_for(out)
    print_header(console, result, show_value=not isinstance(result.value, list))
    if isinstance(result.value, list):
        print_grid(console, "f", result.value)
    for name, block in result.jacobian.items():
        shape = result.variable_shapes[name]
        labelled = _jacobian_rows(block, result.output_shape, shape)
        print_grid(console, f"Jacobian with respect to {name} (shape {result.output_shape + shape})",
                   [row for _, row in labelled], row_labels=[label for label, _ in labelled],
                   column_labels=[f"∂/∂{label}" for label in element_names(name, shape)])
    print_matrix_checks(console, result)


def _jacobian_rows(block: Any, output_shape: list[int], variable_shape: list[int]) -> list[tuple[str, list[float]]]:
    """One row per output element (f[0], f[1, 2], …), its derivatives by variable element."""
    def flatten(value: Any) -> list[float]:
        return [v for item in value for v in flatten(item)] if isinstance(value, list) else [value]

    flat = flatten(block)
    width = math.prod(variable_shape)
    labels = element_names("f", output_shape)
    return [(label, flat[i * width:(i + 1) * width]) for i, label in enumerate(labels)]



@in_working_dtype
def emit_hessian(result: HessianResult, fmt: str, out: TextIO, explain_parse: bool = False) -> None:
    if fmt == "json":
        out.write(dumps(result.to_json(explain_parse)) + "\n")
        return
    if fmt == "plain":
        lines = reading_lines(result.parse, explain_parse)
        lines += [f"value\t{number(result.value)}", "variables\t" + "\t".join(result.variables)]
        lines += [f"d/d{name}\t{number(slope)}" for name, slope in zip(result.variables, result.gradient)]
        lines += [f"hessian\t{name}\t" + "\t".join(number(v) for v in row)
                  for name, row in zip(result.variables, result.hessian)]
        lines += ["eigenvalues\t" + "\t".join(number(v) for v in result.eigenvalues), f"verdict\t{result.verdict}"]
        lines += matrix_check_lines(result)
        out.write("".join(line + "\n" for line in lines))
        return
    from rich.text import Text

    console = console_for(out)
    print_header(console, result)
    labels = [f"∂/∂{name}" for name in result.variables]
    print_grid(console, "gradient", list(result.gradient), column_labels=labels)
    print_grid(console, "Hessian", result.hessian, row_labels=labels, column_labels=labels)
    console.print(Text("eigenvalues: " + ", ".join(number(v) for v in result.eigenvalues)))
    console.print(Text(f"at this point: {result.verdict}", style="bold"))
    print_matrix_checks(console, result)
