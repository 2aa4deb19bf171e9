"""`derivcli check`'s views: a table on a terminal, tab-separated lines in a pipe, JSON.  Never computes.

Autograd's numbers are printed in the precision they were computed in (the dtype under test's, or
float64's where the same code run in float64 is what disagrees), the reference in float64's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

from ..wire import dumps
from .layout import console_for, print_fitting
from .numbers import in_working_dtype, number, short, working_dtype

if TYPE_CHECKING:
    from ..gradcheck.result import CheckResult, ElementCheck, NameCheck, Origin

VERDICT_STYLES = {"agree": "green", "kink": "yellow"}  # the rest (DISAGREE, inaccurate, non-finite) fail: red


@in_working_dtype
def emit_check(result: CheckResult, fmt: str, out: TextIO) -> None:
    if fmt == "json":
        out.write(dumps(result.to_json()) + "\n")
    elif fmt == "plain":
        out.write("".join(line + "\n" for line in check_lines(result)))
    else:
        _check_table(result, out)


def check_lines(result: CheckResult) -> list[str]:
    """verdict, then per name `check NAME VERDICT INDEX AUTOGRAD REFERENCE ABS REL TOLERANCE`; `element`
    lines with --full, `kink` lines with the left and right derivatives, `origin` and `note` lines."""
    lines = [f"target\t{result.target}\t{result.callable}\t{result.dtype}\t{result.device}\torder {result.order}",
             f"verdict\t{result.verdict}"]
    for name in result.names:
        lines.append("\t".join(["check", name.name, name.verdict, *_cells(name)]))
        for element in name.elements or []:
            lines.append("\t".join(["element", name.name, _index(element.index), element.verdict,
                                    *_numbers(element)]))
        if name.worst is not None and name.worst.one_sided is not None:
            left, right = name.worst.one_sided
            lines.append(f"kink\t{name.name}\t{_index(name.worst.index)}\t{number(left)}\t{number(right)}")
    if result.origin is not None:
        lines.append(f"origin\t{origin_text(result.origin)}")
    return lines + [f"note\t{note}" for note in notes(result)]


def _cells(name: NameCheck) -> list[str]:
    if name.worst is not None:
        return [_index(name.worst.index), *_numbers(name.worst)]
    if name.projection is not None:
        projection = name.projection
        return ["projection", number(projection.autograd), number(projection.reference),
                short(projection.abs_error), short(projection.rel_error), short(projection.tolerance)]
    return ["-"] * 6


def _numbers(element: ElementCheck) -> list[str]:
    with working_dtype(element.precision):
        autograd = number(element.autograd)
    return [autograd, number(element.reference), short(element.abs_error), short(element.rel_error),
            short(element.tolerance)]


def _index(index: list[int]) -> str:
    return "[" + ", ".join(map(str, index)) + "]"


def origin_text(origin: Origin) -> str:
    """The first operation that made a NaN or an infinity, in one sentence."""
    inputs = ", ".join(f"{'×'.join(map(str, shape)) or 'scalar'} {dtype}" for shape, dtype in origin.inputs)
    module = "" if origin.module is None else f" in module {origin.module} ({origin.module_type})" if origin.module \
        else f" in the model ({origin.module_type})"
    where = "" if origin.where is None else f" at {origin.where}"
    pass_ = "the backward pass" if origin.phase == "backward" else "the forward pass"
    return (f"the first {origin.produced} of {pass_} came from {origin.operation}{module}{where}"
            + (f", on inputs {inputs}" if inputs else ""))


def notes(result: CheckResult) -> list[str]:
    """What the reader needs to read the numbers right."""
    found = []
    if result.projected:
        shapes = ", ".join("×".join(map(str, shape)) or "scalar" for shape in result.outputs)
        found.append(f"the output ({shapes}) is reduced to sum(out * r), r a fixed random tensor: the numbers are "
                     "that sum's gradient")
    for name in result.names:
        if name.no_gradient:
            found.append(f"{name.name}: autograd gives no gradient (None), taken as 0")
        if name.projection is not None:
            found.append(f"{name.name}: a projection on random signs shows a kink, and no single element does")
        if name.worst is not None and name.worst.precision == "float64" and result.dtype != "float64":
            found.append(f"{name.name}: the autograd number shown is the same code's in float64, which is off the "
                         "reference: the backward computes the wrong thing, whatever the dtype")
    return found + result.notes


def _check_table(result: CheckResult, out: TextIO) -> None:
    from rich.text import Text

    console = console_for(out)
    console.print(Text(f"{result.target}: {result.callable}, {result.dtype} on {result.device}, against central "
                       f"differences in float64" + (", second derivatives" if result.order == 2 else ""),
                       style="dim"))
    headers = ["", "shape", "verdict", "worst element", "autograd", "reference", "abs error", "rel error",
               "tolerance"]
    rows = []
    for name in result.names:
        style = VERDICT_STYLES.get(name.verdict, "bold red")
        rows.append([f"{name.name}" + (" (param)" if name.kind == "parameter" else ""),
                     "×".join(map(str, name.shape)) or "scalar", f"[{style}]{name.verdict}[/]", *_cells(name)])
    print_fitting(console, headers, rows, ["left", "left", "center", "left"] + ["right"] * 5)
    for name in result.names:  # --full
        if name.elements is not None:
            print_fitting(console, ["element", "verdict", "autograd", "reference", "abs error", "rel error",
                                    "tolerance"],
                          [[_index(element.index), f"[{VERDICT_STYLES.get(element.verdict, 'bold red')}]"
                            f"{element.verdict}[/]", *_numbers(element)] for element in name.elements],
                          ["left", "center"] + ["right"] * 5, title=f"{name.name}: every element")
    for name in result.names:
        if name.worst is not None and name.worst.one_sided is not None:
            left, right = name.worst.one_sided
            console.print(Text(f"{name.name}{_index(name.worst.index)}: f has a kink here, left derivative "
                               f"{number(left)}, right {number(right)}", style="yellow"))
    if result.origin is not None:
        console.print(Text(origin_text(result.origin), style="bold red"))
    for note in notes(result):
        console.print(Text(note, style="dim"))
    console.print(_summary(result))


def _summary(result: CheckResult) -> Any:
    from rich.text import Text

    verdict = result.verdict
    if verdict == "agree":
        return Text("autograd agrees with the float64 reference for every input and parameter", style="green")
    if verdict == "kink":
        return Text("f is not differentiable at this point (a kink): autograd gives a one-sided derivative or a "
                    "value between; elsewhere it agrees", style="yellow")
    failing = ", ".join(name.name for name in result.names if name.verdict == verdict)
    return Text(f"{verdict}: {failing}", style="bold red")
