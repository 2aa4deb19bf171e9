"""Whole-process timings for the benchmarks: commands run alternately in one loop (the machine's load
affects them alike), each one's median."""

from __future__ import annotations

import statistics
import subprocess
import time


def seconds(command: list[str], check: bool = False) -> float:
    start = time.perf_counter()
    subprocess.run(command, capture_output=True, check=check)
    return time.perf_counter() - start


def interleaved_medians(commands: dict[str, list[str]], runs: int, check: bool = False) -> dict[str, float]:
    """`check`: every command must succeed (a benchmark of a parse error cannot ask it)."""
    timings: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            timings[name].append(seconds(command, check))
    return {name: statistics.median(values) for name, values in timings.items()}
