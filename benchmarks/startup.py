"""Start-up cost: one `derivcli grad` call end to end against `python -c "import torch, sympy"`, and a
mistake in the expression against `derivcli --help` (it is reported before torch or SymPy is imported).

All run alternately in the same loop (the machine's load affects them alike); prints the median of
each and the ratios.  Usage: python benchmarks/startup.py [runs]
"""

from __future__ import annotations

import sys

from timing import interleaved_medians

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 7
COMMANDS = {
    "grad": [sys.executable, "-m", "derivcli", "grad", "exp(-(x**2-x+1)/cos(log(x))**2)", "--x", "1"],
    "imports": [sys.executable, "-c", "import torch, sympy"],
    "help": [sys.executable, "-m", "derivcli", "--help"],
    "parse error": [sys.executable, "-m", "derivcli", "grad", "sin x +", "--x", "1"],
}


def main() -> None:
    median = interleaved_medians(COMMANDS, RUNS)
    print(f"import torch, sympy : {median['imports']:.3f} s (median of {RUNS})")
    print(f"derivcli grad       : {median['grad']:.3f} s")
    print(f"derivcli --help     : {median['help']:.3f} s")
    print(f"a parse error       : {median['parse error']:.3f} s")
    print(f"ratio grad / imports: {median['grad'] / median['imports']:.2f}")
    print(f"ratio parse error / --help: {median['parse error'] / median['help']:.2f}")


if __name__ == "__main__":
    main()
