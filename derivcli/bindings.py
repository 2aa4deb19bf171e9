"""Variable bindings from the command line: `--x 1`, `--x=1`, `--var x=1`, `--x pi/4`.

Names and values are untrusted like the expression: a name must be a plain identifier, and a value is a
number or a constant expression read by the same safe parser.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

from .errors import DerivcliError

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}\Z")


def check_name(name: str, shown: str | None = None) -> str:
    """The variable a binding's name gives a value to, as the parser spells it (`--θ` binds theta)."""
    from .parsing.unicode import ascii_binding_name

    spelled = ascii_binding_name(name)
    if not NAME.match(spelled):
        raise DerivcliError(f"'{_clip(shown or name)}' is not a valid variable name",
                            hint="names are letters, digits and '_', starting with a letter (or one Greek letter)")
    return spelled


def binding_names(point: Iterable[str]) -> dict[str, str]:
    """Each binding's name -> the variable it binds; one variable bound twice (`--θ` and `--theta`) is an
    error."""
    names: dict[str, str] = {}
    for name in point:
        spelled = check_name(name)
        twice = [given for given, bound in names.items() if bound == spelled]
        if twice:
            raise DerivcliError(f"'{spelled}' is given twice (as {twice[0]} and {name})", hint="give it once")
        names[name] = spelled
    return names


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
    stripped = text.strip()
    if stripped.isascii():  # Python's float() also reads other scripts' digits (Bengali ৪ looks like 8, is 4)
        try:
            return float(stripped)
        except ValueError:
            pass
    if stripped.startswith("@"):
        return _read_file(name, stripped[1:])
    if stripped.startswith("["):
        return tensor_from_list(name, _json_list(name, stripped))
    constructor = CONSTRUCTOR.match(stripped)
    if constructor:
        return _construct(name, constructor.group(1), constructor.group(2))
    from .parsing import parse

    try:
        parsed = parse(stripped)
    except DerivcliError as error:
        raise DerivcliError(f"--{name} expects a number, got '{_clip(text)}' ({error.message})",
                            hint=error.hint) from None
    if parsed.variables:
        raise DerivcliError(f"--{name} expects a number, got '{_clip(text)}'",
                            hint="values may be constant expressions like pi/4, without variables")
    from .derivatives import evaluate_constant

    return evaluate_constant(parsed.expr)


CONSTRUCTOR = re.compile(r"(zeros|ones|arange|linspace|rand|randn|full|eye)\((.*)\)\Z", re.S)
MAX_ELEMENTS = 4_000_000  # per binding: 32 MB of float64, and its gradient printed in full


def _construct(name: str, kind: str, arguments: str) -> Any:
    import torch

    try:
        args = [float(part) for part in arguments.split(",")] if arguments.strip() else []
    except ValueError:
        raise DerivcliError(f"--{name}: {kind}(...) takes numbers, got '{_clip(arguments)}'") from None
    sizes = [int(a) for a in args] if kind not in ("arange", "linspace", "full") else []
    if any(a != int(a) or a < 0 for a in (args if sizes else [])):
        raise DerivcliError(f"--{name}: {kind}(...) sizes must be whole numbers >= 0")
    try:
        if kind in ("zeros", "ones", "rand", "randn", "eye"):
            if not 1 <= len(sizes) <= (2 if kind == "eye" else 6):
                raise ValueError
            _check_elements(name, sizes)
            return getattr(torch, kind)(*sizes, dtype=torch.float64)
        if kind == "full":
            *shape, fill = args
            _check_elements(name, [int(s) for s in shape])
            return torch.full([int(s) for s in shape], fill, dtype=torch.float64)
        if kind == "arange":
            values = torch.arange(*args, dtype=torch.float64)
            _check_elements(name, list(values.shape))
            return values
        start, end, steps = args
        _check_elements(name, [int(steps)])
        return torch.linspace(start, end, int(steps), dtype=torch.float64)
    except (ValueError, TypeError, RuntimeError):
        raise DerivcliError(f"--{name}: cannot make {kind}({_clip(arguments)})",
                            hint="e.g. zeros(3), ones(2,3), arange(4), linspace(0,1,5), rand(3,4), "
                                 "randn(1,10), full(2,2,7), eye(3)") from None


def _check_elements(name: str, sizes: list[int]) -> None:
    from . import memory

    total = 1
    for size in sizes:
        total *= max(size, 0)
    if total == 0:
        raise DerivcliError(f"--{name}: the tensor is empty; give at least one element")
    if total > MAX_ELEMENTS:
        raise DerivcliError(f"--{name}: {total:,} elements; give between 1 and {MAX_ELEMENTS:,}")
    memory.check(total, f"--{name} ({total:,} elements)")


