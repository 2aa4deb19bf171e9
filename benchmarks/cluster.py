"""derivcli on a Dask LocalCluster against the same work in this one process: gradients at N float64
points through the API (dask arrays) and through `grad --points` partitions with `--output`, and a batch of
request lines (one process, `--jobs 2`, the cluster).  Workers are warmed first (imports, first
compilation), so the numbers are steady-state throughput; the scheduler's cost per task is measured too.
Prints throughput and ratios.  Needs `pip install 'derivcli[dask]'`.

Usage: python benchmarks/cluster.py [--points 1e7] [--lines 100000] [--distinct 10000] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
import time
from pathlib import Path

import dask.array as da
import numpy as np
import torch
from distributed import Client, LocalCluster

import derivcli
from derivcli.scale import cluster
from derivcli.scale.points import grad_at_points
from derivcli.scale.streams import batch_groups
from derivcli.scale.volume import settle_for_volume

EXPRESSION = "exp(-(x**2-x+1)/cos(log(x))**2)"


def timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def task_overhead(client: Client, count: int = 200) -> float:
    """Seconds per task for tasks that do nothing: the scheduler's and the round trips' share."""
    return timed(lambda: client.gather([client.submit(int, k, pure=False) for k in range(count)])) / count


def api(client: Client | None, xs: np.ndarray, chunk: int) -> float:
    """Gradients at every point, summed where they were computed (so no transfer back is timed)."""
    f = derivcli.compile(EXPRESSION)
    if client is None:
        return timed(lambda: f.grad(x=xs)["x"].sum())
    dx = da.linspace(0.5, 1.5, len(xs), chunks=chunk)  # made on the workers, as a real data set lives there
    return timed(lambda: f.grad(x=dx)["x"].sum().compute())


def points(address: str | None, grid: Path, out: Path) -> float:
    """`grad --points 'grid/*.npy' --output out/`, on the cluster or partition by partition here."""
    paths = sorted(grid.glob("*.npy"))
    with contextlib.redirect_stderr(io.StringIO()):
        if address is None:
            out.mkdir(exist_ok=True)
            return timed(lambda: [grad_at_points(EXPRESSION, str(path), {}, None, str(out / path.name), False,
                                                 "float64", "cpu") for path in paths])
        return timed(lambda: cluster.grad_on_cluster(address, EXPRESSION, str(grid / "*.npy"), f"{out}/", {}, None,
                                                     "float64", "cpu", False, []))


def batch(client: Client | None, lines: list[str], jobs: int = 1) -> float:
    """The cluster's blocks, or `derivcli batch --jobs N` here (groups as 64 KB reads deliver them)."""
    if client is not None:
        blocks = cluster._blocks([lines])
        return timed(lambda: list(cluster.ordered(client, ((cluster._answer_block, block) for block in blocks),
                                                  cluster._lost_block)))
    groups = [lines[start:start + 600] for start in range(0, len(lines), 600)]
    return timed(lambda: list(batch_groups(groups, jobs)))


def requests(count: int, distinct: bool, first: int = 0) -> list[str]:
    """Distinct: expressions no process has seen (from `first` on; forked workers inherit the caches)."""
    if distinct:
        return [json.dumps({"expression": f"x**2 + {first + k + 2}*sin(x)*y", "point": {"x": 0.5, "y": 2}})
                for k in range(count)]
    return [json.dumps({"expression": "x**2 + 3*sin(x)*y", "point": {"x": 0.5 + k * 1e-6, "y": 2}})
            for k in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=float, default=1e7)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--distinct", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--partitions", type=int, default=10)
    options = parser.parse_args()
    count = int(options.points)
    xs = np.linspace(0.5, 1.5, count)
    chunk = -(-count // options.partitions)
    settle_for_volume()
    repeated = requests(options.lines, distinct=False)
    with tempfile.TemporaryDirectory() as folder:
        grid = Path(folder) / "grid"
        grid.mkdir()
        for index, start in enumerate(range(0, count, chunk)):
            np.save(grid / f"part-{index:04d}.npy", xs[start:start + chunk])
        api(None, xs[:chunk], chunk), points(None, grid, Path(folder) / "warm")  # first-call costs
        here = {"api": api(None, xs, chunk), "points": points(None, grid, Path(folder) / "here"),
                "batch": batch(None, repeated), "distinct": batch(None, requests(options.distinct, True)),
                "batch2": batch(None, repeated, jobs=2),
                "distinct2": batch(None, requests(options.distinct, True, options.distinct), jobs=2)}
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # as on each worker
        here["api1"] = api(None, xs, chunk)
        torch.set_num_threads(threads)
        print(f"{count:,} points in {options.partitions} partitions of {chunk:,}; {options.lines:,} repeated-"
              f"expression lines, {options.distinct:,} distinct ones; blocks of {cluster.BLOCK_LINES:,} lines")
        print(f"one process ({threads} torch threads): API {count / here['api']:,.0f} points/s ("
              f"{count / here['api1']:,.0f} on one thread), --points {count / here['points']:,.0f} "
              f"points/s, batch {options.lines / here['batch']:,.0f} lines/s (distinct "
              f"{options.distinct / here['distinct']:,.0f}/s); --jobs 2: {options.lines / here['batch2']:,.0f} "
              f"lines/s (distinct {options.distinct / here['distinct2']:,.0f}/s)")
        for workers in (int(n) for n in options.workers.split(",")):
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                              dashboard_address=None) as local, Client(local) as client:
                address = local.scheduler_address
                # warm every worker: imports, the compiled expression, the batch's answering
                api(client, xs[:workers * 1000], 1000), points(address, grid, Path(folder) / "warm")
                batch(client, repeated[:workers * cluster.BLOCK_LINES])
                overhead = task_overhead(client)
                there = {"api": api(client, xs, chunk), "points": points(address, grid, Path(folder) / f"w{workers}"),
                         "batch": batch(client, repeated),
                         "distinct": batch(client, requests(options.distinct, True, (2 + workers) * options.distinct))}
            print(f"{workers} worker{'s' if workers > 1 else ''}: a task costs the scheduler {overhead * 1e3:.2f} ms")
            for name, amount, unit in (("api", count, "points"), ("points", count, "points"),
                                       ("batch", options.lines, "lines"), ("distinct", options.distinct, "lines")):
                print(f"  {name:9s} {amount / there[name]:12,.0f} {unit}/s   {here[name] / there[name]:.2f}x one "
                      f"process")
            work = here["api"] / count  # seconds per point in one process
            print(f"  partitions of at least {overhead / (0.05 * work):,.0f} points keep the scheduler under 5% "
                  "of the work")


if __name__ == "__main__":
    main()
