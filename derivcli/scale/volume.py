"""A process about to answer many requests (a batch, a warm server, a Dask worker) loads the pipeline once
and keeps it out of the garbage collector's sweeps."""

from __future__ import annotations


def settle_for_volume() -> None:
    """Before answering many requests in this process: load the whole pipeline now, then freeze what is
    loaded out of the garbage collector's sweeps.  Each fresh expression allocates enough SymPy objects
    to set off collections, and every full one rescans the ~200,000 objects of torch and SymPy's modules:
    about 15% of a distinct request's time.  (Process-wide, so the CLI calls it, not the library.)"""
    import gc

    import sympy  # noqa: F401
    import torch  # noqa: F401

    from ..lowering import program as lowering  # noqa: F401  (the whole pipeline, loaded now)

    gc.freeze()
