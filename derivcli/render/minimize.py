"""The minimize view: the trace of the run and how it ended."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, TextIO

from .layout import console_for, print_reading, reading_lines
from .numbers import number, number_map, short

if TYPE_CHECKING:
    from ..optimize import MinimizeResult

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

    console = console_for(out)
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
