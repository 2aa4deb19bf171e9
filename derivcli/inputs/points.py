"""`--points FILE`: the columns of a CSV, .npy, .npz or Parquet file, each checked against its bounds and the
request's memory budget before it is read (a Parquet file by its footer: column types, counts and sizes),
and `--output`'s kinds."""

from __future__ import annotations

import os
from typing import Any

from ..errors import DerivcliError
from ..limits import memory
from .files import check_files_allowed, not_a_number, numpy_arrays, open_regular
from .names import check_name
from .tensor_values import clip

MAX_POINT_ROWS = 10_000_000  # --points rows (and elements of each .npy/.npz column)
MAX_POINT_COLUMNS = 1_000
MAX_LINE_CHARS = 1 << 20  # one line of a --points CSV
MAX_FOOTER_BYTES = 16 << 20  # a Parquet file's footer (its schema and row groups), read before anything else
POINT_BYTES = 32  # what one number of --points costs: as read, as float64, its derivative, the value there


def read_points(path: str) -> dict[str, Any]:
    """--points: columns of points, named by a CSV header, or the arrays of an .npz file (an .npy file
    holds one unnamed column, for the expression's only variable: key "")."""

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


def output_kind(path: str) -> str:
    """--output FILE for --points: 'csv', 'npy' or 'npz' by its suffix, and only where files are allowed."""
    check_files_allowed("--output")
    suffix = path.lower().rpartition(".")[2] if "." in path else ""
    if suffix not in ("csv", "npy", "npz"):
        raise DerivcliError(f"--output {path}: write .csv, .npy or .npz")
    return suffix


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

    with open_regular("--points", path) as handle:
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
    from array import array

    import torch

    from ..limits import memory

    with open_regular("--points", path) as handle:
        size = os.fstat(handle.fileno()).st_size
        lines = count_lines(handle) if size > 2 * MAX_POINT_ROWS else size // 2 + 1
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
                    raise not_a_number("--points", path, reader.line_num, row, header) from None
        except csv.Error as error:
            raise DerivcliError(f"--points: line {reader.line_num} of {path}: {error}") from None
        except OSError as error:
            raise DerivcliError(f"--points: cannot read {path}: {(error.strerror or str(error)).lower()}") from None
    return {names[name]: torch.frombuffer(column, dtype=torch.float64) if column else
            torch.empty(0, dtype=torch.float64) for name, column in zip(header, columns)}


def count_lines(handle: Any) -> int:
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
