"""Help on a narrow terminal: each option's names and value on a line of their own, its description wrapped
under them.  Typer's help is a table whose name column Rich shrinks first (`--fd-st…` at 40 columns);
this layout never cuts a name.  Typer's own table is kept wherever its columns fit."""

from __future__ import annotations

import os
from typing import Any

MIN_DESCRIPTION = 30  # the narrowest description column typer's table is left with before this layout takes over
PANEL_EDGES = 4  # a panel's border and padding, left and right


def console() -> Any:
    """A console as wide as typer's help console: TERMINAL_WIDTH, else the terminal (or COLUMNS)."""
    from rich.console import Console

    width = os.environ.get("TERMINAL_WIDTH", "")
    return Console(width=int(width) if width.isdigit() else None, highlight=False)


def is_narrow(command: Any, ctx: Any, width: int) -> bool:
    """Whether typer's table would squeeze a name: its name, value and description columns side by side
    (with room for MIN_DESCRIPTION) are wider than the terminal."""
    params = [param for param in command.get_params(ctx) if not getattr(param, "hidden", False)]
    if not params:
        return False
    names = max(len(", ".join(_long(param))) for param in params)
    shorts = max(len(", ".join(_short(param))) for param in params)
    values = max(len(_value(param, ctx)) for param in params)
    required = 2 if any(param.required for param in params) else 0
    return PANEL_EDGES + required + names + shorts + values + 3 + MIN_DESCRIPTION > width


def print_narrow_help(command: Any, ctx: Any, out: Any) -> None:
    """Usage, the command's help, one panel per group of parameters (and of commands, for the group),
    then the epilog: all wrapped to the terminal, every name whole."""
    from rich.padding import Padding
    from rich.text import Text
    from typer.core import TyperArgument

    usage = Text.assemble(("Usage: ", "yellow"), " ".join([ctx.command_path, *command.collect_usage_pieces(ctx)]))
    out.print(Padding(usage, 1), style="bold")
    if command.help:
        first, _, rest = command.help.strip().partition("\n\n")
        out.print(Padding(_markup(first), (0, 1, 1, 1)))
        if rest:
            out.print(Padding(_markup(rest, "dim"), (0, 1, 1, 1)))
    panels: dict[str, list[Any]] = {}
    for param in command.get_params(ctx):
        if not getattr(param, "hidden", False):
            default = "Arguments" if isinstance(param, TyperArgument) else "Options"
            panels.setdefault(getattr(param, "rich_help_panel", None) or default, []).append(param)
    for name in sorted(panels, key=lambda name: (name != "Arguments", name != "Options")):
        _print_panel(out, name, [_param_lines(param, ctx) for param in panels[name]])
    commands = getattr(command, "commands", None)
    if commands:
        listed = [commands[name] for name in command.list_commands(ctx) if not commands[name].hidden]
        _print_panel(out, "Commands", [(Text(sub.name or "", style="bold cyan"), _markup(sub.short_help or sub.help
                                                                                          or ""))
                                       for sub in listed])
    if command.epilog:
        out.print(Padding(_markup(command.epilog), 1))


def _print_panel(out: Any, title: str, entries: list[tuple[Any, Any]]) -> None:
    from rich.console import Group
    from rich.padding import Padding
    from rich.panel import Panel

    body = [piece for head, text in entries for piece in (head, Padding(text, (0, 0, 0, 2)))]
    out.print(Panel(Group(*body), title=title, title_align="left", border_style="dim"))


def _param_lines(param: Any, ctx: Any) -> tuple[Any, Any]:
    """`--dtype float64|float32` (a flag's names alone), and its description with its default."""
    from rich.text import Text

    head = Text(", ".join([*_long(param), *_short(param)]), style="bold cyan")
    value = _value(param, ctx)
    if value:
        head.append(" " + value, style="bold yellow")
    text = _markup(" ".join((param.help or "").split()))
    default = param.default
    if getattr(param, "show_default", False) and default not in (None, False, ()) and not getattr(param, "is_flag",
                                                                                               False):
        text.append(f" [default: {default}]", style="dim")
    if param.required:
        text.append(" [required]", style="dim red")
    return head, text


def _long(param: Any) -> list[str]:
    if param.param_type_name == "argument":
        return [param.metavar or param.name.upper()]
    return [name for name in [*param.opts, *param.secondary_opts] if name.startswith("--")]


def _short(param: Any) -> list[str]:
    if param.param_type_name == "argument":
        return []
    return [name for name in [*param.opts, *param.secondary_opts] if not name.startswith("--")]


def _value(param: Any, ctx: Any) -> str:
    if param.param_type_name == "argument" or getattr(param, "is_flag", False):
        return ""
    return str(param.metavar or "")


def _markup(text: str, style: str = "") -> Any:
    """Typer's rich markup mode: single line breaks joined, blank lines kept, examples (indented lines)
    kept line by line."""
    from rich.text import Text

    paragraphs = [paragraph if paragraph.startswith("  ") else " ".join(paragraph.split())
                  for paragraph in text.split("\n\n")]
    return Text.from_markup("\n\n".join(paragraphs), style=style)
