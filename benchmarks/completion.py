"""Tab cost: one completion request of each kind (commands, an option's values, the expression's
variables) against the same request to a minimal two-command Typer app (`timing.MINIMAL_APP`: a command
name, an option name), the least a Typer app's completion costs.

All run alternately in the same loop (the machine's load affects them alike); prints the machine's state,
the median of each and its ratio to the minimal app's.  Usage: python benchmarks/completion.py [runs]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from timing import cache_bytecode, interleaved_medians, machine, minimal_app

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 11
SCRIPT = shutil.which("derivcli", path=str(Path(sys.executable).parent)) or "derivcli"
LINES = {  # what a shell hands over on Tab: the line up to the cursor
    "commands": "derivcli gr",
    "values": "derivcli grad x --dtype ",
    "variables": 'derivcli grad "sin(x)*y" --wrt ',
}
MINIMAL = {"minimal: commands": ("minimal he", "1"), "minimal: options": ("minimal bye --", "2")}
AGAINST = {"commands": "minimal: commands", "values": "minimal: options", "variables": "minimal: options"}


def request(line: str) -> list[str]:
    """A completion request as the bash script makes it (the console script, as the shell runs it)."""
    return ["env", f"COMP_LINE={line}", "_DERIVCLI_COMPLETE=complete_bash", SCRIPT]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="derivcli-completion-") as directory:
        cache_bytecode(directory)
        minimal = minimal_app(directory)
        commands = {**{kind: ["env", f"COMP_WORDS={words}", f"COMP_CWORD={word}", "_MINIMAL_COMPLETE=complete_bash",
                              *minimal] for kind, (words, word) in MINIMAL.items()},
                    **{kind: request(line) for kind, line in LINES.items()}}
        interleaved_medians(commands, 1, check=True)  # writes the bytecode
        print(f"before: {machine()}")
        median = interleaved_medians(commands, RUNS, check=True)
        print(f"after : {machine()}")
    for kind in MINIMAL:
        print(f"{kind:<20}: {median[kind]:.3f} s (median of {RUNS})")
    ratios = {kind: median[kind] / median[AGAINST[kind]] for kind in LINES}
    for kind, line in LINES.items():
        print(f"{kind:<20}: {median[kind]:.3f} s  ratio {ratios[kind]:.2f} to {AGAINST[kind]}  ({line!r})")
    print(f"worst ratio         : {max(ratios.values()):.2f} (target 1.2)")


if __name__ == "__main__":
    main()
