"""Output that is not one result: the functions table and the --points columns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

from ..wire import dumps
from .layout import console_for, print_fitting

if TYPE_CHECKING:
    from ..table.functions import FunctionSpec

def emit_functions(specs: list[FunctionSpec], fmt: str, out: TextIO) -> None:
    if fmt == "json":
        out.write(dumps([{"name": s.name, "aliases": list(s.aliases), "arity": s.arity_text(),
                               "description": s.description, "sympy": s.sympy, "torch": s.torch}
                              for s in specs]) + "\n")
        return
    if fmt == "plain":
        out.write("".join(f"{s.name}\t{s.arity_text()}\t{s.description}\t{','.join(s.aliases)}\n" for s in specs))
        return
    rows = [[s.name, s.arity_text(), s.description, ", ".join(s.aliases), s.sympy.rpartition(".")[2], _torch_form(s)]
            for s in specs]
    print_fitting(console_for(out), ["name", "args", "description", "aliases", "SymPy form", "torch form"], rows,
                  ["left"] * 6, "derivcli functions", units=[[1, 2, 3], [4, 5]], wrapping=frozenset({1, 2, 3}))


def _torch_form(spec: FunctionSpec) -> str:
    """torch's own function by its name; derivcli's own as `derivcli` (of the same name) or `derivcli:NAME`."""
    if not spec.torch.startswith("derivcli."):
        return spec.torch
    name = spec.torch.rpartition(".")[2]
    return "derivcli" if name == spec.name else f"derivcli:{name}"


def write_points(table: dict[str, Any], path: str | None, out: TextIO) -> None:
    """--points results: columns (the variables, f, the derivatives) as CSV, a 2-D .npy array with the
    columns in the same order, or an .npz of one array per column, named as the CSV header names it.  CSV
    goes out in chunks, so a long table never becomes one string; a path that cannot be written (no such
    folder, a directory, a full disk) is a one-line error naming it."""
    import torch

    from ..errors import DerivcliError
    from ..inputs.points import output_kind
    from ..limits import memory

    kind = output_kind(path) if path is not None else "csv"
    names = list(table)
    columns = [torch.as_tensor(table[name]).reshape(-1).to(torch.float64) for name in names]
    memory.check(len(names) * max((len(column) for column in columns), default=0), "the --points table")
    matrix = torch.stack(columns, dim=1)
    if path is None:
        _write_csv(names, matrix, out)
        return
    try:
        if kind in ("npy", "npz"):
            import numpy as np

            with open(path, "wb") as binary:
                if kind == "npy":
                    np.save(binary, matrix.numpy())
                else:  # one named array per column, as --points reads an .npz
                    arrays: dict[str, Any] = {name: matrix[:, index].numpy() for index, name in enumerate(names)}
                    np.savez(binary, **arrays)
        else:
            with open(path, "w", encoding="utf-8") as handle:
                _write_csv(names, matrix, handle)
    except OSError as error:
        raise DerivcliError(f"--output {path}: cannot write it: {(error.strerror or str(error)).lower()}") from None


def _write_csv(names: list[str], matrix: Any, out: TextIO, chunk: int = 1 << 16) -> None:
    out.write(",".join(names) + "\n")
    for first in range(0, matrix.shape[0], chunk):
        out.write("".join(",".join(map(repr, row)) + "\n" for row in matrix[first:first + chunk].tolist()))


def write_points_json(expression: str, point: dict[str, Any], f: Any, grads: dict[str, Any], dtype: str,
                      out: TextIO, chunk: int = 1 << 14) -> None:
    """--points --json: NDJSON, one object per point with grad --json's keys, written in chunks."""
    import torch

    from ..api import non_finite_warnings
    from ..wire import dumps

    count = len(f)
    scalars = {name for name, value in point.items() if torch.as_tensor(value).dim() == 0}
    for first in range(0, count, chunk):
        rows = slice(first, min(first + chunk, count))
        coordinates = {name: [float(value)] * (rows.stop - first) if name in scalars else
                       torch.as_tensor(value)[rows].tolist() for name, value in point.items()}
        slopes = {name: torch.as_tensor(column)[rows].tolist() for name, column in grads.items()}
        lines = []
        for index, value in enumerate(torch.as_tensor(f)[rows].tolist()):
            gradient = {name: slope[index] for name, slope in slopes.items()}
            lines.append(dumps({"expression": expression,
                                "point": {name: xs[index] for name, xs in coordinates.items()},
                                "dtype": dtype, "value": value, "gradient": gradient,
                                "warnings": non_finite_warnings(value, gradient)}) + "\n")
        out.write("".join(lines))


# The wire contract of this module's to_json: tests/schema_build.py gathers every module's into
# derivcli/schemas/derivcli.schema.json (its $defs; JSON_OUTPUTS also join its root).
JSON_SCHEMA = {
    "functions": {
        "type": "array",
        "items": {
            "type": "object", "required": ["name", "aliases", "arity", "description", "sympy", "torch"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string"}, "aliases": {"type": "array", "items": {"type": "string"}},
                "arity": {"type": "string"}, "description": {"type": "string"}, "sympy": {"type": "string"},
                "torch": {"type": "string"},
            },
        },
    },
}
JSON_OUTPUTS = ("functions",)
