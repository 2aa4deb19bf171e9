"""derivcli repl: lines run as CLI commands in one process, let bindings, history, Tab, and nothing that
ends the session but EOF or exit."""

from __future__ import annotations

import io
import itertools
import os
import pty
import re
import select
import shlex
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer

from derivcli.cli import app, main
from derivcli.cli.repl import MAX_LINE, Shell, plain_reader
from derivcli.cli.repl_history import MAX_ENTRIES, History, history_path
from derivcli.cli.repl_words import completions

ROOT = Path(__file__).resolve().parent.parent
GROUP = typer.main.get_command(app)
COLD = {"PYTHONPATH": str(ROOT), "DERIVCLI_NO_SERVER": "1"}  # this process, not a warm server, runs the shell


def repl(lines: str, tmp_path: Path, *python: str) -> subprocess.CompletedProcess[str]:
    """`derivcli repl` in a real process, its stdin a pipe, its history under tmp_path."""
    return subprocess.run([sys.executable, *python, "-m", "derivcli", "repl"], input=lines, capture_output=True,
                          text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ, **COLD, "XDG_STATE_HOME": str(tmp_path / "state")})


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def plain(value: float, **derivatives: float) -> str:
    return f"value\t{value}\n" + "".join(f"d/d{name}\t{slope}\n" for name, slope in derivatives.items())


# ------------------------------------------------------------------------------- a session through a pipe
def test_lines_are_commands_and_let_binds_for_later_lines(tmp_path):
    session = repl("\n".join([
        "let x = 2",
        "let θ = pi/4",
        "let",
        "grad x^2",  # --x 2 added
        "x^3 - 2x",  # a line without a command: grad of it
        'grad "x*y" --y 3',  # only the variables the expression uses are added
        "grad x^2 --x 5",  # the line's own value wins
        "sin x cos x --dtype float32",  # a bare expression's words up to the first option
        "unlet x",
        "grad x^2",  # x is no longer bound
        "let",
        "",
        "   ",
        "exit",
        "grad never --never 1",  # not read: exit left
    ]) + "\n", tmp_path)
    assert session.returncode == 2  # the unbound x's line failed
    assert session.stdout == ("x = 2\ntheta = pi/4\n" + plain(4.0, x=4.0) + plain(4.0, x=10.0)
                              + plain(6.0, x=3.0, y=2.0) + plain(25.0, x=10.0)
                              + plain(-0.37840125, x=-0.65364355) + "theta = pi/4\n")
    assert errors(session.stderr) == ["error: no value for variable x; give it with --x VALUE"]
    assert "Traceback" not in session.stderr


def test_output_and_errors_are_the_clis_own(tmp_path, capsys):
    """Each line prints what the same command prints on the command line, JSON error objects included."""
    lines = ['grad "u**2 + v" --u 2 --v 4 --json', 'grad "sin(x" --x 1', "hessian x*y --x 1 --y 2 --format plain",
             "grad x --x 1 --order 2", "grad x --x nan --json --check"]
    clis = []
    for line in lines:
        main(shlex.split(line))
        clis.append(capsys.readouterr())
    session = repl("\n".join(lines) + "\n", tmp_path)
    assert session.stdout == "".join(cli.out for cli in clis)
    assert session.stderr == "".join(cli.err for cli in clis)
    assert session.returncode == 2  # at EOF, the worst line's: `grad "sin(x"` failed


