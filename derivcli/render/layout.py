"""Where text goes: the console, the reading of the expression, tables that never cut a number."""

from __future__ import annotations

import functools
from collections.abc import Callable
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

    as_typed = parse.source.replace("^", "**").replace(" ", "")  # `^` for a power is what README says: no news
    if parse.notes or as_typed != expression.replace(" ", ""):
        headline = f"read {parse.source!r} as {expression}"
        restating = f"{parse.source!r} read as {expression}"  # a note on the whole text says it once, here
        said = next((note for note in parse.notes if note.startswith(restating)), None)
        console.print(Text(headline + ("" if said is None else said[len(restating):]), style="dim"))
        for note in parse.notes:
            if note is not said:
                console.print(Text(f"  · {note}", style="dim"))
    if parse.as_written is not None:
        console.print(Text(f"as written: {parse.as_written}   (torch computes it as written; SymPy simplifies it "
                           f"to {expression})", style="yellow"))


def console_for(out: TextIO) -> Any:
    """A console as wide as the terminal; off a terminal (a forced --format table) as wide as COLUMNS
    says, else wide enough for full-precision numbers."""
    import os

    from rich.console import Console

    width = None if out.isatty() or os.environ.get("COLUMNS", "").isdigit() else 140
    return Console(file=out, highlight=False, width=width)


SUMMARY_EDGE = 3  # a long axis shows its first and last three entries, as torch and numpy print tensors
ELLIPSIS = "…"
WRAPPED_WIDTH = 24  # the narrowest a column of words is made before the table is split


def print_fitting(console: Any, headers: list[str], rows: list[list[str]], justify: list[str],
                  title: str | None = None, units: list[list[int]] | None = None,
                  most_tables: int | None = 2, wrapping: frozenset[int] = frozenset()) -> None:
    """A table that never cuts a number or a label.

    Where its columns do not all fit the console, it is printed as several tables, each with the first
    (label) column and as many `units` (groups of columns that belong together, such as forward
    differences with their error) as fit; a unit wider than the console is split column by column; and
    where even the label and one column are too wide, or it would take more than `most_tables` tables
    (None: any number, as a matrix's blocks of columns), each row becomes `label` and `header: value`
    lines.  Columns in `wrapping` may wrap between words (never inside one: a number is a word), down to
    WRAPPED_WIDTH or their longest word.
    """
    from rich.table import Table
    from rich.text import Text

    widths = column_widths(headers, rows)
    longest_words = {index: max((len(word) for cell in [headers[index], *(row[index] for row in rows)]
                                 for word in Text.from_markup(cell).plain.split()), default=1) for index in wrapping}
    widths = [max(longest_words[index], min(width, WRAPPED_WIDTH)) if index in wrapping else width
              for index, width in enumerate(widths)]
    budget = console.width - 1 - (widths[0] + 3)  # the left border and the label column
    if any(width + 3 > budget for width in widths[1:]):
        _print_stacked(console, headers, rows, title)
        return
    groups: list[list[int]] = [[]]
    used = 0
    for unit in units or [[index] for index in range(1, len(headers))]:
        cost = sum(widths[index] + 3 for index in unit)
        pieces = [unit] if cost <= budget else [[index] for index in unit]
        for piece in pieces:
            piece_cost = sum(widths[index] + 3 for index in piece)
            if groups[-1] and used + piece_cost > budget:
                groups.append([])
                used = 0
            groups[-1].extend(piece)
            used += piece_cost
    if most_tables is not None and len(groups) > most_tables:
        _print_stacked(console, headers, rows, title)
        return
    for group in groups:
        view = Table(title=title, header_style="bold")
        for index in [0, *group]:
            view.add_column(headers[index], justify=justify[index],  # type: ignore[arg-type]
                            no_wrap=index not in wrapping, min_width=widths[index] if index in wrapping else None)
        for row in rows:
            view.add_row(*[row[index] for index in [0, *group]])
        console.print(view)
        title = None


def column_widths(headers: list[str], rows: list[list[str]]) -> list[int]:
    """Each column's width unwrapped: its widest line of any cell (a cell may hold several lines)."""
    from rich.text import Text

    return [max(Text.from_markup(line).cell_len for cell in [header, *column] for line in cell.split("\n"))
            for header, column in zip(headers, zip(*rows) if rows else [[]] * len(headers))]


def table_width(headers: list[str], rows: list[list[str]]) -> int:
    """The columns a table takes unwrapped, borders and padding included."""
    return 1 + sum(width + 3 for width in column_widths(headers, rows))


def _print_stacked(console: Any, headers: list[str], rows: list[list[str]], title: str | None) -> None:
    """The narrow form of a table: a line per row label, then an indented `header: value` per cell."""
    from rich.text import Text

    if title:
        console.print(Text(title, style="bold"))
    for row in rows:
        console.print(Text.from_markup(row[0] or "·", style="bold"))
        for header, cell in zip(headers[1:], row[1:]):
            if cell:
                console.print(Text.assemble(f"  {header}: ", Text.from_markup(cell)))


