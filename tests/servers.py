"""Real `derivcli serve` servers for the tests: the warm path's own tests (test_serve) and the shared
warm server (conftest's `warm_env`) through which CLI cases that need no process of their own run in a
forked child instead of a fresh interpreter (about 0.1 s instead of 2)."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from derivcli.serve.client import Cold, status

SCRIPT = shutil.which("derivcli", path=str(Path(sys.executable).parent)) or shutil.which("derivcli")
TIMEOUT = 120
IDLE = 10  # every server started here stops this long after its last command: an interrupted run leaves none


def snapshot_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment whose derivcli is imported from a snapshot of the package, so that a source file
    edited while the tests run (which makes a running server another build, whose clients run cold)
    changes nothing under them."""
    snapshot = tmp_path_factory.mktemp("snapshot")
    shutil.copytree(Path(__file__).resolve().parent.parent / "derivcli", snapshot / "derivcli",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = {name: value for name, value in os.environ.items()
           if name not in ("DERIVCLI_NO_SERVER", "DERIVCLI_DEBUG", "COLUMNS", "LINES")}
    return {**env, "PYTHONPATH": str(snapshot)}


class Server:
    """A real `derivcli serve --background`, in an XDG_RUNTIME_DIR of its own."""

    def __init__(self, env: dict[str, str], runtime: Path, *options: str) -> None:
        runtime.chmod(0o700)
        self.env = {**env, "XDG_RUNTIME_DIR": str(runtime)}
        self.directory = runtime / "derivcli"
        self.socket = self.directory / "server.sock"
        self.options = options
        self.pid = self.start()

    def start(self) -> int:
        started = subprocess.run(derivcli("serve", "--background", "--idle-timeout", str(IDLE), *self.options),
                                 env=self.env, capture_output=True, text=True, timeout=TIMEOUT)
        assert started.returncode == 0, started.stderr
        prefix = f"derivcli server listening on {self.socket} (pid "
        assert started.stdout.startswith(prefix) and started.stdout.endswith(")\n"), started.stdout
        return int(started.stdout[len(prefix):-2])

    def stop(self) -> subprocess.CompletedProcess:
        return subprocess.run(derivcli("serve", "--stop"), env=self.env, capture_output=True, text=True,
                              timeout=TIMEOUT)

    def close(self) -> None:
        """Make sure the server has ended, whatever the test did (SIGKILL if SIGTERM is not enough)."""
        try:
            ended = os.pidfd_open(self.pid)
        except ProcessLookupError:
            return
        try:
            for number in (signal.SIGTERM, signal.SIGKILL):
                signal.pidfd_send_signal(ended, number)
                if select.select([ended], [], [], 15)[0]:
                    return
        finally:
            os.close(ended)

    @contextmanager
    def kept_alive(self) -> Iterator[None]:
        """A status query every second while the tests use the server, so that its short idle timeout does
        not end it between two commands, and does end it soon after this process is gone."""
        done = threading.Event()

        def beat() -> None:
            while not done.wait(1):
                try:
                    status(str(self.socket))
                except Cold:
                    pass

        beating = threading.Thread(target=beat, daemon=True)
        beating.start()
        try:
            yield
        finally:
            done.set()
            beating.join()

    def state(self) -> dict[str, Any]:
        return status(str(self.socket))[1]

    def run(self, argv: list[str], warm: bool = True, env: dict[str, str] | None = None,
            **options: Any) -> subprocess.CompletedProcess:
        environment = {**self.env, **(env or {})}
        if not warm:
            environment["DERIVCLI_NO_SERVER"] = "1"
        return subprocess.run(argv, env=environment, capture_output=True, timeout=TIMEOUT, **options)

    def answered(self, call: Callable[[], Any], commands: int = 1) -> Any:
        """call(), checking that the server answered `commands` commands meanwhile (0: all ran cold)."""
        before = self.state()["served"]
        result = call()
        assert self.state()["served"] - before == commands, "the server answered another number of commands"
        return result

    def both(self, argv: list[str], **options: Any) -> tuple[subprocess.CompletedProcess, ...]:
        """(cold, warm) runs of `argv`; the warm one answered by the server."""
        cold = self.run(argv, warm=False, **options)
        return cold, self.answered(lambda: self.run(argv, **options))

    def same(self, argv: list[str], **options: Any) -> subprocess.CompletedProcess:
        cold, warm = self.both(argv, **options)
        assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr)
        return warm

    def same_as_here(self, argv: list[str], env: dict[str, str] | None = None,
                     cwd: Path | None = None) -> subprocess.CompletedProcess:
        """The warm answer is the CLI's own, run in this process (in `cwd`): `same` compares warm and cold
        processes byte for byte, where the process around the command matters (stdin, limits, start-up);
        elsewhere the CLI's own answer is enough (a fresh interpreter each, at 2 s, was a tenth of the suite)."""
        from contextlib import chdir, nullcontext

        from typer.testing import CliRunner

        from derivcli.cli import app

        with chdir(cwd) if cwd is not None else nullcontext():
            here = CliRunner().invoke(app, argv, env=env)
        warm = self.answered(lambda: self.run(derivcli(*argv), env=env, cwd=cwd))
        assert (warm.returncode, warm.stdout, warm.stderr) == (here.exit_code, here.stdout_bytes, here.stderr_bytes)
        return warm



def derivcli(*args: str) -> list[str]:
    assert SCRIPT is not None
    return [SCRIPT, *args]


warm: dict[str, str] | None = None  # the shared warm server's environment while conftest's warm_env runs it


def script(*args: str, env: dict[str, str] | None = None, **options: Any) -> subprocess.CompletedProcess[str]:
    """`derivcli ARGS` through the installed script in a real process: answered by the shared warm server
    when the test module uses it (`pytestmark = pytest.mark.usefixtures("warm_env")`), else cold."""
    assert SCRIPT is not None
    environment = {**(warm or {**os.environ, "DERIVCLI_NO_SERVER": "1"}), **(env or {})}
    return subprocess.run([SCRIPT, *args], env=environment, capture_output=True, text=True, timeout=TIMEOUT,
                          **options)