def _json_list(name: str, text: str) -> Any:
    import json

    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise DerivcliError(f"--{name}: not a valid list: {error}".split("\n")[0],
                            hint='write a JSON list such as "[1, 2, 3]" or "[[1, 2], [3, 4]]"') from None


def tensor_from_list(name: str, value: Any) -> Any:
    """A nested list of numbers -> float64 tensor, refusing ragged, empty and non-numeric lists."""
    import torch

    shape = _shape_of(name, value, 0)
    if 0 in shape:
        raise DerivcliError(f"--{name}: the list is empty")
    _check_elements(name, list(shape))
    return torch.tensor(value, dtype=torch.float64)


def _shape_of(name: str, value: Any, depth: int) -> tuple[int, ...]:
    if isinstance(value, bool) or not isinstance(value, (int, float, list)):
        raise DerivcliError(f"--{name}: {json_text(value)} is not a number")
    if not isinstance(value, list):
        return ()
    if depth > 8:
        raise DerivcliError(f"--{name}: lists nested more than 8 deep")
    shapes = {_shape_of(name, item, depth + 1) for item in value}
    if len(shapes) > 1:
        raise DerivcliError(f"--{name}: the list is ragged (rows of different lengths or depths)")
    return (len(value), *(shapes.pop() if shapes else ()))


def json_text(value: Any) -> str:
    import json

    return _clip(json.dumps(value))


def _read_file(name: str, path: str) -> Any:
    """@file.json (a number or list), @file.csv (rows of numbers), @file.npy (a numpy array)."""
    import os

    if not os.path.isfile(path):
        raise DerivcliError(f"--{name}: no such file: {path}")
    if os.path.getsize(path) > 200_000_000:
        raise DerivcliError(f"--{name}: {path} is larger than 200 MB")
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".npy":
        try:
            import numpy as np
        except ImportError:
            raise DerivcliError(f"--{name}: reading .npy files needs numpy", hint="pip install numpy") from None
        import torch

        try:
            array = np.load(path, allow_pickle=False)
        except ValueError as error:
            raise DerivcliError(f"--{name}: cannot read {path}: {error}") from None
        if array.dtype.kind not in "iuf":
            raise DerivcliError(f"--{name}: {path} holds {array.dtype}, not numbers")
        return torch.from_numpy(array.astype("float64")) if array.ndim else float(array)
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if suffix == ".csv":
        import csv

        rows = [row for row in csv.reader(text.splitlines()) if row]
        try:
            values: Any = [[float(cell) for cell in row] for row in rows]
        except ValueError:
            raise DerivcliError(f"--{name}: {path} has a cell that is not a number") from None
        if len(values) == 1:
            values = values[0]
        return tensor_from_list(name, values)
    value = _json_list(name, text.strip())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return tensor_from_list(name, value)


def _clip(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."



def read_points(path: str) -> dict[str, Any]:
    """--points: columns of points, named by a CSV header, or the arrays of an .npz file (an .npy file
    holds one unnamed column, for the expression's only variable: key "")."""
    import os

    import torch

    if not os.path.isfile(path):
        raise DerivcliError(f"--points: no such file: {path}")
    suffix = os.path.splitext(path)[1].lower()
    if suffix in (".npy", ".npz"):
        try:
            import numpy as np
        except ImportError:
            raise DerivcliError("--points: reading .npy/.npz needs numpy", hint="pip install numpy") from None
        try:
            loaded = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as error:
            raise DerivcliError(f"--points: cannot read {path}: {error}") from None
        arrays = {"": loaded} if suffix == ".npy" else {name: loaded[name] for name in loaded.files}
        return {name: torch.from_numpy(np.asarray(array, dtype="float64").reshape(-1))
                for name, array in arrays.items()}
    import csv

    with open(path, encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        header = [name.strip() for name in next(rows, [])]
        for name in header:
            check_name(name)
        columns: list[list[float]] = [[] for _ in header]
        for number, row in enumerate(rows, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise DerivcliError(f"--points: line {number} of {path} has {len(row)} values, "
                                    f"the header {len(header)}")
            try:
                for column, cell in zip(columns, row):
                    column.append(float(cell))
            except ValueError:
                raise DerivcliError(f"--points: line {number} of {path} has a value that is not a number") from None
    if not header:
        raise DerivcliError(f"--points: {path} is empty", hint="the first line names the variables: x,y")
    return {name: torch.tensor(column, dtype=torch.float64) for name, column in zip(header, columns)}
