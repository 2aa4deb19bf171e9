"""Starting a warm server: warming it up (every child then starts with everything imported), and
`serve --background`, which detaches it into a session of its own and returns only once it listens, or
says why it could not start (never a half-started server)."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from typing import NoReturn

from ..errors import DerivcliError, Exit
from . import paths
from .own_files import open_log, private_directory, take_lock
from .server import START_SECONDS, CommandLine, Server, log
from .spare import rehearse

WARM_UP = (
    ["grad", "sin(x)*exp(y)", "--x", "1", "--y", "2", "--check", "--fd", "--format", "table"],
    ["grad", "x**2 + y", "--x", "1", "--y", "2", "--json", "--explain-parse"],
    ["jacobian", "softmax(a)", "--a", "[0.5, 1]", "--format", "table"],
    ["hessian", "(1-x)**2 + 100*(y-x**2)**2", "--x", "1", "--y", "1", "--format", "table"],
    ["diff", "x**3*sin(x)", "--wrt", "x", "--x", "1", "--format", "table"],
    ["taylor", "sin(x)", "--x", "0", "--order", "3", "--format", "table"],
)


def warm_up(main: Callable[[list[str]], int]) -> None:
    """Run a few commands here, their output discarded, so that every child starts with everything
    imported and every lazy table built; then keep those objects out of the garbage collector's sweeps
    (a sweep in a child would copy every page it touches).  Warnings seen here are shown again in the
    children: leaving catch_warnings resets the once-only registries."""
    import gc

    rehearse(main, WARM_UP)
    _child_imports()
    gc.collect()
    gc.freeze()


def _child_imports() -> None:
    """Import here what each child would otherwise import for itself, on every command: the modules it takes
    the client's surroundings with, and those behind reseeding torch's and NumPy's generators (torch's
    per-device ones, numpy.random): ~20 ms a command."""
    import codecs  # noqa: F401
    import resource  # noqa: F401
    import select  # noqa: F401

    import torch.cuda  # noqa: F401
    import torch.mtia  # noqa: F401
    import torch.xpu  # noqa: F401

    if "numpy" in sys.modules:
        import numpy.random  # noqa: F401


def serve(server: Server, ready: Callable[[], None]) -> None:
    """Warm up, listen, call `ready`, and serve until stopped or idle."""
    try:
        warm_up(server.command_line.main)
        server.listen()
        ready()
        server.serve_forever()
    finally:
        server.close()


def background(idle_timeout: float, command_line: CommandLine) -> tuple[int, str]:
    """Start the server detached (a session of its own, its output in server.log) and return its pid and
    socket once it listens; DerivcliError, with the server's own error, if it could not start.  The
    directory, the lock and the log are taken here, before the fork, so that what is wrong with them is
    said here; a server that does not say it listens within START_SECONDS is killed, with everything it
    started: never a half-started server."""
    directory = private_directory()
    lock = take_lock(directory)
    log_file = open_log(directory)
    reading, writing = os.pipe()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    pid = os.fork()
    if pid == 0:
        os.close(reading)
        _daemon(idle_timeout, command_line, writing, lock, log_file)
    for descriptor in (writing, lock, log_file):
        if descriptor is not None:
            os.close(descriptor)
    outcome, rest = "", ""
    try:  # anything but `ok` (an error, a crash, silence, Ctrl-C here): no server comes up behind the user's back
        outcome, _, rest = _told(reading, time.monotonic() + START_SECONDS).partition(" ")
    except TimeoutError:
        rest = f"within {START_SECONDS:g} s"
    finally:
        if outcome != "ok":
            _end_session(pid)
    where = f"; see {os.path.join(directory, paths.LOG)}" if log_file is not None else ""
    if outcome == "ok":
        return pid, rest
    if outcome == "error":
        raise DerivcliError(rest)
    if outcome == "crashed":
        raise RuntimeError(f"the server failed to start: {rest}{where}")
    raise DerivcliError(f"the server did not start{' ' + rest if rest else ''}{where}")


def _end_session(pid: int) -> None:
    """Kill the starting server's session (the server and whatever it had started) and reap it."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:  # ended already, with all of it
        pass
    os.waitpid(pid, 0)


def _told(reading: int, deadline: float) -> str:
    """What the starting server says on the pipe, up to its end; TimeoutError past `deadline`."""
    import select

    said = b""
    poll = select.poll()
    poll.register(reading, select.POLLIN)
    try:
        while len(said) < 1 << 16:
            if not poll.poll(max(0.0, deadline - time.monotonic()) * 1000):
                raise TimeoutError
            if not (chunk := os.read(reading, 1 << 16)):
                break
            said += chunk
    finally:
        os.close(reading)
    return said.decode(errors="replace")


def _daemon(idle_timeout: float, command_line: CommandLine, writing: int, lock: int, log_file: int | None
            ) -> NoReturn:
    """The background server's process: says `ok SOCKET`, `error MESSAGE` or `crashed WHAT` on `writing`,
    once."""
    told = False

    def tell(message: str) -> None:
        nonlocal told
        if not told:
            os.write(writing, message.encode())
            os.close(writing)
            told = True

    code = 0
    try:
        os.setsid()
        _detach(writing, lock, log_file)
        server = Server(idle_timeout, command_line, lock)
        serve(server, lambda: tell(f"ok {server.path}"))
    except DerivcliError as error:
        if told:  # after the start: the log is where it can be read
            log(error.one_line())
        tell(f"error {error.one_line()}")
        code = Exit.BAD_INPUT
    except BaseException as error:  # a bug: its traceback in the log, one line for `serve --background`
        import traceback

        traceback.print_exc()
        tell(f"crashed {type(error).__name__}: {error}")
        code = Exit.INTERNAL
    try:
        sys.stderr.flush()
    finally:
        os._exit(code)


def _detach(writing: int, lock: int, log_file: int | None) -> None:
    """A background server's streams: nothing to read, output to its log (or nowhere, without one); and
    none of the descriptors it inherited but the pipe it answers on and the lock (a caller reading
    `$(derivcli serve --background)` waits for the end of every copy of its pipe)."""
    low = 3
    for keep in sorted({writing, lock, *([] if log_file is None else [log_file])}):
        os.closerange(low, keep)
        low = keep + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null if log_file is None else log_file, 1)
    os.dup2(null if log_file is None else log_file, 2)
    for descriptor in {null, *([] if log_file is None else [log_file])}:
        os.close(descriptor)
    sys.stdin = open(0, closefd=False)
    sys.stdout, sys.stderr = (open(number, "w", buffering=1, closefd=False) for number in (1, 2))
