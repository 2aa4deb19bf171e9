"""Warm against cold: `derivcli grad "sin(x)" --x 1` run cold (DERIVCLI_NO_SERVER=1) and answered by a warm
server started here (in a private XDG_RUNTIME_DIR), beside `python -c pass`, the floor of any Python
command (the same interpreter, so both pay its `site`: ~40 ms in a virtual environment with derivcli
installed editable, whose import finder loads pathlib).

All run alternately in the same loop (the machine's load affects them alike), warm first: the server
prepares its next child while the cold one starts, not while `python -c pass` runs.  Prints the machine's
state, the median of each and the ratios, and checks that the server answered every warm call.  derivcli
is imported from a snapshot of the package (a source file edited meanwhile would make the server another
build, whose clients run cold), from bytecode as an installed one is.  Usage: python benchmarks/serve.py [runs]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import cache_bytecode, interleaved_medians, machine

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 15
SCRIPT = str(Path(sys.executable).with_name("derivcli"))
GRAD = ["grad", "sin(x)", "--x", "1"]
COMMANDS = {
    "warm": ["env", SCRIPT, *GRAD],  # `env` in both, so that they differ only in the server
    "cold": ["env", "DERIVCLI_NO_SERVER=1", SCRIPT, *GRAD],
    "python": [sys.executable, "-c", "pass"],
}


def main() -> None:
    runtime = tempfile.mkdtemp(prefix="derivcli-benchmark-")
    shutil.copytree(Path(__file__).resolve().parent.parent / "derivcli", Path(runtime, "snapshot", "derivcli"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    os.environ["PYTHONPATH"] = str(Path(runtime, "snapshot"))
    os.environ["XDG_RUNTIME_DIR"] = runtime
    os.environ.pop("DERIVCLI_NO_SERVER", None)
    cache_bytecode(runtime)  # before the server starts: the environment is part of its build
    subprocess.run([SCRIPT, "serve", "--background", "--idle-timeout", "600"], check=True, capture_output=True)
    try:
        interleaved_medians({"warm": COMMANDS["warm"]}, 1, check=True)  # writes the client's bytecode
        print(f"before: {machine()}")
        median = interleaved_medians(COMMANDS, RUNS, check=True)
        print(f"after : {machine()}")
        status = subprocess.run([SCRIPT, "serve", "--status"], check=True, capture_output=True, text=True).stdout
    finally:
        subprocess.run([SCRIPT, "serve", "--stop"], capture_output=True)
        shutil.rmtree(runtime, ignore_errors=True)
    answered = f" {RUNS + 1} commands answered" in status
    print(f"python -c pass      : {median['python']:.3f} s (median of {RUNS})")
    print(f"derivcli grad, cold : {median['cold']:.3f} s")
    print(f"derivcli grad, warm : {median['warm']:.3f} s{'' if answered else '  (NOT all answered by the server)'}")
    print(f"ratio cold / warm   : {median['cold'] / median['warm']:.1f}")
    print(f"ratio warm / python -c pass: {median['warm'] / median['python']:.2f} (target 2)")


if __name__ == "__main__":
    main()
