"""One memory budget for everything derivcli allocates on behalf of untrusted input.

Bindings, constructors, files, inline tensors, intermediates (outer products, matrix products),
Jacobians, Hessians and the symbolic check all ask `check` *before* allocating, with an estimate of what
they would need, so that a hostile input is refused with the estimate in the error instead of growing
until the machine runs out.  The limit (default 1 GiB) is `--max-memory SIZE` or `DERIVCLI_MAX_MEMORY`
for users with bigger machines.

One budget serves the whole request: inside `request()` (a command, a batch line) what the inputs keep
for the rest of it (bindings, files) is `hold`-ed, and every later estimate must fit beside it, so 25
bindings that each fit alone are refused together.  One evaluation's intermediate values (all kept for
the backward pass: `W@W@…@W` keeps every product) count beside them while it runs (`intermediates`).
Outside a request (the library) each estimate is checked alone.
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..errors import DerivcliError

DEFAULT_LIMIT = 2**30
SMALLEST_LIMIT = 2**20  # --max-memory's lower bound
ENVIRONMENT = "DERIVCLI_MAX_MEMORY"
_UNITS = {"": 1, "B": 1, "K": 2**10, "KB": 2**10, "KIB": 2**10, "M": 2**20, "MB": 2**20, "MIB": 2**20,
          "G": 2**30, "GB": 2**30, "GIB": 2**30, "T": 2**40, "TB": 2**40, "TIB": 2**40}
_limit: int | None = None  # set by --max-memory; None: the environment's, else the default


class _Request(threading.local):
    held: float | None = None  # bytes the current request's inputs hold; None outside any request
    transient: float = 0.0  # bytes of the intermediate values of the evaluation running now


_request = _Request()  # per thread: a Dask worker may answer several tasks at once


def parse_size(text: str, what: str = "--max-memory") -> int:
    """`1GB`, `512M`, `2.5 GiB`, `1000000` (bytes) -> bytes; sizes are binary (1 GB = 2**30 bytes)."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", text)
    unit = match.group(2).upper() if match else ""
    if match is None or unit not in _UNITS:
        raise DerivcliError(f"{what}: cannot read the size '{text[:40]}'", hint="write it as 512MB, 2GB or 1.5GiB")
    size = float(match.group(1)) * _UNITS[unit]
    if not SMALLEST_LIMIT <= size <= 2**50:
        raise DerivcliError(f"{what}: {describe(int(min(size, 2**60)))} is outside 1 MB to 1 PB")
    return int(size)


def set_limit(size: int | None) -> None:
    """`size`: bytes as `parse_size` reads them, never under SMALLEST_LIMIT (`check` skips reading the
    limit for what fits that), or None for the environment's or the default."""
    global _limit
    _limit = size


def limit() -> int:
    if _limit is not None:
        return _limit
    configured = os.environ.get(ENVIRONMENT)
    return parse_size(configured, ENVIRONMENT) if configured else DEFAULT_LIMIT


def describe(size: float) -> str:
    """Bytes as people read them: 3.2 GB, 120 MB, 4 KB."""
    for unit, scale in (("TB", 2**40), ("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{int(size)} bytes"


@contextmanager
def request() -> Iterator[None]:
    """One request's scope: what is held inside it counts against every later estimate until it ends.
    Nested (a streamed line inside its command), the inner one starts from what the outer one holds."""
    before = _request.held
    _request.held = before or 0.0
    try:
        yield
    finally:
        _request.held = before


def held() -> float:
    """Bytes the current request holds (0 outside one), its running evaluation's intermediates included."""
    return (_request.held or 0.0) + _request.transient


class Intermediates:
    """One evaluation's intermediate values, each counted as it is made until the evaluation ends, so that
    a chain of products that each fit alone is refused together (inside a request only)."""

    def __enter__(self) -> Intermediates:
        self.before = _request.transient
        self.counting = _request.held is not None  # whether `add` counts anything: inside a request
        return self

    def add(self, size: float) -> None:
        if _request.held is None:
            return
        if held() + size > limit():
            raise DerivcliError(f"the expression's intermediate values need {describe(_request.transient + size)}"
                                f" (autograd keeps them for the backward pass) beside the "
                                f"{describe(_request.held)} its inputs hold; the limit is {describe(limit())} "
                                "(--max-memory)", hint=f"derivcli --max-memory 4GB … (or {ENVIRONMENT}) raises it "
                                "on a bigger machine")
        _request.transient += size

    def __exit__(self, *exc: object) -> None:
        _request.transient = self.before


def check(elements: float, what: str | Callable[[], str], itemsize: int = 8) -> None:
    """Refuse `what` if `elements` numbers of `itemsize` bytes would pass the limit, beside what the
    request already holds.  `what` may be a function that says it, for a caller on the hot path whose
    description costs more than the check (it is only needed when the check fails)."""
    needed = elements * itemsize
    total = held() + needed
    if math.isfinite(total) and (total <= SMALLEST_LIMIT or total <= limit()):
        return  # (what fits the smallest limit anyone can set fits theirs: no read of the environment)
    if callable(what):
        what = what()
    holders = "bindings, files and intermediate values" if _request.transient else "bindings and files"
    beside = f" beside the {describe(held())} the request's {holders} hold" if held() else ""
    raise DerivcliError(f"{what} needs {describe(needed) if math.isfinite(needed) else 'unbounded memory'}{beside}; "
                        f"the limit is {describe(limit())} (--max-memory)",
                        hint=f"derivcli --max-memory 4GB … (or {ENVIRONMENT}) raises it on a bigger machine")


def hold(elements: float, what: str, itemsize: int = 8) -> None:
    """`check`, then count what was asked for as held until the request ends (a binding, a file's
    columns); outside a request only the check."""
    check(elements, what, itemsize)
    if _request.held is not None:
        _request.held += elements * itemsize
