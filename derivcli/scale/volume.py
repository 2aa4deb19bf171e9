"""A process about to answer many requests (a batch, a warm server, a Dask worker) loads the pipeline once
and keeps it out of the garbage collector's sweeps, which it also makes less frequent."""

from __future__ import annotations

GEN0_ALLOCATIONS = 10_000


def settle_for_volume() -> None:
    """Before answering many requests in this process: load the whole pipeline now, then freeze what is
    loaded out of the garbage collector's sweeps.  Each fresh expression allocates enough SymPy objects
    to set off collections, and every full one rescans the ~200,000 objects of torch and SymPy's modules:
    about 15% of a distinct request's time.  (Process-wide, so the CLI calls it, not the library.)

    The youngest generation is then collected every GEN0_ALLOCATIONS allocations instead of Python's 700:
    a distinct request allocates thousands of short-lived SymPy objects, nearly none in cycles, and each
    collection walked the survivors of the request in flight.  Measured by benchmarks/gc_threshold.py
    (both settings alternating in one process): 5–15% more simple and 5–13% more Rubi-sized requests per
    second.  The count is of container objects made and not yet freed, so what waits is the garbage in
    cycles among 10,000 objects: a few MB at most."""
    import gc

    import sympy  # noqa: F401
    import torch  # noqa: F401

    from ..lowering import program as lowering  # noqa: F401  (the whole pipeline, loaded now)

    gc.freeze()
    gc.set_threshold(GEN0_ALLOCATIONS, *gc.get_threshold()[1:])
