"""compile().grad's chunks on the kept pool of threads against the same chunks run in order on torch's
own intra-op threads, each interleaved with hand-written torch as a training loop would interleave them,
on a quiet machine and with a busy neighbour (a process this script starts, spinning on one core).

The 512x512 case of api_tensors.py (`tanh(x)**2 * y`, 262,144 points: four chunks).  Each round runs
hand-written torch, then derivcli; the medians of both and their sum per round are printed for each way,
because each side's threads slow the other's next call (torch's OpenMP threads spin after an operation,
the pool's threads leave the caches cold): the ratio alone bills one side for the other's cost.
Usage: python benchmarks/chunk_threads.py [rounds]
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

SIZE = 512


def in_order(work: Callable[[int], int], starts: range, threaded: bool) -> Iterator[int]:
    """The chunks one after another on the calling thread (torch's intra-op threads)."""
    yield from map(work, starts)


WAYS: dict[str, Any] = {"kept pool": vectorized._chunks_in_parallel, "in order": in_order}


def measure(condition: str, rounds: int) -> None:
    values = torch.randn(SIZE, SIZE, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    compiled = derivcli.compile("tanh(x)**2 * y", wrt=["x"])

    def by_hand() -> Any:
        leaf = values.detach().requires_grad_(True)
        return torch.autograd.grad(torch.sum(torch.tanh(leaf) ** 2 * 2.0), leaf)[0]

    for name, way in WAYS.items():
        vectorized._chunks_in_parallel = way
        hand, ours = [], []
        for _ in range(rounds):
            start = time.perf_counter()
            by_hand()
            hand.append(time.perf_counter() - start)
            start = time.perf_counter()
            compiled.grad(x=values, y=2.0)
            ours.append(time.perf_counter() - start)
        h, o = statistics.median(hand[10:]), statistics.median(ours[10:])
        print(f"{condition:9} {name:10} hand-written {h * 1e3:6.2f} ms  derivcli {o * 1e3:6.2f} ms  "
              f"ratio {o / h:5.2f}  round {(h + o) * 1e3:6.2f} ms")
    vectorized._chunks_in_parallel = WAYS["kept pool"]


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 150
    print(f"{SIZE}x{SIZE} points, torch threads: {torch.get_num_threads()}, CPUs: {multiprocessing.cpu_count()}")
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
