"""Worker processes for `batch`: big groups of lines shared among forked workers, answered in order.

The pool never outlives its parent and never loses a line: workers die with the parent (Linux's
parent-death signal, and an explicit kill on every way out, SIGTERM included), a worker that dies costs
only the time to answer its lines again (and a line that kills workers, its error record), and the worker
count is capped by the CPUs this process may use.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..errors import Exit
from ..wire import error_record

Answers = list[dict[str, Any]]
AnswerGroup = Callable[[int, list[str]], Answers]  # (lines before the group, its lines) -> answers

PARALLEL_MIN_LINES = 64  # a smaller group is answered here: a worker's round trip would cost more
MAX_DEFAULT_JOBS = 8
SIGTERM_EXIT = 143


def can_fork() -> bool:
    """Workers are forked, so they share the parent's imported torch and SymPy instead of importing them
    again (seconds each); fork is safe with torch on Linux only."""
    import multiprocessing

    return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()


def available_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_jobs() -> int:
    """One worker per CPU this process may use, at most MAX_DEFAULT_JOBS; 1 where workers cannot fork."""
    return min(MAX_DEFAULT_JOBS, available_cpus()) if can_fork() else 1


def worker_count(requested: int) -> int:
    """`--jobs N`, capped by the CPUs: more workers than CPUs only cost memory (200 forks: over 2 GB)."""
    return max(1, min(requested, available_cpus()))


def parallel(groups: Iterable[list[str]], jobs: int, answer_here: Callable[[int, list[str]], Iterator[Any]],
             answer_group: AnswerGroup) -> Iterator[dict[str, Any]]:
    """Big groups go to the workers, up to jobs + 1 of them in flight while more input is at hand; the
    answers due are written whenever no input is waiting, so a pipeline's answers never wait for its next
    line.  A small group with nothing in flight is answered here, at once (`answer_here`); `answer_group`
    runs in the workers (a module-level function, so that it pickles)."""
    import queue
    import threading
    from collections import deque

    arrivals: queue.Queue[Any] = queue.Queue(maxsize=2 * jobs)
    threading.Thread(target=_read_ahead, args=(groups, arrivals), daemon=True).start()
    workers: _Workers | None = None
    pending: deque[Callable[[], Iterator[dict[str, Any]]]] = deque()
    number = 0
    with killing_workers_on_sigterm():
        try:
            while True:
                if pending and (len(pending) > jobs or arrivals.empty()):
                    yield from pending.popleft()()
                    continue
                group = arrivals.get()
                if group is _END:
                    break
                if isinstance(group, BaseException):
                    raise group
                if len(group) < PARALLEL_MIN_LINES and not pending:
                    yield from answer_here(number, group)
                else:
                    workers = workers or _Workers(jobs, answer_group)
                    pending.append(workers.submit(number, group))
                number += len(group)
            while pending:
                yield from pending.popleft()()
        except BaseException:  # interrupted, or the reader stopped early: the workers go too
            if workers is not None:
                workers.close(wait=False)
            raise
    if workers is not None:
        workers.close(wait=True)


_END = object()


def _read_ahead(groups: Iterable[list[str]], arrivals: Any) -> None:
    """Read input on a thread of its own, so answers can be written while it waits for more."""
    try:
        for group in groups:
            arrivals.put(group)
    except Exception as error:  # reading failed: the main thread raises it in order
        arrivals.put(error)
    arrivals.put(_END)


def kill_workers() -> None:
    import multiprocessing

    for child in multiprocessing.active_children():
        child.kill()


class killing_workers_on_sigterm:
    """SIGTERM to the parent ends the workers too, then the parent (exit 143); the answers already
    written were flushed line by line.  Only the main thread can set a handler; elsewhere the
    parent-death signal still ends the workers."""

    def __enter__(self) -> None:
        import signal
        import threading

        self.previous: Any = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, _terminate)

    def __exit__(self, *exc: object) -> None:
        import signal

        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


def _terminate(signum: int, frame: object) -> None:
    kill_workers()
    os._exit(SIGTERM_EXIT)


Sent = tuple[int, Any]  # (the pool's generation, the future of a piece's answers)


class _Workers:
    """A pool of forked worker processes answering contiguous pieces of a group, in order.  A worker
    that dies (killed from outside, or for memory) breaks the pool and every piece in flight: each is sent
    again whole to a fresh pool, and a piece that breaks one again is halved until the line that does it
    stands alone and gets an error record, so a few lost workers cost a few rounds, not a line each."""

    def __init__(self, jobs: int, answer_group: AnswerGroup) -> None:
        self.jobs = jobs
        self.answer_group = answer_group
        self.executor = self._start()
        self.generation = 0  # how many pools broke before this one
        self.broken = False

    def _start(self) -> Any:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_worker_setup, initargs=(os.getpid(),))

    def submit(self, first: int, lines: list[str]) -> Callable[[], Iterator[dict[str, Any]]]:
        """Start answering `lines` (numbered from first + 1); the result gives the answers in order."""
        size = -(-len(lines) // self.jobs)
        pieces = [(first + start, lines[start:start + size]) for start in range(0, len(lines), size)]
        sent = [self._send(start, piece) for start, piece in pieces]

        def answers() -> Iterator[dict[str, Any]]:
            for (start, piece), future in zip(pieces, sent):
                yield from self._answers(start, piece, future, again=False)

        return answers

    def _send(self, first: int, lines: list[str]) -> Sent:
        if self.broken:
            self.close()
            self.executor, self.broken, self.generation = self._start(), False, self.generation + 1
        return self.generation, self.executor.submit(self.answer_group, first, lines)

    def _answers(self, first: int, lines: list[str], sent: Sent, again: bool) -> Iterator[dict[str, Any]]:
        """The answers to a piece that was `sent`; if its pool broke, it is sent whole once more, then
        (`again`) in halves, down to the one line that keeps breaking pools, which gets an error record."""
        from ..wire import TooLong

        answers = self._result(sent)
        if answers is not None:
            yield from answers
        elif not again:
            yield from self._answers(first, lines, self._send(first, lines), again=True)
        elif len(lines) == 1:
            if isinstance(lines[0], TooLong) or lines[0].strip():
                yield error_record(first + 1, "internal error: the worker answering this line stopped (out of "
                                              "memory?)", Exit.INTERNAL)
        else:
            halves = [(first, lines[:len(lines) // 2]), (first + len(lines) // 2, lines[len(lines) // 2:])]
            for (start, half), resent in [(half, self._send(*half)) for half in halves]:
                yield from self._answers(start, half, resent, again=True)

    def _result(self, sent: Sent) -> Answers | None:
        """The answers, or None if a worker died (which breaks the pool it was in: this one, unless a piece
        sent earlier already broke it and it was replaced)."""
        from concurrent.futures.process import BrokenProcessPool

        generation, future = sent
        try:
            result: Answers = future.result()
            return result
        except BrokenProcessPool:
            self.broken = self.broken or generation == self.generation
            return None

    def close(self, wait: bool = False) -> None:
        self.executor.shutdown(wait=wait, cancel_futures=True)
        if not wait:
            kill_workers()


def _worker_setup(parent: int) -> None:
    """A helper process, with one intra-op thread, as the workers already use every CPU."""
    import torch

    from ..limits.processes import settle_helper

    settle_helper(parent)
    torch.set_num_threads(1)
