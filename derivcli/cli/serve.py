"""`derivcli serve`: the warm server, in the foreground or detached, its status, and stopping it."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer

from ..errors import DerivcliError
from .app import app
from .commands import PlainCommand

HELP_RANK = 100  # its place among the commands in `derivcli --help`

SERVE_EPILOG = """[bold]Examples[/]

  derivcli serve --background
  derivcli grad "sin(x)" --x 1        # answered by the server
  derivcli serve --status
  derivcli serve --stop

The server listens on a socket in $XDG_RUNTIME_DIR/derivcli (else derivcli-UID in the temp directory), \
open only to you. Every derivcli command is then answered by a child the server forks, with your \
streams, directory, environment and limits: the same output and exit code as a cold run. Without a \
server, or with DERIVCLI_NO_SERVER=1, commands run cold, as before."""


@app.command(cls=PlainCommand, epilog=SERVE_EPILOG)
def serve(
    background: Annotated[bool, typer.Option(
        "--background", help="Detach, and print where the server listens once it is ready.")] = False,
    status: Annotated[bool, typer.Option(
        "--status", help="Where the server listens, since when, what it answered; exit 1 if none listens.")] = False,
    stop: Annotated[bool, typer.Option(
        "--stop", help="Stop the server; commands still running get 10 s to finish.")] = False,
    idle_timeout: Annotated[float, typer.Option(
        "--idle-timeout", metavar="SECONDS", min=1, help="Stop after this long without a command.")] = 1800,
) -> int:
    """Keep torch and SymPy loaded, and answer derivcli commands without their start-up."""
    from ..serve import client, daemon, paths, server

    if background + status + stop > 1:
        raise DerivcliError("--background, --status and --stop go one at a time")
    path = paths.socket_path()
    if status or stop:
        try:
            pid, state = client.status(path)
        except client.Cold as none:
            sys.stdout.write(f"{none}\n")
            return 1 if status else 0
        if stop:
            return _stop(pid)
        sys.stdout.write(_describe(pid, state) + "\n")
        return 0
    if background:
        try:
            pid, state = client.status(path)
        except client.Cold:
            pid, path = daemon.background(idle_timeout, _command_line())
            sys.stdout.write(f"derivcli server listening on {path} (pid {pid})\n")
            return 0
        if state.get("identity") != server.identity():
            raise DerivcliError(f"a derivcli server of another build is listening on {path} (pid {pid})",
                                hint="'derivcli serve --stop' stops it")
        sys.stdout.write(f"derivcli server already listening on {path} (pid {pid})\n")
        return 0
    resident = server.Server(idle_timeout, _command_line())

    def ready() -> None:
        sys.stdout.write(f"derivcli server listening on {resident.path} (pid {os.getpid()}); Ctrl-C stops it\n")
        sys.stdout.flush()

    daemon.serve(resident, ready)
    server.log("stopped")
    return 0


def _command_line() -> Any:
    """The CLI's own functions, for the server's children and its warm-up."""
    from ..serve.server import CommandLine
    from .app import main, run

    return CommandLine(run=run, main=main)


def _describe(pid: int, state: dict[str, object]) -> str:
    import time

    from ..serve.protocol import identity

    started, served, running, idle = (state.get(key) for key in ("started", "served", "running", "idle_timeout"))
    parts = [f"pid {pid}"]
    if isinstance(started, (int, float)):
        parts.append(f"up {_duration(time.time() - started)}")
    if isinstance(served, int):
        parts.append(f"{served} command{'' if served == 1 else 's'} answered")
    if isinstance(running, list):
        parts.append(f"{len(running)} running")
    if isinstance(idle, (int, float)):
        parts.append(f"stops after {_duration(idle)} idle")
    theirs, ours = state.get("identity"), identity()
    if theirs != ours:
        differ = sorted(key for key in ours if not isinstance(theirs, dict) or theirs.get(key) != ours[key])
        parts.append(f"another build ({', '.join(differ)} differ): this derivcli runs cold")
    return f"derivcli server listening on {state.get('socket')}: {', '.join(parts)}"


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _stop(pid: int) -> int:
    """SIGTERM the server (found through the socket's peer credentials) and wait for it to end."""
    import select
    import signal

    from ..serve.server import STOP_SECONDS

    try:
        waiting = os.pidfd_open(pid)
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        waiting = None
    if waiting is not None:
        try:
            ended = select.select([waiting], [], [], STOP_SECONDS + 5)[0]
        finally:
            os.close(waiting)
        if not ended:
            raise DerivcliError(f"the derivcli server (pid {pid}) did not stop within {STOP_SECONDS + 5:g} s")
    sys.stdout.write(f"stopped the derivcli server (pid {pid})\n")
    return 0
