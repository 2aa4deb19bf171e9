"""The three ways compile().grad can take its points: one pass on torch's own intra-op threads (as
hand-written torch takes them), chunks on the kept pool of threads, and the same chunks in order on torch's
threads; each interleaved with hand-written torch as a training loop would interleave them, and alone,
on a quiet machine and with a busy neighbour (a process this script starts, spinning on one core).  What
`vectorized.ONE_PASS` is chosen from.

`tanh(x)**2 * y` (the compile case of api_tensors.py) at --points N (default 262,144, its 512x512).
Interleaved, each round runs hand-written torch, then derivcli; the medians of both and their sum per
round are printed, because each side's threads slow the other's next call (torch's OpenMP threads spin
after an operation, the pool's threads leave the caches cold): the ratio alone bills one side for the
other's cost.  Alone, derivcli runs round after round with nothing between.
Usage: python benchmarks/chunk_threads.py [rounds] [--points N]
"""

from __future__ import annotations

import multiprocessing
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
from loaded import spin

import derivcli
from derivcli.scale import vectorized

POINTS = int(sys.argv[sys.argv.index("--points") + 1]) if "--points" in sys.argv else 512 * 512


def in_order(work: Callable[[int], int], starts: range, threaded: bool) -> Iterator[int]:
    """The chunks one after another on the calling thread (torch's intra-op threads)."""
    yield from map(work, starts)


# name -> (how the chunks run, whether the points go in one pass)
WAYS: dict[str, Any] = {"one pass": (vectorized._chunks_in_parallel, True),
                        "kept pool": (vectorized._chunks_in_parallel, False), "in order": (in_order, False)}


def measure(condition: str, rounds: int) -> None:
    values = torch.randn(POINTS, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    compiled = derivcli.compile("tanh(x)**2 * y", wrt=["x"])

    def by_hand() -> Any:
        leaf = values.detach().requires_grad_(True)
        return torch.autograd.grad(torch.sum(torch.tanh(leaf) ** 2 * 2.0), leaf)[0]

    def timed(run: Callable[[], Any]) -> float:
        start = time.perf_counter()
        run()
        return time.perf_counter() - start

    for name, (way, one_pass) in WAYS.items():
        vectorized._chunks_in_parallel = way
        compiled.one_pass = POINTS if one_pass else compiled.chunk
        hand, ours, alone = [], [], []
        for _ in range(rounds):
            hand.append(timed(by_hand))
            ours.append(timed(lambda: compiled.grad(x=values, y=2.0)))
        for _ in range(rounds):
            alone.append(timed(lambda: compiled.grad(x=values, y=2.0)))
        h, o, a = (statistics.median(times[10:]) for times in (hand, ours, alone))
        print(f"{condition:9} {name:10} interleaved: hand-written {h * 1e3:6.2f} ms  derivcli {o * 1e3:6.2f} ms  "
              f"ratio {o / h:5.2f}  round {(h + o) * 1e3:6.2f} ms;  alone: derivcli {a * 1e3:6.2f} ms")
    vectorized._chunks_in_parallel = WAYS["kept pool"][0]


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 150
    print(f"{POINTS:,} points, torch threads: {torch.get_num_threads()}, CPUs: {multiprocessing.cpu_count()}")
    measure("quiet", rounds)
    neighbour = multiprocessing.get_context("fork").Process(target=spin, args=(120.0,), daemon=True)
    neighbour.start()
    try:
        time.sleep(0.2)
        measure("one busy", rounds)
    finally:
        neighbour.terminate()
        neighbour.join()


if __name__ == "__main__":
    main()
