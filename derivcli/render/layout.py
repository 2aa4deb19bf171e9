"""Where text goes: the console, the reading of the expression, tables that never cut a number."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

from .numbers import number

if TYPE_CHECKING:
    from ..results import ParseInfo

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


def console_for(out: TextIO) -> Any:
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


def matrix_table(title: str, value: list[Any]) -> Any:
    """A vector or matrix as a grid (higher ranks: one row per leading index)."""
    from rich.table import Table

    rows = value if value and isinstance(value[0], list) else [value]
    view = Table(title=title, show_header=False)
    for _ in range(len(rows[0]) if rows and isinstance(rows[0], list) else 1):
        view.add_column(justify="right", no_wrap=True)
    for row in rows:
        view.add_row(*[number(item) for item in (row if isinstance(row, list) else [row])])
    return view
