"""Rendering: results -> a Rich table, plain tab-separated lines, or JSON.  Never computes."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, TextIO

from .results import element_names

if TYPE_CHECKING:
    from .functions import FunctionSpec
    from .optimize import MinimizeResult
    from .results import DifferenceTable, DiffResult, GradResult, HessianResult, JacobianResult, ParseInfo, TaylorResult

FORMATS = ("table", "plain", "json")


def number(value: Any) -> str:
    """Full precision: the shortest text that reads back as the same float; lists stay nested."""
    if isinstance(value, list):
        return "[" + ", ".join(number(item) for item in value) + "]"
    return repr(float(value))


def grid(value: Any) -> str:
    """For tables: a matrix one row per line."""
    if isinstance(value, list) and value and isinstance(value[0], list):
        return "\n".join(number(row) for row in value)
    return number(value)


def shape_text(value: Any) -> str:
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0] if value else None
    return "×".join(map(str, shape))


def short(value: float) -> str:
    return f"{value:.2e}" if math.isfinite(value) else str(value)


def emit_grad(result: GradResult, fmt: str, out: TextIO, explain_parse: bool = False) -> None:
    if fmt == "json":
        out.write(json.dumps(result.to_json(explain_parse)) + "\n")
    elif fmt == "plain":
        out.write("".join(line + "\n" for line in _grad_plain(result, explain_parse)))
    else:
        _grad_table(result, out)


def reading_lines(parse: ParseInfo, explain_parse: bool) -> list[str]:
    """--explain-parse in plain output: what the text was read as, then one line per reading."""
    if not explain_parse:
        return []
    written = [f"as-written\t{parse.as_written}"] if parse.as_written is not None else []
    return [f"read-as\t{parse.read_as}", *written, *(f"note\t{note}" for note in parse.notes)]


def print_reading(console: Any, parse: ParseInfo, expression: str) -> None:
    """The table view's "read as" line, with every note, wherever the text was not read as written."""
    from rich.text import Text

    if parse.notes or parse.source.replace(" ", "") != expression.replace(" ", ""):
        console.print(Text(f"read {parse.source!r} as {expression}", style="dim"))
        for note in parse.notes:
            console.print(Text(f"  · {note}", style="dim"))
    if parse.as_written is not None:
        console.print(Text(f"as written: {parse.as_written}   (torch computes it as written; SymPy simplifies it "
                           f"to {expression})", style="yellow"))


def _grad_plain(result: GradResult, explain_parse: bool) -> list[str]:
    lines = reading_lines(result.parse, explain_parse)
    lines.append(f"value\t{number(result.value)}")
    lines.extend(f"d/d{name}\t{number(value)}" for name, value in result.gradient.items())
    if result.check is not None and result.check.skipped is not None:
        lines.append(f"check\tskipped\t{result.check.skipped}")
    elif result.check is not None:
        check = result.check
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
            lines.append(f"fd-verdict\t{name}\t{fd_verdict.verdict}\t{short(fd_verdict.error)}\t"
                         f"{short(fd_verdict.expected_error)}")
    for kink in result.nondifferentiable or []:
        lines.append(f"kink\t{kink.variable}\t{number(kink.left)}\t{number(kink.right)}\t{kink.node}")
    return lines


def _console(out: TextIO) -> Any:
    from rich.console import Console

    # Off a terminal (a forced --format table), use a width that fits full-precision numbers.
    return Console(file=out, highlight=False, width=None if out.isatty() else 140)


