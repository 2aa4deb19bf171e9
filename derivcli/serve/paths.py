"""Where the warm server listens: a private directory per user, checked before it is trusted; and how
derivcli opens a file of its own (the server's lock and log, the REPL's history).

`$XDG_RUNTIME_DIR/derivcli/` (the login session's own runtime directory), else `derivcli-UID` in the temp
directory.  The directory must be a real directory (not a link) owned by this user, closed to group and
others, and the socket a socket of this user's closed the same way: otherwise another user could have
planted a server there, or could listen.  Standard library only: the client imports it.
"""

from __future__ import annotations

import errno
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


def open_own(path: str, flags: int) -> int:
    """`path` opened as a file of derivcli's own: never through a symbolic link (O_NOFOLLOW), never blocking
    on a FIFO (O_NONBLOCK while it opens; the descriptor blocks again after), only a regular file of this
    user's with no other name (checked on the open descriptor, so nothing can be swapped in between), its
    mode tightened to the user's bits (0600).  Unsafe, or OSError (FileNotFoundError without O_CREAT), for
    anything else.  O_TRUNC is the caller's to do after: a check must come before anything is truncated."""
    assert not flags & os.O_TRUNC
    try:
        descriptor = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC, 0o600)
    except OSError as error:  # ELOOP: a link; EISDIR: a directory; ENXIO: a FIFO or socket nobody reads
        try:
            kind = os.lstat(path).st_mode
        except OSError:
            raise error from None
        if stat.S_ISREG(kind) or error.errno not in (errno.ELOOP, errno.EISDIR, errno.ENXIO, errno.ENODEV):
            raise
        raise Unsafe(f"{path} is {describe(kind)}, not a regular file") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise Unsafe(f"{path} is {describe(info.st_mode)}, not a regular file")
        if info.st_uid != os.geteuid():
            raise Unsafe(f"{path} belongs to uid {info.st_uid}, not to this user (uid {os.geteuid()})")
        if info.st_nlink != 1:
            raise Unsafe(f"{path} has {info.st_nlink} names (hard links)")
        if info.st_mode & 0o077:
            os.fchmod(descriptor, stat.S_IMODE(info.st_mode) & 0o700)
        os.set_blocking(descriptor, True)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def tighten_own_dir(path: str) -> None:
    """Check that the directory `path` (not a link to one) is this user's, and tighten it to 0700 (the user's
    bits); Unsafe or OSError otherwise."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        try:
            kind = os.lstat(path).st_mode
        except OSError:
            raise error from None
        if stat.S_ISDIR(kind) or error.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        raise Unsafe(f"{path} is {describe(kind)}, not a directory") from None
    try:
        info = os.fstat(descriptor)
        if info.st_uid != os.geteuid():
            raise Unsafe(f"{path} belongs to uid {info.st_uid}, not to this user (uid {os.geteuid()})")
        if info.st_mode & 0o077:
            os.fchmod(descriptor, stat.S_IMODE(info.st_mode) & 0o700)
    finally:
        os.close(descriptor)


def describe(mode: int) -> str:
    """What kind of file `mode` is, in words."""
    kinds = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
             (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISREG, "a regular file"))
    return next((name for test, name in kinds if test(mode)), "something unknown")
