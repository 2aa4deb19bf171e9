"""`grad --points FILE`: every point of a file in one vectorized pass per chunk, written as a table of
columns (CSV or .npy) or as NDJSON, by the command line and by a Dask cluster's workers alike."""

from __future__ import annotations

import sys
from typing import Optional

from ..errors import DerivcliError


def grad_at_points(expression: str, path: str, fixed: dict[str, object], wrt: list[str] | None,
                   output: Optional[str], torch_compile: bool, dtype: str, device: str, as_json: bool = False) -> int:
    """--points: every point of a file in one vectorized pass per chunk, as a table of columns (CSV or
    .npy), or with --json as NDJSON: one grad object per point."""
    from ..inputs.points import output_kind, read_points
    from ..render import write_points, write_points_json
    from ..render.progress import progress_bar
    from .vectorized import Compiled

    if as_json and output is not None:
        raise DerivcliError("--json writes one object per point to stdout; --output writes .csv or .npy",
                            hint="give one of them")
    if output is not None:
        output_kind(output)  # a bad --output is refused before the work, not after
    compiled = Compiled(expression, wrt, dtype, device, torch_compile)
    columns = read_points(path)
    if "" in columns:  # an .npy file: one unnamed column, for the only variable not bound otherwise
        free = [name for name in compiled.variables if name not in fixed]
        if len(free) != 1:
            raise DerivcliError("--points: an .npy file holds one column; name the columns with .csv or .npz")
        columns = {free[0]: columns.pop("")}
    both = sorted(set(fixed) & set(columns))
    if both:
        raise DerivcliError(f"--points: {', '.join(both)} is both a column of {path} and given with --NAME")
    values = {**fixed, **columns}
    progress = progress_bar() if sys.stderr.isatty() and len(next(iter(columns.values()), [])) > 1_000_000 else None
    f = compiled(**values)
    grads = compiled.grad(progress=progress, **values)
    if as_json:
        point = {name: values[name] for name in compiled.variables if name in values}
        write_points_json(compiled.parsed.canonical, point, f, grads, dtype, sys.stdout)
        return 0
    table = {**{name: columns[name] for name in columns if name in compiled.variables}, "f": f,
             **{f"d/d{name}": value for name, value in grads.items()}}
    write_points(table, output, sys.stdout)
    return 0
