"""Gradient w.r.t. a 1000x1000 matrix: derivcli's lowered Program against hand-written torch.

    sum((relu(W @ x) - t)**2),  W: 1000x1000, x and t: length 1000, float64, gradient w.r.t. W

Both run alternately in this process (start-up excluded: parsing and lowering happen once, as in a
batch).  Prints the medians and the ratio derivcli / torch; the target is <= 1.5.
Usage: python benchmarks/tensor_scale.py [size] [repeats]
"""

from __future__ import annotations

import statistics
import sys
import time

import torch

from derivcli.api import prepare
from derivcli.differentiate.autograd import gradient

SIZE = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 30


def main() -> None:
    torch.manual_seed(0)
    W = torch.rand(SIZE, SIZE, dtype=torch.float64)
    x = torch.arange(SIZE, dtype=torch.float64) / SIZE
    t = torch.rand(SIZE, dtype=torch.float64)
    setup = prepare("sum((relu(W @ x) - t)**2)", {"W": W, "x": x, "t": t}, ["W"], "float64", "cpu")

    def by_derivcli() -> torch.Tensor:
        return gradient(setup.program, setup.inputs, setup.wrt_indices, setup.dtype, setup.device)[1][0]

    leaf = W.clone().requires_grad_(True)

    def by_hand() -> torch.Tensor:
        loss = torch.sum((torch.relu(leaf @ x) - t) ** 2)
        return torch.autograd.grad(loss, leaf)[0]

    assert torch.allclose(by_derivcli(), by_hand(), rtol=1e-12, atol=0)
    timings: dict[str, list[float]] = {"derivcli": [], "torch": []}
    for _ in range(REPEATS):
        for name, run in (("derivcli", by_derivcli), ("torch", by_hand)):
            start = time.perf_counter()
            run()
            timings[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in timings.items()}
    print(f"W {SIZE}x{SIZE}, float64, {torch.get_num_threads()} threads, median of {REPEATS}")
    print(f"hand-written torch : {medians['torch'] * 1e3:8.3f} ms")
    print(f"derivcli Program   : {medians['derivcli'] * 1e3:8.3f} ms")
    print(f"ratio derivcli / torch: {medians['derivcli'] / medians['torch']:.2f}  (target <= 1.5)")


if __name__ == "__main__":
    main()
