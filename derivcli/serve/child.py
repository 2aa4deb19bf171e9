"""What a warm server's child does with a command: take the client's surroundings, say `running`, wait for the
client's go, and run the ordinary entry point (`derivcli.cli.run`) with every bound a cold run has."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from ..errors import Exit
from .client import REPLY_SECONDS
from .connection import Request, fresh_randomness
from .protocol import encode


@dataclass(frozen=True)
class CommandLine:
    """What the server runs, handed to it by the `serve` command: the CLI's `run` (a command in a child,
    ending its process) and `main` (argv -> exit code, for the warm-up).  The server never imports the CLI,
    which imports the server to start it."""

    run: Callable[[], None]
    main: Callable[[list[str]], int]


def run_command(take: Callable[[], tuple[socket.socket, Request]], command_line: CommandLine) -> NoReturn:
    """A child's command: `take` gives the client's connection and request; take its surroundings, say
    `running`, wait for go, run the ordinary entry point, and end with its exit status."""
    code: int = Exit.INTERNAL
    try:
        sock, request = take()
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
        fresh_randomness()
        command_line.run()  # ends the process (os._exit once its output is flushed)
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
