"""Start-up cost: one `derivcli grad` call end to end against `python -c "import torch, sympy"`; `derivcli
--help` (the console script, as a user runs it) against the `--help` of a minimal two-command Typer app
(`timing.MINIMAL_APP`); and a mistake in the expression against `derivcli --help` (it is reported before
torch or SymPy is imported).

All run alternately in the same loop (the machine's load affects them alike); prints the machine's state,
the median of each and the ratios.  Usage: python benchmarks/startup.py [runs]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from timing import cache_bytecode, interleaved_medians, machine, minimal_app

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 7
SCRIPT = shutil.which("derivcli", path=str(Path(sys.executable).parent)) or "derivcli"


def main() -> None:
    os.environ["DERIVCLI_NO_SERVER"] = "1"  # help runs cold anyway; grad must too
    with tempfile.TemporaryDirectory(prefix="derivcli-startup-") as directory:
        commands = {
            "grad": [sys.executable, "-m", "derivcli", "grad", "exp(-(x**2-x+1)/cos(log(x))**2)", "--x", "1"],
            "imports": [sys.executable, "-c", "import torch, sympy"],
            "help": [SCRIPT, "--help"],
            "minimal help": [*minimal_app(directory), "--help"],
            "parse error": [SCRIPT, "grad", "sin x +", "--x", "1"],
        }
        cache_bytecode(directory)
        interleaved_medians(commands, 1)  # writes the bytecode
        print(f"before: {machine()}")
        median = interleaved_medians(commands, RUNS)
        print(f"after : {machine()}")
    print(f"import torch, sympy : {median['imports']:.3f} s (median of {RUNS})")
    print(f"derivcli grad       : {median['grad']:.3f} s")
    print(f"minimal app --help  : {median['minimal help']:.3f} s")
    print(f"derivcli --help     : {median['help']:.3f} s")
    print(f"a parse error       : {median['parse error']:.3f} s")
    print(f"ratio grad / imports: {median['grad'] / median['imports']:.2f}")
    print(f"ratio --help / minimal app's --help: {median['help'] / median['minimal help']:.2f} (target 1.2)")
    print(f"ratio parse error / --help: {median['parse error'] / median['help']:.2f}")


if __name__ == "__main__":
    main()
