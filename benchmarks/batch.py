"""Batch throughput: derivcli's parser + lowering + autograd against SymPy's parse_expr + lambdify(torch)
+ autograd, in this process, for distinct and for repeated simple expressions: in this one process
(`--jobs 1`) and shared among worker processes as `derivcli batch` does by default.  Prints requests per
second and the ratio.   Usage: python benchmarks/batch.py [count] [--one-shape]
(--one-shape: every distinct expression is `x**2 + k*sin(x)*y`, the issue's "simple expression")
"""

from __future__ import annotations

import json
import sys
import time

import sympy as sp
import torch

from derivcli.scale.streams import batch_groups
from derivcli.scale.volume import settle_for_volume
from derivcli.scale.workers import default_jobs

ARGS = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
COUNT = int(ARGS[0]) if ARGS else 2000


def baseline(lines: list[str]) -> None:
    """What a script would do with SymPy alone (unsafe on untrusted text: parse_expr evaluates)."""
    x, y = sp.symbols("x y")
    for line in lines:
        request = json.loads(line)
        expr = sp.parse_expr(request["expression"])
        function = sp.lambdify((x, y), expr, "torch")
        inputs = [torch.tensor(float(request["point"][n]), dtype=torch.float64, requires_grad=True) for n in "xy"]
        value = function(*inputs)
        grads = torch.autograd.grad(value, inputs, allow_unused=True, materialize_grads=True)
        json.dumps({"value": float(value), "gradient": [float(g) for g in grads]})


def ours(lines: list[str], jobs: int = 1) -> None:
    """As `derivcli batch < file` sees it: the lines in groups of what one 64 KB read delivers."""
    groups = [lines[i:i + 600] for i in range(0, len(lines), 600)]
    for answer in batch_groups(groups, jobs):
        json.dumps(answer)


def ours_in_workers(lines: list[str]) -> None:
    ours(lines, default_jobs())


def rate(run, lines: list[str]) -> float:
    start = time.perf_counter()
    run(lines)
    return len(lines) / (time.perf_counter() - start)


SHAPES = ["x**2 + {k}*sin(x)*y", "exp(-x/{k})*cos(y)", "log(1 + x**2)/{k} + y", "sqrt(x*y + {k})",
          "tanh({k}*x - y)**2", "(x - {k})**3*y", "1/(1 + exp({k} - x*y))", "x**{k} + y"]
if "--one-shape" in sys.argv:
    SHAPES = SHAPES[:1]


def distinct_requests(first: int, count: int = COUNT) -> list[str]:
    """`count` simple expressions of the SHAPES, none seen before in this process (from `first` on)."""
    return [json.dumps({"expression": SHAPES[k % len(SHAPES)].format(k=first + k // len(SHAPES) + 2),
                        "point": {"x": 0.5, "y": 2}}) for k in range(count)]


def main() -> None:
    repeated = [json.dumps({"expression": "x**2 + 3*sin(x)*y", "point": {"x": 0.5 + k * 1e-6, "y": 2}})
                for k in range(COUNT * 5)]
    warm = distinct_requests(10**6)[:16]
    ours(warm), baseline(warm)  # imports and first-call costs
    settle_for_volume()  # as `derivcli batch` does (it helps the baseline in this process as much)
    print(f"{default_jobs()} workers by default on this machine")
    theirs, mine, shared = (rate(run, distinct_requests(first))
                            for run, first in ((baseline, 0), (ours, COUNT), (ours_in_workers, 2 * COUNT)))
    report("distinct", theirs, mine, shared)
    report("repeated", rate(baseline, repeated), rate(ours, repeated), rate(ours_in_workers, repeated))


def report(name: str, theirs: float, mine: float, shared: float) -> None:
    print(f"{name:9s}: parse_expr+lambdify+autograd {theirs:7.0f}/s; derivcli --jobs 1 {mine:7.0f}/s "
          f"(ratio {mine / theirs:.1f}x), default --jobs {shared:7.0f}/s (ratio {shared / theirs:.1f}x)")

if __name__ == "__main__":
    main()
