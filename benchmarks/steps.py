"""`derivcli steps` against its targets (issue 15): the README example within 2x a `grad --check` of it,
and a 200-character expression within 3 s, each a whole process (imports included).

All run alternately in the same loop; prints each median, the ratio and the verdicts.
Usage: python benchmarks/steps.py [runs]
"""

from __future__ import annotations

import sys

from timing import interleaved_medians

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
# derivcli's own entry point, with the steps command loaded whether or not derivcli.cli registers it yet
DERIVCLI = [sys.executable, "-c", "import derivcli.cli.learn; from derivcli.cli import run; run()"]
MISSION = "exp(-(x**2-x+1)/cos(log(x))**2)"
LONG = ("sin(x)*cos(x)*tan(x) + exp(sin(x**2 - 3*x + 1))/(1 + x**2) + log(1 + x**2)*sqrt(x**2 + 4) - "
        "atan(x**3)*sinh(x/4) + cosh(x)**3/(2 + sin(x)) + x**x*tanh(x) + sigmoid(2*x - 1)*erf(x/30) + cos(x)**2/(x+3)")
COMMANDS = {
    "grad --check": [*DERIVCLI, "grad", MISSION, "--x", "1", "--check"],
    "steps": [*DERIVCLI, "steps", MISSION, "--x", "1"],
    f"steps, {len(LONG)} characters": [*DERIVCLI, "steps", LONG, "--x", "1.3"],
}


def main() -> None:
    median = interleaved_medians(COMMANDS, RUNS, check=True)
    for name, seconds in median.items():
        print(f"{name:24}: {seconds:.3f} s (median of {RUNS})")
    ratio = median["steps"] / median["grad --check"]
    print(f"ratio steps / grad --check: {ratio:.2f} (target at most 2)")
    long = median[f"steps, {len(LONG)} characters"]
    print(f"{len(LONG)} characters: {long:.2f} s (target at most 3 s)")


if __name__ == "__main__":
    main()
