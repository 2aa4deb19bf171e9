"""Past one machine: `derivcli.compile` on dask arrays, `grad --points GLOB` and `batch` on a Dask cluster.

Dask (`pip install 'derivcli[dask]'`) is imported only here and only when asked for (`--scheduler`, a dask
array passed to a compiled function), so help, errors and every other command stay as fast as before.
The work on the workers is derivcli's ordinary code: a block of an array goes through `Compiled`, a
partition file through `grad --points`, a block of request lines through the batch's answering.  Workers
must have derivcli installed, and for `--points` see the same files as the client (a shared filesystem).
"""

from __future__ import annotations

import io
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, redirect_stdout
from typing import Any, Optional

from ..errors import DerivcliError
from ..limits.memory import limit as memory_limit

CONNECT_SECONDS = 3.0  # an unreachable, silent or wrong scheduler is an error this soon, not a hang
ANSWER_SECONDS = 10.0  # while a task runs, the scheduler is asked this often whether it still answers, and
# must answer within it
BLOCK_LINES = 2_000  # batch lines per task: see docs/performance.md for the measurement behind it
EXTRA = "pip install 'derivcli[dask]'"


def _require_dask() -> Any:
    """The distributed module, or the one-line error that names the extra to install."""
    try:
        import dask.array  # noqa: F401
        import distributed
    except ImportError:
        raise DerivcliError(f"--scheduler needs dask: {EXTRA}") from None
    return distributed


@contextmanager
def connected(scheduler: str) -> Iterator[Any]:
    """A Dask client for `scheduler` ('local': a LocalCluster started here and closed on the way out)."""
    import logging

    distributed = _require_dask()
    import dask

    from .workers import available_cpus

    with dask.config.set({"distributed.comm.timeouts.connect": f"{CONNECT_SECONDS}s"}):
        if scheduler == "local":
            local = distributed.LocalCluster(n_workers=available_cpus(), threads_per_worker=1, processes=True,
                                             host="127.0.0.1", dashboard_address=None, silence_logs=logging.CRITICAL)
            with local, distributed.Client(local) as client:
                yield client
            return
        hint = "start one with 'dask scheduler', or use --scheduler local"
        try:
            client = _bounded_client(distributed, scheduler)
        except TimeoutError:
            raise DerivcliError(f"--scheduler {scheduler}: no Dask scheduler answered within {CONNECT_SECONDS:g} s",
                                hint=hint) from None
        except AssertionError:  # Dask's client asserts what the scheduler says (an echo server fails here)
            raise DerivcliError(f"--scheduler {scheduler}: what answers there is not a Dask scheduler",
                                hint=hint) from None
        except Exception as error:  # refused, unreachable, junk
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise DerivcliError(f"--scheduler {scheduler}: cannot reach the scheduler within {CONNECT_SECONDS:g} s "
                                f"({reason[:120]})", hint=hint) from None
        with client:
            yield client


def _bounded_client(distributed: Any, address: str) -> Any:
    """`distributed.Client(address)` with its whole start bounded by CONNECT_SECONDS: Dask bounds the TCP
    connect, but then waits for the scheduler's handshake without a bound (a peer that accepts and never
    speaks held it for ever); `sync` cancels the start when the time is up."""
    class Client(distributed.Client):  # named so in the scheduler's logs
        def start(self, **kwargs: Any) -> None:
            super().start(callback_timeout=CONNECT_SECONDS, **kwargs)

    return Client(address, timeout=f"{CONNECT_SECONDS}s")


Task = tuple[Callable[..., Any], tuple[Any, ...]]


