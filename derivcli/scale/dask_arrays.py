"""`derivcli.compile` on dask arrays: each block evaluated on a Dask worker by the ordinary compiled path,
parsed and lowered once per worker process, which is settled for volume work once."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache, lru_cache, partial
from typing import Any

from ..errors import DerivcliError


def lazy(compiled: Any, values: Mapping[str, Any], gradient: bool) -> Any:
    """`compiled(**values)` or `compiled.grad(**values)` for dask arrays: dask arrays of the same chunks,
    each block evaluated on a worker by the ordinary compiled path (parsed and lowered once per worker
    process, see `_on_worker`).  Other arrays are made dask arrays and rechunked to match; scalars are
    held constant."""
    import dask.array as da
    import numpy as np

    missing = [name for name in compiled.variables if name not in values]
    if missing:
        raise DerivcliError(f"no values for {', '.join(missing)}")
    names = [name for name in compiled.variables if np.ndim(values[name])]
    shapes = {np.shape(values[name]) for name in names}
    if len(shapes) > 1:
        raise DerivcliError(f"the arrays of points have different shapes: {sorted(shapes)}")
    chunks = next(values[name].chunks for name in names if hasattr(values[name], "dask"))  # the first dask array's
    arrays = [da.asarray(values[name]).rechunk(chunks) for name in names]
    scalars = {name: float(values[name]) for name in compiled.variables if name not in names}
    dtype = np.dtype(str(compiled.dtype).removeprefix("torch."))
    spec = (type(compiled), compiled.expression, tuple(compiled.wrt), dtype.name, compiled.device.type,
            tuple(compiled.variables))
    block = partial(_block, spec, scalars, names, gradient)
    if not gradient:
        return da.map_blocks(block, *arrays, dtype=dtype, meta=np.empty((0,) * len(chunks), dtype))
    stacked = da.map_blocks(block, *arrays, new_axis=0, chunks=((len(compiled.wrt),), *chunks), dtype=dtype,
                            meta=np.empty((0,) * (len(chunks) + 1), dtype))
    return {name: stacked[index] for index, name in enumerate(compiled.wrt)}


def _block(spec: tuple[Any, ...], scalars: dict[str, float], names: list[str], gradient: bool, *blocks: Any) -> Any:
    """One block: values, or the derivatives stacked on a new first axis (one row per variable)."""
    import numpy as np

    compiled = _on_worker(*spec)
    shape = blocks[0].shape
    values = {**scalars, **{name: np.asarray(block).reshape(-1) for name, block in zip(names, blocks)}}
    if not gradient:
        return np.asarray(compiled(**values)).reshape(shape)
    grads = compiled.grad(**values)
    return np.stack([np.asarray(grads[name]).reshape(shape) for name in compiled.wrt])


@lru_cache(maxsize=64)
def _on_worker(kind: type, expression: str, wrt: tuple[str, ...], dtype: str, device: str, names: tuple[str, ...]
               ) -> Any:
    """The compiled expression (of the client's `Compiled` class), once per process, read with its
    variables bound, as the client read it."""
    settle_process()
    return kind(expression, list(wrt), dtype, device, names=names)


@cache
def settle_process() -> None:
    """Once per process, and only on a Dask worker (a process given over to this work): torch gets one
    thread, as the worker's own threads already share out the CPUs; the loaded pipeline is frozen out of
    the garbage collector's sweeps, as `derivcli batch` does (full sweeps of torch's, SymPy's and Dask's
    objects made block times vary 10x); and malloc keeps a chunk's intermediates on its heap (below)."""
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):  # not on a worker: leave the caller's process alone
        return
    import torch

    from .volume import settle_for_volume

    torch.set_num_threads(1)
    settle_for_volume()
    _heap_for_chunks()


def _heap_for_chunks() -> None:
    """Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which also fixes glibc's mmap threshold at
    128 KiB: every 512 KiB intermediate of a 65,536-point chunk was then mmapped, page-faulted and
    unmapped again, and a worker computed gradients 3-5x slower than this process.  Intermediates up to
    4 MiB come from the heap again, and up to 64 MiB of it is kept rather than given back each time."""
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 4 << 20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 64 << 20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc: nothing to undo
        return
