"""The warm server's own files, opened safely (`paths.open_own`): its private directory, the lock held for
its life, and a background server's log."""

from __future__ import annotations

import os
import sys

from ..errors import DerivcliError, printable
from . import paths


def private_directory() -> str:
    try:
        return paths.private_dir()
    except paths.Unsafe as unsafe:
        raise DerivcliError(f"refusing to serve: {unsafe}") from None
    except OSError as error:
        raise DerivcliError(f"cannot create {paths.runtime_dir()}: {(error.strerror or str(error)).lower()}") from None


def take_lock(directory: str) -> int:
    """The directory's lock, held for the server's life; DerivcliError if another server holds it, or if the
    lock is not a regular file of this user's (a link, a FIFO, a directory: no server starts beside it)."""
    import fcntl

    path = os.path.join(directory, paths.LOCK)
    try:
        descriptor = paths.open_own(path, os.O_RDWR | os.O_CREAT)
    except paths.Unsafe as unsafe:
        raise DerivcliError(f"refusing to serve: {unsafe}", hint="remove it") from None
    except OSError as error:
        raise DerivcliError(f"cannot open {path}: {(error.strerror or str(error)).lower()}") from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        raise DerivcliError(f"a derivcli server is already running on {os.path.join(directory, paths.SOCKET)}",
                            hint="'derivcli serve --status' shows it, 'derivcli serve --stop' stops it") from None
    return descriptor


def open_log(directory: str) -> int | None:
    """The background server's log, emptied, or None (and one warning) where server.log is not a regular
    file of this user's: the server then runs without a log."""
    path = os.path.join(directory, paths.LOG)
    try:
        descriptor = paths.open_own(path, os.O_WRONLY | os.O_CREAT)
    except (paths.Unsafe, OSError) as error:
        why = str(error) if isinstance(error, paths.Unsafe) else f"{path}: {(error.strerror or str(error)).lower()}"
        sys.stderr.write(f"warning: the server runs without a log: {printable(why)}\n")
        return None
    os.ftruncate(descriptor, 0)
    return descriptor
