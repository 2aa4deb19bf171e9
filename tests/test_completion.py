"""Tab completion: what each partial line offers, the generated scripts, and real bash, zsh and fish."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer

from derivcli.cli import app
from derivcli.cli.completion import CHOICES, BashComplete, FishComplete, ZshComplete

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = shutil.which("derivcli", path=str(Path(sys.executable).parent)) or shutil.which("derivcli")
SHELLS = {"bash": BashComplete, "zsh": ZshComplete, "fish": FishComplete}
FILES = {"bash": "derivcli.bash", "zsh": "_derivcli", "fish": "derivcli.fish"}
VARIABLES = 'derivcli grad "sin(x)*y"'


def run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, **(env or {})})


def values(answer: str) -> list[str]:
    """The values in a completion answer (`plain,VALUE`, then a tab and the help for fish; zsh has a tab for
    the comma), `file` for file names."""
    rows = [row.replace("\t", ",", 1) if row.startswith(("plain\t", "file\t")) else row
            for row in answer.splitlines()]
    return ["file" if row == "file," else row.removeprefix("plain,").split("\t")[0] for row in rows]


def offered(line: str, monkeypatch: pytest.MonkeyPatch, shell: str = "bash") -> list[str]:
    """What one completion request for `line` (up to the cursor) answers."""
    monkeypatch.setenv("COMP_LINE", line)
    return values(SHELLS[shell](typer.main.get_command(app), {}, "derivcli", "_DERIVCLI_COMPLETE").complete())


# ------------------------------------------------------------------------------------- what is offered
def test_commands(monkeypatch):
    assert offered("derivcli gr", monkeypatch) == ["grad", "graph"]
    assert offered("derivcli ", monkeypatch) == list(typer.main.get_command(app).commands)
    assert {"--version", "--max-memory", "--install-completion"} <= set(offered("derivcli -", monkeypatch))


def test_options_start_with_the_expressions_variables(monkeypatch):
    options = offered(f"{VARIABLES} --", monkeypatch)
    assert options[:2] == ["--x", "--y"]
    assert {"--check", "--dtype", "--wrt", "--help"} <= set(options)
    assert offered(f"{VARIABLES} --c", monkeypatch) == ["--check", "--compile"]


def test_bound_variables_and_given_options_are_not_offered_again(monkeypatch):
    assert offered(f"{VARIABLES} --x 1 --check --", monkeypatch)[0] == "--y"
    rest = offered(f"{VARIABLES} --x=1 --var y=2 --check --wrt x --", monkeypatch)
    assert "--x" not in rest and "--y" not in rest and "--check" not in rest
    assert "--wrt" in rest  # it may be repeated


def test_wrt_offers_the_variables_as_the_parser_reads_them(monkeypatch):
    assert offered(f"{VARIABLES} --wrt ", monkeypatch) == ["x", "y"]
    assert offered(f"{VARIABLES} --wrt x,", monkeypatch) == ["x,x", "x,y"]
    assert offered('derivcli diff "xy + pi*e" --wrt ', monkeypatch) == ["x", "y"]  # run-together letters; constants
    assert offered('derivcli taylor "e*t" --e 2 --wrt ', monkeypatch) == ["e", "t"]  # bound: e is a variable
    assert offered('derivcli grad -- "-b*a" --', monkeypatch)[:2] == ["--b", "--a"]  # in the order written


@pytest.mark.parametrize("expression", ["sin(x", "x +* y", "))", "\\frac{x}{y}", "x" * 20_000, "import os"])
def test_an_expression_that_does_not_parse_or_is_latex_offers_the_options(expression, monkeypatch):
    options = offered(f"derivcli grad '{expression}' --", monkeypatch)
    assert options[0] == "--wrt" and "--check" in options
    assert offered(f"derivcli grad '{expression}' --wrt ", monkeypatch) == []


@pytest.mark.parametrize("line, option", [("derivcli grad x", "--dtype"), ("derivcli jacobian x", "--device"),
                                          ("derivcli functions", "--format"), ("derivcli minimize x", "--optimizer"),
                                          ("derivcli grad x", "--fd-steps")])
def test_option_values_are_their_choices(line, option, monkeypatch):
    assert offered(f"{line} {option} ", monkeypatch) == list(CHOICES[option])
    assert offered(f"{line} {option} {CHOICES[option][1][0]}", monkeypatch)[-1] == CHOICES[option][1]


def test_a_value_after_equals_or_colon_completes_the_part_the_shell_replaces(monkeypatch):
    assert offered("derivcli grad x --dtype=f", monkeypatch) == ["float64", "float32"]  # readline: after '='
    assert offered("derivcli grad x --dtype=f", monkeypatch, "zsh") == ["--dtype=float64", "--dtype=float32"]
    assert offered("derivcli grad x --fd-steps 1e-1:", monkeypatch) == ["1e-10"]
    assert offered("derivcli grad x --fd-steps 1e-1:", monkeypatch, "fish") == ["1e-1:1e-10"]


@pytest.mark.parametrize("line", ["derivcli grad x --points ", "derivcli grad x --output o",
                                  "derivcli plot x --output "])
def test_options_that_take_a_file_complete_file_names(line, monkeypatch):
    assert offered(line, monkeypatch) == ["file"]


@pytest.mark.parametrize("line", ["derivcli grad ", "derivcli grad x --x ", "derivcli minimize x --lr ",
                                  "derivcli taylor x --device ", "derivcli --max-memory ", "derivcli nothing "])
def test_nothing_else_completes_file_names(line, monkeypatch):
    assert offered(line, monkeypatch) == []  # taylor has no --device: there it binds a variable


def test_a_binding_without_its_value_lets_the_next_option_complete(monkeypatch):
    assert "--check" in offered(f"{VARIABLES} --x --", monkeypatch)


# ----------------------------------------------------------------------------- requests as processes
def _request(line: str, shell: str = "bash") -> tuple[str, dict[str, bool]]:
    """One completion request as the shells make it: its answer, and whether torch and SymPy were imported."""
    code = (
        "import sys, json\n"
        "from derivcli.cli import main\n"
        "try:\n    main([])\nexcept SystemExit:\n    pass\n"
        "sys.stdout.flush()\n"
        "sys.stderr.write(json.dumps({m: m in sys.modules for m in ('torch', 'sympy')}))\n"
    )
    result = run([sys.executable, "-c", code], env={"_DERIVCLI_COMPLETE": f"complete_{shell}", "COMP_LINE": line})
    return result.stdout, json.loads(result.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("line, answer", [
    ("derivcli gr", "grad"), (f"{VARIABLES} --", "--y"), (f"{VARIABLES} --wrt ", "y"),
    ("derivcli grad x --dtype ", "float32"), ("derivcli grad '\\frac{x}{y}' --", "--check"),
    ("derivcli grad 'sin(' --", "--check"),
])
@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_never_imports_torch_or_sympy(line, answer, shell):
    stdout, imported = _request(line, shell)
    assert answer in values(stdout)
    assert imported == {"torch": False, "sympy": False}


@pytest.mark.parametrize("line", ['derivcli grad "sin(x --', "derivcli grad '' --", "derivcli grad '\\frac{' --wrt ",
                                  "derivcli grad x\\", 'derivcli "'])
def test_a_malformed_line_is_answered_without_a_traceback(line):
    result = run([sys.executable, "-m", "derivcli"], env={"_DERIVCLI_COMPLETE": "complete_bash", "COMP_LINE": line})
    assert result.returncode == 0 and result.stderr == ""


@pytest.mark.parametrize("shell", sorted(FILES))
def test_completion_scripts_match_what_the_app_generates(shell):
    env = {"_DERIVCLI_COMPLETE": f"source_{shell}"}
    generated = run([sys.executable, "-c", "from derivcli.cli import app; app(prog_name='derivcli')"], env=env)
    assert generated.returncode == 0
    assert generated.stdout == (ROOT / "completions" / FILES[shell]).read_text(), (
        f"completions/{FILES[shell]} is stale: regenerate with "
        f"_DERIVCLI_COMPLETE=source_{shell} derivcli > completions/{FILES[shell]}")


def test_zsh_script_opens_with_compdef_for_compinit():
    assert (ROOT / "completions" / "_derivcli").read_text().startswith("#compdef derivcli\n")


@pytest.mark.parametrize("shell", sorted(FILES))
def test_show_completion_prints_the_same_script(shell):
    shown = run([sys.executable, "-m", "derivcli", "--show-completion", shell],
                env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert shown.stdout == (ROOT / "completions" / FILES[shell]).read_text()


# ------------------------------------------------------------------------------------------ real shells
def _shell_env() -> dict[str, str]:
    assert SCRIPT is not None
    return {**os.environ, "PATH": os.pathsep.join([str(Path(SCRIPT).parent), os.environ.get("PATH", "")])}


def _needs(shell: str):
    return pytest.mark.skipif(shutil.which(shell) is None or SCRIPT is None,
                              reason=f"{shell} or the derivcli script is not installed")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A directory with one file, which only file-taking options may offer."""
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "data.csv").write_text("x\n1\n")
    return tmp_path / "work"


