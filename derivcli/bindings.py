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
CONSTRUCTOR_HINT = ("e.g. zeros(3), ones(2,3), arange(4), linspace(0,1,5), rand(3,4), randn(1,10), full(2,2,7), "
                    "eye(3)")


def _construct(name: str, kind: str, arguments: str) -> Any:
    """Every size is checked (finite, whole, within the element cap and the memory budget) before torch
    allocates anything."""
    import math

    import torch

    try:
        args = [float(part) for part in arguments.split(",")] if arguments.strip() else []
    except ValueError:
        raise DerivcliError(f"--{name}: {kind}(...) takes numbers, got '{_clip(arguments)}'") from None
    cannot = DerivcliError(f"--{name}: cannot make {kind}({_clip(arguments)})", hint=CONSTRUCTOR_HINT)
    if kind in ("zeros", "ones", "rand", "randn", "eye"):
        if not 1 <= len(args) <= (2 if kind == "eye" else 6):
            raise cannot
        sizes = _sizes(name, kind, args)
        _check_elements(name, sizes)
        return getattr(torch, kind)(*sizes, dtype=torch.float64)
    if kind == "full":
        if len(args) < 2:
            raise cannot
        *shape, fill = args
        sizes = _sizes(name, kind, shape)
        _check_elements(name, sizes)
        return torch.full(sizes, fill, dtype=torch.float64)
    if not all(math.isfinite(a) for a in args):
        raise DerivcliError(f"--{name}: {kind}({_clip(arguments)}) needs finite numbers", hint=CONSTRUCTOR_HINT)
    if kind == "linspace":
        if len(args) != 3:
            raise cannot
        start, end, steps = args
        (count,) = _sizes(name, kind, [steps])
        _check_elements(name, [count])
        return torch.linspace(start, end, count, dtype=torch.float64)
    if not 1 <= len(args) <= 3:
        raise cannot
    start, end, step = (0.0, args[0], 1.0) if len(args) == 1 else (args[0], args[1], args[2] if len(args) == 3 else 1.0)
    span = (end - start) / step if step else math.inf
    if not math.isfinite(span):
        raise DerivcliError(f"--{name}: arange({_clip(arguments)}) has no end", hint="give a nonzero step")
    _check_elements(name, [max(math.ceil(span), 0)])
    try:
        return torch.arange(start, end, step, dtype=torch.float64)
    except (RuntimeError, ValueError):
        raise cannot from None


def _sizes(name: str, kind: str, values: list[float]) -> list[int]:
    """Sizes are whole numbers from 0 to MAX_ELEMENTS: no inf, nan, fractions or negatives reach int()."""
    if not all(value == value and 0 <= value <= MAX_ELEMENTS and value == int(value) for value in values):
        raise DerivcliError(f"--{name}: {kind}(...) sizes must be whole numbers from 0 to {MAX_ELEMENTS:,}",
                            hint=CONSTRUCTOR_HINT)
    return [int(value) for value in values]


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
    try:
        return torch.tensor(value, dtype=torch.float64)
    except (OverflowError, RuntimeError):  # an integer past float64 (JSON allows any number of digits)
        raise _overflow(name) from None


def _overflow(name: str) -> DerivcliError:
    return DerivcliError(f"--{name}: a number overflows float64", hint="float64 holds numbers up to about 1.8e308")


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


# --------------------------------------------------------------------------- files
# Files are read only for the CLI's own options: `--NAME @file`, `--points` and `--output`.  Each one is
# opened without blocking, must be a regular file, and is bounded (size, elements, memory) before it is
# read; numpy files are checked header first and never unpickled.  `--no-files` or DERIVCLI_NO_FILES=1
# turns all of it off, for programs that pass untrusted text to the CLI.
NO_FILES_ENVIRONMENT = "DERIVCLI_NO_FILES"
MAX_FILE_BYTES = 200_000_000  # an @file's text
MAX_ARCHIVE_MEMBERS = 256  # arrays in one .npz
MAX_POINT_ROWS = 10_000_000  # --points rows (and elements of each .npy/.npz column)
MAX_POINT_COLUMNS = 1_000
MAX_LINE_CHARS = 1 << 20  # one line of a --points CSV
_no_files = False


def set_no_files(flag: bool) -> None:
    global _no_files
    _no_files = flag


