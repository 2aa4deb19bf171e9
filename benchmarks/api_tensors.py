"""The Python API on a 512x512 tensor against the same computation hand-written in torch (issue 24.6).

Cases (float64, gradient with respect to the 512x512 matrix, given as a torch tensor):

    relu    derivcli.grad("sum((relu(W @ x) - t)**2)", W=W, x=x, t=t, wrt=["W"])
    tanh    derivcli.grad("mean((tanh(X) - T)**2)", X=X, T=T, wrt=["X"])
    compile derivcli.compile("tanh(x)**2 * y", wrt=["x"]).grad(x=X, y=2.0)   (a derivative per element)

Time: derivcli and torch run alternately in this process, REPEATS rounds after a warm-up (parsing and
lowering are cached, as in any loop over calls); the median of each and the ratio derivcli / torch.

Peak memory: each variant runs in a fresh child process with glibc told to mmap every block of 64 KiB or
more (MALLOC_MMAP_THRESHOLD_), so that a freed tensor leaves the resident set at once; after a warm-up
call the child resets the kernel's high-water mark (/proc/self/clear_refs) and reports VmHWM - VmRSS over
one more call whose result it keeps: the resident bytes the call added at its peak, torch's buffers and
Python's objects alike (the inputs, made before, are not counted).  Ratio derivcli / torch.

Targets: time <= 1.5, peak memory <= 1.2.  On a machine whose cores other processes keep busy, torch's
own intra-op threads wait for each other at every operation (benchmarks/loaded.py), which drowns both
columns in noise: `--threads 1` measures the work itself, and `--cpu` (one torch thread) times it by the
calling thread's CPU time, which a preempted call does not accumulate (the load average is printed).
Usage: python benchmarks/api_tensors.py [repeats] [--threads N] [--cpu]
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import torch

import derivcli

SIZE = 512
CASES = ("relu", "tanh", "compile")


def inputs() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return {"W": torch.rand(SIZE, SIZE, dtype=torch.float64, generator=generator),
            "x": torch.rand(SIZE, dtype=torch.float64, generator=generator),
            "t": torch.rand(SIZE, dtype=torch.float64, generator=generator),
            "X": torch.randn(SIZE, SIZE, dtype=torch.float64, generator=generator),
            "T": torch.rand(SIZE, SIZE, dtype=torch.float64, generator=generator)}


def variants(case: str, v: dict[str, torch.Tensor]) -> dict[str, Callable[[], Any]]:
    """{"derivcli": call, "torch": call}, each returning the gradient as a tensor."""
    if case == "relu":
        def relu_by_hand() -> Any:
            leaf = v["W"].detach().requires_grad_(True)
            return torch.autograd.grad(torch.sum((torch.relu(leaf @ v["x"]) - v["t"]) ** 2), leaf)[0]

        return {"derivcli": lambda: derivcli.grad("sum((relu(W @ x) - t)**2)", W=v["W"], x=v["x"], t=v["t"],
                                                  wrt=["W"]).gradient["W"], "torch": relu_by_hand}
    if case == "tanh":
        def tanh_by_hand() -> Any:
            leaf = v["X"].detach().requires_grad_(True)
            return torch.autograd.grad(torch.mean((torch.tanh(leaf) - v["T"]) ** 2), leaf)[0]

        return {"derivcli": lambda: derivcli.grad("mean((tanh(X) - T)**2)", X=v["X"], T=v["T"],
                                                  wrt=["X"]).gradient["X"], "torch": tanh_by_hand}
    compiled = derivcli.compile("tanh(x)**2 * y", wrt=["x"])

    def elementwise_by_hand() -> Any:
        leaf = v["X"].detach().requires_grad_(True)
        return torch.autograd.grad(torch.sum(torch.tanh(leaf) ** 2 * 2.0), leaf)[0]

    return {"derivcli": lambda: compiled.grad(x=v["X"], y=2.0)["x"], "torch": elementwise_by_hand}


def agree(case: str, v: dict[str, torch.Tensor]) -> None:
    """Both variants give the same numbers, before anything is timed."""
    ours, theirs = (torch.as_tensor(run(), dtype=torch.float64) for run in variants(case, v).values())
    assert torch.allclose(ours.reshape(theirs.shape), theirs, rtol=1e-12, atol=0), case


def timings(case: str, v: dict[str, torch.Tensor], repeats: int, clock: Callable[[], float]) -> dict[str, float]:
    runs = variants(case, v)
    for run in runs.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = clock()
            run()
            times[name].append(clock() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def _status() -> dict[str, int]:
    text = open("/proc/self/status").read()
    return {key: int(re.search(key + r":\s+(\d+)", text).group(1)) * 1024 for key in ("VmRSS", "VmHWM")}  # type: ignore[union-attr]


def child_peak(case: str, variant: str) -> None:
    """In the child: the resident bytes one call adds at its peak, printed."""
    import gc

    v = inputs()
    run = variants(case, v)[variant]
    run(), run()
    gc.collect()
    base = _status()["VmRSS"]
    with open("/proc/self/clear_refs", "w") as reset:
        reset.write("5")
    kept = run()
    print(_status()["VmHWM"] - base)
    del kept


def peak(case: str, variant: str) -> int:
    environment = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    done = subprocess.run([sys.executable, __file__, "--peak", case, variant], capture_output=True, text=True,
                          env=environment, check=True)
    return int(done.stdout.split()[-1])


def main(arguments: list[str]) -> None:
    cpu = "--cpu" in arguments
    if "--threads" in arguments:
        at = arguments.index("--threads")
        torch.set_num_threads(int(arguments[at + 1]))
        del arguments[at:at + 2]
    if cpu:
        arguments.remove("--cpu")
        torch.set_num_threads(1)  # the work then runs on the calling thread, whose CPU time is the clock
    repeats = int(arguments[0]) if arguments else 30
    v = inputs()
    print(f"{SIZE}x{SIZE}, float64, {torch.get_num_threads()} torch threads, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; time ({'CPU' if cpu else 'wall-clock'}): median of "
          f"{repeats} interleaved rounds; peak: resident bytes added by one call (child process per variant)")
    print(f"{'case':8} {'torch ms':>9} {'derivcli ms':>11} {'ratio':>6} {'torch MiB':>9} {'derivcli MiB':>12} "
          f"{'ratio':>6}")
    for case in CASES:
        agree(case, v)
        medians = timings(case, v, repeats, time.thread_time if cpu else time.perf_counter)
        peaks = {variant: statistics.median(peak(case, variant) for _ in range(3)) for variant in medians}
        print(f"{case:8} {medians['torch'] * 1e3:9.3f} {medians['derivcli'] * 1e3:11.3f} "
              f"{medians['derivcli'] / medians['torch']:6.2f} {peaks['torch'] / 2**20:9.2f} "
              f"{peaks['derivcli'] / 2**20:12.2f} {peaks['derivcli'] / peaks['torch']:6.2f}")
    print("targets: time ratio <= 1.5, peak ratio <= 1.2")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--peak"]:
        child_peak(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1:])