BASH_TAB = """
source "$1"
complete -p derivcli
compopt() { echo "compopt $*"; }  # the builtin works only inside readline's completion
COMP_LINE=$2 COMP_POINT=${#2}
_derivcli_completion derivcli
printf '%s\\n' "${COMPREPLY[@]}"
"""


@_needs("bash")
@pytest.mark.parametrize("line, answer", [
    ("derivcli gr", ["grad", "graph"]),
    (f"{VARIABLES} --wrt ", ["x", "y"]),
    ("derivcli grad x --dtype ", ["float64", "float32"]),
    ("derivcli grad x --dtype=f", ["float64", "float32"]),
    ("derivcli grad x --fd-steps 1e-1:", ["1e-10"]),
    ("derivcli grad x --points ", ["compopt -o default"]),
    ("derivcli grad x --x ", []),
])
def test_bash(line, answer, workdir):
    result = subprocess.run(["bash", "--norc", "--noprofile", "-c", BASH_TAB, "bash",
                             str(ROOT / "completions" / FILES["bash"]), line],
                            capture_output=True, text=True, timeout=60, cwd=workdir, env=_shell_env())
    registered, *candidates = result.stdout.splitlines()
    assert registered == "complete -o nosort -F _derivcli_completion derivcli"  # no -o default: files only when asked
    assert [row for row in candidates if row] == answer, result.stderr


