"""Tab cost: one completion request of each kind (commands, an option's values, the expression's
variables) against `python -c "import typer"`, the least a Typer app's completion can cost.

All run alternately in the same loop (the machine's load affects them alike); prints the median of
each and its ratio to importing typer.  Usage: python benchmarks/completion.py [runs]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from timing import interleaved_medians

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 11
SCRIPT = shutil.which("derivcli", path=str(Path(sys.executable).parent)) or "derivcli"
LINES = {  # what a shell hands over on Tab: the line up to the cursor
    "commands": "derivcli gr",
    "values": "derivcli grad x --dtype ",
    "variables": 'derivcli grad "sin(x)*y" --wrt ',
}


def request(line: str) -> list[str]:
    """A completion request as the bash script makes it (the console script, as the shell runs it)."""
    return ["env", f"COMP_LINE={line}", "_DERIVCLI_COMPLETE=complete_bash", SCRIPT]


def main() -> None:
    commands = {"import typer": [sys.executable, "-c", "import typer"],
                **{kind: request(line) for kind, line in LINES.items()}}
    # An installed derivcli runs from bytecode: let every process cache its own (outside the tree), even
    # where PYTHONDONTWRITEBYTECODE is set, or each request would compile derivcli from source.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory(prefix="derivcli-pycache-") as cache:
        os.environ["PYTHONPYCACHEPREFIX"] = cache
        interleaved_medians(commands, 1, check=True)  # writes the bytecode
        median = interleaved_medians(commands, RUNS, check=True)
    baseline = median["import typer"]
    print(f"import typer        : {baseline:.3f} s (median of {RUNS})")
    for kind, line in LINES.items():
        print(f"{kind:<20}: {median[kind]:.3f} s  ratio {median[kind] / baseline:.2f}  ({line!r})")
    print(f"worst ratio         : {max(median[kind] for kind in LINES) / baseline:.2f} (target 1.5)")


if __name__ == "__main__":
    main()
