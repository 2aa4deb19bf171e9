"""No needless weight: each point command against `derivcli grad` of the same expression (issue 16 asks
for at most 1.2x where no symbolic work is asked for), and a mistake in a binding's value against
`derivcli --help` (it is reported before torch or SymPy is imported).

All run alternately in the same loop; prints each median and the ratio.  `taylor` includes SymPy's series,
run beside torch's work, so its ratio is shown but not held to 1.2x.
Usage: python benchmarks/commands.py [runs]
"""

from __future__ import annotations

import sys

from timing import interleaved_medians

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 7
DERIVCLI = [sys.executable, "-m", "derivcli"]
COMMANDS = {
    "grad": [*DERIVCLI, "grad", "x**2*y + sin(x)", "--x", "1", "--y", "2"],
    "hessian": [*DERIVCLI, "hessian", "x**2*y + sin(x)", "--x", "1", "--y", "2"],
    "jacobian": [*DERIVCLI, "jacobian", "softmax(a)", "--a", "[1, 2, 3]"],
    "grad of sum(softmax)": [*DERIVCLI, "grad", "sum(softmax(a))", "--a", "[1, 2, 3]"],
    "diff at a point": [*DERIVCLI, "diff", "x**2*y + sin(x)", "--wrt", "x", "--x", "1", "--y", "2", "--no-formula"],
    "taylor": [*DERIVCLI, "taylor", "sin(x)*exp(x)", "--x", "0", "--order", "6"],
    "grad of taylor's": [*DERIVCLI, "grad", "sin(x)*exp(x)", "--x", "0"],
    "help": [*DERIVCLI, "--help"],
    "bad value": [*DERIVCLI, "grad", "x", "--x", "[1, 2"],
}
AGAINST = {"hessian": "grad", "jacobian": "grad of sum(softmax)", "diff at a point": "grad",
           "taylor": "grad of taylor's", "bad value": "help"}


def main() -> None:
    median = interleaved_medians(COMMANDS, RUNS)
    for name, seconds in median.items():
        print(f"{name:22}: {seconds:.3f} s (median of {RUNS})")
    for name, base in AGAINST.items():
        print(f"ratio {name} / {base}: {median[name] / median[base]:.2f}")


if __name__ == "__main__":
    main()