def print_fitting(console: Any, headers: list[str], rows: list[list[str]], justify: list[str],
                  title: str | None = None) -> None:
    """A table that never cuts a number: where all its columns do not fit the terminal, it is printed
    as several tables, each with the first (label) column and as many others as fit."""
    from rich.table import Table
    from rich.text import Text

    widths = [max(Text.from_markup(cell).cell_len for cell in [header, *column])
              for header, column in zip(headers, zip(*rows) if rows else [[]] * len(headers))]
    groups: list[list[int]] = [[]]
    used = 1 + widths[0] + 3
    for index in range(1, len(headers)):
        if groups[-1] and used + widths[index] + 3 > console.width:
            groups.append([])
            used = 1 + widths[0] + 3
        groups[-1].append(index)
        used += widths[index] + 3
    for group in groups:
        view = Table(title=title, header_style="bold")
        for index in [0, *group]:
            view.add_column(headers[index], justify=justify[index], no_wrap=True)  # type: ignore[arg-type]
        for row in rows:
            view.add_row(*[row[index] for index in [0, *group]])
        console.print(view)
        title = None


def _grad_table(result: GradResult, out: TextIO) -> None:
    from rich.text import Text

    console = _console(out)
    names = list(result.point)
    at = ", ".join(f"{name} = {number(result.point[name])}" if not isinstance(result.point[name], list)
                   else f"{name}: {shape_text(result.point[name])} tensor" for name in names)
    console.print(Text.assemble(("f", "bold"), " = ", (result.expression, "cyan")))
    print_reading(console, result.parse, result.expression)
    console.print(Text(f"at {at or 'no variables'}   ({result.dtype}, {result.device})", style="dim"))

    check = result.check if result.check is not None and result.check.skipped is None else None
    headers = ["", "autograd"] + (["symbolic", "abs error", "rel error", "check"] if check is not None else [])
    rows = [["f", number(result.value), *([""] * 4 if check else [])]]
    for name, value in result.gradient.items():
        tensor = isinstance(value, list)
        cells = [f"∂f/∂{name}", f"{shape_text(value)} tensor ↓" if tensor else number(value)]
        if check is not None:
            verdict = check.verdict(name)
            shown = {"agree": "[green]agree[/]", "kink": "[yellow]kink[/]"}.get(verdict, "[bold red]DISAGREE[/]")
            cells += ["by element" if tensor else number(check.gradient[name]), short(check.abs_error[name]),
                      short(check.rel_error[name]), shown]
        rows.append(cells)
    print_fitting(console, headers, rows, ["left", "right", "right", "right", "right", "center"])
    for name, value in result.gradient.items():
        if isinstance(value, list):
            console.print(_matrix_table(f"∂f/∂{name} (autograd)", value))
    if check is not None:
        for name, formula in check.derivatives.items():
            if isinstance(formula, str):
                console.print(Text.assemble((f"∂f/∂{name} = ", "bold"), (formula, "cyan")))
        for name, errors in check.reference_error.items():
            ranked = sorted((error, method) for method, error in errors.items() if error is not None)
            console.print(Text(f"∂f/∂{name} to 30 digits (SymPy, mpmath): {number(check.reference[name])}; "
                               "relative errors: " + ", ".join(f"{method.replace('_', ' ')} {short(error)}"
                                                               for error, method in ranked), style="dim"))
        verdict = "autograd and SymPy agree" if check.agree else "autograd and SymPy DISAGREE"
        if check.undefined:
            verdict = "f is not defined at this point: there is no derivative to compare"
        elif check.kinks:
            verdict = (f"f is not differentiable in {', '.join(check.kinks)} here (a kink): nothing to agree on; "
                       "elsewhere autograd and SymPy " + ("agree" if check.agree else "DISAGREE"))
        rule = ("" if check.undefined or check.kinks else f" (against the 30-digit value: rtol {check.rtol:g}, "
                f"atol {check.atol:g}, widened by the conditioning the formula shows in this dtype)")
        console.print(Text(verdict + rule, style="yellow" if check.undefined or check.kinks else
                           "green" if check.agree else "bold red"))
    if result.check is not None and result.check.skipped is not None:
        console.print(Text(f"check skipped: {result.check.skipped}", style="yellow"))
    if result.finite_differences is not None:
        for name in result.gradient:
            _difference_table(console, result.finite_differences, name)


