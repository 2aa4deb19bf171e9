"""The warm server's spare (serve/spare.py): the child forked and rehearsed before a command comes.  A
command handed to it answers byte for byte as a cold run; one too big to hand over, or one that comes
after the spare was killed while it waited, gets a child forked for it and answers the same."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import SCRIPT, TIMEOUT, Server, snapshot_env

from derivcli.serve.spare import HAND_OVER_BYTES

pytestmark = [
    pytest.mark.skipif(SCRIPT is None, reason="derivcli is not installed as a script"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the warm server is Linux only"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    runtime = Path(tempfile.mkdtemp(prefix="derivcli-test-"))
    resident = None
    try:
        resident = Server(snapshot_env(tmp_path_factory), runtime)
        with resident.kept_alive():
            yield resident
    finally:
        if resident is not None:
            resident.close()
        shutil.rmtree(runtime)


def children(pid: int) -> set[int]:
    """The processes whose parent is `pid`."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                status = Path(f"/proc/{entry}/status").read_text()
            except OSError:  # ended meanwhile
                continue
            if f"\nPPid:\t{pid}\n" in status:
                found.add(int(entry))
    return found


def spare(server: Server) -> int | None:
    """The server's child that runs no command, once there is one (None if none comes)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        idle = children(server.pid) - set(server.state()["running"])
        if idle:
            (pid,) = idle
            return pid
        time.sleep(0.05)
    return None


def test_a_command_is_handed_to_the_spare(server):
    waiting = spare(server)
    assert waiting is not None, "no spare"
    server.same_as_here(["grad", "x**2*y", "--x", "3", "--y", "2"])
    assert not Path(f"/proc/{waiting}").exists() or waiting not in children(server.pid), "the spare did not run it"


def test_a_request_too_big_to_hand_over_gets_a_fork_and_keeps_the_spare(server):
    waiting = spare(server)
    assert waiting is not None
    big = {"DERIVCLI_TEST_PADDING": "x" * HAND_OVER_BYTES}  # the environment travels with the request
    server.same_as_here(["grad", "sin(x)", "--x", "1"], env=big)
    assert spare(server) == waiting


def test_after_the_spare_is_killed_each_command_gets_a_fork(server):
    waiting = spare(server)
    assert waiting is not None
    os.kill(waiting, signal.SIGKILL)
    deadline = time.monotonic() + TIMEOUT
    while "the spare child ended" not in (server.directory / "server.log").read_text():
        assert time.monotonic() < deadline, "the server did not notice"
        time.sleep(0.05)
    for x in ("1", "2"):
        server.same_as_here(["grad", "x**3", "--x", x])
    assert children(server.pid) == set()
