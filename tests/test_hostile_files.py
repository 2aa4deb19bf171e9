"""Hostile surroundings of the warm server and of derivcli's own files, through real processes where the
fault is a process's: a server that goes silent or answers garbage (the command runs cold, within the
client's bound), and a server log, lock or REPL history planted as a FIFO, a link, a directory or a huge
sparse file (one warning and the server or session goes on, or one error line; never a hang, a traceback,
a half-started server, or memory past the budget)."""

from __future__ import annotations

import os
import resource
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_serve import SCRIPT, base_env, derivcli  # noqa: F401  (base_env: the fixture, derivcli from a snapshot)

from derivcli.cli.repl_history import History
from derivcli.serve import client, own_files, paths, protocol

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 60
LIFETIME = 20  # a fake server never outlives this
ANSWER = b"value\t9.0\nd/dx\t6.0\n"  # grad x**2 at 3, by hand

pytestmark = [
    pytest.mark.skipif(SCRIPT is None, reason="derivcli is not installed as a script"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the warm server is Linux only"),
]


@pytest.fixture
def bounded() -> Iterator[None]:
    """A test here that blocks (on a FIFO, say) fails after 10 s instead of hanging the run."""
    def expire(number: int, frame: object) -> None:
        raise TimeoutError("blocked for 10 s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(10)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# ------------------------------------------------------------------------- a server that goes silent
@contextmanager
def fake_server(runtime: Path, answer: Callable[[socket.socket], None]) -> Iterator[None]:
    """A listener where derivcli's client looks for its server (a private directory, a 0600 socket of this
    user's), answering each connection with `answer(connection)` on a thread, for at most LIFETIME s."""
    directory = runtime / "derivcli"
    directory.mkdir(mode=0o700)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(directory / paths.SOCKET))
    os.chmod(directory / paths.SOCKET, 0o600)
    listener.listen(8)
    listener.settimeout(0.1)
    done = threading.Event()
    held: list[socket.socket] = []  # open until the end: a silent server does not hang up either

    def serve() -> None:
        ends = time.monotonic() + LIFETIME
        while not done.is_set() and time.monotonic() < ends:
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(connection)
            connection.settimeout(LIFETIME)
            connection.recv(1 << 20)  # the request (its descriptors are dropped)
            answer(connection)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        for connection in [listener, *held]:
            connection.close()


def sends(data: bytes) -> Callable[[socket.socket], None]:
    return lambda connection: connection.sendall(data)


def running(pid: int) -> Callable[[socket.socket], None]:
    return sends(protocol.encode({"running": pid}))


def warm_or_cold(runtime: Path) -> tuple[str, str, float]:
    """client.answer_warm in a fresh process, as the `derivcli` script calls it: (its exit code, None for a
    cold run, its stderr, seconds taken)."""
    code = "from derivcli.serve import client; print(client.answer_warm(['derivcli', 'grad', 'x**2', '--x', '3']))"
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "DERIVCLI_DEBUG": "1", "PYTHONPATH": str(ROOT)}
    env.pop("DERIVCLI_NO_SERVER", None)
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-c", code], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                         text=True, timeout=TIMEOUT)
    return run.stdout.strip(), run.stderr, time.monotonic() - started


@pytest.mark.parametrize("answer, why", [
    (lambda connection: None, "the server did not take the command ("),
    (sends(b"HTTP/1.1 200 OK\r\n\r\n"), "the server did not take the command (a frame"),
    (sends(protocol.HEADER.pack(5) + b"hello"), "the server did not take the command (not JSON"),
    (sends(protocol.encode({"running": "yes"})), "the server's reply was not understood"),
    (running(os.getpid()), f"process {os.getpid()} is not a child of the server's (pid {os.getpid()})"),
    (running(1 << 23), f"the server's command process {1 << 23} does not exist"),  # past Linux's pid_max
], ids=["silent", "junk", "not JSON", "running what", "running, not its child", "running, no such process"])
def test_a_silent_or_garbled_server_means_a_cold_run_within_the_bound(tmp_path, answer, why):
    with fake_server(tmp_path, answer):
        code, err, seconds = warm_or_cold(tmp_path)
    assert (code, err) == ("None", err) and err.startswith(f"derivcli: running cold: {why}"), err
    assert seconds < client.REPLY_SECONDS + 2


def test_a_server_silent_after_its_command_ended_is_one_error_line(tmp_path):
    """A server whose child really runs (here `sleep 1`, a child of the fake's) and that then never says how
    it ended: the client waits while the child lives, then END_SECONDS, and says so; exit 3."""
    command = subprocess.Popen(["sleep", "1"])
    try:
        with fake_server(tmp_path, running(command.pid)):
            code, err, seconds = warm_or_cold(tmp_path)
    finally:
        command.wait(TIMEOUT)
    assert (code, err) == ("3", "error: the derivcli server did not say how the command ended (2.5 s after it did)\n")
    assert 1 + client.END_SECONDS - 0.5 < seconds < 1 + client.END_SECONDS + 3