def _matrix_table(title: str, value: list[Any]) -> Any:
    """A vector or matrix as a grid (higher ranks: one row per leading index)."""
    from rich.table import Table

    rows = value if value and isinstance(value[0], list) else [value]
    view = Table(title=title, show_header=False)
    for _ in range(len(rows[0]) if rows and isinstance(rows[0], list) else 1):
        view.add_column(justify="right", no_wrap=True)
    for row in rows:
        view.add_row(*[number(item) for item in (row if isinstance(row, list) else [row])])
    return view


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
                      [[_step(row.h), number(row.forward[name]), number(row.backward[name])] for row in table.rows],
                      ["right"] * 3, title)
        console.print("[yellow]f is not differentiable here: the forward and backward columns are the right and "
                      "left derivatives[/]")
        return
    rows = [[_step(row.h), number(row.forward[name]),
             short(row.forward_error[name]) + (" ★" if row.h == best_forward else ""), row.regime["forward"][name],
             number(row.central[name]), short(row.central_error[name]) + (" ★" if row.h == best_central else ""),
             row.regime["central"][name]] for row in table.rows]
    print_fitting(console, ["h", "forward", "error", "regime", "central", "error", "regime"], rows,
                  ["right", "right", "right", "left", "right", "right", "left"], title)
    console.print(
        f"best h: forward {short(best_forward)} (theory √ε·max(|x|,1) = "
        f"{short(table.theoretical_h['forward'][name])}), central {short(best_central)} "
        f"(theory ∛ε·max(|x|,1) = {short(table.theoretical_h['central'][name])})"
    )
    if verdict is not None and verdict.verdict in ("agree", "DISAGREE"):
        console.print(f"[{'green' if verdict.agree else 'bold red'}]finite differences {verdict.verdict} with "
                      f"autograd[/]: error {short(verdict.error)} at h = {_step(verdict.best_h)}, where the theory "
                      f"allows about {short(verdict.expected_error)}")


def _step(h: float) -> str:
    """1e-05 for powers of ten, 3 significant digits otherwise."""
    text = f"{h:.0e}"
    return text if float(text) == h else f"{h:.3g}"


def emit_functions(specs: list[FunctionSpec], fmt: str, out: TextIO) -> None:
    if fmt == "json":
        out.write(json.dumps([{"name": s.name, "aliases": list(s.aliases), "arity": s.arity_text(),
                               "description": s.description, "sympy": s.sympy, "torch": s.torch}
                              for s in specs]) + "\n")
        return
    if fmt == "plain":
        out.write("".join(f"{s.name}\t{s.arity_text()}\t{s.description}\t{','.join(s.aliases)}\n" for s in specs))
        return
    from rich.table import Table

    view = Table(title="derivcli functions", header_style="bold")
    for heading in ("name", "args", "description", "aliases", "SymPy form", "torch form"):
        view.add_column(heading)
    for s in specs:
        view.add_row(s.name, s.arity_text(), s.description, ", ".join(s.aliases),
                     s.sympy.rpartition(".")[2], s.torch.replace("derivcli.torch_forms.", "derivcli:"))
    _console(out).print(view)


def matrix_check_lines(result: Any) -> list[str]:
    """Plain lines for a Jacobian's or Hessian's --check and --fd."""
    lines = []
    for name, item in (("check", result.check), ("fd", result.finite_differences)):
        if item is not None:
            verdict = "skipped" if item.skipped is not None else "agree" if item.agree else "DISAGREE"
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
        else:
            console.print(f"[{'green' if item.agree else 'bold red'}]{label} "
                          f"{'agree' if item.agree else 'DISAGREE'} with autograd[/] in every entry "
                          f"(largest difference {short(item.max_abs_error)})")


