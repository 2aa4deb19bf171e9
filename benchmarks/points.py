"""Many points: derivcli.compile(...).grad against hand-written torch autograd and against numpy
evaluation of SymPy's derivative (lambdify), all in this process; then scaling from 1e6 to 1e7 points,
threads, and torch.compile.  Prints ratios.
Usage: python benchmarks/points.py [--quick] [--compile] [--device cuda]
(--device cuda: 1e6 to 1e8 points on the GPU against eager torch, torch.compile of the same function and
a plain copy of the data, the floor; see docs/performance.md)
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
DEVICE = sys.argv[sys.argv.index("--device") + 1] if "--device" in sys.argv else "cpu"


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
    if DEVICE != "cpu":
        return on_gpu()
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


def on_gpu() -> None:
    """The issue's GPU comparison at 1e6, 1e7 and 1e8 float64 points: derivcli, eager torch by hand,
    torch.compile of the hand-written gradient, and a copy of the points (the memory-bandwidth floor)."""
    if not torch.cuda.is_available():
        sys.exit(f"--device {DEVICE}: no CUDA device is available here")

    def timed(run, repeats: int = 5) -> float:
        run()
        torch.cuda.synchronize()
        return best(lambda: (run(), torch.cuda.synchronize()), repeats)

    print(f"device: {torch.cuda.get_device_name()}")
    f = derivcli.compile(EXPRESSION, device=DEVICE)
    by_hand_compiled = torch.compile(by_hand, dynamic=False)

    def compare(n: int) -> str:
        xs = torch.linspace(0.5, 2.0, n, dtype=torch.float64, device=DEVICE)
        assert torch.allclose(f.grad(x=xs)["x"], by_hand(xs), rtol=1e-12)
        ours, hand, copy = timed(lambda: f.grad(x=xs)), timed(lambda: by_hand(xs)), timed(lambda: xs.clone())
        line = (f"{n:.0e} points: derivcli {ours * 1e3:.2f} ms, eager torch {hand * 1e3:.2f} ms, "
                f"copy {copy * 1e3:.2f} ms; derivcli / eager {ours / hand:.2f}")
        if "--compile" in sys.argv:
            line += f"; torch.compile {timed(lambda: by_hand_compiled(xs)) * 1e3:.2f} ms"
        return line

    for n in (10**6, 10**7, 10**8):
        print(compare(n))
        torch.cuda.empty_cache()

if __name__ == "__main__":
    main()
