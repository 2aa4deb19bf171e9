"""One client of the warm server: its connection, and its validated `run` request, which the forked child
enters (the client's streams, directory, environment, umask, limits, CPUs and niceness) before it runs the
command."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from typing import Any

from .client import GO, LIMITS, REPLY_SECONDS
from .protocol import MAX_REQUEST, FrameReader, ProtocolError

REQUEST_SECONDS = 5.0  # a connected client sends its request at once; one that does not is dropped


class Connection:
    """One client: reading its request, then waiting for the child that runs it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock: socket.socket | None = sock
        self.reader = FrameReader(MAX_REQUEST)
        self.descriptors: list[int] = []  # received with the request, until the child has them
        self.deadline: float | None = time.monotonic() + REQUEST_SECONDS
        self.child: int | None = None
        self.pidfd: int | None = None
        self.reason: str | None = None  # why the server killed the child, for its client

    def started(self, pid: int) -> None:
        self.child, self.deadline = pid, None
        self.pidfd = os.pidfd_open(pid)
        self._close_descriptors()

    def signal(self, number: int) -> None:
        """To the child's process group, as a terminal sends it to a cold run and its helpers."""
        assert self.child is not None
        try:
            os.killpg(self.child, number)
        except OSError:  # not yet its own group (or gone): the child itself
            try:
                os.kill(self.child, number)
            except OSError:
                pass

    def kill(self, reason: str | None = None) -> None:
        if self.child is not None:
            self.reason = self.reason or reason
            self.signal(signal.SIGKILL)

    def close(self) -> None:
        """Close this process's copy of the socket and of the descriptors received on it."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self._close_descriptors()

    def _close_descriptors(self) -> None:
        for descriptor in self.descriptors:
            os.close(descriptor)
        self.descriptors = []


class Request:
    """A validated `run` request: everything in it is checked for type and size before it is used."""

    STREAM_KEYS = {"encoding": str, "errors": str, "line_buffering": bool, "write_through": bool}

    def __init__(self, message: dict[str, Any], descriptors: list[int]) -> None:
        keys = {"op", "identity", "argv", "cwd", "env", "umask", "limits", "cpus", "niceness", "streams"}
        if set(message) != keys:
            raise ProtocolError("not a run request")
        self.message = message  # what a spare is handed, to check again
        self.identity = _strings(message["identity"], "identity")
        self.argv = message["argv"]
        if not isinstance(self.argv, list) or not self.argv or not all(_text(arg) for arg in self.argv):
            raise ProtocolError("argv")
        self.cwd = message["cwd"]
        if not _text(self.cwd) or not os.path.isabs(self.cwd):
            raise ProtocolError("cwd")
        self.env = _strings(message["env"], "env")
        if not all(name and "=" not in name for name in self.env):
            raise ProtocolError("env")
        self.umask = message["umask"]
        if type(self.umask) is not int or not 0 <= self.umask <= 0o777:
            raise ProtocolError("umask")
        self.limits = message["limits"]
        if not isinstance(self.limits, dict) or not set(self.limits) <= set(LIMITS) or not all(
                isinstance(pair, list) and len(pair) == 2 and all(type(value) is int for value in pair)
                for pair in self.limits.values()):
            raise ProtocolError("limits")
        self.cpus, self.niceness = message["cpus"], message["niceness"]
        if not isinstance(self.cpus, list) or not self.cpus or not all(type(cpu) is int and 0 <= cpu < 1 << 16
                                                                       for cpu in self.cpus):
            raise ProtocolError("cpus")
        if type(self.niceness) is not int or not -20 <= self.niceness <= 19:
            raise ProtocolError("niceness")
        self.streams = message["streams"]
        if not isinstance(self.streams, list) or len(self.streams) != 3 or not all(
                stream is None or isinstance(stream, dict) and set(stream) == set(self.STREAM_KEYS)
                and all(type(stream[key]) is kind for key, kind in self.STREAM_KEYS.items())
                for stream in self.streams):
            raise ProtocolError("streams")
        if len(descriptors) != 1 + sum(stream is not None for stream in self.streams) or min(descriptors) < 3:
            raise ProtocolError("descriptors")
        *self.descriptors, self.waiting = descriptors  # the streams', then the go pipe's

    def go(self) -> bool:
        """In the child, after `running`: whether the client says go within REPLY_SECONDS (it writes GO at
        once, or closes the pipe unsaid to run the command itself)."""
        import select

        poll = select.poll()
        poll.register(self.waiting, select.POLLIN)
        try:
            said = os.read(self.waiting, 1) if poll.poll(REPLY_SECONDS * 1000) else b""
        finally:
            os.close(self.waiting)
        return said == GO

    def enter(self) -> None:
        """In the child: the client's streams as 0, 1 and 2 (a stream closed there is closed here), its
        directory, environment, umask, limits, CPUs and niceness; OSError, ValueError or LookupError if any
        cannot be."""
        import codecs
        import io
        import resource

        for stream in self.streams:
            if stream is not None:
                codecs.lookup(stream["encoding"])
                codecs.lookup_error(stream["errors"])
        opened = [number for number, stream in enumerate(self.streams) if stream is not None]
        for number, descriptor in zip(opened, self.descriptors):
            os.dup2(descriptor, number)
            os.close(descriptor)
        for number, stream in enumerate(self.streams):
            if stream is None:
                os.close(number)
        os.chdir(self.cwd)
        os.environ.clear()
        os.environ.update(self.env)
        os.umask(self.umask)
        for name, (soft, hard) in self.limits.items():
            resource.setrlimit(getattr(resource, name), (soft, hard))
        os.sched_setaffinity(0, self.cpus)  # `taskset`: batch's worker count follows it
        os.setpriority(os.PRIO_PROCESS, 0, self.niceness)  # `nice`
        made: list[Any] = []
        for number, (stream, name) in enumerate(zip(self.streams, ("stdin", "stdout", "stderr"))):
            if stream is None:
                made.append(None)
                continue
            reading = number == 0  # as CPython makes them: write_through is -u, an unbuffered stream
            buffer: Any = open(number, "rb" if reading else "wb", 0 if stream["write_through"] and not reading else -1,
                               closefd=False)
            getattr(buffer, "raw", buffer).name = f"<{name}>"
            made.append(io.TextIOWrapper(buffer, stream["encoding"], stream["errors"], "\n",
                                         stream["line_buffering"], stream["write_through"]))
            made[-1].mode = "r" if reading else "w"
        # The server's stream objects stay referenced: finalizing one would flush, or close, a descriptor
        # that is the client's now.
        self.replaced = (sys.stdin, sys.stdout, sys.stderr, sys.__stdin__, sys.__stdout__, sys.__stderr__)
        sys.stdin, sys.stdout, sys.stderr = made
        sys.__stdin__, sys.__stdout__, sys.__stderr__ = made  # type: ignore[misc]
        sys.argv = list(self.argv)


def _text(value: Any) -> bool:
    return isinstance(value, str) and "\0" not in value


def _strings(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(_text(key) and _text(item) for key, item in value.items()):
        raise ProtocolError(what)
    return value


def fresh_randomness() -> None:
    """Seed the generators from the OS, as a cold process's start does: children forked from one server
    would otherwise all draw the same `rand(3)` (Python's own `random` reseeds itself after a fork)."""
    if "torch" in sys.modules:
        sys.modules["torch"].seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
