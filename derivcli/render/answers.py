"""The views of --expect and --exact, the same in every command that has them."""

from __future__ import annotations

from typing import Any


def answer_lines(result: Any) -> list[str]:
    """Plain lines: `form  name  text`, `expect  agree|DISAGREE  how`, then `exact  f|d/dx  value` (or
    `exact  skipped  why`)."""
    lines = [f"form\t{name}\t{'-' if text is None else text}" for name, text in (getattr(result, "forms", None)
                                                                               or {}).items()]
    if getattr(result, "expect", None) is not None:
        lines.append(f"expect\t{'agree' if result.expect.agree else 'DISAGREE'}\t{result.expect.message()}")
    if getattr(result, "exact", None) is not None:
        if result.exact.skipped is not None:
            lines.append(f"exact\tskipped\t{result.exact.skipped}")
        lines += [f"exact\t{label}\t{value}" for label, value in result.exact.values.items()]
    return lines


def print_answers(console: Any, result: Any) -> None:
    """The table view's lines for --expect and --exact."""
    from rich.text import Text

    from .layout import print_formula

    for name, text in (getattr(result, "forms", None) or {}).items():
        print_formula(console, f"  {name}", "(did not finish within its budget)" if text is None else text)
    if getattr(result, "exact", None) is not None:
        if result.exact.skipped is not None:
            console.print(Text(f"exact values skipped: {result.exact.skipped}", style="yellow"))
        else:
            at = ", ".join(f"{name} = {value}" for name, value in result.exact.point.items())
            console.print(Text(f"exact, at {at}:", style="bold"))
            for label, value in result.exact.values.items():
                print_formula(console, f"  {label}", value)
    if getattr(result, "expect", None) is not None:
        console.print(Text(result.expect.message(), style="green" if result.expect.agree else "bold red"))
