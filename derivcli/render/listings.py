"""Output that is not one result: the functions table and the --points columns."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TextIO

from .layout import console_for

if TYPE_CHECKING:
    from ..functions import FunctionSpec

def emit_functions(specs: list[FunctionSpec], fmt: str, out: TextIO) -> None:
    if fmt == "json":
        out.write(json.dumps([{"name": s.name, "aliases": list(s.aliases), "arity": s.arity_text(),
                               "description": s.description, "sympy": s.sympy, "torch": s.torch}
                              for s in specs]) + "\n")
        return
    if fmt == "plain":
        out.write("".join(f"{s.name}\t{s.arity_text()}\t{s.description}\t{','.join(s.aliases)}\n" for s in specs))
        return
    from rich.table import Table

    view = Table(title="derivcli functions", header_style="bold")
    for heading in ("name", "args", "description", "aliases", "SymPy form", "torch form"):
        view.add_column(heading)
    for s in specs:
        view.add_row(s.name, s.arity_text(), s.description, ", ".join(s.aliases),
                     s.sympy.rpartition(".")[2], s.torch.replace("derivcli.torch_forms.", "derivcli:"))
    console_for(out).print(view)


def write_points(table: dict[str, Any], path: str | None, out: TextIO) -> None:
    """--points results: columns (the variables, f, the derivatives) as CSV, or a 2-D .npy array with
    the columns in the same order.  CSV goes out in chunks, so a long table never becomes one string; a
    path that cannot be written (no such folder, a directory, a full disk) is a one-line error naming it."""
    import torch

    from .. import memory
    from ..errors import DerivcliError
    from ..files import output_kind

    kind = output_kind(path) if path is not None else "csv"
    names = list(table)
    columns = [torch.as_tensor(table[name]).reshape(-1).to(torch.float64) for name in names]
    memory.check(len(names) * max((len(column) for column in columns), default=0), "the --points table")
    matrix = torch.stack(columns, dim=1)
    if path is None:
        _write_csv(names, matrix, out)
        return
    try:
        if kind == "npy":
            import numpy as np

            with open(path, "wb") as binary:
                np.save(binary, matrix.numpy())
        else:
            with open(path, "w", encoding="utf-8") as handle:
                _write_csv(names, matrix, handle)
    except OSError as error:
        raise DerivcliError(f"--output {path}: cannot write it: {(error.strerror or str(error)).lower()}") from None


def _write_csv(names: list[str], matrix: Any, out: TextIO, chunk: int = 1 << 16) -> None:
    out.write(",".join(names) + "\n")
    for first in range(0, matrix.shape[0], chunk):
        out.write("".join(",".join(map(repr, row)) + "\n" for row in matrix[first:first + chunk].tolist()))
