"""Start-up cost: one `derivcli grad` call end to end against `python -c "import torch, sympy"`.

Both run alternately in the same process loop (the machine's load affects both alike); prints the
median of each and their ratio.  Usage: python benchmarks/startup.py [runs]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 7
GRAD = [sys.executable, "-m", "derivcli", "grad", "exp(-(x**2-x+1)/cos(log(x))**2)", "--x", "1"]
IMPORTS = [sys.executable, "-c", "import torch, sympy"]
HELP = [sys.executable, "-m", "derivcli", "--help"]


def seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    timings: dict[str, list[float]] = {"grad": [], "imports": [], "help": []}
    for _ in range(RUNS):
        timings["grad"].append(seconds(GRAD))
        timings["imports"].append(seconds(IMPORTS))
        timings["help"].append(seconds(HELP))
    median = {name: statistics.median(values) for name, values in timings.items()}
    print(f"import torch, sympy : {median['imports']:.3f} s (median of {RUNS})")
    print(f"derivcli grad       : {median['grad']:.3f} s")
    print(f"derivcli --help     : {median['help']:.3f} s")
    print(f"ratio grad / imports: {median['grad'] / median['imports']:.2f}")


if __name__ == "__main__":
    main()
