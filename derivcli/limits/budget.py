"""A time budget for SymPy's work on one expression.

SymPy's automatic evaluation can run for minutes, or without end, on pathological constants that no size
bound catches in advance: comparing exact roots of huge numbers, folding an 'if' through a power whose
branches are not real.  No input may hang derivcli, so building an expression and its symbolic check run
under a budget, enforced with SIGALRM: only in the main thread of a Unix process, and only when nothing else
there uses SIGALRM or the real-time interval timer (a library caller's own alarm is left alone).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BUILD_SECONDS = 20.0
CHECK_SECONDS = 30.0


class OverBudget(BaseException):
    """The budget ran out (raised inside whatever SymPy was doing; a BaseException, so that no library
    code in between swallows it with `except Exception`, as the LaTeX parser's error recovery does)."""


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Raise OverBudget in this thread if the block runs longer than `seconds` (where that is possible)."""
    usable = (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
              and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None)
              and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0))
    if not usable:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise OverBudget

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