def emit_jacobian(result: JacobianResult, fmt: str, out: TextIO, explain_parse: bool = False) -> None:
    if fmt == "json":
        out.write(json.dumps(result.to_json(explain_parse)) + "\n")
        return
    if fmt == "plain":
        lines = reading_lines(result.parse, explain_parse)
        lines.append(f"value\t{number(result.value)}")
        for name, block in result.jacobian.items():
            for label, row in _jacobian_rows(block, result.output_shape, result.variable_shapes[name]):
                lines.append(f"d{label}/d{name}\t" + "\t".join(number(v) for v in row))
        lines += matrix_check_lines(result)
        out.write("".join(line + "\n" for line in lines))
        return
    from rich.table import Table
    from rich.text import Text

    console = _console(out)
    console.print(Text.assemble(("f", "bold"), " = ", (result.expression, "cyan")))
    print_reading(console, result.parse, result.expression)
    console.print(Text(f"value {grid(result.value)}   ({result.dtype}, {result.device})", style="dim"))
    for name, block in result.jacobian.items():
        shape = result.variable_shapes[name]
        view = Table(title=f"Jacobian with respect to {name} (shape {result.output_shape + shape})",
                     header_style="bold")
        view.add_column("")
        for label in element_names(name, shape):
            view.add_column(f"∂/∂{label}", justify="right", no_wrap=True)
        for label, row in _jacobian_rows(block, result.output_shape, shape):
            view.add_row(label, *[number(v) for v in row])
        console.print(view)
    print_matrix_checks(console, result)


def _jacobian_rows(block: Any, output_shape: list[int], variable_shape: list[int]) -> list[tuple[str, list[float]]]:
    """One row per output element (f[0], f[1, 2], …), its derivatives by variable element."""
    def flatten(value: Any) -> list[float]:
        return [v for item in value for v in flatten(item)] if isinstance(value, list) else [value]

    flat = flatten(block)
    width = math.prod(variable_shape)
    labels = element_names("f", output_shape)
    return [(label, flat[i * width:(i + 1) * width]) for i, label in enumerate(labels)]



def emit_hessian(result: HessianResult, fmt: str, out: TextIO, explain_parse: bool = False) -> None:
    if fmt == "json":
        out.write(json.dumps(result.to_json(explain_parse)) + "\n")
        return
    if fmt == "plain":
        lines = reading_lines(result.parse, explain_parse)
        lines += [f"value\t{number(result.value)}", "variables\t" + "\t".join(result.variables),
                 "gradient\t" + "\t".join(number(v) for v in result.gradient)]
        lines += [f"hessian\t{name}\t" + "\t".join(number(v) for v in row)
                  for name, row in zip(result.variables, result.hessian)]
        lines += ["eigenvalues\t" + "\t".join(number(v) for v in result.eigenvalues), f"verdict\t{result.verdict}"]
        lines += matrix_check_lines(result)
        out.write("".join(line + "\n" for line in lines))
        return
    from rich.table import Table
    from rich.text import Text

    console = _console(out)
    console.print(Text.assemble(("f", "bold"), " = ", (result.expression, "cyan")))
    print_reading(console, result.parse, result.expression)
    console.print(Text(f"f = {number(result.value)}   ({result.dtype})", style="dim"))
    view = Table(title="Hessian", header_style="bold")
    view.add_column("")
    for name in result.variables:
        view.add_column(f"∂/∂{name}", justify="right", no_wrap=True)
    view.add_column("gradient", justify="right", no_wrap=True)
    for name, row, slope in zip(result.variables, result.hessian, result.gradient):
        view.add_row(f"∂/∂{name}", *[number(v) for v in row], number(slope))
    console.print(view)
    console.print(Text("eigenvalues: " + ", ".join(number(v) for v in result.eigenvalues)))
    console.print(Text(f"at this point: {result.verdict}", style="bold"))
    print_matrix_checks(console, result)


