"""Real processes: the installed script, `python -m derivcli`, pipes and start-up imports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
MISSION = "exp(-(x**2-x+1)/cos(log(x))**2)"
SCRIPT = shutil.which("derivcli", path=str(Path(sys.executable).parent)) or shutil.which("derivcli")


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=ROOT, **kwargs)


def test_python_dash_m():
    result = run([sys.executable, "-m", "derivcli", "grad", MISSION, "--x", "1"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "value\t0.36787944117144233\nd/dx\t-0.36787944117144233\n"


@pytest.mark.skipif(SCRIPT is None, reason="derivcli is not installed as a script")
def test_installed_script_json_and_exit_codes():
    result = run([SCRIPT, "grad", "u**2 + v**3 + u*v", "--u", "2", "--v", "4", "--json"])
    assert result.returncode == 0
    assert json.loads(result.stdout)["gradient"] == {"u": 8.0, "v": 50.0}
    bad = run([SCRIPT, "grad", "sin(x", "--x", "1"])
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("error: '(' is never closed")
    kink = run([SCRIPT, "grad", "max(x, 1, 2-x)", "--x", "1", "--check"])  # a fact about f: exit 0
    assert kink.returncode == 0 and "kink" in kink.stdout  # (exit 1 for a disagreement: test_cli)


@pytest.mark.skipif(SCRIPT is None, reason="derivcli is not installed as a script")
def test_pipe_gets_plain_lines_that_cut_can_read():
    pipeline = f"'{SCRIPT}' grad 'x**2' --x 3 | cut -f2"
    result = run(["bash", "-c", pipeline])
    assert result.stdout == "9.0\n6.0\n"


@pytest.mark.skipif(SCRIPT is None, reason="derivcli is not installed as a script")
def test_closed_pipe_is_quiet():
    result = run(["bash", "-c", f"'{SCRIPT}' grad 'x**2' --x 3 --fd | head -c 1"])
    assert "Traceback" not in result.stderr and "error" not in result.stderr


def _imports_after(argv: list[str], env: dict[str, str] | None = None, stdin: Any = None) -> dict[str, bool]:
    code = (
        "import sys, json\n"
        "from derivcli.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "sys.stdout.flush()\n"
        "sys.stderr.write(json.dumps({m: m in sys.modules for m in ('torch', 'sympy')}))\n"
    )
    result = run([sys.executable, "-c", code], env={**os.environ, **(env or {})}, stdin=stdin)
    return json.loads(result.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [
    ["grad", "sin(x", "--x", "1"],                   # the expression
    ["grad", "x", "--x", "foo("],                     # a value's syntax
    ["grad", "x", "--x", "y + 1"],                    # a value with a variable
    ["grad", "x", "--x", "[1, 2"],                    # a list
    ["grad", "x", "--x", "[[1, 2], [3]]"],            # a ragged list
    ["hessian", "x", "--x", "zeros(-1)"],             # a constructor
    ["jacobian", "x", "--var", "x=1e400"],            # an overflow, through --var
    ["diff", "x**2", "--x", "1", "--lr", "0.1"],      # an option of another command
    ["implicit", "x^2 + y^2 = 25 +"],                 # a side of an equation
    ["plot", "--implicit", "x^2 = = 1", "--x", "1"],  # an equation with two '='
])
def test_mistakes_in_the_text_are_reported_before_torch_or_sympy_is_imported(argv):
    assert _imports_after(argv) == {"torch": False, "sympy": False}


def test_values_from_an_empty_stdin_need_neither_torch_nor_sympy():
    """`--x -` imports them with the first value: an empty or closed stdin (test_surroundings) is answered
    at once, where it cost the 1.3 s of importing torch."""
    assert _imports_after(["grad", "x", "--x", "-"], stdin=subprocess.DEVNULL) == {"torch": False, "sympy": False}


@pytest.mark.parametrize("argv", [["--help"], ["grad", "--help"], ["functions"], ["--version"]])
def test_help_and_listing_never_import_torch_or_sympy(argv):
    assert _imports_after(argv) == {"torch": False, "sympy": False}
