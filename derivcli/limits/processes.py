"""Helper processes: a child forked to help its parent (a batch worker, a budgeted SymPy child, a warm
server's command) handles no signal meant for the parent and dies with it, however the parent ends."""

from __future__ import annotations

import os


def settle_helper(parent: int) -> None:
    """In a process forked to help `parent` (a batch worker, a budgeted SymPy child): Ctrl-C is the
    parent's to handle (no traceback from each helper), SIGTERM ends it at once (not the parent's handler,
    which would end the parent's workers), and it dies with its parent, however the parent ends."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent(parent)


def die_with_parent(parent: int) -> None:
    """Linux's PR_SET_PDEATHSIG: SIGKILL this process when its parent exits (even killed by SIGKILL)."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 is PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the parent's own clean-up still ends the workers
        return
    if os.getppid() != parent:  # the parent was already gone before the signal was set
        os._exit(1)
