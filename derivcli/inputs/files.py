"""Files read or written on the user's behalf: the CLI's `--NAME @file` values, `--points` and
`--output`, and nothing else (never batch requests).

Each file is opened without blocking, must be a regular file, and is bounded (size, elements, memory)
before it is read; numpy files are checked header first and never unpickled.  `--no-files` or
DERIVCLI_NO_FILES=1 turns all of it off, for programs that pass untrusted text to the CLI.
"""

from __future__ import annotations

from typing import Any

from ..errors import DerivcliError
from .tensor_values import BYTES_PER_ELEMENT, MAX_ELEMENTS, clip, json_list, overflow_error, tensor_from_list

NO_FILES_ENVIRONMENT = "DERIVCLI_NO_FILES"
MAX_FILE_BYTES = 200_000_000  # an @file's text
MAX_ARCHIVE_MEMBERS = 256  # arrays in one .npz
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


def open_regular(what: str, path: str) -> Any:
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
    from ..limits import memory

    with open_regular(what, path) as handle:
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


def read_value_file(name: str, path: str) -> Any:
    """@file.json (a number or list), @file.csv (rows of numbers), @file.npy or a one-array .npz."""
    import os

    what = f"--{name}"
    check_files_allowed(f"{what} @{clip(path)}")
    suffix = os.path.splitext(path)[1].lower()
    if suffix in (".npy", ".npz"):
        arrays = numpy_arrays(what, path, MAX_ELEMENTS, BYTES_PER_ELEMENT)
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
    value = json_list(name, text.strip())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            raise overflow_error(name) from None
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
        raise not_a_number(what, path, reader.line_num, row) from None
    except csv.Error as error:
        raise DerivcliError(f"{what}: line {reader.line_num} of {path}: {error}") from None
    return rows[0] if len(rows) == 1 else rows


def not_a_number(what: str, path: str, line: int, row: list[str], header: list[str] | None = None) -> DerivcliError:
    """The row's first cell that is not a number, named by its line and its column (the header's name, or
    its place counted from 1)."""
    def number(cell: str) -> bool:
        try:
            float(cell)
        except ValueError:
            return False
        return True

    index = next(index for index, cell in enumerate(row) if not number(cell))
    column = clip(header[index]) if header is not None else str(index + 1)
    return DerivcliError(f"{what}: line {line} of {path}, column {column}: '{clip(row[index].strip())}' is not a "
                         "number")


def numpy_arrays(what: str, path: str, max_elements: int, bytes_per_number: int) -> dict[str, Any]:
    """The arrays of an .npy file (key "") or an .npz archive (by name).

    Each array's header (dtype, shape) is read and checked against `max_elements` before its data, and
    held against the request's memory budget at `bytes_per_number` (what each number will cost the
    caller): nothing is ever unpickled, and an archive member is decompressed only as far as its checked
    header allows, so a zip bomb costs nothing.
    """
    import os
    import zipfile
    import zlib

    try:
        import numpy  # noqa: F401
    except ImportError:
        raise DerivcliError(f"{what}: reading .npy/.npz files needs numpy", hint="pip install numpy") from None
    with open_regular(what, path) as handle:
        try:
            if path.lower().endswith(".npy"):
                return {"": _npy_array(what, path, handle, os.fstat(handle.fileno()).st_size, max_elements,
                                       bytes_per_number)}
            arrays: dict[str, Any] = {}
            with zipfile.ZipFile(handle) as archive:
                members = [member for member in archive.infolist() if not member.is_dir()]
                if len(members) > MAX_ARCHIVE_MEMBERS:
                    raise DerivcliError(f"{what}: {path} holds {len(members):,} files; the most is "
                                        f"{MAX_ARCHIVE_MEMBERS}")
                for member in members:
                    if not member.filename.endswith(".npy"):
                        raise DerivcliError(f"{what}: {path} holds {clip(member.filename)}, not an .npy array")
                    with archive.open(member) as stream:
                        array = _npy_array(what, f"{path}:{clip(member.filename)}", stream, member.file_size,
                                           max_elements, bytes_per_number)
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


def _npy_array(what: str, where: str, stream: Any, size: int, max_elements: int, bytes_per_number: int) -> Any:
    """One .npy array from `stream` (`size` bytes in all): the header, checked, then exactly its data."""
    import math

    import numpy as np
    from numpy.lib import format as npy

    from ..limits import memory

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
    memory.hold(count, f"{what} ({where}, {count:,} numbers)", bytes_per_number)
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


