"""Batch throughput on Rubi-sized expressions: antiderivatives like those of the Rubi integration test
suite (products, quotients and powers of polynomials with exp, log, sqrt, trig and inverse trig, nested;
median over 100 characters), generated from a seed, nothing downloaded.  Each runs through
`derivcli batch` as users run it (`batch_groups`, with the default jobs and with --jobs 1) against SymPy's
parse_expr + lambdify + autograd in this process (benchmarks/batch.py's baseline), and the simple distinct
expressions of batch.py beside them.  Prints requests per second and the ratios.
Usage: python benchmarks/rubi.py [count] [--seed N]
"""

from __future__ import annotations

import json
import random
import sys
import time

SEED = 27

POSITIVE = ["exp", "sqrt", "log"]  # functions of a positive argument
ANY = ["sin", "cos", "atan", "tanh", "sinh", "cosh"]
UNIT = ["asin", "acos", "atanh"]  # of an argument kept inside (-1, 1) at the points used


def _number(rng: random.Random) -> str:
    return rng.choice(["2", "3", "5", "7", "1/2", "3/2", "2/3", "5/4", "1/3", "4"])


def _linear(rng: random.Random) -> str:
    """a + b*x or a + b*x**2, positive for x in (0, 1)."""
    return f"{rng.choice(['1', '2', '3', '5'])} + {_number(rng)}*x" + rng.choice(["", "**2", "**3"])


def _factor(rng: random.Random, depth: int) -> str:
    kind = rng.random()
    if depth <= 0 or kind < 0.25:
        power = rng.choice(["", "", "**2", "**3", "**(3/2)", "**(-1)", "**(5/2)", "**(1/3)"])
        return f"({_linear(rng)}){power}"
    if kind < 0.55:
        return f"{rng.choice(POSITIVE)}({_linear(rng)})"
    if kind < 0.8:
        inner = _term(rng, depth - 1)
        return f"{rng.choice(ANY)}({inner})"
    return f"{rng.choice(UNIT)}(x/{rng.choice(['2', '3', '4'])})"


def _term(rng: random.Random, depth: int) -> str:
    factors = [_factor(rng, depth) for _ in range(rng.randint(1, 3))]
    text = factors[0]
    for factor in factors[1:]:
        text += rng.choice(["*", "*", "/"]) + factor
    return text if rng.random() < 0.6 else f"{_number(rng)}*{text}"


def rubi_expression(rng: random.Random) -> str:
    """One antiderivative-like expression in x: a sum of 1-4 terms of nested factors."""
    terms = [_term(rng, rng.randint(1, 2)) for _ in range(rng.randint(2, 4))]
    text = terms[0]
    for term in terms[1:]:
        text += rng.choice([" + ", " - "]) + term
    return text


def rubi_requests(count: int, seed: int = SEED) -> list[str]:
    """`count` distinct requests, each a gradient at a point of (0, 1)."""
    rng = random.Random(seed)
    seen: set[str] = set()
    lines = []
    while len(lines) < count:
        text = rubi_expression(rng)
        if text in seen:
            continue
        seen.add(text)
        lines.append(json.dumps({"expression": text, "point": {"x": round(rng.uniform(0.1, 0.9), 3)}}))
    return lines


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Batch throughput on Rubi-sized expressions")
    parser.add_argument("count", nargs="?", type=int, default=600, help="distinct expressions per run")
    parser.add_argument("--seed", type=int, default=SEED)
    options = parser.parse_args()
    count, seed = options.count, options.seed
    sys.argv = sys.argv[:1] + [str(count)]  # batch.py reads its count from the command line
    import batch

    from derivcli.scale.volume import settle_for_volume
    from derivcli.scale.workers import default_jobs

    lines = rubi_requests(3 * count + 16, seed)
    warm, corpus = lines[:16], [lines[16:16 + count], lines[16 + count:16 + 2 * count], lines[16 + 2 * count:]]
    batch.ours(warm), baseline_rubi(warm)
    settle_for_volume()
    sizes = sorted(len(json.loads(line)["expression"]) for line in corpus[0])
    print(f"{default_jobs()} workers by default; {count} distinct expressions each run, median "
          f"{sizes[len(sizes) // 2]} characters (seed {seed})")
    theirs, mine, shared = (batch.rate(run, part) for run, part in
                            zip((baseline_rubi, batch.ours, batch.ours_in_workers), corpus))
    batch.report("rubi", theirs, mine, shared)
    simple = [batch.distinct_requests(first) for first in (0, count, 2 * count)]
    theirs, mine, shared = (batch.rate(run, part) for run, part in
                            zip((batch.baseline, batch.ours, batch.ours_in_workers), simple))
    batch.report("simple", theirs, mine, shared)


def baseline_rubi(lines: list[str]) -> None:
    """batch.py's baseline for expressions in x alone."""
    import sympy as sp
    import torch

    x = sp.Symbol("x")
    for line in lines:
        request = json.loads(line)
        expr = sp.parse_expr(request["expression"])
        function = sp.lambdify((x,), expr, "torch")
        inputs = [torch.tensor(float(request["point"]["x"]), dtype=torch.float64, requires_grad=True)]
        value = function(*inputs)
        grads = torch.autograd.grad(value, inputs, allow_unused=True, materialize_grads=True)
        json.dumps({"value": float(value.detach()), "gradient": [float(g) for g in grads]})


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"({time.perf_counter() - start:.0f} s in all)")
