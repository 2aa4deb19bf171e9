"""The warm server (`derivcli serve`) through real processes of the installed entry point: every answer
byte for byte the same warm and cold; a crash, a kill or a hostile input ending only its own command; and
nothing accepted from another user, or through a directory or socket others could reach."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import pwd
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import IDLE, SCRIPT, TIMEOUT, Server, derivcli, snapshot_env
from test_layout import VIEWS  # every command's table view
from test_schemas import JSON_VIEWS  # every command's JSON

from derivcli.serve import client, protocol
from derivcli.serve.client import status

MISSION = "exp(-(x**2-x+1)/cos(log(x))**2)"
BATCH = b"".join(json.dumps(request).encode() + b"\n" for request in [
    {"expression": "x**2*y", "point": {"x": 2, "y": 3}},
    {"expression": "sin(x", "point": {"x": 1}},
    {"expression": "u*v", "point": {"u": 1, "v": 2}, "command": "hessian"},
])

pytestmark = [
    pytest.mark.skipif(SCRIPT is None, reason="derivcli is not installed as a script"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the warm server is Linux only"),
]


@pytest.fixture(scope="module")
def base_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return snapshot_env(tmp_path_factory)


@pytest.fixture(scope="module")
def server(base_env: dict[str, str]) -> Iterator[Server]:
    """The server most tests share, its runtime directory straight in the temp directory (which every user
    can pass through: one test connects as another user)."""
    runtime = Path(tempfile.mkdtemp(prefix="derivcli-test-"))  # 0700, this run's own
    resident = None
    try:
        resident = Server(base_env, runtime)
        with resident.kept_alive():
            yield resident
        stopped = resident.stop()
        assert stopped.returncode == 0 and stopped.stdout.startswith("stopped the derivcli server"), stopped
    finally:
        if resident is not None:
            resident.close()
        shutil.rmtree(runtime)


def shell(line: str) -> list[str]:
    """`line` run by bash, with `DERIVCLI` standing for the installed script."""
    return ["bash", "-c", line.replace("DERIVCLI", f"'{SCRIPT}'")]


# ------------------------------------------------------------------------------- same answers
CASES: dict[str, tuple[list[str], dict[str, Any]]] = {
    "plain": (["grad", MISSION, "--x", "1"], {}),
    "json and check": (["grad", "u**2 + v**3 + u*v", "--u", "2", "--v", "4", "--check", "--json"], {}),
    "caret": (["grad", "sin(x +* 2)", "--x", "1"], {}),
    "json error": (["grad", "sin(x", "--x", "1", "--json"], {}),
    "option of another command": (["grad", "x", "--x", "1", "--order", "2"], {}),
    "no such command": (["gard", "x"], {}),
    "stream from a pipe": (["grad", "sin(x)*exp(-x)", "--x", "-"], {"input": b"0\n0.5\nnot a number\n1\n"}),
    "batch from stdin": (["batch"], {"input": BATCH}),
    "memory bound": (["--max-memory", "1MB", "grad", "sum(x)", "--x", "zeros(1000000)"], {}),
    # (diff simplifies in a child forked under a time budget: compared between fresh processes, as it once
    # failed in a test process, where Dask's threads had run, and was not seen again)
    "diff formula": (["diff", "x**3*sin(x)", "--wrt", "x", "--order", "2"], {}),
}
# Views that need no process of their own around them (no stdin, no limits): held to the CLI run in this
# process (`Server.same_as_here`), as every command's views are; a cold interpreter each cost 2.5 s.
IN_PROCESS_CASES: dict[str, tuple[list[str], dict[str, str]]] = {
    "table in COLUMNS": (["grad", "sin(x)*exp(-x)", "--x", "1", "--check", "--fd", "--format", "table"],
                         {"COLUMNS": "60"}),
    "hessian table": (["hessian", "(1-x)**2 + 100*(y-x**2)**2", "--x", "1", "--y", "1", "--format", "table"],
                      {"COLUMNS": "100"}),
    "warnings": (["grad", "log(x)", "--x", "-1"], {}),
}


@pytest.mark.parametrize("case", CASES)
def test_warm_and_cold_answer_byte_for_byte(server, case):
    args, options = CASES[case]
    server.same(derivcli(*args), **options)


@pytest.mark.parametrize("case", IN_PROCESS_CASES)
def test_warm_answers_as_the_cli_in_this_process(server, case):
    args, env = IN_PROCESS_CASES[case]
    server.same_as_here(args, env=env or None)


@pytest.mark.parametrize("view", VIEWS)
def test_every_commands_table_view_is_the_same_warm(server, view):
    server.same_as_here([*VIEWS[view], "--format", "table"], env={"COLUMNS": "80"})


ONE_JSON_PER_COMMAND = {definition: argv for definition, argv in JSON_VIEWS}  # (the last, the richest, wins)


@pytest.mark.parametrize("definition", ONE_JSON_PER_COMMAND)
def test_every_commands_json_is_the_same_warm(server, definition):
    server.same_as_here([*ONE_JSON_PER_COMMAND[definition], "--json"])


def test_files_relative_to_the_working_directory_and_the_umask(server, tmp_path):
    (tmp_path / "w.json").write_text("[1, 2, 3]")
    (tmp_path / "points.csv").write_text("x\n1\n2\n")
    assert server.same_as_here(["grad", "dot(w, w)", "--w", "@w.json"], cwd=tmp_path).returncode == 0
    server.same_as_here(["grad", "sum(x)", "--x", "@w.json"], cwd=tmp_path, env={"DERIVCLI_NO_FILES": "1"})
    line = shell("umask 077; DERIVCLI grad 'x**2' --points points.csv --output out.csv")

    def written(run: subprocess.CompletedProcess) -> tuple[bytes, int]:
        assert run.returncode == 0, run.stderr
        out = tmp_path / "out.csv"
        contents, mode = out.read_bytes(), out.stat().st_mode & 0o777
        out.unlink()
        return contents, mode

    cold = written(server.run(line, warm=False, cwd=tmp_path))
    assert written(server.answered(lambda: server.run(line, cwd=tmp_path))) == cold and cold[1] == 0o600


@pytest.mark.parametrize("line", [
    "seq 0 0.001 50 | DERIVCLI grad 'x**2' --x - | head -1; echo \"exit ${PIPESTATUS[1]}\" >&2",  # reader gone
    "DERIVCLI grad x --x 1 >&-",
    # (cold, each of these is in test_surroundings; warm, CI's slow step runs them)
    pytest.param("DERIVCLI grad 'x**2' --x 3 > /dev/full", marks=pytest.mark.slow),
    pytest.param("DERIVCLI grad x --x - <&-", marks=pytest.mark.slow),
    pytest.param("DERIVCLI grad x --x 1 2>&-", marks=pytest.mark.slow),
])
def test_closed_and_failing_streams(server, line):
    server.same(shell(line))


def on_terminal(server: Server, args: list[str], warm: bool) -> tuple[int, bytes]:
    """Run with a 100×30 terminal as stdin, stdout and stderr; (exit code, everything it showed)."""
    main, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = {"TERM": "xterm-256color", **({} if warm else {"DERIVCLI_NO_SERVER": "1"})}
    process = subprocess.Popen(derivcli(*args), stdin=terminal, stdout=terminal, stderr=terminal,
                               env={**{k: v for k, v in server.env.items() if k != "NO_COLOR"}, **env})
    os.close(terminal)
    shown = b""
    while select.select([main], [], [], TIMEOUT)[0]:
        try:
            chunk = os.read(main, 1 << 16)
        except OSError:  # EIO: every copy of the terminal's other end is closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    return process.wait(TIMEOUT), shown


def test_a_terminal_gets_the_same_table(server):
    args = ["grad", "sin(x)*exp(-x)", "--x", "1", "--check"]
    cold = on_terminal(server, args, warm=False)
    warm = server.answered(lambda: on_terminal(server, args, warm=True))
    assert warm == cold and cold[0] == 0 and b"\x1b[" in cold[1]  # a table, in colour


def test_random_values_differ_from_command_to_command_as_cold(server):
    """A cold process seeds torch from the OS; each child must too, not share the server's state."""
    argv = derivcli("grad", "sum(x)", "--x", "rand(3)", "--json")
    points = server.answered(lambda: [json.loads(server.run(argv).stdout)["point"]["x"] for _ in range(2)], 2)
    assert points[0] != points[1]
    server.same_as_here(["grad", "sum(x)", "--x", "rand(3)", "--seed", "7"])


