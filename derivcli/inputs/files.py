"""Files read or written on the user's behalf: the CLI's `--NAME @file` values, `--points` and
`--output`, and nothing else (never batch requests).

Each file is opened without blocking, must be a regular file, and is bounded (size, elements, memory)
before it is read; numpy files are checked header first and never unpickled.  `--no-files` or
DERIVCLI_NO_FILES=1 turns all of it off, for programs that pass untrusted text to the CLI.
"""

from __future__ import annotations

from typing import Any

from ..errors import DerivcliError
from .names import check_name
from .tensor_values import BYTES_PER_ELEMENT, MAX_ELEMENTS, clip, json_list, overflow_error, tensor_from_list

NO_FILES_ENVIRONMENT = "DERIVCLI_NO_FILES"
MAX_FILE_BYTES = 200_000_000  # an @file's text
MAX_ARCHIVE_MEMBERS = 256  # arrays in one .npz
MAX_POINT_ROWS = 10_000_000  # --points rows (and elements of each .npy/.npz column)
MAX_POINT_COLUMNS = 1_000
MAX_LINE_CHARS = 1 << 20  # one line of a --points CSV
MAX_FOOTER_BYTES = 16 << 20  # a Parquet file's footer (its schema and row groups), read before anything else
POINT_BYTES = 32  # what one number of --points costs: as read, as float64, its derivative, the value there
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
    from ..limits import memory

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
        raise _not_a_number(what, path, reader.line_num, row) from None
    except csv.Error as error:
        raise DerivcliError(f"{what}: line {reader.line_num} of {path}: {error}") from None
    return rows[0] if len(rows) == 1 else rows


def _not_a_number(what: str, path: str, line: int, row: list[str], header: list[str] | None = None) -> DerivcliError:
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
    with _open_regular(what, path) as handle:
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


def read_points(path: str) -> dict[str, Any]:
    """--points: columns of points, named by a CSV header, or the arrays of an .npz file (an .npy file
    holds one unnamed column, for the expression's only variable: key "")."""
    import os

    import torch

    check_files_allowed("--points")
    if any(mark in path for mark in "*?[") and not os.path.exists(path):
        raise DerivcliError(f"--points {path}: a pattern of many files is read with --scheduler, one file without",
                            hint="give one file, or add --scheduler local (pip install 'derivcli[dask]')")
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".parquet":
        return _parquet_points(path)
    if suffix not in (".npy", ".npz"):
        return _csv_points(path)
    import numpy as np

    arrays = numpy_arrays("--points", path, MAX_POINT_ROWS, POINT_BYTES)
    names = _column_names([name for name in arrays if name], path) if suffix == ".npz" else {"": ""}
    return {names[name]: torch.from_numpy(np.asarray(array, dtype="float64").reshape(-1))
            for name, array in arrays.items()}


def parquet_module() -> Any:
    """pyarrow.parquet, or the error that names the extra to install."""
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise DerivcliError("--points: reading .parquet files needs pyarrow",
                            hint="pip install 'derivcli[parquet]'") from None
    return parquet


def parquet_file(what: str, path: str, handle: Any) -> Any:
    """pyarrow's reader of an open Parquet file, its footer's length checked before pyarrow parses it."""
    import os

    size = os.fstat(handle.fileno()).st_size
    if size >= 12:
        handle.seek(size - 8)
        tail = handle.read(8)
        handle.seek(0)
        if tail[4:] == b"PAR1" and int.from_bytes(tail[:4], "little") > MAX_FOOTER_BYTES:
            raise DerivcliError(f"{what}: the footer of {path} is {int.from_bytes(tail[:4], 'little'):,} bytes; "
                                f"the most is {MAX_FOOTER_BYTES:,}")
    return parquet_module().ParquetFile(handle)


def _parquet_points(path: str) -> dict[str, Any]:
    """The columns of a Parquet file (where pyarrow is installed), each a variable.  Its footer is read
    first, and before any column: every column must hold integers or floats (a column of strings or lists
    can inflate a few kilobytes to gigabytes), the rows are counted, and what the row groups declare they
    decompress to is held against the memory budget with the numbers' float64 copies and derivatives."""
    import torch

    with _open_regular("--points", path) as handle:
        try:
            table_file = parquet_file("--points", path, handle)
            rows, names = table_file.metadata.num_rows, table_file.schema_arrow.names
            if rows > MAX_POINT_ROWS:
                raise DerivcliError(f"--points: {path} has {rows:,} rows; the most is {MAX_POINT_ROWS:,}")
            columns = _column_names(names, path)
            _hold_parquet(path, table_file)
            table = table_file.read()
            return {columns[name]: torch.as_tensor(table.column(name).to_numpy(zero_copy_only=False)
                                                   .astype("float64"))
                    for name in names}
        except DerivcliError:
            raise
        except (OSError, ValueError, TypeError) as error:  # pyarrow's ArrowInvalid is a ValueError
            raise DerivcliError(f"--points: {path} is not a readable Parquet file of numbers ("
                                f"{str(error).splitlines()[0][:80]})") from None


def _hold_parquet(path: str, table_file: Any) -> None:
    """Refuse a Parquet file whose columns are not numbers, or whose row groups declare more values or
    bytes than their rows of numbers take; else hold what reading it will cost."""
    import pyarrow

    from ..limits import memory

    for field in table_file.schema_arrow:
        if not (pyarrow.types.is_integer(field.type) or pyarrow.types.is_floating(field.type)):
            raise DerivcliError(f"--points: the column '{clip(field.name)}' of {path} holds {clip(str(field.type))}, "
                                "not numbers", hint="a --points column holds integers or floats")
    metadata = table_file.metadata
    stored = 0
    for index in range(metadata.num_row_groups):
        group = metadata.row_group(index)
        for column in range(group.num_columns):
            chunk = group.column(column)
            # a column of numbers: one value a row, and no more bytes than 8 a row beside its headers
            if chunk.num_values > group.num_rows or chunk.total_uncompressed_size > 16 * group.num_rows + (1 << 20):
                raise DerivcliError(f"--points: {path} is not a Parquet file of numbers (row group {index + 1} "
                                    f"declares {chunk.num_values:,} values in {chunk.total_uncompressed_size:,} bytes "
                                    f"for {group.num_rows:,} rows)")
            stored += chunk.total_uncompressed_size
    count = metadata.num_rows * metadata.num_columns
    memory.hold(stored + count * (POINT_BYTES - 8),
                f"--points ({path}: {metadata.num_rows:,} rows of {metadata.num_columns} columns)", itemsize=1)


def _column_names(header: list[str], path: str) -> dict[str, str]:
    """Each column's name -> the variable it gives values to; a variable named twice is an error."""
    if len(header) > MAX_POINT_COLUMNS:
        raise DerivcliError(f"--points: {path} has {len(header):,} columns; the most is {MAX_POINT_COLUMNS:,}")
    names: dict[str, str] = {}
    for name in header:
        spelled = check_name(name)
        if name in names or spelled in names.values():
            raise DerivcliError(f"--points: the column '{clip(spelled)}' is named twice in {path}",
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

    from ..limits import memory

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
            memory.hold(rows_bound * (2 * len(header) + 1),
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
                    raise _not_a_number("--points", path, reader.line_num, row, header) from None
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
    """--output FILE for --points: 'csv', 'npy' or 'npz' by its suffix, and only where files are allowed."""
    check_files_allowed("--output")
    suffix = path.lower().rpartition(".")[2] if "." in path else ""
    if suffix not in ("csv", "npy", "npz"):
        raise DerivcliError(f"--output {path}: write .csv, .npy or .npz")
    return suffix
