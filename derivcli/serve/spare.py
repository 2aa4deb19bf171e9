"""The spare: a child the server forks and rehearses before the next command comes, so that a command does
not wait for its fork (~10 ms for a process that holds torch and SymPy) nor for the copy-on-write faults
of its first run (~15 ms: every object a command touches sits on a page shared with the server).

The server hands a validated `run` request to the spare over a private socket pair, with the client's
connection and descriptors attached; the spare checks it again and runs it as a freshly forked child would
(`child.run_command`).  A request too big to hand over at once gets a child forked for it, as before, and
the spare waits on; a spare that cannot take a request is ended, and the command gets a fork too.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable, Sequence

from .connection import Request
from .protocol import MAX_REQUEST, FrameReader

HAND_OVER_BYTES = 1 << 16  # a request sent to the spare at once (a socket pair's buffer holds it); larger: a fork
DESCRIPTORS = 5  # the client's connection, its three streams and the go pipe
REHEARSAL = (["grad", "sin(x)*exp(y)", "--x", "1", "--y", "2"],)


class Spare:
    """The server's end of a spare: its pid, a pidfd (the loop learns if it ends while it waits) and the
    channel the request goes down."""

    def __init__(self, pid: int, channel: socket.socket) -> None:
        self.pid = pid
        self.channel = channel
        self.pidfd = os.pidfd_open(pid)

    def hand_over(self, data: bytes, sock: socket.socket, descriptors: list[int]) -> bool:
        """Send the request (an encoded frame of at most HAND_OVER_BYTES), the client's connection and its
        descriptors, all at once; False if they could not be (the spare is then of no use: `end` it)."""
        try:
            return socket.send_fds(self.channel, [data], [sock.fileno(), *descriptors]) == len(data)
        except OSError:
            return False

    def close(self) -> None:
        """The server's descriptors of the spare, once it runs a command (a connection holds it then)."""
        self.channel.close()
        os.close(self.pidfd)

    def end(self) -> None:
        """Kill the spare, unused, and reap it."""
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        os.waitpid(self.pid, 0)
        self.close()


def receive(channel: socket.socket) -> tuple[socket.socket, Request]:
    """In the spare: the client's connection and its request, checked as the server checked it; SystemExit
    if the server closed the channel unsaid, or sent what is not a request."""
    reader = FrameReader(MAX_REQUEST)
    descriptors: list[int] = []
    try:
        while (message := reader.pop()) is None:
            data, received, flags, _ = socket.recv_fds(channel, 1 << 16, DESCRIPTORS)
            descriptors += received
            if not data or flags & socket.MSG_CTRUNC or len(descriptors) > DESCRIPTORS:
                raise EOFError
            reader.feed(data)
        channel.close()
        return socket.socket(fileno=descriptors[0]), Request(message, descriptors[1:])
    except Exception:  # nothing has been said to the client: it runs the command cold
        os._exit(0)


def rehearse(main: Callable[[list[str]], int], commands: Sequence[list[str]]) -> None:
    """Run `commands` here with their output discarded; warnings seen here are shown again later (leaving
    catch_warnings resets the once-only registries)."""
    import contextlib
    import io
    import warnings

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        for argv in commands:
            main(argv)