def ordered(client: Any, tasks: Iterable[Task], lost: Callable[[tuple[Any, ...]], Any]) -> Iterator[Any]:
    """Each task's result, in the order given, with two tasks per worker thread on the cluster at once
    (so a long input streams through in bounded memory).  A task whose worker dies is run again by Dask;
    one that has killed several (Dask's allowed-failures) gives `lost(its arguments)` instead."""
    from distributed import KilledWorker

    window = 2 * max(1, sum(_asked(client, client.scheduler.ncores).values()))
    running: deque[tuple[Any, tuple[Any, ...]]] = deque()

    def first() -> Any:
        future, args = running.popleft()
        try:
            return _result(client, future)
        except KilledWorker:
            return lost(args)

    for function, args in tasks:
        running.append((client.submit(function, *args, pure=False), args))
        if len(running) >= window:
            yield first()
    while running:
        yield first()


def _asked(client: Any, call: Callable[..., Any], *args: Any) -> Any:
    """A call to the scheduler (one of `client.scheduler`'s), answered within ANSWER_SECONDS or an error."""
    from concurrent.futures import CancelledError

    try:
        return client.sync(call, *args, callback_timeout=ANSWER_SECONDS)
    except (TimeoutError, OSError, CancelledError):
        raise DerivcliError(f"the Dask scheduler at {client.scheduler.address} stopped answering "
                            f"(nothing for {ANSWER_SECONDS:g} s, or the connection closed)") from None


def _result(client: Any, future: Any) -> Any:
    """A task's result, however long it computes, as long as the scheduler still answers: it is asked
    every ANSWER_SECONDS, and a lost connection cancels the futures (an error, not a wait)."""
    from concurrent.futures import CancelledError

    while True:
        try:
            return future.result(timeout=ANSWER_SECONDS)
        except TimeoutError:
            _asked(client, client.scheduler.identity)
        except CancelledError:
            raise DerivcliError(f"lost the connection to the Dask scheduler at {client.scheduler.address}") from None


def _settle_worker(budget: int | None = None) -> None:
    """Every task: the client's memory budget (--max-memory) holds on the worker too; once per process,
    the rest (`dask_arrays.settle_process`)."""
    if budget is not None:
        from ..limits import memory

        memory.set_limit(budget)
    from .dask_arrays import settle_process

    settle_process()


# ------------------------------------------------------------------------------- grad --points GLOB


def grad_on_cluster(scheduler: str, expression: str, points: Optional[str], output: Optional[str],
                    fixed: dict[str, object], wrt: list[str] | None, dtype: str, device: str, as_json: bool,
                    refused: list[str]) -> int:
    """`grad --points GLOB --scheduler …`: each file a partition, evaluated on a worker by `grad --points`
    itself.  With `--output DIR` each worker writes its partition's result beside the others (same base
    name, .csv for a .csv partition, .npy otherwise) and a summary goes to stderr; without it the results
    come back to stdout in partition order, one CSV header (or NDJSON)."""
    from ..inputs.files import check_files_allowed

    _require_dask()
    if points is None:
        raise DerivcliError("--scheduler works with --points", hint="give a glob of partitions: --points 'grid/*.npy'")
    if refused:
        raise DerivcliError(f"--scheduler evaluates --points files; {', '.join(refused)} "
                            f"work{'s' if len(refused) == 1 else ''} at one point")
    check_files_allowed("--points")  # here: the workers do not see this process's --no-files
    if as_json and output is not None:
        raise DerivcliError("--json writes one object per point to stdout; --output writes a folder of files",
                            hint="give one of them")
    paths = _partitions("--points", points)
    headers = [_header(path) for path in paths]
    for path, header in zip(paths[1:], headers[1:]):
        if header != headers[0]:
            raise DerivcliError(f"--points: {path} has the columns {', '.join(header) or '(one unnamed)'}, "
                                f"{paths[0]} has {', '.join(headers[0]) or '(one unnamed)'}",
                                hint="every partition has the same columns")
    targets = _targets(paths, output) if output is not None else [None] * len(paths)
    with connected(scheduler) as client, _partition_bar() as bar:
        started = time.perf_counter()
        tasks = ((_partition, (expression, path, fixed, wrt, target, dtype, device, as_json, memory_limit()))
                 for path, target in zip(paths, targets))
        done = 0
        for index, answer in enumerate(ordered(client, tasks, _lost_partition)):
            if isinstance(answer, DerivcliError):
                raise answer
            count, text = answer
            done += count
            if output is None:
                sys.stdout.write(text if index == 0 or as_json else text.partition("\n")[2])
                sys.stdout.flush()
            bar(index + 1, len(paths))
        seconds = time.perf_counter() - started
    if output is not None:
        sys.stderr.write(f"points\t{done}\tseconds\t{seconds:.3f}\tpoints/s\t{done / max(seconds, 1e-9):.0f}\n")
    return 0


