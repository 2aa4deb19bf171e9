"""Variable bindings from the command line: `--x 1`, `--x=1`, `--var x=1`, `--x pi/4`.

Names and values are untrusted like the expression: a name must be a plain identifier, and a value is a
number or a constant expression read by the same safe parser.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from .errors import DerivcliError

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}\Z")


def check_name(name: str, shown: str | None = None) -> str:
    if not NAME.match(name):
        raise DerivcliError(f"'{shown or name}' is not a valid variable name",
                            hint="names are letters, digits and '_', starting with a letter")
    return name


def split_arguments(args: list[str], takes_value: set[str], flags: set[str]) -> tuple[list[str], dict[str, str]]:
    """Separate `--NAME VALUE` bindings from the command's own options and arguments.

    Returns (the arguments for the option parser, {name: raw value}).  Anything after a lone `--` is
    positional.  A value may start with '-' (`--x -1`), and so may the expression (`-x**2`).
    """
    remaining: list[str] = []
    positionals: list[str] = []
    bindings: dict[str, str] = {}
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            positionals.extend(args[index + 1:])
            break
        option, has_value, value = arg.partition("=")
        if option in takes_value:
            remaining.append(arg)
            if not has_value and index + 1 < len(args):
                remaining.append(args[index + 1])
                index += 1
        elif option in flags:
            remaining.append(arg)
        elif arg.startswith("--") and len(arg) > 2:
            name = check_name(option[2:], option)
            if not has_value:
                following = args[index + 1] if index + 1 < len(args) else None
                if following is None or re.match(r"--[A-Za-z]", following):
                    raise _missing_value(option, takes_value | flags)
                value = following
                index += 1
            if name in bindings:
                raise DerivcliError(f"{option} is given twice")
            bindings[name] = value
        else:
            positionals.append(arg)
        index += 1
    return remaining + (["--", *positionals] if positionals else []), bindings


def _missing_value(option: str, known: set[str]) -> DerivcliError:
    """`--chek` alone is more likely a mistyped option than a variable without its value."""
    close = difflib.get_close_matches(option, sorted(known), n=1, cutoff=0.7)
    if close:
        return DerivcliError(f"no such option: {option}", hint=f"did you mean {close[0]}?")
    return DerivcliError(f"{option} needs a value", hint=f"write {option} 1.5")


def parse_var_options(values: Iterable[str]) -> dict[str, str]:
    """`--var x=1` for names that clash with an option (`--var check=2`)."""
    bindings: dict[str, str] = {}
    for item in values:
        name, has_value, value = item.partition("=")
        if not has_value:
            raise DerivcliError(f"--var expects NAME=VALUE, got '{item}'", hint="write --var x=1.5")
        bindings[check_name(name.strip())] = value.strip()
    return bindings


def parse_value(name: str, text: str) -> float:
    """A binding's value: a number (`1`, `-2.5e-3`, `inf`) or a constant expression (`pi/4`)."""
    stripped = text.strip()
    try:
        return float(stripped)
    except ValueError:
        pass
    if stripped.startswith("["):
        raise DerivcliError(f"--{name}: vector and matrix values are not supported yet",
                            hint="give a number, or write the components as separate variables")
    from .parsing import parse

    try:
        parsed = parse(stripped)
    except DerivcliError as error:
        raise DerivcliError(f"--{name} expects a number, got '{_clip(text)}' ({error.message})") from None
    if parsed.variables:
        raise DerivcliError(f"--{name} expects a number, got '{_clip(text)}'",
                            hint="values may be constant expressions like pi/4, without variables")
    from .derivatives import evaluate_constant

    return evaluate_constant(parsed.expr)


def _clip(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."

