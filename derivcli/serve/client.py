"""The warm server's client: hand the command line to a warm server when one listens (`entry` runs it cold
otherwise).

Standard library only, so that a warm answer costs one interpreter start: typer, rich, torch and SymPy
are imported only when the command runs cold.  The server's child takes this process's standard
streams (passed as descriptors), working directory, environment, umask, resource limits, CPUs and
niceness, so the command behaves as it would here; this process waits, forwards SIGINT, SIGTERM and SIGHUP, and exits
with the child's code.  Anything short of the server saying the command runs, within REPLY_SECONDS, in a
child of its own (no server, a stale socket, an unsafe directory, another build, a slow, silent or garbled
reply) runs it cold, silently: DERIVCLI_DEBUG=1 says why on stderr.  The child starts the command only
when this process says go (on a pipe passed with the streams), so a client that gave up and runs cold
never has the command run twice.  Once it runs, this process waits as long as the child lives, and
END_SECONDS more for the server to say how it ended.
"""

from __future__ import annotations

import io
import os
import signal
import struct
import sys
import time

from ..errors import Exit
from .paths import Unsafe, check_private, socket_path
from .protocol import MAX_REPLY, MAX_REQUEST, FrameReader, ProtocolError, encode, identity

TYPE_CHECKING = False  # typing itself costs a warm answer ~3 ms
if TYPE_CHECKING:
    from _socket import socket
    from typing import Any

NO_SERVER = "DERIVCLI_NO_SERVER"
COMPLETE = "_DERIVCLI_COMPLETE"
REPLY_SECONDS = 2.5  # to connect, send, and have the server's `running` (or any reply); past it the command runs cold
END_SECONDS = 2.5  # after the command's process ended, for the server to say how; past it, one error line
GO = b"g"  # on the go pipe: this process waits for the command; nothing (its end closed): it runs cold
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
LIMITS = ("RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_NOFILE",
          "RLIMIT_STACK")
GLOBAL_OPTIONS_WITH_VALUE = ("--max-memory",)


class Cold(Exception):
    """Why the command runs in this process (said on stderr under DERIVCLI_DEBUG=1)."""


class Lost(Exception):
    """The server stopped answering after it took the command on: too late to run it cold."""


def answer_warm(argv: list[str]) -> int | None:
    """The command's exit code, answered by the server; None if it is to run here."""
    deadline = time.monotonic() + REPLY_SECONDS
    try:
        must_run_cold(argv[1:])
        connection = connect(socket_path())
    except Cold as why:
        _note(why)
        return None
    try:
        try:
            return _converse(connection, argv, deadline)
        finally:
            connection.close()
    except Cold as why:
        _note(why)
        return None
    except Lost as lost:
        sys.stderr.write(f"error: {lost}\n")
        return Exit.INTERNAL
    except KeyboardInterrupt:  # before the server took the command on (the child reports the ones after)
        sys.stderr.write("error: interrupted\n")
        return Exit.INTERRUPTED


def must_run_cold(args: list[str]) -> None:
    """Raise Cold for what always runs here: `serve` itself, help, completion, and DERIVCLI_NO_SERVER."""
    if os.environ.get(NO_SERVER, "").strip().lower() not in ("", "0", "false", "no"):
        raise Cold(f"{NO_SERVER} is set")
    if COMPLETE in os.environ:
        raise Cold("shell completion runs here")
    if not sys.platform.startswith("linux"):
        raise Cold("the warm server needs Linux")
    words = args[:args.index("--")] if "--" in args else args
    if "--help" in words or "-h" in words:
        raise Cold("help runs here")
    index = 0
    while index < len(words) and words[index].startswith("-"):
        index += 2 if words[index] in GLOBAL_OPTIONS_WITH_VALUE else 1
    if index >= len(words):
        raise Cold("a line without a command (the help, --version) runs here")
    if words[index] == "serve":
        raise Cold("serve runs here")


def connect(path: str) -> socket:
    """A connection to the server on `path`, after checking that the directory, the socket and the process
    listening are this user's; Cold otherwise."""
    try:
        check_private(os.path.dirname(path))
        check_private(path, socket=True)
    except FileNotFoundError:
        raise Cold(f"no server is listening on {path}") from None
    except (Unsafe, OSError) as error:
        raise Cold(str(error)) from None
    # _socket, not socket.py's wrapper (its imports cost a warm answer), and only here: what runs cold (help,
    # Tab) imports no socket at all
    from _socket import AF_UNIX, SOCK_STREAM, socket

    connection = socket(AF_UNIX, SOCK_STREAM)
    connection.settimeout(REPLY_SECONDS)
    try:
        connection.connect(path)
        _, uid, _ = peer(connection)
    except OSError as error:
        connection.close()
        raise Cold(f"no server is listening on {path} ({(error.strerror or str(error)).lower()})") from None
    if uid != os.geteuid():
        connection.close()
        raise Cold(f"the server on {path} runs as uid {uid}")
    return connection


