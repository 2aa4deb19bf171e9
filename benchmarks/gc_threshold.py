"""Batch requests per second with Python's own garbage-collector threshold against the one
`scale.volume.settle_for_volume` sets (GEN0_ALLOCATIONS), alternating in one process after the pipeline is
settled as `derivcli batch` settles it: distinct simple expressions (benchmarks/batch.py's shapes) and
Rubi-sized ones (benchmarks/rubi.py), CPU time, medians of the rounds, and the ratio.
Usage: python benchmarks/gc_threshold.py [rounds]
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rubi  # noqa: E402
from batch import distinct_requests  # noqa: E402

from derivcli.scale.streams import batch_groups  # noqa: E402
from derivcli.scale.volume import GEN0_ALLOCATIONS, settle_for_volume  # noqa: E402

SIMPLE, RUBI = 400, 60  # requests per round


def per_second(lines: list[str]) -> float:
    started = time.process_time()
    answers = list(batch_groups([lines], 1))
    assert len(answers) == len(lines)
    return len(lines) / (time.process_time() - started)


def main(rounds: int) -> None:
    list(batch_groups([distinct_requests(10**6, 50)], 1))  # imports and first-call costs
    settle_for_volume()
    settings = {"python's 700": (700, *gc.get_threshold()[1:]), f"derivcli's {GEN0_ALLOCATIONS:,}": gc.get_threshold()}
    rates: dict[str, dict[str, list[float]]] = {name: {"simple": [], "rubi": []} for name in settings}
    first = 0
    for _ in range(rounds):
        for name, threshold in settings.items():
            gc.set_threshold(*threshold)
            rates[name]["simple"].append(per_second(distinct_requests(first, SIMPLE)))
            rates[name]["rubi"].append(per_second(rubi.rubi_requests(RUBI, seed=1000 + first)))
            first += 1000  # every expression distinct, as in a real batch
    medians = {name: {kind: statistics.median(values) for kind, values in kinds.items()}
               for name, kinds in rates.items()}
    base, ours = medians.values()
    print(f"{rounds} alternating rounds of {SIMPLE} simple and {RUBI} Rubi-sized distinct requests, --jobs 1, CPU time")
    for name, kinds in medians.items():
        print(f"gen0 threshold {name:>16}: simple {kinds['simple']:6.0f}/s, rubi {kinds['rubi']:5.0f}/s")
    print(f"ratio: simple {ours['simple'] / base['simple']:.2f}x, rubi {ours['rubi'] / base['rubi']:.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)