def files_allowed() -> bool:
    """False under `--no-files` or DERIVCLI_NO_FILES set to anything but empty, 0, false or no."""
    import os

    setting = os.environ.get(NO_FILES_ENVIRONMENT, "").strip().lower()
    return not (_no_files or setting not in ("", "0", "false", "no"))


def check_files_allowed(what: str) -> None:
    if not files_allowed():
        raise DerivcliError(f"{what}: files are turned off (--no-files or {NO_FILES_ENVIRONMENT})")


def _open_regular(what: str, path: str) -> Any:
    """A regular file opened for binary reading; a directory, FIFO or device is refused before anything
    could block on it (O_NONBLOCK), and every failure is one line naming the path."""
    import os
    import stat

    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise DerivcliError(f"{what}: no such file: {path}") from None
    except (OSError, ValueError) as error:  # ValueError: a NUL in the path
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise DerivcliError(f"{what}: cannot read {path}: {reason.lower()}") from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise DerivcliError(f"{what}: {path} is {kind}", hint="give the path of a .json, .csv, .npy or .npz file")
    return os.fdopen(descriptor, "rb")


def _read_text(what: str, path: str, limit: int) -> str:
    """The whole file as UTF-8 text, refused past `limit` bytes (even when it grows while read)."""
    from . import memory

    with _open_regular(what, path) as handle:
        import os

        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise DerivcliError(f"{what}: {path} is larger than {limit // 1_000_000} MB")
        memory.check(size, f"{what} ({path}, {memory.describe(size)} of text)", itemsize=4)
        try:
            data = handle.read(limit + 1)
        except OSError as error:
            raise DerivcliError(f"{what}: cannot read {path}: {(error.strerror or str(error)).lower()}") from None
    if len(data) > limit:
        raise DerivcliError(f"{what}: {path} is larger than {limit // 1_000_000} MB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DerivcliError(f"{what}: {path} is not UTF-8 text (byte {error.start + 1} is not)") from None


def _read_file(name: str, path: str) -> Any:
    """@file.json (a number or list), @file.csv (rows of numbers), @file.npy or a one-array .npz."""
    import os

    what = f"--{name}"
    check_files_allowed(f"{what} @{_clip(path)}")
    suffix = os.path.splitext(path)[1].lower()
    if suffix in (".npy", ".npz"):
        arrays = numpy_arrays(what, path, MAX_ELEMENTS)
        if len(arrays) != 1:
            raise DerivcliError(f"{what}: {path} holds {len(arrays)} arrays; a binding takes one",
                                hint="save one array, or give the columns with --points")
        (array,) = arrays.values()
        import torch

        return torch.from_numpy(array.astype("float64")) if array.ndim else float(array)
    text = _read_text(what, path, MAX_FILE_BYTES)
    if suffix == ".csv":
        return tensor_from_list(name, _csv_numbers(what, path, text))
    if text.count(",") >= MAX_ELEMENTS:  # a list of n numbers has n - 1 commas: refuse before parsing
        raise DerivcliError(f"{what}: {path} holds more than {MAX_ELEMENTS:,} numbers")
    value = _json_list(name, text.strip())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            raise _overflow(name) from None
    return tensor_from_list(name, value)


def _csv_numbers(what: str, path: str, text: str) -> Any:
    """Rows of numbers (one row: a vector), counted as they are read so a big file stops at the cap."""
    import csv

    rows: list[list[float]] = []
    count = 0
    reader = csv.reader(text.splitlines())
    try:
        for row in reader:
            if not row:
                continue
            count += len(row)
            if count > MAX_ELEMENTS:
                raise DerivcliError(f"{what}: {path} holds more than {MAX_ELEMENTS:,} numbers")
            rows.append([float(cell) for cell in row])
    except ValueError:
        raise DerivcliError(f"{what}: line {reader.line_num} of {path} has a cell that is not a number") from None
    except csv.Error as error:
        raise DerivcliError(f"{what}: line {reader.line_num} of {path}: {error}") from None
    return rows[0] if len(rows) == 1 else rows


def numpy_arrays(what: str, path: str, max_elements: int) -> dict[str, Any]:
    """The arrays of an .npy file (key "") or an .npz archive (by name).

    Each array's header (dtype, shape) is read and checked against `max_elements` and the memory budget
    before its data: nothing is ever unpickled, and an archive member is decompressed only as far as its
    checked header allows, so a zip bomb costs nothing.
    """
    import os
    import zipfile
    import zlib

    try:
        import numpy  # noqa: F401
    except ImportError:
        raise DerivcliError(f"{what}: reading .npy/.npz files needs numpy", hint="pip install numpy") from None
    with _open_regular(what, path) as handle:
        try:
            if path.lower().endswith(".npy"):
                return {"": _npy_array(what, path, handle, os.fstat(handle.fileno()).st_size, max_elements, 0)}
            arrays: dict[str, Any] = {}
            total = 0
            with zipfile.ZipFile(handle) as archive:
                members = [member for member in archive.infolist() if not member.is_dir()]
                if len(members) > MAX_ARCHIVE_MEMBERS:
                    raise DerivcliError(f"{what}: {path} holds {len(members):,} files; the most is "
                                        f"{MAX_ARCHIVE_MEMBERS}")
                for member in members:
                    if not member.filename.endswith(".npy"):
                        raise DerivcliError(f"{what}: {path} holds {_clip(member.filename)}, not an .npy array")
                    with archive.open(member) as stream:
                        array = _npy_array(what, f"{path}:{_clip(member.filename)}", stream, member.file_size,
                                           max_elements, total)
                    total += array.size
                    arrays[member.filename[:-len(".npy")]] = array
            if not arrays:
                raise DerivcliError(f"{what}: {path} holds no arrays")
            return arrays
        except DerivcliError:
            raise
        except (OSError, ValueError, EOFError, RuntimeError, NotImplementedError, zipfile.BadZipFile,
                zlib.error) as error:
            text = str(error).strip().splitlines()
            raise DerivcliError(f"{what}: cannot read {path}: {text[0] if text else type(error).__name__}") from None


def _npy_array(what: str, where: str, stream: Any, size: int, max_elements: int, before: int) -> Any:
    """One .npy array from `stream` (`size` bytes in all): the header, checked, then exactly its data."""
    import math

    import numpy as np
    from numpy.lib import format as npy

    from . import memory

    version = npy.read_magic(stream)
    if version == (1, 0):
        shape, fortran_order, dtype = npy.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, fortran_order, dtype = npy.read_array_header_2_0(stream)
    else:
        raise DerivcliError(f"{what}: {where} is .npy version {version[0]}.{version[1]}, which derivcli does not read")
    if dtype.hasobject:
        raise DerivcliError(f"{what}: {where} holds Python objects; derivcli never unpickles",
                            hint="save an array of numbers")
    if dtype.kind not in "iuf":
        raise DerivcliError(f"{what}: {where} holds {dtype}, not numbers")
    count = math.prod(shape)
    if count == 0:
        raise DerivcliError(f"{what}: {where} is empty; give at least one number")
    if count > max_elements:
        raise DerivcliError(f"{what}: {where} holds {count:,} numbers; the most is {max_elements:,}")
    memory.check(before + count, f"{what} ({where}, {before + count:,} numbers)")
    needed = count * dtype.itemsize
    if size - stream.tell() < needed:
        raise DerivcliError(f"{what}: {where} is truncated: its header promises {needed:,} bytes of data")
    data = bytearray(needed)  # writable, so torch can share it; filled in place, never copied
    view, filled = memoryview(data), 0
    while filled < needed and (got := stream.readinto(view[filled:])):
        filled += got
    if filled < needed:
        raise DerivcliError(f"{what}: {where} is truncated: its header promises {needed:,} bytes of data")
    return np.frombuffer(data, dtype=dtype, count=count).reshape(shape, order="F" if fortran_order else "C")


def _clip(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def read_points(path: str) -> dict[str, Any]:
    """--points: columns of points, named by a CSV header, or the arrays of an .npz file (an .npy file
    holds one unnamed column, for the expression's only variable: key "")."""
    import os

    import torch

    check_files_allowed("--points")
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".npy", ".npz"):
        return _csv_points(path)
    import numpy as np

    from . import memory

    arrays = numpy_arrays("--points", path, MAX_POINT_ROWS)
    names = _column_names([name for name in arrays if name], path) if suffix == ".npz" else {"": ""}
    total = sum(array.size for array in arrays.values())
    memory.check(2 * total + max(array.size for array in arrays.values()),
                 f"--points ({path}: {total:,} numbers, their derivatives and values)")
    return {names[name]: torch.from_numpy(np.asarray(array, dtype="float64").reshape(-1))
            for name, array in arrays.items()}


def _column_names(header: list[str], path: str) -> dict[str, str]:
    """Each column's name -> the variable it gives values to; a variable named twice is an error."""
    if len(header) > MAX_POINT_COLUMNS:
        raise DerivcliError(f"--points: {path} has {len(header):,} columns; the most is {MAX_POINT_COLUMNS:,}")
    names: dict[str, str] = {}
    for name in header:
        spelled = check_name(name)
        if name in names or spelled in names.values():
            raise DerivcliError(f"--points: the column '{_clip(spelled)}' is named twice in {path}",
                                hint="name each variable once")
        names[name] = spelled
    return names


def _csv_points(path: str) -> dict[str, Any]:
    """The columns of a CSV file, read straight into float64 arrays (8 bytes a number); the row count is
    bounded before any row is kept (from the file's size, or by counting its lines when it is big)."""
    import csv
    import os
    from array import array

    import torch

    from . import memory

    with _open_regular("--points", path) as handle:
        size = os.fstat(handle.fileno()).st_size
        lines = _count_lines(handle) if size > 2 * MAX_POINT_ROWS else size // 2 + 1
        if lines - 1 > MAX_POINT_ROWS:
            raise DerivcliError(f"--points: {path} has {lines - 1:,} rows; the most is {MAX_POINT_ROWS:,}",
                                hint="split the file, or evaluate it with derivcli.compile from Python")
        reader = csv.reader(_text_lines(handle, path))
        try:
            header = [name.strip() for name in next(reader, [])]
            if not header:
                raise DerivcliError(f"--points: {path} is empty", hint="the first line names the variables: x,y")
            names = _column_names(header, path)
            rows_bound = min(lines - 1, size // (2 * len(header)) + 1)
            memory.check(rows_bound * (2 * len(header) + 1),
                         f"--points ({path}: up to {rows_bound:,} rows of {len(header)}, their values and derivatives)")
            columns = [array("d") for _ in header]
            for row in reader:
                if not row:
                    continue
                if len(row) != len(header):
                    raise DerivcliError(f"--points: line {reader.line_num} of {path} has {len(row)} values, "
                                        f"the header {len(header)}")
                if len(columns[0]) >= MAX_POINT_ROWS:
                    raise DerivcliError(f"--points: {path} has more than {MAX_POINT_ROWS:,} rows")
                try:
                    for column, cell in zip(columns, row):
                        column.append(float(cell))
                except ValueError:
                    raise DerivcliError(f"--points: line {reader.line_num} of {path} has a value that is not a "
                                        "number") from None
        except csv.Error as error:
            raise DerivcliError(f"--points: line {reader.line_num} of {path}: {error}") from None
        except OSError as error:
            raise DerivcliError(f"--points: cannot read {path}: {(error.strerror or str(error)).lower()}") from None
    return {names[name]: torch.frombuffer(column, dtype=torch.float64) if column else
            torch.empty(0, dtype=torch.float64) for name, column in zip(header, columns)}


def _count_lines(handle: Any) -> int:
    """Lines in a binary file, at the speed of reading it; the handle is left at the start."""
    lines, last = 0, b"\n"
    while chunk := handle.read(1 << 22):
        lines += chunk.count(b"\n")
        last = chunk[-1:]
    handle.seek(0)
    return lines + (last != b"\n")


def _text_lines(handle: Any, path: str) -> Any:
    """The lines of a binary file as UTF-8 text, each refused past MAX_LINE_CHARS bytes (so no row is
    unbounded) or when it is not UTF-8 (naming the line)."""
    number = 0
    while line := handle.readline(MAX_LINE_CHARS + 1):
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise DerivcliError(f"--points: line {number} of {path} is longer than {MAX_LINE_CHARS:,} bytes")
        try:
            yield line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            raise DerivcliError(f"--points: line {number} of {path} is not UTF-8 text (byte {error.start + 1} "
                                "is not)") from None


def output_kind(path: str) -> str:
    """--output FILE for --points: 'csv' or 'npy' by its suffix, and only where files are allowed."""
    check_files_allowed("--output")
    suffix = path.lower().rpartition(".")[2] if "." in path else ""
    if suffix not in ("csv", "npy"):
        raise DerivcliError(f"--output {path}: write .csv or .npy")
    return suffix