def peer(connection: socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end (SO_PEERCRED)."""
    from _socket import SO_PEERCRED, SOL_SOCKET

    credentials = struct.Struct("3i")
    pid, uid, gid = credentials.unpack(connection.getsockopt(SOL_SOCKET, SO_PEERCRED, credentials.size))
    return pid, uid, gid


def receive(connection: socket, reader: FrameReader, deadline: float) -> dict[str, Any]:
    """The next message, complete by `deadline` (time.monotonic()); EOFError if the server hung up first,
    TimeoutError past the deadline (however the bytes trickle in)."""
    while (message := reader.pop()) is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no answer in time")
        connection.settimeout(remaining)
        data = connection.recv(1 << 16)
        if not data:
            raise EOFError
        reader.feed(data)
    return message


def query(path: str, message: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """(the server's pid, its reply) to one message, for `serve --status` and `--stop`; Cold if none
    answers."""
    deadline = time.monotonic() + REPLY_SECONDS
    connection = connect(path)
    try:
        pid, _, _ = peer(connection)
        connection.sendall(encode(message))
        return pid, receive(connection, FrameReader(MAX_REPLY), deadline)
    except (OSError, EOFError, ProtocolError) as error:
        raise Cold(f"the server on {path} does not answer ({error or type(error).__name__})") from None
    finally:
        connection.close()


def _converse(connection: socket, argv: list[str], deadline: float) -> int:
    from _socket import SCM_RIGHTS, SOL_SOCKET

    request, descriptors = _request(argv)
    reader = FrameReader(MAX_REPLY)
    received: set[int] = set()
    try:
        waiting, go = os.pipe()
    except OSError as error:  # out of descriptors
        raise Cold(f"no pipe for the server's go ({error.strerror or error})") from None
    try:
        try:
            connection.settimeout(max(deadline - time.monotonic(), 0.001))
            sent = connection.sendmsg([request], [(SOL_SOCKET, SCM_RIGHTS, struct.pack(f"{len(descriptors) + 1}i",
                                                                                     *descriptors, waiting))])
            os.close(waiting)
            waiting = -1
            if sent < len(request):
                connection.sendall(request[sent:])
            first = receive(connection, reader, deadline)
        except (OSError, EOFError, ProtocolError) as error:  # TimeoutError is an OSError
            raise Cold(f"the server did not take the command ({error or type(error).__name__})") from None
        if "running" not in first:
            raise Cold(str(first.get("fallback", "the server's reply was not understood")))
        command = _command_process(first["running"], peer(connection)[0])
        try:
            connection.settimeout(END_SECONDS)  # for the signals sent on it
            previous = {number: signal.signal(number, _forwarding(connection, received)) for number in FORWARDED
                        if signal.getsignal(number) is not signal.SIG_IGN}  # nohup's SIGHUP stays ignored
            try:
                try:
                    os.write(go, GO)  # from here the command is the server's: never run it here too
                except OSError:  # nobody reads: the child ended already (a forwarded Ctrl-C): the server says how
                    pass
                last = _last_message(connection, reader, command)
            finally:
                for number, handler in previous.items():
                    signal.signal(number, handler)
        finally:
            os.close(command)
    finally:
        os.close(go)  # unsaid, if the command runs here: the server's child ends without starting it
        if waiting >= 0:
            os.close(waiting)
    return _exit_code(last, received)


def _command_process(pid: Any, server: int) -> int:
    """A pidfd on the process that the server says runs the command: it must be a child of the server's, of
    this user's (a server that answers `running` for a process it did not start could leave this process
    waiting for ever).  Cold otherwise: the child waits for go, so nothing has run."""
    if type(pid) is not int or pid <= 0:
        raise Cold("the server's reply was not understood")
    try:
        command = os.pidfd_open(pid)
    except OSError:
        raise Cold(f"the server's command process {pid} does not exist") from None
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            fields = dict(line.split(b":", 1) for line in status.read(1 << 16).splitlines() if b":" in line)
        parent, uids = int(fields[b"PPid"]), fields[b"Uid"].split()
        if parent != server or int(uids[1]) != os.geteuid():
            raise Cold(f"process {pid} is not a child of the server's (pid {server}) of this user's")
    except (OSError, LookupError, ValueError):
        os.close(command)
        raise Cold(f"the server's command process {pid} could not be checked") from None
    except Cold:
        os.close(command)
        raise
    return command


def _last_message(connection: socket, reader: FrameReader, command: int) -> dict[str, Any]:
    """The server's word on how the command ended: waited for while the command's process lives, then for
    END_SECONDS; Lost if it does not come."""
    import select

    poll = select.poll()
    poll.register(connection, select.POLLIN)
    poll.register(command, select.POLLIN)
    deadline: float | None = None
    try:
        while (message := reader.pop()) is None:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic()) * 1000
            ready = {descriptor for descriptor, _ in poll.poll(timeout)}
            if not ready:
                raise Lost(f"the derivcli server did not say how the command ended ({END_SECONDS:g} s after it did)")
            if command in ready:  # the command's process ended: the server's answer is due
                poll.unregister(command)
                deadline = time.monotonic() + END_SECONDS
            if connection.fileno() in ready:
                data = connection.recv(1 << 16)
                if not data:
                    raise EOFError
                reader.feed(data)
    except (OSError, EOFError, ProtocolError):
        raise Lost("the derivcli server stopped before the command finished") from None
    return message


def _request(argv: list[str]) -> tuple[bytes, list[int]]:
    """The command and everything it runs in, and the open standard streams' descriptors."""
    import resource

    streams: list[dict[str, Any] | None] = []
    descriptors = []
    for number, stream in enumerate((sys.stdin, sys.stdout, sys.stderr)):
        if stream is None:  # closed when this process started: closed in the child too
            streams.append(None)
            continue
        if not isinstance(stream, io.TextIOWrapper) or stream.fileno() != number:
            raise Cold("a standard stream has been replaced")
        if _in_the_background(number):
            raise Cold("a background job: its terminal's job control applies to this process only")
        streams.append({"encoding": stream.encoding, "errors": stream.errors,
                        "line_buffering": stream.line_buffering, "write_through": stream.write_through})
        descriptors.append(number)
    try:
        cwd = os.getcwd()
    except OSError:
        raise Cold("the working directory is gone") from None
    umask = os.umask(0)
    os.umask(umask)
    limits = {name: list(resource.getrlimit(getattr(resource, name))) for name in LIMITS if hasattr(resource, name)}
    request = encode({"op": "run", "identity": identity(), "argv": argv, "cwd": cwd, "env": dict(os.environ),
                      "umask": umask, "limits": limits, "cpus": sorted(os.sched_getaffinity(0)),
                      "niceness": os.getpriority(os.PRIO_PROCESS, 0), "streams": streams})
    if len(request) > MAX_REQUEST:
        raise Cold("the command line and environment are too big to send")
    return request, descriptors


def _in_the_background(descriptor: int) -> bool:
    """Whether `descriptor` is this process's controlling terminal and another process group has it:
    reading it (or writing, under `stty tostop`) would stop a cold run; the server's child would not be."""
    try:
        return os.isatty(descriptor) and os.tcgetpgrp(descriptor) != os.getpgrp()
    except OSError:  # a terminal, but not this session's
        return False


def _forwarding(connection: socket, received: set[int]) -> Any:
    def forward(number: int, frame: object) -> None:
        received.add(number)
        try:
            connection.sendall(encode({"signal": number}))
        except OSError:  # the server is gone: the wait for its answer ends too
            pass

    return forward


def _exit_code(message: dict[str, Any], received: set[int]) -> int:
    code, killed = message.get("exit"), message.get("signal")
    if isinstance(code, int) and not isinstance(code, bool) and 0 <= code <= 255:
        return code
    if not isinstance(killed, int) or isinstance(killed, bool) or not 0 < killed < signal.NSIG:
        raise Lost("the derivcli server's answer was not understood")
    if killed in received:  # a signal sent to this process, that ended the command: end the same way
        signal.signal(killed, signal.SIG_DFL)
        os.kill(os.getpid(), killed)
    try:
        name = signal.Signals(killed).name
    except ValueError:
        name = f"signal {killed}"
    why = message.get("reason") if isinstance(message.get("reason"), str) else None
    if why is None and killed == signal.SIGKILL:
        why = "out of memory?"
    sys.stderr.write(f"error: the command was killed by {name}{f' ({why})' if why else ''}\n")
    return 128 + killed


def _note(why: Exception) -> None:
    if os.environ.get("DERIVCLI_DEBUG"):
        sys.stderr.write(f"derivcli: running cold: {why}\n")


def status(path: str) -> tuple[int, dict[str, Any]]:
    """The listening server's pid and status (client.Cold if none answers)."""
    pid, reply = query(path, {"op": "status"})
    if not isinstance(reply.get("status"), dict):
        raise Cold(f"the server on {path} does not answer")
    return pid, reply["status"]