def test_bad_lines_are_one_error_each_and_the_session_goes_on(tmp_path):
    bad = [
        "grad " + "x+" * 500_000 + "x",  # a line of 1 MB
        "grad " + "+".join(["x"] * 6_000) + " --x 1",  # under the line limit, over the expression's
        "grad x\0y --x 1",  # a NUL byte
        "grad \"sin(x) --x 1",  # an unbalanced quote
        "let 1x = 2",  # not an identifier
        "let x y = 2",
        "let = 2",
        "let x",
        "let pi = 3",
        "let x = __import__('os').system('touch pwned')",  # hostile values, refused as the CLI refuses them
        "let x = 9**9**9**9",
        "let x = rand(100000, 100000)",
        "let x = " + "[" * 10_000 + "]" * 10_000,
        "let x = @/etc/passwd",
        "let x = y + 1",
        "unlet nothing",
        "unlet",
        "gard x^2 --x 1",  # the CLI's own 'did you mean'
        "repl",
        "grad x --x 1 --no-such-option",
    ]
    session = repl("\n".join([*bad, "grad x^2 --x 3"]) + "\n", tmp_path)
    assert session.returncode == 2  # `repl < file` says that lines failed, as a script needs to know
    assert session.stdout == plain(9.0, x=6.0)  # the last line ran
    said = errors(session.stderr)
    assert len(said) == len(bad), said
    assert said[0].startswith(f"error: the line is longer than {MAX_LINE:,} characters")
    assert "not a valid variable name" in said[4] and "not a valid variable name" in said[5]
    assert said[6].startswith("error: '' is not a valid variable name")
    assert said[7].startswith("error: let needs NAME = VALUE")
    assert said[8].startswith("error: pi is a constant")
    assert "did you mean 'grad'" in said[17]
    assert "Traceback" not in session.stderr and not (tmp_path / "pwned").exists()
    assert all(len(line) < 1_000 for line in session.stderr.splitlines())


def test_ctrl_c_cancels_the_running_command_and_the_session_goes_on(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "derivcli", "repl"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                               env={**os.environ, **COLD, "XDG_STATE_HOME": str(tmp_path)})
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None

    def send(line: str) -> None:
        process.stdin.write(line + "\n")
        process.stdin.flush()

    def errors_until(marker: str) -> list[str]:
        send(f"unlet {marker}")
        said = iter(process.stderr.readline, "")
        return list(itertools.takewhile(lambda line: f"'{marker}' is not bound" not in line, said))

    try:
        assert errors_until("started") == []  # the loop is reading
        send("grad x --x 1")  # while torch is still being imported, most likely: a Ctrl-C there once crashed
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        assert set(errors_until("imported")) <= {"error: interrupted\n"}
        send("grad x --x -")  # waits for values on stdin
        time.sleep(0.5)  # for the shell to read the line: a Ctrl-C at the prompt drops what it has not read
        process.send_signal(signal.SIGINT)
        assert process.stderr.readline() == "error: interrupted\n"
        out, err = process.communicate("grad x^2 --x 3\n", timeout=120)
    finally:
        process.kill()
    assert (out.removeprefix(plain(1.0, x=1.0)), err, process.returncode) == (plain(9.0, x=6.0), "", 2)  # (unlet)


def test_torch_and_sympy_are_imported_once(tmp_path):
    """Python's -X importtime lists each module when it is first imported: torch and SymPy are imported by
    the time the first command has answered, and a second command (a new point) imports nothing."""
    session = repl("grad sin(x) --x 1\nunlet marker\ngrad sin(x) --x 2\n", tmp_path, "-X", "importtime")
    assert session.returncode == 2 and session.stdout.count("value\t") == 2  # 2: the marker's error
    first, second = session.stderr.split("is not bound")
    modules = [[line.rpartition("|")[2].strip() for line in part.splitlines() if line.startswith("import time:")]
               for part in (first, second)]
    assert modules[0].count("torch") == modules[0].count("sympy") == 1
    assert modules[1] == []


def test_the_shell_module_imports_neither_torch_nor_sympy():
    probe = "import sys, derivcli.cli.repl; print(sorted({'torch', 'sympy', 'prompt_toolkit'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT,
                          timeout=120).stdout == "[]\n"


# ------------------------------------------------------------------------------------------------ history
def test_history_is_kept_across_sessions_only_for_the_user(tmp_path):
    repl("let x = 2\nunlet x\n\nunlet x\n", tmp_path)
    repl("let\n", tmp_path)
    directory = tmp_path / "state" / "derivcli"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((directory / "history").stat().st_mode) == 0o600
    assert (directory / "history").read_text() == "let x = 2\nunlet x\nlet\n"  # no blanks, no repeats