# ---------------------------------------------------------------------------------- isolation
def streaming(server: Server) -> tuple[subprocess.Popen, int]:
    """A warm `--x -` command that has answered its first line and waits for more: (client, child)."""
    client = subprocess.Popen(derivcli("grad", "x**2", "--x", "-"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=server.env)
    assert client.stdin is not None and client.stdout is not None
    client.stdin.write(b"3\n")
    client.stdin.flush()
    assert client.stdout.readline() == b"3.0\t9.0\t6.0\n"
    running = server.state()["running"]
    assert len(running) == 1, "the command runs on the server"
    return client, running[0]


def test_a_killed_child_ends_only_its_command(server):
    client, child = streaming(server)
    os.kill(child, signal.SIGKILL)
    out, err = client.communicate(timeout=TIMEOUT)
    assert client.returncode == 128 + signal.SIGKILL and out == b""
    assert err == b"error: the command was killed by SIGKILL (out of memory?)\n"
    server.same_as_here(["grad", "x**3", "--x", "2"])


def interrupted(client: subprocess.Popen) -> tuple[int, bytes, bytes]:
    """SIGINT to a command waiting for its next line (its stdin stays open: no end of input races the
    signal); its exit code and the rest of its output."""
    client.send_signal(signal.SIGINT)
    code = client.wait(TIMEOUT)
    return (code, *client.communicate(timeout=TIMEOUT))


def test_ctrl_c_reaches_the_child(server):
    warm = interrupted(streaming(server)[0])
    cold = subprocess.Popen(derivcli("grad", "x**2", "--x", "-"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**server.env, "DERIVCLI_NO_SERVER": "1"})
    assert cold.stdin is not None and cold.stdout is not None
    cold.stdin.write(b"3\n")
    cold.stdin.flush()
    assert cold.stdout.readline() == b"3.0\t9.0\t6.0\n"
    assert warm == interrupted(cold) == (130, b"", b"error: interrupted\n")


def test_a_command_goes_with_its_client(server):
    client, child = streaming(server)
    ended = os.pidfd_open(child)
    try:
        client.kill()
        client.wait(TIMEOUT)
        assert select.select([ended], [], [], TIMEOUT)[0], "the child outlived its client"
    finally:
        os.close(ended)
    server.same_as_here(["grad", "x", "--x", "1"])


@pytest.mark.parametrize("says_go", [True, False], ids=["go", "gave up"])
def test_the_command_starts_only_when_its_client_says_go(server, says_go):
    """The child waits for its client's go after `running`: a client that gave up waiting (and runs the
    command itself) closes the go pipe unsaid, and the command must not run twice."""
    out, out_end = os.pipe()
    waiting, go = os.pipe()
    stream = {"encoding": "utf-8", "errors": "strict", "line_buffering": False, "write_through": False}
    request = protocol.encode(run_request(identity=server.state()["identity"], streams=[None, stream, None],
                                          argv=["derivcli", "grad", "x**2", "--x", "3"]))
    reader = protocol.FrameReader(protocol.MAX_REPLY)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(str(server.socket))
        socket.send_fds(connection, [request], [out_end, waiting])
        os.close(out_end)
        os.close(waiting)
        assert set(client.receive(connection, reader, time.monotonic() + TIMEOUT)) == {"running"}
        if says_go:
            os.write(go, client.GO)
        os.close(go)
        last = client.receive(connection, reader, time.monotonic() + TIMEOUT)
    with os.fdopen(out, "rb") as written:
        assert (last, written.read()) == ({"exit": 0}, b"value\t9.0\nd/dx\t6.0\n" if says_go else b"")


@pytest.mark.parametrize("args", [
    ["grad", "9**9**9", "--x", "1"],
    ["grad", "(" * 4999 + "x" + ")" * 4999, "--x", "1"],
    ["grad", "sin(" * 1000 + "x" + ")" * 1000, "--x", "1"],
    ["grad", "x+" * 50_000 + "x", "--x", "1"],
    ["grad", "sum(W @ W)", "--W", "zeros(20000, 20000)"],
], ids=["huge power", "deeply nested", "nested calls", "too long", "too big"])
def test_hostile_input_is_refused_alike_and_the_server_goes_on(server, args):
    answer = server.same(derivcli(*args))
    assert answer.returncode == 2 and answer.stderr.startswith(b"error: ") and b"Traceback" not in answer.stderr
    after = server.answered(lambda: server.run(derivcli("grad", "x**2", "--x", "5")))  # (its cold twin: above)
    assert (after.returncode, after.stdout, after.stderr) == (0, b"value\t25.0\nd/dx\t10.0\n", b"")


def test_eight_concurrent_clients(server):
    def run_eight() -> list[tuple[int, bytes, bytes]]:
        clients = [subprocess.Popen(derivcli("grad", f"x**2 + {i}*x", "--x", str(i)), stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=server.env) for i in range(8)]
        return [(client.wait(TIMEOUT), *client.communicate(timeout=TIMEOUT)) for client in clients]

    answers = server.answered(run_eight, 8)
    assert answers == [(0, f"value\t{2.0 * i * i!r}\nd/dx\t{3.0 * i!r}\n".encode(), b"") for i in range(8)]


# ----------------------------------------------------------------------------------- security
def test_another_user_is_refused(server):
    if os.geteuid() != 0:
        pytest.skip("needs root, to connect as another user")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody")
    reachable = (server.directory.parent, 0o711), (server.directory, 0o711), (server.socket, 0o666)
    for path, mode in reachable:  # let nobody reach the socket: only the peer-credential check is left
        path.chmod(mode)
    reading, writing = os.pipe()
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through the pipe
            try:
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                    connection.settimeout(TIMEOUT)
                    connection.connect(str(server.socket))
                    try:
                        connection.sendall(protocol.encode({"op": "status"}))
                        answer = connection.recv(1 << 16)
                    except (BrokenPipeError, ConnectionResetError):  # closed before it could send or read
                        answer = b""
                    os.write(writing, b"answered" if answer else b"refused")
            except BaseException as error:
                os.write(writing, repr(error).encode())
            os._exit(0)
        os.close(writing)
        with os.fdopen(reading, "rb") as pipe:
            said = pipe.read().decode()
        os.waitpid(pid, 0)
    finally:
        for path, mode in zip((path for path, _ in reachable), (0o700, 0o700, 0o600)):
            path.chmod(mode)
    assert said == "refused"
    assert f"refused a connection from uid {nobody.pw_uid}" in (server.directory / "server.log").read_text()
    server.same_as_here(["grad", "x", "--x", "2"])


@pytest.mark.parametrize("target, mode", [("directory", 0o750), ("socket", 0o660)])
def test_a_client_refuses_a_server_others_can_reach(server, target, mode):
    path = getattr(server, target)
    original = path.stat().st_mode & 0o777
    served = server.state()["served"]
    path.chmod(mode)
    try:
        run = server.run(derivcli("grad", "x", "--x", "2"), env={"DERIVCLI_DEBUG": "1"})
    finally:
        path.chmod(original)
    assert server.state()["served"] == served
    assert run.returncode == 0 and run.stdout == b"value\t2.0\nd/dx\t1.0\n"
    assert run.stderr == (f"derivcli: running cold: {path} is open to group or others (mode {mode:04o}; it must be "
                          f"{original:04o})\n").encode()


def test_serve_refuses_a_directory_others_can_reach(base_env, tmp_path):
    (tmp_path / "derivcli").mkdir(mode=0o755)
    (tmp_path / "derivcli").chmod(0o755)
    run = subprocess.run(derivcli("serve", "--background"), env={**base_env, "XDG_RUNTIME_DIR": str(tmp_path)},
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == (f"error: refusing to serve: {tmp_path / 'derivcli'} is open to group or others (mode "
                          "0755; it must be 0700)\n")
    assert not (tmp_path / "derivcli" / "server.sock").exists()


def raw(server: Server, data: bytes, descriptors: tuple[int, ...] = ()) -> bytes:
    """Everything the server sends back to a connection that sends `data` (and `descriptors`), until it
    closes it."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(TIMEOUT)
        connection.connect(str(server.socket))
        try:
            sent = socket.send_fds(connection, [data], list(descriptors)) if descriptors else 0
            connection.sendall(data[sent:])
            connection.shutdown(socket.SHUT_WR)
        except BrokenPipeError:  # the server answered and closed before the last bytes: read its answer
            pass
        received = b""
        while chunk := connection.recv(1 << 16):
            received += chunk
        return received


def run_request(**changes: Any) -> dict[str, Any]:
    request = {"op": "run", "identity": protocol.identity(), "argv": ["derivcli", "grad", "x", "--x", "1"],
               "cwd": "/", "env": {}, "umask": 0o22, "limits": {}, "cpus": [0], "niceness": 0,
               "streams": [None, None, None]}
    return {**request, **changes}


@pytest.mark.parametrize("data", [
    b"hello, server\n",  # a length of 1.7 GB
    b"\xff\xff\xff\xff",
    protocol.HEADER.pack(3) + b"[1]",
    protocol.HEADER.pack(8) + b"\xff\xfe{not}\x00",
    protocol.HEADER.pack(10_000) + b"{" * 10_000,
    protocol.encode({"op": "delete everything"}),
    protocol.encode({"op": "run"}),
    protocol.encode(run_request(argv="grad x")),
    protocol.encode(run_request(cwd="relative")),
    protocol.encode(run_request(env={"A=B": "c"})),
    protocol.encode(run_request(umask=True)),
    protocol.encode(run_request(limits={"RLIMIT_AS": [1]})),
    protocol.encode(run_request(cpus=[])),
    protocol.encode(run_request(niceness="low")),
    protocol.encode(run_request(streams=[{"encoding": "utf-8"}, None, None])),
    protocol.encode(run_request(streams=[None, {"encoding": "utf-8", "errors": "strict", "line_buffering": False,
                                                "write_through": False}, None])),  # no descriptor with it
    protocol.HEADER.pack(100) + b"{}",  # and the client hangs up
    protocol.encode(run_request()),  # without the go pipe: the command could not wait for its client's go
], ids=lambda data: repr(data[:24]))
def test_garbage_is_dropped_and_the_server_goes_on(server, data):
    assert raw(server, data) == b""
    assert server.state()["running"] == []


def test_a_silent_client_is_dropped_without_holding_up_the_others(server):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.settimeout(TIMEOUT)
        silent.connect(str(server.socket))
        server.same_as_here(["grad", "x**2", "--x", "4"])
        assert silent.recv(1 << 16) == b""  # closed by the server once its request is overdue


def test_a_client_of_another_build_is_told_to_run_cold(server):
    waiting, go = os.pipe()  # the go pipe a run request carries
    try:
        reply = raw(server, protocol.encode(run_request(identity={**server.state()["identity"], "derivcli": "0.0.0"})),
                    (waiting,))
    finally:
        os.close(waiting)
        os.close(go)
    reader = protocol.FrameReader(protocol.MAX_REPLY)
    reader.feed(reply)
    assert reader.pop() == {"fallback": "the server is another build (derivcli differ)"}
    # a start-up variable the server was not started with (not 1: Dask sets OMP_NUM_THREADS=1 in the tests'
    # own environment once a LocalCluster has run)
    other = {"OMP_NUM_THREADS": "7", "DERIVCLI_DEBUG": "1"}
    run = server.answered(lambda: server.run(derivcli("grad", "x", "--x", "2"), env=other), 0)
    assert run.returncode == 0 and run.stdout == b"value\t2.0\nd/dx\t1.0\n"
    assert run.stderr == b"derivcli: running cold: the server is another build (environment differ)\n"


# -------------------------------------------------------------------------------- what runs cold
@pytest.mark.parametrize("args, env", [
    (["grad", "x", "--x", "1"], {"DERIVCLI_NO_SERVER": "1"}),
    (["grad", "--help"], {}),
    (["--help"], {}),
    ([], {}),
    (["--version"], {}),
    (["serve", "--status"], {}),
    ([], {"_DERIVCLI_COMPLETE": "complete_bash", "COMP_LINE": "derivcli gr"}),
])
def test_what_runs_cold(server, args, env):
    run = server.answered(lambda: server.run(derivcli(*args), env=env), 0)
    assert b"Traceback" not in run.stderr


def test_a_stale_socket_runs_cold_silently(base_env, tmp_path):
    (tmp_path / "derivcli").mkdir(mode=0o700)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(tmp_path / "derivcli" / "server.sock"))
    stale.close()  # the file stays, with nothing listening
    (tmp_path / "derivcli" / "server.sock").chmod(0o600)
    env = {**base_env, "XDG_RUNTIME_DIR": str(tmp_path)}
    run = subprocess.run(derivcli("grad", "x", "--x", "2"), env=env, capture_output=True, timeout=TIMEOUT)
    assert (run.returncode, run.stdout, run.stderr) == (0, b"value\t2.0\nd/dx\t1.0\n", b"")
    noted = subprocess.run(derivcli("grad", "x", "--x", "2"), env={**env, "DERIVCLI_DEBUG": "1"},
                           capture_output=True, text=True, timeout=TIMEOUT)
    assert noted.stderr == (f"derivcli: running cold: no server is listening on {tmp_path}/derivcli/server.sock "
                            "(connection refused)\n")


def test_the_client_imports_only_the_standard_library(server, tmp_path):
    code = ("import json, sys\n"
            "from derivcli.serve import client\n"
            "code = client.answer_warm(['derivcli', 'grad', 'x**2', '--x', '3'])\n"
            "sys.stderr.write(json.dumps([code, sorted(sys.modules)]))\n")
    run = server.answered(lambda: server.run([sys.executable, "-c", code], cwd=tmp_path))  # not this checkout
    exit_code, modules = json.loads(run.stderr)
    assert (exit_code, run.stdout) == (0, b"value\t9.0\nd/dx\t6.0\n")
    outside = {name for name in modules if name.split(".")[0] not in sys.stdlib_module_names}
    assert {name.split(".")[0] for name in outside} <= {"__main__", "derivcli", "_distutils_hack"} | {
        name for name in outside if name.startswith("__editable__")}
    assert outside & {"typer", "rich", "click", "torch", "sympy", "numpy"} == set()


# ------------------------------------------------------------------------------- the command
def test_status_and_a_second_start(server):
    shown = server.run(derivcli("serve", "--status"))
    assert shown.returncode == 0
    assert shown.stdout.decode().startswith(f"derivcli server listening on {server.socket}: pid {server.pid}, up ")
    assert f"running, stops after {IDLE} s idle\n".encode() in shown.stdout
    again = server.run(derivcli("serve", "--background"))
    assert (again.returncode, again.stdout) == (0, f"derivcli server already listening on {server.socket} "
                                                   f"(pid {server.pid})\n".encode())
    foreground = server.run(derivcli("serve"))
    assert (foreground.returncode, foreground.stdout) == (2, b"")
    assert foreground.stderr.startswith(f"error: a derivcli server is already running on {server.socket}".encode())
    both = server.run(derivcli("serve", "--status", "--stop"))
    assert (both.returncode, both.stderr) == (2, b"error: --background, --status and --stop go one at a time\n")


def test_status_and_stop_without_a_server(base_env, tmp_path):
    env = {**base_env, "XDG_RUNTIME_DIR": str(tmp_path)}
    for option, code in (("--status", 1), ("--stop", 0)):
        run = subprocess.run(derivcli("serve", option), env=env, capture_output=True, text=True, timeout=TIMEOUT)
        assert (run.returncode, run.stdout, run.stderr) == (
            code, f"no server is listening on {tmp_path}/derivcli/server.sock\n", "")


def test_the_idle_timeout_stops_the_server(base_env, tmp_path):
    idle = Server(base_env, tmp_path, "--idle-timeout", "1")
    ended = os.pidfd_open(idle.pid)
    try:
        assert select.select([ended], [], [], TIMEOUT)[0], "still running after its idle timeout"
    finally:
        os.close(ended)
        idle.close()
    assert not idle.socket.exists()
    assert "idle for 1 s: stopping" in (idle.directory / "server.log").read_text()


def test_a_foreground_server_answers_until_sigterm(base_env, tmp_path):
    tmp_path.chmod(0o700)
    env = {**base_env, "XDG_RUNTIME_DIR": str(tmp_path)}
    resident = subprocess.Popen(derivcli("serve", "--idle-timeout", str(IDLE)), env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    try:
        assert resident.stdout is not None
        socket_path = tmp_path / "derivcli" / "server.sock"
        assert resident.stdout.readline() == (f"derivcli server listening on {socket_path} (pid {resident.pid}); "
                                              "Ctrl-C stops it\n").encode()
        run = subprocess.run(derivcli("grad", "x**2", "--x", "3"), env=env, capture_output=True, timeout=TIMEOUT)
        assert (run.returncode, run.stdout, run.stderr) == (0, b"value\t9.0\nd/dx\t6.0\n", b"")
        assert status(str(socket_path))[1]["served"] == 1
        resident.send_signal(signal.SIGTERM)
        _, err = resident.communicate(timeout=TIMEOUT)
    finally:
        resident.kill()
    assert resident.returncode == 0
    assert err == (b"derivcli serve: stopping: new commands run cold, running ones get 10 s to finish\n"
                   b"derivcli serve: stopped\n")
    assert not socket_path.exists()