def test_the_command_runs_cold_through_the_script(base_env, tmp_path):  # noqa: F811
    with fake_server(tmp_path, running(os.getpid())):
        run = subprocess.run(derivcli("grad", "x**2", "--x", "3"), env={**base_env, "XDG_RUNTIME_DIR": str(tmp_path)},
                             stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT)
    assert (run.returncode, run.stdout, run.stderr) == (0, ANSWER, b"")


# ------------------------------------------------------------------------ derivcli's own files
def plant(path: Path, kind: str, target: Path) -> None:
    """Put a `kind` of thing at `path`; `target` is a file of the user's that must stay untouched."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "link":
        path.symlink_to(target)
    elif kind == "link to /dev/zero":
        path.symlink_to("/dev/zero")
    elif kind == "directory":
        path.mkdir()
    elif kind == "hard link":
        os.link(target, path)


KINDS = {"fifo": "a FIFO", "link": "a symbolic link", "link to /dev/zero": "a symbolic link",
         "directory": "a directory", "hard link": "2 names (hard links)"}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("flags", [os.O_RDONLY, os.O_WRONLY | os.O_CREAT, os.O_RDWR | os.O_CREAT],
                         ids=["read", "write", "lock"])
def test_an_own_file_is_a_regular_file_of_the_users(tmp_path, bounded, kind, flags):
    target = tmp_path / "precious"
    target.write_text("keep me\n")
    own = tmp_path / "own"
    plant(own, kind, target)
    with pytest.raises(paths.Unsafe) as refused:
        os.close(paths.open_own(str(own), flags))
    assert str(refused.value).startswith(f"{own} is {KINDS[kind]}") or str(refused.value).startswith(
        f"{own} has {KINDS[kind]}")
    assert target.read_text() == "keep me\n" and stat.S_IMODE(target.stat().st_mode) == 0o644


def test_an_own_file_and_its_folder_are_tightened(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    folder.chmod(0o777)
    own = folder / "own"
    own.write_text("mine\n")
    own.chmod(0o644)
    paths.tighten_own_dir(str(folder))
    with open(paths.open_own(str(own), os.O_RDONLY)) as opened:
        assert opened.read() == "mine\n"
    assert (stat.S_IMODE(folder.stat().st_mode), stat.S_IMODE(own.stat().st_mode)) == (0o700, 0o600)
    if os.geteuid() == 0:  # a file of another user's, in reach of root only
        os.chown(own, 65534, 65534)
        with pytest.raises(paths.Unsafe, match="belongs to uid 65534"):
            paths.open_own(str(own), os.O_RDONLY)


# ----------------------------------------------------------------------- the server's log and lock
@pytest.mark.parametrize("kind", ["link", "directory"])
def test_a_log_that_is_not_a_regular_file_is_one_warning(tmp_path, capsys, kind):
    target = tmp_path / "precious"
    target.write_text("keep me\n")
    plant(tmp_path / paths.LOG, kind, target)
    assert own_files.open_log(str(tmp_path)) is None
    assert capsys.readouterr().err == (f"warning: the server runs without a log: {tmp_path / paths.LOG} is "
                                       f"{KINDS[kind]}, not a regular file\n")
    assert target.read_text() == "keep me\n"


@contextmanager
def background(env: dict[str, str], directory: Path) -> Iterator[subprocess.CompletedProcess[str]]:
    """`derivcli serve --background` (stopping after 5 idle seconds), and whatever server it leaves, ended
    after the test."""
    started = subprocess.run(derivcli("serve", "--background", "--idle-timeout", "5"), env=env, capture_output=True,
                             text=True, timeout=TIMEOUT)
    try:
        yield started
    finally:
        for pid in pids_listening(directory):
            os.kill(pid, signal.SIGKILL)


def pids_listening(directory: Path) -> list[int]:
    """The processes that hold the server's lock open (a half-started server would)."""
    lock = directory / paths.LOCK
    if not lock.is_file():
        return []
    found = []
    for process in Path("/proc").iterdir():
        try:
            if any(Path(os.readlink(link)) == lock for link in (process / "fd").iterdir()):
                found.append(int(process.name))
        except (OSError, ValueError):
            continue
    return found


def test_a_fifo_log_leaves_the_server_without_a_log(base_env, tmp_path):  # noqa: F811
    tmp_path.chmod(0o700)
    directory = tmp_path / "derivcli"
    directory.mkdir(mode=0o700)
    os.mkfifo(directory / paths.LOG)
    env = {**base_env, "XDG_RUNTIME_DIR": str(tmp_path)}
    with background(env, directory) as started:
        assert started.returncode == 0 and started.stdout.startswith("derivcli server listening on "), started
        assert started.stderr == (f"warning: the server runs without a log: {directory / paths.LOG} is a FIFO, not a "
                                  "regular file\n")
        warm = subprocess.run(derivcli("grad", "x**2", "--x", "3"), env=env, capture_output=True, timeout=TIMEOUT)
        assert (warm.returncode, warm.stdout, warm.stderr) == (0, ANSWER, b"")
        assert client.status(str(directory / paths.SOCKET))[1]["served"] == 1  # answered warm
    assert stat.S_ISFIFO((directory / paths.LOG).lstat().st_mode)


