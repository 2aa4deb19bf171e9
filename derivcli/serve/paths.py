"""Where the warm server listens: a private directory per user, checked before it is trusted.

`$XDG_RUNTIME_DIR/derivcli/` (the login session's own runtime directory), else `derivcli-UID` in the temp
directory.  The directory must be a real directory (not a link) owned by this user, closed to group and
others, and the socket a socket of this user's closed the same way: otherwise another user could have
planted a server there, or could listen.  Standard library only: the client imports it.
"""

from __future__ import annotations

import os
import stat

SOCKET = "server.sock"
LOCK = "server.lock"  # held by the running server: two servers never start at once
LOG = "server.log"  # a background server's stdout and stderr


class Unsafe(Exception):
    """A path that must not be trusted; the message says why."""


def runtime_dir() -> str:
    base = os.environ.get("XDG_RUNTIME_DIR", "")
    if os.path.isabs(base):
        return os.path.join(base, "derivcli")
    temp = os.environ.get("TMPDIR", "")
    return os.path.join(temp if os.path.isabs(temp) else "/tmp", f"derivcli-{os.geteuid()}")


def socket_path() -> str:
    return os.path.join(runtime_dir(), SOCKET)


def check_private(path: str, socket: bool = False) -> None:
    """Raise Unsafe unless `path` is this user's directory (or socket) with no access for group or others;
    FileNotFoundError if there is nothing there."""
    info = os.lstat(path)
    kind = "a socket" if socket else "a directory"
    if not (stat.S_ISSOCK(info.st_mode) if socket else stat.S_ISDIR(info.st_mode)):
        raise Unsafe(f"{path} is not {kind}")
    if info.st_uid != os.geteuid():
        raise Unsafe(f"{path} belongs to uid {info.st_uid}, not to this user (uid {os.geteuid()})")
    if info.st_mode & 0o077:
        raise Unsafe(f"{path} is open to group or others (mode {stat.S_IMODE(info.st_mode):04o}; it must be "
                     f"{0o600 if socket else 0o700:04o})")


def private_dir() -> str:
    """The runtime directory, created 0700 if it is missing, and checked."""
    path = runtime_dir()
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    check_private(path)
    return path