def test_history_stays_bounded(tmp_path):
    path = tmp_path / "state" / "derivcli" / "history"
    path.parent.mkdir(parents=True)
    path.write_text("".join(f"let x{index} = {index}\n" for index in range(2 * MAX_ENTRIES + 500)))
    assert repl("let\n", tmp_path).returncode == 0
    kept = path.read_text().splitlines()
    assert len(kept) == MAX_ENTRIES and kept[-2:] == [f"let x{2 * MAX_ENTRIES + 499} = {2 * MAX_ENTRIES + 499}", "let"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_history_lives_in_the_state_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert history_path() == tmp_path / "derivcli" / "history"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for ignored in ("", "relative/state"):  # the XDG spec ignores a relative path
        monkeypatch.setenv("XDG_STATE_HOME", ignored)
        assert history_path() == tmp_path / "home" / ".local" / "state" / "derivcli" / "history"


def test_a_history_that_cannot_be_kept_is_one_warning(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    history = History(tmp_path / "file" / "derivcli" / "history")
    history.add("let x = 1")
    history.add("let y = 1")
    assert capsys.readouterr().err.count("warning: history is not kept") == 1
    assert Shell(GROUP, [], history).run(plain_reader(io.StringIO("let x = 2\nlet\n"))) == 0
    assert capsys.readouterr() == ("x = 2\n", "")


def test_only_lines_worth_recalling_are_kept(tmp_path):
    history = History(tmp_path / "history")
    for line in ["grad x", "grad x", "", "a\x1bb", "x" * 20_000, "grad\tx"]:
        history.add(line)
    assert History(tmp_path / "history").entries == ["grad x", "grad\tx"]


# --------------------------------------------------------------------------- containment, in this process
def session(lines: str) -> int:
    return Shell(GROUP, [], History(None)).run(plain_reader(io.StringIO(lines)))


def test_the_session_exits_with_its_worst_lines_code(capsys):
    """`repl < file` is a script: 0 when every line ran, 1 when a check disagreed, 2 when a line failed."""
    assert session("let x = 2\ngrad x^2\n") == 0
    assert session("grad x^2 --x 1 --expect 3\ngrad x^2 --x 1\n") == 1
    assert session("grad x^2 --x 1 --expect 3\ngrad x^ --x 1\ngrad x^2 --x 1\nexit\n") == 2
    assert session("let 1x = 2\n") == 2
    capsys.readouterr()


def test_an_internal_error_or_a_commands_exit_does_not_end_the_session(monkeypatch, capsys):
    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr("derivcli.render.emit_functions", broken)
    assert session("functions\nlet x = 1\nlet\n") == 2
    out, err = capsys.readouterr()
    assert err.startswith("error: internal error: RuntimeError: boom") and len(err.splitlines()) == 1
    assert out == "x = 1\n"

    monkeypatch.setattr("derivcli.render.emit_functions", lambda *args: sys.exit(4))
    assert session("functions\nlet x = 1\nlet\n") == 2
    assert capsys.readouterr() == ("x = 1\n", "")

    monkeypatch.setattr("derivcli.render.emit_functions", broken)
    monkeypatch.setenv("DERIVCLI_DEBUG", "1")  # the traceback, for a developer, and still the prompt again
    assert session("functions\nlet x = 1\nlet\n") == 2
    out, err = capsys.readouterr()
    assert "Traceback" in err and "RuntimeError: boom" in err and out == "x = 1\n"


def test_the_shells_global_options_reach_every_line(tmp_path, monkeypatch, capsys):
    """`derivcli --no-files repl`: each line's command sets the global options anew, so the shell gives them
    to every line (and `let` checks values under them too)."""
    value = tmp_path / "x.json"
    value.write_text("[1, 2]")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setattr("derivcli.inputs.files._no_files", False)  # restored afterwards, for the other tests
    monkeypatch.setattr("sys.stdin", io.StringIO(f"let y = @{value}\ngrad sum(x) --x @{value}\nhelp\n"))
    assert main(["--no-files", "repl"]) == 2
    out, err = capsys.readouterr()
    said = errors(err)
    assert [line[:10] for line in said] == ["error: --y", "error: --x"]
    assert all(line.endswith(": files are turned off (--no-files or DERIVCLI_NO_FILES)") for line in said)
    assert "grad " in out and "let NAME = VALUE" in out and "repl" not in out.split()


# ----------------------------------------------------------------------------------------------- Tab
def offered(text: str, known: frozenset[str] = frozenset()) -> list[str]:
    return [offer.text for offer in completions(GROUP, text, known)]


def test_tab_offers_commands_and_the_shells_words():
    assert offered("gr") == ["grad", "graph"]
    assert offered("l")[:1] == ["let"] and "log" in offered("l")  # a line may also start an expression
    assert offered("he")[:1] == ["hessian"] and "help" in offered("he")
    first = offered("")
    assert {"grad", "batch", "let", "unlet", "exit"} <= set(first) and "repl" not in first
    assert offered("help h") == ["hessian"]
    assert offered("unlet ", frozenset({"x", "y"})) == ["x", "y"]


def test_tab_offers_options_and_their_values():
    assert offered('grad "sin(x)*y" --')[:2] == ["--x", "--y"]
    assert {"--check", "--dtype", "--wrt"} <= set(offered('grad "sin(x)*y" --'))
    assert offered('grad "sin(x)*y" --', frozenset({"x"}))[:1] == ["--y"]  # x is bound by let
    assert offered("grad x --dtype f") == ["float64", "float32"]
    assert offered('grad "x*y" --wrt ') == ["x", "y"]
    assert offered("x^2 --dtype f") == ["float64", "float32"]  # after a bare expression
    assert offered("x^2 --ch") == ["--check"]


def test_tab_offers_function_names_and_variables_in_the_expression():
    assert offered("grad co")[:4] == ["cos", "cosec", "cosech", "cosh"]
    assert "sinh" in offered('grad "x*si') and "sign" in offered('grad "x*si')
    assert [offer.replace for offer in completions(GROUP, 'grad "x*si', frozenset())] == [2] * len(offered("si"))
    assert offered('grad "x_long + x_') == ["x_long"]
    assert offered("x_long*y + x_") == ["x_long"]  # a bare expression
    assert offered("grad th", frozenset({"theta0"}))[:1] == ["theta0"]
    assert offered("grad x --x ") == [] and offered("grad x --dtype zz") == []  # values are no expression


# ---------------------------------------------------------------------------------------- prompt_toolkit
def test_prompt_toolkit_reads_lines_recalls_history_and_cancels(tmp_path, capsys):
    pytest.importorskip("prompt_toolkit")
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from derivcli.cli.repl import terminal_reader

    path = tmp_path / "history"
    path.write_text("functions --format plain\n")  # an earlier session's
    with create_pipe_input() as keys:
        shell = Shell(GROUP, [], History(path))
        read = terminal_reader(shell, input=keys, output=DummyOutput())
        assert read is not None
        keys.send_text("\x1b[A\r"  # up: the earlier session's line, run again
                       "let x = 3\rgrad x^2\r"
                       "\x03"  # Ctrl-C on an empty line
                       "grad oops\x03"  # Ctrl-C drops the typed line: nothing runs
                       "\x04")  # Ctrl-D leaves
        assert shell.run(read) == 0
    out, err = capsys.readouterr()
    assert "sin\t" in out and out.endswith(plain(9.0, x=6.0)) and err == ""
    assert path.read_text() == "functions --format plain\nlet x = 3\ngrad x^2\n"


def test_a_terminal_session_completes_with_tab(tmp_path):
    """Through a real terminal: Tab completes a command, the command runs, Ctrl-D leaves with exit 0."""
    pytest.importorskip("prompt_toolkit")
    pid, terminal = pty.fork()
    if pid == 0:  # the child: derivcli repl on the terminal
        try:
            os.chdir(tmp_path)
            os.environ.update(COLD, XDG_STATE_HOME=str(tmp_path), PROMPT_TOOLKIT_NO_CPR="1")
            os.execv(sys.executable, [sys.executable, "-m", "derivcli", "repl"])
        finally:
            os._exit(127)
    seen = b""

    def until(text: bytes, deadline: float = 120) -> None:
        nonlocal seen
        end = time.monotonic() + deadline
        while text not in seen and time.monotonic() < end:
            if select.select([terminal], [], [], 0.5)[0]:  # (escape codes out: a slow redraw splits words)
                seen += re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", os.read(terminal, 65536))
        assert text in seen, seen[-2000:]
        seen = seen[seen.index(text) + len(text):]

    try:
        until(b"derivcli>")
        os.write(terminal, b"hessi\t")
        until(b"hessian")
        os.write(terminal, b" x^3 --x 2\r")
        until(b"12.0")
        until(b"derivcli>")
        os.write(terminal, b"\x04")
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(terminal)
    assert os.waitstatus_to_exitcode(status) == 0