def _partition_bar() -> Any:
    """The progress bar of partitions done, as their futures finish, on a terminal; elsewhere nothing."""
    from contextlib import nullcontext

    from ..render.progress import progress_bar

    return progress_bar() if sys.stderr.isatty() else nullcontext(lambda done, total: None)


def _lost_partition(args: tuple[Any, ...]) -> Any:
    raise DerivcliError(f"--points: {args[1]} killed the workers that read it (out of memory?)")


def _partitions(what: str, pattern: str) -> list[str]:
    """The files of a glob in name order (a plain path is itself, so a missing one is named as such)."""
    import glob

    if not any(char in pattern for char in "*?["):
        return [pattern]
    paths = sorted(glob.glob(pattern))
    if not paths:
        raise DerivcliError(f"{what}: no files match {pattern}")
    return paths


def _header(path: str) -> list[str]:
    """A partition's column names, read cheaply before any work starts: a CSV's first line, an .npz's
    array names, none for an .npy; a missing or unreadable file is named here."""
    import csv
    import zipfile

    from ..inputs.files import open_regular
    from ..inputs.points import MAX_LINE_CHARS, parquet_file

    with open_regular("--points", path) as handle:
        suffix = os.path.splitext(path)[1].lower()
        try:
            if suffix == ".npy":
                return []
            if suffix == ".parquet":
                return list(parquet_file("--points", path, handle).schema_arrow.names)
            if suffix == ".npz":
                with zipfile.ZipFile(handle) as archive:
                    return sorted(name.removesuffix(".npy") for name in archive.namelist())
            line = handle.readline(MAX_LINE_CHARS + 1).decode("utf-8-sig")
        except (OSError, ValueError, zipfile.BadZipFile) as error:  # (UnicodeDecodeError, pyarrow's ArrowInvalid)
            raise DerivcliError(f"--points: cannot read {path}: {type(error).__name__}") from None
    return [name.strip() for name in next(csv.reader([line]), [])]


def _targets(paths: list[str], folder: str) -> list[str]:
    """The result file of each partition in the folder `--output` names (made if missing)."""
    from ..inputs.files import check_files_allowed

    check_files_allowed("--output")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        raise DerivcliError(f"--output {folder}: cannot make the folder: {(error.strerror or str(error)).lower()}") \
            from None
    targets: dict[str, str] = {}
    for path in paths:
        base, suffix = os.path.splitext(os.path.basename(path))
        target = os.path.join(folder, base + (".csv" if suffix.lower() == ".csv" else ".npy"))
        if target in targets:
            raise DerivcliError(f"--output: {targets[target]} and {path} would both write {target}",
                                hint="give partitions distinct base names")
        targets[target] = path
    return list(targets)


def _partition(expression: str, path: str, fixed: dict[str, object], wrt: list[str] | None, target: Optional[str],
               dtype: str, device: str, as_json: bool, budget: int | None = None) -> tuple[int, str] | DerivcliError:
    """On a worker: one partition through `grad --points` (-> its point count, and its text when it
    goes to stdout).  A bad partition's error comes back as the answer, for the client to report: raised
    here, it would also fill the worker's log."""
    from ..inputs.points import count_lines
    from ..limits import memory
    from .points import grad_at_points

    _settle_worker(budget)
    text = io.StringIO()  # not a terminal: no progress bar on a worker
    try:
        with redirect_stdout(text), memory.request():
            grad_at_points(expression, path, fixed, wrt, target, False, dtype, device, as_json)
    except DerivcliError as error:
        return error
    if target is None:
        lines = text.getvalue().count("\n")
        return lines if as_json else lines - 1, text.getvalue()
    if target.endswith(".npy"):
        import numpy as np

        return int(np.load(target, mmap_mode="r").shape[0]), ""
    with open(target, "rb") as handle:
        return count_lines(handle) - 1, ""


