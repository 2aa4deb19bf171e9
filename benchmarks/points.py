"""Many points: derivcli.compile(...).grad against hand-written torch autograd and against numpy
evaluation of SymPy's derivative (lambdify), all in this process; then scaling from 1e6 to 1e7 points,
threads, and torch.compile.  Prints ratios.   Usage: python benchmarks/points.py [--quick] [--compile]
"""

from __future__ import annotations

import statistics
import sys
import time

import sympy as sp
import torch

import derivcli

EXPRESSION = "exp(-(x**2-x+1)/cos(log(x))**2)"
QUICK = "--quick" in sys.argv


def best(run, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def by_hand(x: torch.Tensor) -> torch.Tensor:
    leaf = x.clone().requires_grad_(True)
    y = torch.exp(-(leaf**2 - leaf + 1) / torch.cos(torch.log(leaf)) ** 2)
    return torch.autograd.grad(y.sum(), leaf)[0]


def main() -> None:
    n = 10**6
    xs = torch.linspace(0.5, 2.0, n, dtype=torch.float64)
    f = derivcli.compile(EXPRESSION)
    assert torch.allclose(f.grad(x=xs)["x"], by_hand(xs), rtol=1e-12)
    x = sp.Symbol("x", real=True)
    derivative = sp.lambdify(x, sp.diff(sp.exp(-(x**2 - x + 1) / sp.cos(sp.log(x)) ** 2), x), "numpy")
    xs_np = xs.numpy()
    print(f"threads: {torch.get_num_threads()}")
    ours, hand, numpy_time = best(lambda: f.grad(x=xs)), best(lambda: by_hand(xs)), best(lambda: derivative(xs_np))
    print(f"1e6 points: derivcli {ours * 1e3:.1f} ms, hand-written torch {hand * 1e3:.1f} ms, "
          f"numpy lambdify {numpy_time * 1e3:.1f} ms")
    print(f"ratio derivcli / hand-written torch: {ours / hand:.2f} (target <= 1.2)")
    print(f"ratio derivcli / numpy lambdify:     {ours / numpy_time:.2f} (target < 1)")
    if QUICK:
        return
    big = torch.linspace(0.5, 2.0, 10 * n, dtype=torch.float64)
    ours_big, hand_big = best(lambda: f.grad(x=big), 3), best(lambda: by_hand(big), 3)
    print(f"1e7 / 1e6 points: derivcli {ours_big / ours:.1f}x, hand-written eager torch {hand_big / hand:.1f}x "
          "(linear is 10x)")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        print(f"  {threads} thread(s): derivcli 1e6 {best(lambda: f.grad(x=xs)) * 1e3:.1f} ms, "
              f"1e7 {best(lambda: f.grad(x=big), 3) * 1e3:.1f} ms")
    if "--compile" in sys.argv:
        start = time.perf_counter()
        compiled = derivcli.compile(EXPRESSION, torch_compile=True)
        compiled.grad(x=xs[:1000])
        compiled.grad(x=xs)
        print(f"torch.compile: first calls (compiling) {time.perf_counter() - start:.1f} s")
        print(f"  1e6: {best(lambda: compiled.grad(x=xs)) * 1e3:.1f} ms, "
              f"1e7: {best(lambda: compiled.grad(x=big), 3) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
