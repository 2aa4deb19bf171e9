"""Variable bindings from the command line: `--x 1`, `--x=1`, `--var x=1`, `--x pi/4`.

Names and values are untrusted like the expression: a name must be a plain identifier, and a value is a
number or a constant expression read by the same safe parser.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from ..errors import DerivcliError
from ..limits.spelling import nearest
from .names import check_name
from .tensor_values import (
    MAX_ELEMENTS,
    check_elements,
    check_list,
    clip,
    hold_elements,
    json_list,
    tensor_from_list,
)


def split_arguments(args: list[str], takes_value: set[str], flags: set[str]) -> tuple[list[str], dict[str, str]]:
    """Separate `--NAME VALUE` bindings from the command's own options and arguments.

    Returns (the arguments for the option parser, {name: raw value}).  The argument after a lone `--`
    is positional whatever it looks like (`-- -x**2`), and options and bindings may follow it.  A value
    may start with '-' (`--x -1`), and so may the expression (`-x**2`).
    """
    remaining: list[str] = []
    positionals: list[str] = []
    bindings: dict[str, str] = {}
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            positionals.extend(args[index + 1:index + 2])
            index += 2
            continue
        option, has_value, value = arg.partition("=")
        if option in takes_value:
            remaining.append(arg)
            if not has_value:
                if index + 1 == len(args):
                    raise DerivcliError(f"{option} needs a value", hint=f"see the command's --help for {option}")
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
    close = nearest(option[2:], [name[2:] for name in known if name.startswith("--")])
    if close is not None:
        return DerivcliError(f"no such option: {option}", hint=f"did you mean --{close}?")
    return DerivcliError(f"{option} needs a value", hint=f"write {option} 1.5")


def parse_var_options(values: Iterable[str]) -> dict[str, str]:
    """`--var x=1` for names that clash with an option (`--var check=2`)."""
    bindings: dict[str, str] = {}
    for item in values:
        name, has_value, value = item.partition("=")
        if not has_value:
            raise DerivcliError(f"--var expects NAME=VALUE, got '{item}'", hint="write --var x=1.5")
        spelled = check_name(name.strip())
        if spelled in bindings:
            raise DerivcliError(f"--var {name.strip()}: '{spelled}' is given twice", hint="give it once")
        bindings[spelled] = value.strip()
    return bindings



def parse_value(name: str, text: str) -> Any:
    """A binding's value: a number (`1`, `-2.5e-3`, `inf`), a constant expression (`pi/4`), a JSON list
    (`[[1, 2], [3, 4]]`), a constructor (`zeros(3)`, `randn(2, 3)`), or `@file` (.json, .csv, .npy).

    Numbers come back as floats, tensors as float64 torch tensors.
    """
    return _make_value(name, plan_value(name, text))


def plan_value(name: str, text: str) -> tuple[str, Any]:
    """What a binding's text asks for, read and checked without torch or SymPy, so that a mistake in it is
    reported before they are imported: ("number", float), ("file", path), ("list", nested list),
    ("constructor", (kind, numbers)) or ("constant", text)."""
    stripped = text.strip()
    if stripped.isascii():  # Python's float() also reads other scripts' digits (Bengali ৪ looks like 8, is 4)
        try:
            number = float(stripped)
        except ValueError:
            pass
        else:
            if math.isinf(number) and "inf" not in stripped.lower():
                raise DerivcliError(f"--{name} {clip(stripped)} overflows float64 (largest float64: about 1.8e+308)",
                                    hint="write inf for infinity")
            return "number", number
    if stripped.startswith("@"):
        return "file", stripped[1:]
    if stripped.startswith("["):
        nested = json_list(name, stripped)
        check_list(name, nested)
        return "list", nested
    constructor = CONSTRUCTOR.match(stripped)
    if constructor:
        return "constructor", _plan_constructor(name, constructor.group(1), constructor.group(2))
    from ..parsing import CONSTANT_NAMES, check_syntax
    from ..parsing.notation import CONSTANTS

    try:
        names = check_syntax(stripped).names()
    except DerivcliError as error:
        raise DerivcliError(f"--{name} expects a number, got '{clip(text)}' ({error.message})",
                            hint=error.hint) from None
    if any(word not in CONSTANTS and word not in CONSTANT_NAMES for word in names):
        raise DerivcliError(f"--{name} expects a number, got '{clip(text)}'",
                            hint="values may be constant expressions like pi/4, without variables")
    return "constant", stripped


def _make_value(name: str, plan: tuple[str, Any]) -> Any:
    kind, payload = plan
    if kind == "number":
        return payload
    if kind == "file":
        from .files import read_value_file

        return read_value_file(name, payload)
    if kind == "list":
        return tensor_from_list(name, payload)
    if kind == "constructor":
        constructor, arguments, count = payload
        hold_elements(name, count)
        return _construct(constructor, arguments)
    from ..parsing import parse

    try:
        parsed = parse(payload)
    except DerivcliError as error:
        raise DerivcliError(f"--{name} expects a number, got '{clip(payload)}' ({error.message})",
                            hint=error.hint) from None
    if parsed.variables:
        raise DerivcliError(f"--{name} expects a number, got '{clip(payload)}'",
                            hint="values may be constant expressions like pi/4, without variables")
    from ..lowering.program import evaluate_constant

    return evaluate_constant(parsed.expr)


CONSTRUCTOR = re.compile(r"(zeros|ones|arange|linspace|rand|randn|full|eye)\((.*)\)\Z", re.S)
CONSTRUCTOR_HINT = ("e.g. zeros(3), ones(2,3), arange(4), linspace(0,1,5), rand(3,4), randn(1,10), full(2,2,7), "
                    "eye(3)")


def _plan_constructor(name: str, kind: str, arguments: str) -> tuple[str, list[Any], int]:
    """Every size is checked (finite, whole, within the element cap and the memory budget) before torch
    is imported, let alone allocates anything: (kind, the arguments torch gets, the element count)."""
    try:
        args = [float(part) for part in arguments.split(",")] if arguments.strip() else []
    except ValueError:
        raise DerivcliError(f"--{name}: {kind}(...) takes numbers, got '{clip(arguments)}'") from None
    cannot = DerivcliError(f"--{name}: cannot make {kind}({clip(arguments)})", hint=CONSTRUCTOR_HINT)
    if kind in ("zeros", "ones", "rand", "randn", "eye"):
        if not 1 <= len(args) <= (2 if kind == "eye" else 6):
            raise cannot
        sizes = _sizes(name, kind, args)
        square = sizes * 2 if kind == "eye" and len(sizes) == 1 else sizes  # eye(n) is n x n
        return kind, sizes, check_elements(name, square)
    if kind == "full":
        if len(args) < 2:
            raise cannot
        *shape, fill = args
        sizes = _sizes(name, kind, shape)
        return kind, [sizes, fill], check_elements(name, sizes)
    if not all(math.isfinite(a) for a in args):
        raise DerivcliError(f"--{name}: {kind}({clip(arguments)}) needs finite numbers", hint=CONSTRUCTOR_HINT)
    if kind == "linspace":
        if len(args) != 3:
            raise cannot
        start, end, steps = args
        (count,) = _sizes(name, kind, [steps])
        return kind, [start, end, count], check_elements(name, [count])
    if not 1 <= len(args) <= 3:
        raise cannot
    start, end, step = (0.0, args[0], 1.0) if len(args) == 1 else (args[0], args[1], args[2] if len(args) == 3 else 1.0)
    span = (end - start) / step if step else math.inf
    if not math.isfinite(span):
        raise DerivcliError(f"--{name}: arange({clip(arguments)}) has no end", hint="give a nonzero step")
    return kind, [start, end, step], check_elements(name, [max(math.ceil(span), 0)])


def _construct(kind: str, args: list[Any]) -> Any:
    import torch

    if kind in ("zeros", "ones", "rand", "randn", "eye"):
        return getattr(torch, kind)(*args, dtype=torch.float64)
    if kind == "full":
        return torch.full(args[0], args[1], dtype=torch.float64)
    if kind == "linspace":
        return torch.linspace(*args, dtype=torch.float64)
    try:
        return torch.arange(*args, dtype=torch.float64)
    except (RuntimeError, ValueError):
        raise DerivcliError(f"cannot make arange{tuple(args)}", hint=CONSTRUCTOR_HINT) from None


def _sizes(name: str, kind: str, values: list[float]) -> list[int]:
    """Sizes are whole numbers from 0 to MAX_ELEMENTS: no inf, nan, fractions or negatives reach int()."""
    if not all(value == value and 0 <= value <= MAX_ELEMENTS and value == int(value) for value in values):
        raise DerivcliError(f"--{name}: {kind}(...) sizes must be whole numbers from 0 to {MAX_ELEMENTS:,}",
                            hint=CONSTRUCTOR_HINT)
    return [int(value) for value in values]
