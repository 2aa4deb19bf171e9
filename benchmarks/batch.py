"""Batch throughput: derivcli's parser + lowering + autograd against SymPy's parse_expr + lambdify(torch)
+ autograd, in this process, for distinct and for repeated simple expressions.  Prints requests per second
and the ratio.   Usage: python benchmarks/batch.py [count]
"""

from __future__ import annotations

import json
import sys
import time

import sympy as sp
import torch

from derivcli.streams import batch_groups

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 2000


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


def ours(lines: list[str]) -> None:
    """As `derivcli batch < file` sees it: the lines in groups of what one 64 KB read delivers."""
    groups = [lines[i:i + 600] for i in range(0, len(lines), 600)]
    for answer in batch_groups(groups):
        json.dumps(answer)


def rate(run, lines: list[str]) -> float:
    start = time.perf_counter()
    run(lines)
    return len(lines) / (time.perf_counter() - start)


def main() -> None:
    distinct = [json.dumps({"expression": f"x**2 + {k}*sin(x)*y", "point": {"x": 0.5, "y": 2}}) for k in range(COUNT)]
    repeated = [json.dumps({"expression": "x**2 + 3*sin(x)*y", "point": {"x": 0.5 + k * 1e-6, "y": 2}})
                for k in range(COUNT * 5)]
    ours(distinct[:10]), baseline(distinct[:10])  # warm up imports
    for name, lines in (("distinct", distinct), ("repeated", repeated)):
        mine, theirs = rate(ours, lines), rate(baseline, lines)
        print(f"{name:9s}: derivcli {mine:7.0f}/s, parse_expr+lambdify+autograd {theirs:7.0f}/s, "
              f"ratio {mine / theirs:.1f}x")


if __name__ == "__main__":
    main()
