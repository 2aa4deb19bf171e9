"""`derivcli serve`: one process that has imported torch, SymPy and the pipeline, answering each derivcli
command in a child forked for it (copy-on-write: the imports are shared, nothing is loaded again).

The server is one thread and one loop over non-blocking sockets: it accepts a connection only from its
own user (SO_PEERCRED), reads one bounded request within REQUEST_SECONDS, checks that the client is the
same build (`protocol.identity`), and forks.  The child takes the client's surroundings (its standard
streams as descriptors 0, 1 and 2, working directory, environment, umask, limits, CPUs, niceness), says
`running`, waits for the client's go (a client that gave up runs the command itself), and runs the
ordinary entry point (`derivcli.cli.run`) with every bound a cold run has.  The
loop forwards the client's signals to the child's process group, kills the group if the client goes
away, and sends the exit status when the child ends (a pidfd says when).  A child that crashes or is
killed ends alone; the server keeps serving until it is stopped (SIGTERM, SIGINT, `serve --stop`) or has
been idle for its timeout.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from ..errors import DerivcliError, Exit, printable
from . import paths
from .client import GO, LIMITS, REPLY_SECONDS, Cold, peer, query
from .protocol import MAX_REQUEST, FrameReader, ProtocolError, encode, identity


@dataclass(frozen=True)
class CommandLine:
    """What the server runs, handed to it by the `serve` command: the CLI's `run` (a command in a child,
    ending its process) and `main` (argv -> exit code, for the warm-up).  The server never imports the CLI,
    which imports the server to start it."""

    run: Callable[[], None]
    main: Callable[[list[str]], int]

REQUEST_SECONDS = 5.0  # a connected client sends its request at once; one that does not is dropped
START_SECONDS = 120.0  # for a background server to import and warm up; past it, it is killed and an error said
STOP_SECONDS = 10.0  # commands still running when the server is stopped get this long, then are killed
MAX_CONNECTIONS = 64  # beyond, clients are told to run cold
CHUNK = 1 << 16
SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
WARM_UP = (
    ["grad", "sin(x)*exp(y)", "--x", "1", "--y", "2", "--check", "--fd", "--format", "table"],
    ["grad", "x**2 + y", "--x", "1", "--y", "2", "--json", "--explain-parse"],
    ["jacobian", "softmax(a)", "--a", "[0.5, 1]", "--format", "table"],
    ["hessian", "(1-x)**2 + 100*(y-x**2)**2", "--x", "1", "--y", "1", "--format", "table"],
    ["diff", "x**3*sin(x)", "--wrt", "x", "--x", "1", "--format", "table"],
    ["taylor", "sin(x)", "--x", "0", "--order", "3", "--format", "table"],
)


class Server:
    """The listening socket, the connections and their children, in one selector loop."""

    def __init__(self, idle_timeout: float, command_line: CommandLine, lock: int | None = None) -> None:
        """Take the private directory and its lock, unless `lock` is it already (DerivcliError if unsafe, or
        if a server holds it)."""
        try:
            os.close(os.pidfd_open(os.getpid()))  # how the loop learns that a child ended
        except (AttributeError, OSError):
            raise DerivcliError("the warm server needs Linux 5.3 or later") from None
        self.directory = _private_directory()
        self.path = os.path.join(self.directory, paths.SOCKET)
        self.lock = _lock(self.directory) if lock is None else lock
        self.identity = identity()
        self.command_line = command_line
        self.idle_timeout = idle_timeout
        self.started = time.time()
        self.served = 0
        self.connections: set[_Connection] = set()
        self.stopping = False
        self.kill_at: float | None = None  # when commands still running at a stop are killed
        self.inode = 0  # the socket's, to remove it only if it is still ours
        self.last_active = time.monotonic()
        self.selector = selectors.DefaultSelector()
        self.listener: socket.socket | None = None
        self.wakeup = socket.socketpair()

    def listen(self) -> None:
        """Bind the socket (0600, replacing a stale one: the lock says no server owns it) and start
        taking signals."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        mask = os.umask(0o177)
        try:
            listener.bind(self.path)
        except OSError as error:  # a path too long for a socket (108 bytes), a full disk
            raise DerivcliError(f"cannot listen on {self.path}: {(error.strerror or str(error)).lower()}") from None
        finally:
            os.umask(mask)
        os.chmod(self.path, 0o600)
        self.inode = os.stat(self.path).st_ino
        listener.listen(128)
        listener.setblocking(False)
        self.listener = listener
        self.selector.register(listener, selectors.EVENT_READ, self._accept)
        self.last_active = time.monotonic()
        for end in self.wakeup:
            end.setblocking(False)
        self.selector.register(self.wakeup[0], selectors.EVENT_READ, self._signalled)
        signal.set_wakeup_fd(self.wakeup[1].fileno(), warn_on_full_buffer=False)
        for number in SIGNALS:
            signal.signal(number, _noted)

    def serve_forever(self) -> None:
        while True:
            for key, _ in self.selector.select(self._timeout()):
                key.data()
            now = time.monotonic()
            for connection in list(self.connections):
                if connection.deadline is not None and now >= connection.deadline:
                    self._drop(connection)
            if self.kill_at is not None and now >= self.kill_at:
                self._kill_all()
            if self.stopping and not self.connections:
                return
            if not self.connections and now - self.last_active >= self.idle_timeout:
                log(f"idle for {self.idle_timeout:g} s: stopping")
                self._stop_listening()
                return

    def close(self) -> None:
        self._stop_listening()
        signal.set_wakeup_fd(-1)
        self.selector.close()
        for end in self.wakeup:
            end.close()
        os.close(self.lock)

    def _timeout(self) -> float | None:
        now = time.monotonic()
        deadlines = [connection.deadline for connection in self.connections if connection.deadline is not None]
        if self.kill_at is not None:
            deadlines.append(self.kill_at)
        elif not self.connections and not self.stopping:
            deadlines.append(self.last_active + self.idle_timeout)
        return max(0.0, min(deadlines) - now) if deadlines else None

    def _signalled(self) -> None:
        """SIGTERM, SIGINT or SIGHUP: stop taking commands and let the running ones finish; a second one
        kills them."""
        try:
            self.wakeup[0].recv(CHUNK)
        except BlockingIOError:
            return
        if not self.stopping:
            log(f"stopping: new commands run cold, running ones get {STOP_SECONDS:g} s to finish")
            self.stopping, self.kill_at = True, time.monotonic() + STOP_SECONDS
            self._stop_listening()
            for connection in list(self.connections):
                if connection.child is None:
                    self._drop(connection)
        else:
            self._kill_all()

    def _stop_listening(self) -> None:
        """Close the listener and remove its socket, if the path is still ours."""
        if self.listener is None:
            return
        self.selector.unregister(self.listener)
        self.listener.close()
        self.listener = None
        try:
            if os.stat(self.path).st_ino == self.inode:
                os.unlink(self.path)
        except OSError:
            pass

    def _kill_all(self) -> None:
        self.kill_at = None
        for connection in self.connections:
            connection.kill("the derivcli server was stopped")

    def _accept(self) -> None:
        assert self.listener is not None
        try:
            sock, _ = self.listener.accept()
        except OSError:  # gone already, or out of descriptors: the client runs cold
            return
        try:
            pid, uid, _ = peer(sock)
        except OSError:
            sock.close()
            return
        if uid != os.geteuid():
            log(f"refused a connection from uid {uid} (pid {pid})")
            sock.close()
            return
        connection = _Connection(sock)
        self.connections.add(connection)
        self.last_active = time.monotonic()
        if len(self.connections) > MAX_CONNECTIONS:
            self._reply(connection, {"fallback": f"the server is answering {MAX_CONNECTIONS} commands already"})
            self._drop(connection)
            return
        sock.setblocking(False)
        self.selector.register(sock, selectors.EVENT_READ, lambda: self._readable(connection))

    def _readable(self, connection: _Connection) -> None:
        assert connection.sock is not None
        try:
            data, descriptors, flags, _ = socket.recv_fds(connection.sock, CHUNK, 4)
        except BlockingIOError:
            return
        except OSError:
            data, descriptors, flags = b"", [], 0
        connection.descriptors += descriptors
        try:
            if flags & socket.MSG_CTRUNC or len(connection.descriptors) > 4 or (descriptors and connection.child):
                raise ProtocolError("unexpected descriptors")
            if not data:  # the client went away (a command it started goes with it)
                raise ProtocolError("hung up")
            connection.reader.feed(data)
            while (message := connection.reader.pop()) is not None:
                self._handle(connection, message)
        except ProtocolError as error:
            log(f"dropped a connection: {error}")
            self._drop(connection)
        except Exception as error:  # a bug here must not end the server, nor the other commands
            log(f"internal error: {type(error).__name__}: {error}")
            self._drop(connection)

    def _handle(self, connection: _Connection, message: dict[str, Any]) -> None:
        if connection.child is not None:
            number = message.get("signal")
            if number not in SIGNALS or set(message) != {"signal"}:
                raise ProtocolError("not a signal")
            connection.signal(number)
        elif message.get("op") == "status":
            self._reply(connection, {"status": self._status()})
            self._drop(connection)
        elif message.get("op") == "run":
            self._start(connection, Request(message, connection.descriptors))
        else:
            raise ProtocolError("no such operation")

    def _status(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "identity": self.identity, "socket": self.path, "started": self.started,
                "served": self.served, "running": [c.child for c in self.connections if c.child is not None],
                "idle_timeout": self.idle_timeout}

    def _start(self, connection: _Connection, request: Request) -> None:
        differs = sorted(key for key in {*self.identity, *request.identity}
                         if self.identity.get(key) != request.identity.get(key))
        if differs:
            self._reply(connection, {"fallback": f"the server is another build ({', '.join(differs)} differ)"})
            self._drop(connection)
            return
        for stream in (sys.stdout, sys.stderr):  # nothing of the server's may reach the client's streams
            stream.flush()
        try:
            pid = os.fork()
        except OSError as error:
            self._reply(connection, {"fallback": f"cannot fork: {error.strerror or error}"})
            self._drop(connection)
            return
        if pid == 0:
            self._child(connection, request)
        try:
            os.setpgid(pid, pid)  # the child does it too: whichever runs first, signals find the group
        except OSError:
            pass
        connection.started(pid)
        assert connection.pidfd is not None
        self.selector.register(connection.pidfd, selectors.EVENT_READ, lambda: self._reap(connection))

    def _reap(self, connection: _Connection) -> None:
        assert connection.child is not None and connection.pidfd is not None
        _, status = os.waitpid(connection.child, 0)
        code = os.waitstatus_to_exitcode(status)
        self.selector.unregister(connection.pidfd)
        os.close(connection.pidfd)
        connection.child = connection.pidfd = None
        self.served += 1
        killed = {"signal": -code, **({"reason": connection.reason} if connection.reason else {})}
        self._reply(connection, {"exit": code} if code >= 0 else killed)
        self._drop(connection)

    def _reply(self, connection: _Connection, message: dict[str, Any]) -> None:
        """A small message, sent whole at once or not at all (the client may be gone, or not reading): the
        loop never waits for one client.  The connection is dropped after it either way."""
        if connection.sock is None:
            return
        try:
            connection.sock.send(encode(message), socket.MSG_DONTWAIT)
        except OSError:
            pass

    def _drop(self, connection: _Connection) -> None:
        """Close the connection.  A command still running goes with its client (as a cold one would with
        its process): its child is killed, and the connection stays until the child is reaped."""
        connection.kill()
        if connection.sock is not None:
            self.selector.unregister(connection.sock)
        connection.close()
        if connection.child is None:
            self.connections.discard(connection)
            self.last_active = time.monotonic()

    def _child(self, connection: _Connection, request: Request) -> NoReturn:
        """The forked child: leave the server behind, take the client's surroundings, run the command."""
        code: int = Exit.INTERNAL
        try:
            signal.set_wakeup_fd(-1)
            for number in SIGNALS:
                signal.signal(number, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            os.setpgid(0, 0)
            from ..limits.processes import die_with_parent

            die_with_parent(os.getppid())
            for other in self.connections - {connection}:  # the server's descriptors, none of them the child's
                other.close()
                if other.pidfd is not None:
                    os.close(other.pidfd)
            self.selector.close()
            if self.listener is not None:
                self.listener.close()
            for end in self.wakeup:
                end.close()
            os.close(self.lock)
            sock = connection.sock
            assert sock is not None
            sock.settimeout(REPLY_SECONDS)  # the client reads at once; one that does not has given up
            try:
                request.enter()
                reply: dict[str, Any] = {"running": os.getpid()}
            except (OSError, ValueError, LookupError) as error:
                reply = {"fallback": f"cannot take the command's surroundings: {error}"}
            try:
                sock.sendall(encode(reply))
            except OSError:  # the client is gone, or gave up and runs the command itself
                os._exit(0)
            sock.close()
            if "fallback" in reply or not request.go():  # the client runs it: its streams are not ours to touch
                os._exit(0)
            _fresh_randomness()
            self.command_line.run()  # ends the process (os._exit once its output is flushed)
        except SystemExit as exit:  # what a cold interpreter makes of it
            code = exit.code if isinstance(exit.code, int) else 0 if exit.code is None else 1
            if not isinstance(exit.code, (int, type(None))):
                sys.stderr.write(f"{exit.code}\n")
        except KeyboardInterrupt:  # the client's Ctrl-C, forwarded before the command had begun
            code = Exit.INTERRUPTED
            try:
                sys.stderr.write("error: interrupted\n")
            except BaseException:
                pass
        except BaseException as error:  # a bug: one line, never the server's traceback
            try:
                sys.stderr.write(f"error: internal error: {type(error).__name__}: {error}\n")
            except BaseException:
                pass
        try:
            sys.stderr.flush()
        finally:
            os._exit(code)


class _Connection:
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


def _private_directory() -> str:
    try:
        return paths.private_dir()
    except paths.Unsafe as unsafe:
        raise DerivcliError(f"refusing to serve: {unsafe}") from None
    except OSError as error:
        raise DerivcliError(f"cannot create {paths.runtime_dir()}: {(error.strerror or str(error)).lower()}") from None


def _lock(directory: str) -> int:
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


def _log(directory: str) -> int | None:
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


def _fresh_randomness() -> None:
    """Seed the generators from the OS, as a cold process's start does: children forked from one server
    would otherwise all draw the same `rand(3)` (Python's own `random` reseeds itself after a fork)."""
    if "torch" in sys.modules:
        sys.modules["torch"].seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()


def _noted(number: int, frame: object) -> None:
    """A handler that only lets the wakeup descriptor wake the loop."""


def log(message: str) -> None:
    try:
        sys.stderr.write(f"derivcli serve: {message}\n")
        sys.stderr.flush()
    except OSError:
        pass


def warm_up(main: Callable[[list[str]], int]) -> None:
    """Run a few commands here, their output discarded, so that every child starts with everything
    imported and every lazy table built; then keep those objects out of the garbage collector's sweeps
    (a sweep in a child would copy every page it touches).  Warnings seen here are shown again in the
    children: leaving catch_warnings resets the once-only registries."""
    import contextlib
    import gc
    import io
    import warnings

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        for argv in WARM_UP:
            main(argv)
    gc.collect()
    gc.freeze()


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
    directory = _private_directory()
    lock = _lock(directory)
    log_file = _log(directory)
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


def status(path: str) -> tuple[int, dict[str, Any]]:
    """The listening server's pid and status (client.Cold if none answers)."""
    pid, reply = query(path, {"op": "status"})
    if not isinstance(reply.get("status"), dict):
        raise Cold(f"the server on {path} does not answer")
    return pid, reply["status"]
