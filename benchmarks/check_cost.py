"""What --check and --fd cost on the README example: `derivcli grad … --check` (and `--fd`) against
`derivcli grad …` alone, whole processes, run alternately in one loop (the machine's load affects them
alike); prints the medians and the ratios.  Usage: python benchmarks/check_cost.py [runs]
"""

from __future__ import annotations

import sys

from timing import interleaved_medians

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 7
GRAD = [sys.executable, "-m", "derivcli", "grad", "exp(-(x**2-x+1)/cos(log(x))**2)", "--x", "1"]
COMMANDS = {"grad": GRAD, "grad --check": [*GRAD, "--check"], "grad --check --fd": [*GRAD, "--check", "--fd"]}


def main() -> None:
    median = interleaved_medians(COMMANDS, RUNS, check=True)
    for name, value in median.items():
        print(f"{name:18}: {value:.3f} s (median of {RUNS})")
    print(f"ratio --check / grad: {median['grad --check'] / median['grad']:.2f} (target <= 1.3)")
    print(f"ratio --check --fd / grad: {median['grad --check --fd'] / median['grad']:.2f}")


if __name__ == "__main__":
    main()