MARK = "END-OF-CANDIDATES"
ZSH_RECORDER = """
compadd() { builtin compadd -O reply "$@"; print -lr -- "$reply[@]" >> RECORD; builtin compadd "$@" }
_tab_complete() { _main_complete; print MARK >> RECORD }
zle -C tab-complete complete-word _tab_complete
bindkey '^I' tab-complete
"""


def zsh_tab(line: str, cwd: Path, setup: str) -> list[str]:
    """The candidates one Tab after `line` offers in an interactive zsh on a pseudo-terminal: compadd
    records each match it adds, and the Tab widget marks the end."""
    record = cwd.parent / "candidates"
    record.unlink(missing_ok=True)
    typed = setup + ZSH_RECORDER.replace("RECORD", str(record)).replace("MARK", MARK) + line + "\t"
    pid, terminal = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        os.execvpe("zsh", ["zsh", "-f", "-i"], _shell_env())
    try:
        os.write(terminal, typed.encode())
        deadline = time.monotonic() + 60
        while not (record.exists() and MARK in record.read_text()):
            assert time.monotonic() < deadline, f"no completion for {line!r}"
            if select.select([terminal], [], [], 0.05)[0]:
                os.read(terminal, 65536)
        return list(dict.fromkeys(record.read_text().split("\n")[:-2]))  # _describe adds each match twice
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(terminal)


ZSH_FPATH = f"fpath=({ROOT / 'completions'} $fpath); autoload -Uz compinit; compinit -u -D"


@_needs("zsh")
@pytest.mark.parametrize("line, answer", [
    ("derivcli gr", ["grad", "graph"]),
    (f"{VARIABLES} --wrt ", ["x", "y"]),
    ("derivcli grad x --dtype ", ["float64", "float32"]),
    ("derivcli grad x --dtype=f", ["--dtype=float64", "--dtype=float32"]),
    ("derivcli grad x --fd-steps ", ["1e-1:1e-10", "0.1,0.01,0.001"]),
    ("derivcli grad x --points ", ["data.csv"]),
    ("derivcli grad x --x ", []),
])
def test_zsh_compinit_finds_the_script_on_fpath(line, answer, workdir):
    assert zsh_tab(line, workdir, ZSH_FPATH) == answer


@_needs("zsh")
def test_zsh_options_and_a_sourced_script(workdir):
    options = zsh_tab(f"{VARIABLES} --", workdir, ZSH_FPATH)
    assert options[:2] == ["--x", "--y"] and "--check" in options
    sourced = f"autoload -Uz compinit; compinit -u -D; source {ROOT / 'completions' / FILES['zsh']}"
    assert zsh_tab("derivcli gr", workdir, sourced) == ["grad", "graph"]


@_needs("fish")
@pytest.mark.parametrize("line, answer", [
    ("derivcli gr", ["grad", "graph"]),
    (f"{VARIABLES} --wrt ", ["x", "y"]),
    ("derivcli grad x --dtype ", ["float32", "float64"]),
    ("derivcli grad x --fd-steps 1e-1:", ["1e-1:1e-10"]),
    ("derivcli grad x --points ", ["data.csv"]),
    ("derivcli grad x --x ", []),
])
def test_fish(line, answer, workdir):
    result = subprocess.run(["fish", "--no-config", "-c", "set -p fish_complete_path $argv[1]; complete -C $argv[2]",
                             str(ROOT / "completions"), line],
                            capture_output=True, text=True, timeout=60, cwd=workdir, env=_shell_env())
    assert [row.split("\t")[0] for row in result.stdout.splitlines()] == answer, result.stderr


@_needs("fish")
def test_fish_options_and_their_help(workdir):
    result = subprocess.run(["fish", "--no-config", "-c", "set -p fish_complete_path $argv[1]; complete -C $argv[2]",
                             str(ROOT / "completions"), f"{VARIABLES} --"],
                            capture_output=True, text=True, timeout=60, cwd=workdir, env=_shell_env())
    rows = dict(row.split("\t") for row in result.stdout.splitlines())
    assert rows["--x"] == "value of the variable x" and rows["--dtype"] == "The working precision."
