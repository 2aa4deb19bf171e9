"""derivcli.compile(...).grad at 10**6 points against hand-written torch autograd, on a quiet machine and
with a busy neighbour (a process this script starts, spinning on one core for a bounded time).  Ratios of
medians, both measured in this process in the same condition, interleaved.
Usage: python benchmarks/loaded.py [--points N]
"""

from __future__ import annotations

import multiprocessing
import statistics
import sys
import time

import torch

import derivcli

EXPRESSION = "exp(-(x**2-x+1)/cos(log(x))**2)"
POINTS = int(sys.argv[sys.argv.index("--points") + 1]) if "--points" in sys.argv else 10**6


def by_hand(x: torch.Tensor) -> torch.Tensor:
    leaf = x.clone().requires_grad_(True)
    y = torch.exp(-(leaf**2 - leaf + 1) / torch.cos(torch.log(leaf)) ** 2)
    return torch.autograd.grad(y.sum(), leaf)[0]


def spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def ratio(compiled: derivcli.Compiled, xs: torch.Tensor, repeats: int = 9) -> tuple[float, float]:
    hand, ours = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        by_hand(xs)
        hand.append(time.perf_counter() - start)
        start = time.perf_counter()
        compiled.grad(x=xs)
        ours.append(time.perf_counter() - start)
    return statistics.median(hand), statistics.median(ours)


def main() -> None:
    xs = torch.linspace(0.5, 2.0, POINTS, dtype=torch.float64)
    compiled = derivcli.compile(EXPRESSION)
    assert torch.equal(compiled.grad(x=xs)["x"], by_hand(xs)) or torch.allclose(
        compiled.grad(x=xs)["x"], by_hand(xs), rtol=1e-13, atol=0)
    print(f"{POINTS:,} points, torch threads: {torch.get_num_threads()}, CPUs: {multiprocessing.cpu_count()}")
    hand, ours = ratio(compiled, xs)
    print(f"quiet:              hand-written {hand:.3f} s, derivcli {ours:.3f} s, ratio {ours / hand:.2f}")
    neighbour = multiprocessing.get_context("fork").Process(target=spin, args=(120.0,), daemon=True)
    neighbour.start()
    try:
        time.sleep(0.2)
        hand, ours = ratio(compiled, xs)
        print(f"one core busy:      hand-written {hand:.3f} s, derivcli {ours:.3f} s, ratio {ours / hand:.2f}")
    finally:
        neighbour.terminate()
        neighbour.join()


if __name__ == "__main__":
    main()
