"""`derivcli serve`: one process that has imported torch, SymPy and the pipeline, answering each derivcli
command in a child forked for it (copy-on-write: the imports are shared, nothing is loaded again).

The server is one thread and one loop over non-blocking sockets: it accepts a connection only from its
own user (SO_PEERCRED), reads one bounded request within REQUEST_SECONDS, checks that the client is the
same build (`protocol.identity`), and hands it to the spare, a child forked and rehearsed while the server was
idle (`spare`), or forks one for it.  The child (`child`) takes the client's surroundings (its standard
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
from typing import Any, NoReturn

from ..errors import DerivcliError
from ..limits.processes import die_with_parent
from . import paths
from .child import CommandLine, run_command
from .client import peer
from .connection import Connection, Request, fresh_randomness
from .own_files import private_directory, take_lock
from .protocol import ProtocolError, encode, identity
from .spare import HAND_OVER_BYTES, REHEARSAL, Spare, receive, rehearse

START_SECONDS = 120.0  # for a background server to import and warm up; past it, it is killed and an error said
STOP_SECONDS = 10.0  # commands still running when the server is stopped get this long, then are killed
MAX_CONNECTIONS = 64  # beyond, clients are told to run cold
CHUNK = 1 << 16
SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})


class Server:
    """The listening socket, the connections and their children, in one selector loop."""

    def __init__(self, idle_timeout: float, command_line: CommandLine, lock: int | None = None) -> None:
        """Take the private directory and its lock, unless `lock` is it already (DerivcliError if unsafe, or
        if a server holds it)."""
        try:
            os.close(os.pidfd_open(os.getpid()))  # how the loop learns that a child ended
        except (AttributeError, OSError):
            raise DerivcliError("the warm server needs Linux 5.3 or later") from None
        self.directory = private_directory()
        self.path = os.path.join(self.directory, paths.SOCKET)
        self.lock = take_lock(self.directory) if lock is None else lock
        self.identity = identity()
        self.command_line = command_line
        self.idle_timeout = idle_timeout
        self.started = time.time()
        self.served = 0
        self.connections: set[Connection] = set()
        self.stopping = False
        self.kill_at: float | None = None  # when commands still running at a stop are killed
        self.inode = 0  # the socket's, to remove it only if it is still ours
        self.last_active = time.monotonic()
        self.selector = selectors.DefaultSelector()
        self.listener: socket.socket | None = None
        self.wakeup = socket.socketpair()
        self.spare: Spare | None = None
        self.spares = True  # until a spare ends while it waits: then every command gets a fork of its own

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
            if self.spare is None and self.spares and self.listener is not None and not any(
                    connection.child for connection in self.connections):  # no command to compete with
                self._prepare_spare()
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
        """Close the listener and remove its socket, if the path is still ours; end the spare."""
        if self.spare is not None:
            self.selector.unregister(self.spare.pidfd)
            self.spare.end()
            self.spare = None
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
        connection = Connection(sock)
        self.connections.add(connection)
        self.last_active = time.monotonic()
        if len(self.connections) > MAX_CONNECTIONS:
            self._reply(connection, {"fallback": f"the server is answering {MAX_CONNECTIONS} commands already"})
            self._drop(connection)
            return
        sock.setblocking(False)
        self.selector.register(sock, selectors.EVENT_READ, lambda: self._readable(connection))

    def _readable(self, connection: Connection) -> None:
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

    def _handle(self, connection: Connection, message: dict[str, Any]) -> None:
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

    def _start(self, connection: Connection, request: Request) -> None:
        differs = sorted(key for key in {*self.identity, *request.identity}
                         if self.identity.get(key) != request.identity.get(key))
        if differs:
            self._reply(connection, {"fallback": f"the server is another build ({', '.join(differs)} differ)"})
            self._drop(connection)
            return
        assert connection.sock is not None
        handed = encode(request.message)
        spare = self.spare if len(handed) <= HAND_OVER_BYTES else None  # a bigger one: a fork, the spare kept
        if spare is not None:
            self.spare = None
            self.selector.unregister(spare.pidfd)
            if spare.hand_over(handed, connection.sock, connection.descriptors):
                pid = spare.pid
                spare.close()
            else:
                spare.end()
                spare = None
        if spare is None:
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

    def _reap(self, connection: Connection) -> None:
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

    def _reply(self, connection: Connection, message: dict[str, Any]) -> None:
        """A small message, sent whole at once or not at all (the client may be gone, or not reading): the
        loop never waits for one client.  The connection is dropped after it either way."""
        if connection.sock is None:
            return
        try:
            connection.sock.send(encode(message), socket.MSG_DONTWAIT)
        except OSError:
            pass

    def _drop(self, connection: Connection) -> None:
        """Close the connection.  A command still running goes with its client (as a cold one would with
        its process): its child is killed, and the connection stays until the child is reaped."""
        connection.kill()
        if connection.sock is not None:
            self.selector.unregister(connection.sock)
        connection.close()
        if connection.child is None:
            self.connections.discard(connection)
            self.last_active = time.monotonic()

    def _prepare_spare(self) -> None:
        """Fork and rehearse the spare the next command is handed to (`spare`); without one, it gets a fork."""
        ours, theirs = socket.socketpair()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        try:
            pid = os.fork()
        except OSError:
            ours.close()
            theirs.close()
            self.spares = False
            return
        if pid == 0:
            ours.close()
            self._spare(theirs)
        theirs.close()
        try:
            os.setpgid(pid, pid)  # the spare does it too, as a child does
        except OSError:
            pass
        ours.setblocking(False)
        self.spare = Spare(pid, ours)
        self.selector.register(self.spare.pidfd, selectors.EVENT_READ, self._spare_ended)

    def _spare_ended(self) -> None:
        """The spare ended while it waited (killed, out of memory): each command gets a fork from now on."""
        assert self.spare is not None
        self.selector.unregister(self.spare.pidfd)
        self.spare.end()
        self.spare, self.spares = None, False
        log("the spare child ended: each command now gets a child forked for it")

    def _child(self, connection: Connection, request: Request) -> NoReturn:
        """A child forked for a command: leave the server behind, take the client's surroundings, run it."""
        def take() -> tuple[socket.socket, Request]:
            self._leave(connection)
            assert connection.sock is not None
            return connection.sock, request

        run_command(take, self.command_line)

    def _spare(self, channel: socket.socket) -> NoReturn:
        """The spare: leave the server behind, rehearse (its first run's page faults happen now, not while a
        client waits), then take the command the server hands over and run it."""
        def take() -> tuple[socket.socket, Request]:
            self._leave(None)
            rehearse(self.command_line.main, REHEARSAL)
            fresh_randomness()  # reseeded again for the command: this reads the sources whose lines torch's
            return receive(channel)  # lazy seeding records, so that the command need not

        run_command(take, self.command_line)

    def _leave(self, keep: Connection | None) -> None:
        """In a child: the server's signal handling and descriptors left behind (all but `keep`'s), its own
        process group, and death with the server."""
        signal.set_wakeup_fd(-1)
        for number in SIGNALS:
            signal.signal(number, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.setpgid(0, 0)
        die_with_parent(os.getppid())
        for other in self.connections - {keep}:  # the server's descriptors, none of them the child's
            other.close()
            if other.pidfd is not None:
                os.close(other.pidfd)
        if self.spare is not None:
            self.spare.close()
        self.selector.close()
        if self.listener is not None:
            self.listener.close()
        for end in self.wakeup:
            end.close()
        os.close(self.lock)

def _noted(number: int, frame: object) -> None:
    """A handler that only lets the wakeup descriptor wake the loop."""


def log(message: str) -> None:
    try:
        sys.stderr.write(f"derivcli serve: {message}\n")
        sys.stderr.flush()
    except OSError:
        pass