def test_a_linked_lock_is_one_error_and_no_server(base_env, tmp_path):  # noqa: F811
    tmp_path.chmod(0o700)
    directory = tmp_path / "derivcli"
    directory.mkdir(mode=0o700)
    target = tmp_path / "precious"
    target.write_text("keep me\n")
    (directory / paths.LOCK).symlink_to(target)
    with background({**base_env, "XDG_RUNTIME_DIR": str(tmp_path)}, directory) as started:
        assert (started.returncode, started.stdout) == (2, "")
        assert started.stderr == (f"error: refusing to serve: {directory / paths.LOCK} is a symbolic link, not a "
                                  "regular file; remove it\n")
        assert not (directory / paths.SOCKET).exists() and not (directory / paths.LOG).exists()
    assert target.read_text() == "keep me\n"


# ---------------------------------------------------------------------------------- the REPL's history
def repl(tmp_path: Path, memory: int | None = None) -> subprocess.CompletedProcess[str]:
    """`derivcli repl` on two lines, its history under tmp_path/state, its address space capped at `memory`
    bytes if given."""
    def cap() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run([sys.executable, "-m", "derivcli", "repl"], input="let x = 2\nlet\n", capture_output=True,
                          text=True, timeout=TIMEOUT, cwd=tmp_path, preexec_fn=cap,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "DERIVCLI_NO_SERVER": "1",
                               "XDG_STATE_HOME": str(tmp_path / "state")})


def history_file(tmp_path: Path) -> Path:
    path = tmp_path / "state" / "derivcli" / "history"
    path.parent.mkdir(parents=True)
    return path


def test_a_fifo_history_is_one_warning_and_the_session_goes_on(tmp_path):
    path = history_file(tmp_path)
    os.mkfifo(path)
    session = repl(tmp_path)
    assert (session.returncode, session.stdout) == (0, "x = 2\n")
    assert session.stderr == f"warning: history is not kept: {path} is a FIFO, not a regular file\n"


def test_a_huge_sparse_history_is_read_by_its_tail_within_the_memory_budget(tmp_path):
    path = history_file(tmp_path)
    with open(path, "wb") as file:
        file.truncate(1_900_000_000)  # 1.9 GB of holes
        file.seek(0, os.SEEK_END)
        file.write(b"\ngrad x^2 --x 1\n")
    session = repl(tmp_path, memory=1_500_000_000)
    assert (session.returncode, session.stdout, session.stderr) == (0, "x = 2\n", "")
    # rewritten at the first line added: the newest lines, the tail's line first
    assert path.read_text() == "grad x^2 --x 1\nlet x = 2\nlet\n" and stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("kind", ["link", "link to /dev/zero", "directory", "hard link"])
def test_a_history_that_is_not_a_regular_file_is_not_read_nor_written(tmp_path, capsys, bounded, kind):
    target = tmp_path / "precious"
    target.write_text("grad secret\n")
    path = history_file(tmp_path)
    plant(path, kind, target)
    history = History(path)
    for line in ("let x = 1", *(f"let y = {index}" for index in range(2001))):  # past a rewrite
        history.add(line)
    assert history.entries[:1] != ["grad secret"]
    problem = "has 2 names (hard links)" if kind == "hard link" else f"is {KINDS[kind]}, not a regular file"
    assert capsys.readouterr().err == f"warning: history is not kept: {path} {problem}\n"
    assert target.read_text() == "grad secret\n" and (path.is_symlink() or kind not in ("link", "link to /dev/zero"))


def test_an_open_history_and_its_folder_are_tightened(tmp_path):
    path = history_file(tmp_path)
    path.write_text("let y = 1\n")
    path.chmod(0o644)
    path.parent.chmod(0o777)
    history = History(path)
    history.add("let x = 2")
    assert history.entries == ["let y = 1", "let x = 2"] and path.read_text() == "let y = 1\nlet x = 2\n"
    assert (stat.S_IMODE(path.parent.stat().st_mode), stat.S_IMODE(path.stat().st_mode)) == (0o700, 0o600)


def test_no_server_is_left_running(tmp_path):
    """Nothing this module started listens after it (a check of the fixtures: run last here)."""
    mine = [pid for pid in pids_of("serve") if str(tmp_path.parent) in environment_of(pid, "XDG_RUNTIME_DIR")]
    assert mine == []


def pids_of(word: str) -> list[int]:
    found = []
    for process in Path("/proc").iterdir():
        try:
            words = (process / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if word.encode() in words and any(part.endswith(b"derivcli") for part in words):
            found.append(int(process.name))
    return found


def environment_of(pid: int, name: str) -> str:
    try:
        entries = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return ""
    return next((entry.decode(errors="replace").partition("=")[2] for entry in entries
                 if entry.startswith(name.encode() + b"=")), "")