# -------------------------------------------------------------------------------------------- batch


def batch_on_cluster(scheduler: Optional[str], inputs: Optional[list[str]], jobs: Optional[int]) -> int:
    """`batch --scheduler …`: blocks of request lines answered on the workers by the batch's own code,
    written in input order; a block whose worker dies is run again by Dask (each answer is written once).
    A block that keeps killing workers gets an error record for each of its lines."""
    from ..errors import Exit
    from .streams import available_lines
    from .workers import killing_workers_on_sigterm

    if scheduler is None:
        raise DerivcliError("--input goes with --scheduler", hint="without a cluster: cat FILES | derivcli batch")
    _require_dask()
    if jobs is not None:
        raise DerivcliError("--jobs sets this machine's worker processes; with --scheduler the cluster's answer",
                            hint="size the cluster instead: dask worker --nworkers N")
    groups = _input_lines(inputs) if inputs else available_lines(sys.stdin)
    failed = False
    with killing_workers_on_sigterm(), connected(scheduler) as client:  # a LocalCluster's too
        blocks = ((_answer_block, (*block, memory_limit())) for block in _blocks(groups))
        for text, errors in ordered(client, blocks, _lost_block):
            failed = failed or errors
            sys.stdout.write(text)
            sys.stdout.flush()
    return Exit.BAD_INPUT if failed else 0


def _input_lines(patterns: list[str]) -> Iterator[list[str]]:
    """The lines of every --input file in order, each bounded as stdin's are (streams.available_lines)."""
    from ..inputs.files import check_files_allowed, open_regular
    from .streams import available_lines

    check_files_allowed("--input")
    paths = [path for pattern in patterns for path in _partitions("--input", pattern)]
    for path in paths:
        with open_regular("--input", path) as handle:
            try:
                yield from available_lines(handle)
            except OSError as error:
                raise DerivcliError(f"--input: cannot read {path}: {(error.strerror or str(error)).lower()}") \
                    from None


def _blocks(groups: Iterable[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """(lines before, lines) pieces of at most BLOCK_LINES: what one task answers."""
    number = 0
    for group in groups:
        for start in range(0, len(group), BLOCK_LINES):
            yield number + start, group[start:start + BLOCK_LINES]
        number += len(group)


def _lost_block(args: tuple[Any, ...]) -> tuple[str, bool]:
    """Every line of a block that kept killing its workers gets a record, as `answer_lines` would number it."""
    from ..errors import Exit
    from ..wire import TooLong, error_record

    first, lines, _ = args
    message = "internal error: the workers answering this line's block kept stopping (out of memory?)"
    return _encoded([error_record(number, message, Exit.INTERNAL) for number, line in enumerate(lines, start=first + 1)
                     if isinstance(line, TooLong) or line.strip()])


def _answer_block(first: int, lines: list[str], budget: int | None = None) -> tuple[str, bool]:
    """On a worker: `streams.answer_lines` (looked up at call time, so a test can stand in for it), sent
    back as NDJSON text and whether any line failed: Dask serializes a list of 2,000 answers element by
    element, which cost more than answering them."""
    from . import streams

    _settle_worker(budget)
    return _encoded(streams.answer_lines(first, lines))


def _encoded(answers: list[dict[str, Any]]) -> tuple[str, bool]:
    from ..wire import dumps

    return "".join(dumps(answer) + "\n" for answer in answers), any("error" in a and "line" in a for a in answers)