def emit_diff(result: DiffResult, fmt: str, out: TextIO, explain_parse: bool = False, latex: bool = False) -> None:
    if fmt == "json":
        out.write(json.dumps(result.to_json(explain_parse)) + "\n")
        return
    what = _partial(result.wrt)
    if fmt == "plain":
        lines = reading_lines(result.parse, explain_parse)
        lines += [f"derivative\t{result.latex if latex else result.derivative}"] if result.derivative else []
        if result.point is not None:
            lines += [f"value\t{_maybe(result.value)}", f"{what}\t{_maybe(result.derivative_value)}",
                      f"method\t{result.method}"]
            if result.formula_value is not None:
                lines.append(f"check\t{'agree' if result.agree else 'DISAGREE'}\t{number(result.formula_value)}")
        lines += [f"note\t{note}" for note in result.notes]
        out.write("".join(line + "\n" for line in lines))
        return
    from rich.text import Text

    console = _console(out)
    console.print(Text.assemble(("f", "bold"), " = ", (result.expression, "cyan")))
    print_reading(console, result.parse, result.expression)
    if result.derivative is not None:
        shown = (result.latex if latex else result.derivative) or ""
        console.print(Text.assemble((f"{what} = ", "bold"), (shown, "cyan")))
    if result.point is not None:
        at = ", ".join(f"{name} = {number(value)}" for name, value in result.point.items())
        console.print(Text(f"at {at}:  f = {_maybe(result.value)}", style="dim"))
        console.print(Text.assemble((f"{what} = ", "bold"), _maybe(result.derivative_value),
                                    (f"   by {result.method}", "dim")))
        if result.formula_value is not None:
            console.print(Text(f"the formula gives {number(result.formula_value)}: "
                               + ("agree" if result.agree else "DISAGREE"),
                               style="green" if result.agree else "bold red"))
    for note in result.notes:
        console.print(Text(f"note: {note}", style="yellow"))


def _partial(sequence: list[str]) -> str:
    """d³f/dx³, ∂²f/∂x∂y."""
    from itertools import groupby

    order = len(sequence)
    power = "" if order == 1 else str(order).translate(SUPERSCRIPTS)
    if len(set(sequence)) == 1:
        name = sequence[0]
        return f"d{power}f/d{name}{power}"
    runs = [(name, len(list(group))) for name, group in groupby(sequence)]
    parts = "".join(f"∂{name}" + ("" if count == 1 else str(count).translate(SUPERSCRIPTS)) for name, count in runs)
    return f"∂{power}f/{parts}"


SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _maybe(value: float | None) -> str:
    return "-" if value is None else number(value)


def emit_taylor(result: TaylorResult, fmt: str, out: TextIO, explain_parse: bool = False) -> None:
    if fmt == "json":
        out.write(json.dumps(result.to_json(explain_parse)) + "\n")
        return
    reference = result.sympy_coefficients
    if fmt == "plain":
        lines = reading_lines(result.parse, explain_parse)
        lines += [f"polynomial\t{result.polynomial}", f"method\t{result.method}"]
        for k, c in enumerate(result.coefficients):
            lines.append(f"c{k}\t{number(c)}" + (f"\t{number(reference[k])}" if reference else ""))
        lines += [f"note\t{note}" for note in result.notes]
        out.write("".join(line + "\n" for line in lines))
        return
    from rich.table import Table
    from rich.text import Text

    console = _console(out)
    console.print(Text.assemble(("f", "bold"), " = ", (result.expression, "cyan"),
                                f"   around {result.variable} = {number(result.around)}"))
    print_reading(console, result.parse, result.expression)
    view = Table(title=f"Taylor coefficients f⁽ᵏ⁾/k! to order {result.order}", header_style="bold")
    for heading in ("k", f"torch ({result.method})", "SymPy series", "difference"):
        view.add_column(heading, justify="right", no_wrap=True)
    for k, c in enumerate(result.coefficients):
        other = reference[k] if reference else None
        view.add_row(str(k), number(c), _maybe(other), "-" if other is None else short(abs(c - other)))
    console.print(view)
    console.print(Text.assemble(("T(x) = ", "bold"), (result.polynomial, "cyan")))
    if result.agree is not None:
        console.print(Text("torch and SymPy agree" if result.agree else "torch and SymPy DISAGREE",
                           style="green" if result.agree else "bold red"))
    for note in result.notes:
        console.print(Text(f"note: {note}", style="yellow"))


