"""The minimize view: the trace of the run and how it ended."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

from ..wire import dumps
from .layout import ELLIPSIS, SUMMARY_EDGE, console_for, print_fitting, print_reading, reading_lines, table_width
from .numbers import in_working_dtype, number, number_map, short

if TYPE_CHECKING:
    from ..explore.optimize import MinimizeResult, TraceStep

# As torch prints a tensor: past SUMMARY_SIZE entries, a dimension longer than 2 * EDGE shows its first
# and last EDGE entries only.
SUMMARY_SIZE = 1000
EDGE = SUMMARY_EDGE
_LEFT_OUT = object()  # where a summarised dimension's middle entries were
STATUS_STYLES = {"converged": "green", "diverged": "bold red"}  # stalled, max_steps: yellow


@in_working_dtype
def emit_minimize(result: MinimizeResult, fmt: str, out: TextIO, explain_parse: bool = False) -> None:
    if fmt == "json":
        out.write(dumps(result.to_json(explain_parse)) + "\n")
        return
    if fmt == "plain":
        lines = reading_lines(result.parse, explain_parse)
        lines += [f"step\t{entry.step}\t{number(entry.value)}\t{short(entry.grad_norm)}\t{number_map(entry.point)}"
                  for entry in result.trace]
        lines += [f"point\t{number_map(result.point)}", f"value\t{number(result.value)}",
                  f"converged\t{str(result.converged).lower()}", f"status\t{result.status}",
                  f"stopped\t{result.stopped}"]
        out.write("".join(line + "\n" for line in lines))
        return
    from rich.text import Text

    console = console_for(out)
    console.print(Text.assemble(("minimize ", "bold"), (result.expression, "cyan"),
                                f"   {result.optimizer}, lr {result.lr:g}"))
    print_reading(console, result.parse, result.expression)
    shown = result.trace if len(result.trace) <= 25 else result.trace[:12] + result.trace[-12:]
    tensors = any(isinstance(value, list) for value in result.point.values())
    points_shown = _print_trace(console, shown, elided=len(result.trace) > 25, tensors=tensors)
    if tensors:
        console.print(Text(f"final point, value {number(result.value)}:"))
        console.print(Text(point_text(result.point, width=console.width)))
        if not points_shown:
            console.print(Text("(the point at each step: --format plain or --json)", style="dim"))
        if _summarised(result.point):
            console.print(Text("(… stands for entries left out; --format plain and --json give every one)",
                               style="dim"))
    else:
        console.print(Text(f"final point: {point_text(result.point)}"), overflow="fold")
        console.print(Text(f"final value: {number(result.value)}"))
    console.print(Text(result.stopped, style=STATUS_STYLES.get(result.status, "yellow")))


def _print_trace(console: Any, shown: list[TraceStep], elided: bool, tensors: bool) -> bool:
    """Step, value, point and gradient norm, in a table that fits: numbers to the table's significant
    digits (--digits; 6 fit a row of two variables in 80 columns), a scalar point wraps between numbers
    only; a tensor point is shown whole, its rows one under another, or (where they would not fit) left
    out of the table.  Says whether the points were shown."""
    rows = [[str(entry.step), number(entry.value), point_text(entry.point), short(entry.grad_norm)]
            for entry in shown]
    if elided:
        rows.insert(12, [ELLIPSIS, "", "", ""])
    headers, justify = ["step", "value", "point", "gradient norm"], ["right", "right", "left", "right"]
    points = not tensors or table_width(headers, rows) <= console.width
    if not points:  # the point column (index 2) out
        headers, justify, *rows = [[cells[0], cells[1], cells[3]] for cells in (headers, justify, *rows)]
    print_fitting(console, headers, rows, justify, wrapping=frozenset({2}) if not tensors else frozenset())
    return points


def point_text(point: dict[str, Any], width: int | None = None) -> str:
    """The variables as name=value (numbers as the view writes them): scalars on one line; each tensor on
    lines of its own, as torch prints it (a matrix's rows one under another, filled to `width`; past
    SUMMARY_SIZE entries each long dimension summarised as its first and last EDGE entries around …)."""
    if not any(isinstance(value, list) for value in point.values()):
        return number_map(point)
    return "\n".join(f"{name}={_tensor_text(value, len(name) + 1, width, _size(value) > SUMMARY_SIZE)}"
                     for name, value in point.items())


def _tensor_text(value: Any, indent: int, width: int | None, summarise: bool) -> str:
    if not isinstance(value, list):
        return number(value)
    items = value if not summarise or len(value) <= 2 * EDGE else [*value[:EDGE], _LEFT_OUT, *value[-EDGE:]]
    if value and isinstance(value[0], list):
        parts = [ELLIPSIS if item is _LEFT_OUT else _tensor_text(item, indent + 1, width, summarise)
                 for item in items]
        return "[" + (",\n" + " " * (indent + 1)).join(parts) + "]"
    words = [ELLIPSIS if item is _LEFT_OUT else number(item) for item in items]
    return "[" + _fill([word + "," for word in words[:-1]] + words[-1:], indent + 1, width) + "]"


def _fill(words: list[str], indent: int, width: int | None) -> str:
    """Words joined by spaces, on lines of at most `width` columns (indented `indent`, with room for the
    closing brackets)."""
    lines = [""]
    for word in words:
        if width is not None and lines[-1] and indent + len(lines[-1]) + 1 + len(word) + 3 > width:
            lines.append(word)
        else:
            lines[-1] = f"{lines[-1]} {word}" if lines[-1] else word
    return ("\n" + " " * indent).join(lines)


def _size(value: Any) -> int:
    return sum(_size(item) for item in value) if isinstance(value, list) else 1


def _summarised(point: dict[str, Any]) -> bool:
    def long(value: Any) -> bool:
        return isinstance(value, list) and (len(value) > 2 * EDGE or any(long(item) for item in value))

    return any(_size(value) > SUMMARY_SIZE and long(value) for value in point.values())