def print_formula(console: Any, label: str, formula: str, pretty: str | None = None) -> None:
    """`label = formula`, wrapped only where a line may break in a formula: after a binary operator or a
    comma (never inside a name, a number, `**` or a sign), continuation lines indented under the formula.
    On a terminal, a formula's 2-D form (`pretty`: fractions, powers, roots) is shown instead where it
    fits the width."""
    import re

    from rich.text import Text

    block = pretty.split("\n") if pretty else []
    if console.is_terminal and len(block) > 1 and len(label) + 3 + max(map(len, block)) <= console.width:
        # the label goes on the main fraction bar (the longest run of ─), else on the middle line
        middle = max(range(len(block)), key=lambda i: (block[i].count("─"), -abs(i - len(block) // 2)))
        for index, line in enumerate(block):
            lead = f"{label} = " if index == middle else " " * (len(label) + 3)
            console.print(Text.assemble((lead, "bold" if index == middle else ""), (line, "cyan")), no_wrap=True,
                          overflow="ignore", crop=False)
        return

    pieces = [piece for piece in re.split(r"(?<=[+\-,] )|(?<=/)|(?<=(?<![*])\*)(?![*])(?=.)", formula) if piece]
    indent = len(label) + 3
    lines, line = [], ""
    for piece in pieces:
        if line and indent + len(line) + len(piece.rstrip()) > console.width:
            lines.append(line.rstrip())
            line = piece.lstrip()
        else:
            line += piece
    lines.append(line.rstrip())
    console.print(Text.assemble((f"{label} = ", "bold"), (lines[0], "cyan")), overflow="fold")
    for rest in lines[1:]:
        console.print(Text.assemble(" " * indent, (rest, "cyan")), overflow="fold")


def summarized(count: int) -> list[int | None]:
    """The indices a long axis shows: all of them up to 2·SUMMARY_EDGE, else the first and last three with
    None (the `…`) between."""
    if count <= 2 * SUMMARY_EDGE:
        return list(range(count))
    return [*range(SUMMARY_EDGE), None, *range(count - SUMMARY_EDGE, count)]


def print_grid(console: Any, title: str, value: Any, row_labels: list[str] | None = None,
               column_labels: list[str] | None = None) -> None:
    """A vector or matrix in one table, as torch prints a tensor: rows and columns labelled with their
    indices, as many of the first and last columns as fit the console around a `…` column (torch's
    linewidth), the first and last three of a long row axis around a `…` row, numbers as the view writes
    them.  Higher ranks are one row per leading index (`[0, 1]`); the full data is in plain output and JSON."""
    from rich.cells import cell_len

    matrix = _as_rows(value)
    shape = _shape(value)
    row_labels = row_labels or (["[" + ", ".join(map(str, index)) + "]" for index in _indices(shape[:-1])]
                                if len(shape) > 1 else [""])
    count = len(matrix[0]) if matrix else 0
    column_labels = column_labels or [f"[{index}]" for index in range(count)]
    shown_rows = summarized(len(matrix))
    labels = [ELLIPSIS if row is None else row_labels[row] for row in shown_rows]

    @functools.cache
    def column(index: int) -> list[str]:
        return [column_labels[index], *(ELLIPSIS if row is None else number(matrix[row][index]) for row in shown_rows)]

    label_width = max((cell_len(label) for label in labels), default=0)
    shown_columns = _fitting_columns(console.width - 1 - (label_width + 3), count,
                                     lambda index: max(map(cell_len, column(index))) + 3)
    headers = ["", *(ELLIPSIS if index is None else column(index)[0] for index in shown_columns)]
    rows = [[label, *(ELLIPSIS if index is None else column(index)[position + 1] for index in shown_columns)]
            for position, label in enumerate(labels)]
    print_fitting(console, headers, rows, ["left", *(["right"] * len(shown_columns))], title, most_tables=1)


def _fitting_columns(budget: int, count: int, cost: Callable[[int], int]) -> list[int | None]:
    """The columns of `count` that fit `budget`, taken from both ends in turn (first, last, second, …), with
    None where the ones left out were (a `…` column, 4 wide); at least the first."""
    left: list[int] = []
    right: list[int] = []
    low, high, used = 0, count - 1, 0
    while low <= high:
        index = low if len(left) <= len(right) else high
        more = high > low  # columns would still be left out after this one: the `…` column needs room
        if (left or right) and used + cost(index) + (4 if more else 0) > budget:
            break
        used += cost(index)
        if index == low:
            left.append(index)
            low += 1
        else:
            right.insert(0, index)
            high -= 1
    return [*left, *([None] if low <= high else []), *right]


def _shape(value: Any) -> list[int]:
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0] if value else None
    return shape


def _as_rows(value: Any) -> list[list[Any]]:
    """A tensor as a list of rows: its last axis across, every leading index a row."""
    if not isinstance(value, list):
        return [[value]]
    if not value or not isinstance(value[0], list):
        return [value]
    return [row for item in value for row in _as_rows(item)]


def _indices(shape: list[int]) -> list[tuple[int, ...]]:
    from itertools import product

    return list(product(*(range(n) for n in shape)))