def write_points(table: dict[str, Any], path: str | None, out: TextIO) -> None:
    """--points results: columns (the variables, f, the derivatives) as CSV, or a 2-D .npy array with
    the columns in the same order.  CSV goes out in chunks, so a long table never becomes one string; a
    path that cannot be written (no such folder, a directory, a full disk) is a one-line error naming it."""
    import torch

    from . import memory
    from .errors import DerivcliError
    from .files import output_kind

    kind = output_kind(path) if path is not None else "csv"
    names = list(table)
    columns = [torch.as_tensor(table[name]).reshape(-1).to(torch.float64) for name in names]
    memory.check(len(names) * max((len(column) for column in columns), default=0), "the --points table")
    matrix = torch.stack(columns, dim=1)
    if path is None:
        _write_csv(names, matrix, out)
        return
    try:
        if kind == "npy":
            import numpy as np

            with open(path, "wb") as binary:
                np.save(binary, matrix.numpy())
        else:
            with open(path, "w", encoding="utf-8") as handle:
                _write_csv(names, matrix, handle)
    except OSError as error:
        raise DerivcliError(f"--output {path}: cannot write it: {(error.strerror or str(error)).lower()}") from None


def _write_csv(names: list[str], matrix: Any, out: TextIO, chunk: int = 1 << 16) -> None:
    out.write(",".join(names) + "\n")
    for first in range(0, matrix.shape[0], chunk):
        out.write("".join(",".join(map(repr, row)) + "\n" for row in matrix[first:first + chunk].tolist()))


def emit_minimize(result: MinimizeResult, fmt: str, out: TextIO, explain_parse: bool = False) -> None:
    if fmt == "json":
        out.write(json.dumps(result.to_json(explain_parse)) + "\n")
        return
    if fmt == "plain":
        lines = reading_lines(result.parse, explain_parse)
        lines += [f"step\t{entry.step}\t{number(entry.value)}\t{short(entry.grad_norm)}\t{number_map(entry.point)}"
                 for entry in result.trace]
        lines += [f"point\t{number_map(result.point)}", f"value\t{number(result.value)}",
                  f"converged\t{str(result.converged).lower()}", f"stopped\t{result.stopped}"]
        out.write("".join(line + "\n" for line in lines))
        return
    from rich.table import Table
    from rich.text import Text

    console = _console(out)
    console.print(Text.assemble(("minimize ", "bold"), (result.expression, "cyan"),
                                f"   {result.optimizer}, lr {result.lr:g}"))
    print_reading(console, result.parse, result.expression)
    shown = result.trace if len(result.trace) <= 25 else result.trace[:12] + result.trace[-12:]
    view = Table(header_style="bold")
    for heading in ("step", "value", "point", "gradient norm"):
        view.add_column(heading, justify="right" if heading != "point" else "left", no_wrap=heading != "point")
    for index, entry in enumerate(shown):
        if len(result.trace) > 25 and index == 12:
            view.add_row("…", "", "", "")
        view.add_row(str(entry.step), number(entry.value), number_map(entry.point, 60), short(entry.grad_norm))
    console.print(view)
    console.print(Text(f"final point: {number_map(result.point, 200)}   value {number(result.value)}"))
    console.print(Text(f"{'converged' if result.converged else 'not converged'}: {result.stopped}",
                       style="green" if result.converged else ("bold red" if result.diverged else "yellow")))


def number_map(values: dict[str, Any], limit: int | None = None) -> str:
    text = ", ".join(f"{name}={number(value)}" for name, value in values.items())
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"
