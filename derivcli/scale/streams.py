"""Streams: values from stdin (`--x -`) and NDJSON batches (`derivcli batch`), one answer per line.

Each answer is produced as its line is read (the caller writes and flushes it), in constant memory, so
both work inside `tail -f` pipelines.  A bad line becomes an error record in its place; the rest go on.
Expressions are parsed and lowered once per text (`api.compile_text` is cached).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

from ..errors import DerivcliError, Exit
from ..limits import memory
from ..limits.spelling import nearest
from ..wire import TooLong, error_record

T = TypeVar("T")

STDIN = "-"
BATCH_KEYS = {"expression", "point", "wrt", "command", "order", "check", "fd", "dtype", "formula", "corr", "k"}
BATCH_COMMANDS = ("grad", "jacobian", "hessian", "diff", "propagate")


def stream_value(name: str, text: str) -> Any:
    """A streamed line: a number or a JSON list (the binding syntax, without files or constructors)."""
    from ..inputs.bindings import parse_value

    stripped = text.strip()
    if stripped.startswith("@") or stripped.startswith(("zeros", "ones", "rand", "arange", "linspace")):
        raise DerivcliError(f"'{stripped[:40]}': a streamed line is a number or a JSON list")
    return parse_value(name, stripped)


def grad_stream(expression: str, name: str, lines: Iterable[str], point: Mapping[str, Any],
                **options: Any) -> Iterator[tuple[int, str, Any]]:
    """(line number, the line, GradResult or DerivcliError) for each non-blank input line.  torch and SymPy
    are imported with the first value: a closed or empty stdin is answered at once."""
    for number, line in enumerate(stdin_read(lines), start=1):
        if not line.strip():
            continue
        from ..api import grad

        try:
            with memory.request():  # the line's value is held beside the command's own bindings, then let go
                answer = grad(expression, {**point, name: stream_value(name, line)}, **options)
            yield number, line.strip(), answer
        except DerivcliError as error:
            yield number, line.strip(), error


def batch(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """One JSON-ready answer per non-blank NDJSON request line: the command's contract, or
    {"line": n, "error": {"message", "column", "hint", "exit_code"}}."""
    return batch_groups([line] for line in lines)


def batch_groups(groups: Iterable[list[str]], jobs: int = 1) -> Iterator[dict[str, Any]]:
    """As `batch`, for lines that arrive in groups (all those already available on stdin): consecutive
    gradient requests for one expression at scalar points are answered in one vectorized pass, the
    same numbers as one by one at a fraction of the cost.  With `jobs` > 1, big groups are shared among
    that many worker processes (parsing distinct expressions is CPU-bound Python: threads would not help)."""
    from .workers import can_fork, parallel, worker_count

    if worker_count(jobs) > 1 and can_fork():
        yield from parallel(groups, worker_count(jobs), _answers, answer_lines)
        return
    number = 0
    for group in groups:
        yield from _answers(number, group)
        number += len(group)


MAX_LINE = 1 << 20  # bytes of one request line; past it the line is skipped, not read into memory


def stdin_read(items: Iterable[T]) -> Iterator[T]:
    """What is read from stdin, as it comes; a read that fails (EIO: the terminal went away; a stream that
    cannot be read) is one error line, not an internal error."""
    try:
        yield from items
    except OSError as error:
        raise DerivcliError(f"cannot read stdin: {(error.strerror or str(error)).lower()}",
                            hint="pipe the values in") from None


def available_lines(stream: Any) -> Iterator[list[str]]:
    """Groups of complete lines as they become available (`_available_lines`), a failing read one error."""
    return stdin_read(_available_lines(stream))


def _available_lines(stream: Any) -> Iterator[list[str]]:
    """Groups of complete lines, each group all that was available when read: a file arrives in big
    groups (answered in vectorized runs), a line typed into a pipe alone (answered at once).  A line past
    MAX_LINE is skipped to its end and stands as `TooLong`, so one huge line costs neither memory nor
    the lines after it."""
    import os

    try:
        descriptor = stream.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (tests): one group of everything
        yield [TooLong() if len(line) > MAX_LINE else line for line in stream.read().splitlines()]
        return
    pending = b""
    skipping = False
    while True:
        chunk = os.read(descriptor, 1 << 16)
        if not chunk:
            break
        group: list[str] = []
        while chunk:
            end = chunk.find(b"\n")
            if end < 0:
                if not skipping:
                    pending += chunk
                    skipping = len(pending) > MAX_LINE
                break
            if not skipping and len(pending) + end <= MAX_LINE:
                group.append((pending + chunk[:end]).decode("utf-8", "replace"))
            else:
                group.append(TooLong())
            pending, skipping, chunk = b"", False, chunk[end + 1:]
        if group:
            yield group
    if pending or skipping:
        yield [TooLong() if skipping else pending.decode("utf-8", "replace")]


def _answers(first: int, lines: list[str]) -> Iterator[dict[str, Any]]:
    """The answers to `lines`, numbered from first + 1, each as soon as it is computed."""
    return _answer_run(_read_requests(first, lines))


def answer_lines(first: int, lines: list[str]) -> list[dict[str, Any]]:
    """All the answers to `lines` at once (what a worker process returns)."""
    return list(_answers(first, lines))


def _read_requests(first: int, lines: list[str]) -> list[tuple[int, Any]]:
    requests: list[tuple[int, Any]] = []
    for number, line in enumerate(lines, start=first + 1):
        if isinstance(line, TooLong):
            requests.append((number, DerivcliError(f"the line is longer than {MAX_LINE:,} bytes; it was not read",
                                                   hint="a request is one JSON object on one line")))
            continue
        if not line.strip():
            continue
        try:
            requests.append((number, json.loads(line)))
        except json.JSONDecodeError as error:
            requests.append((number, DerivcliError(f"invalid JSON: {error.msg} (column {error.colno})")))
        except ValueError:  # Python refuses integers of over 4,300 digits, inside json.loads
            requests.append((number, DerivcliError("the request holds a number too long to read (over 4,300 digits)")))
        except RecursionError:
            requests.append((number, DerivcliError("the request is nested too deeply")))
    return requests


def _answer_run(requests: list[tuple[int, Any]]) -> Iterator[dict[str, Any]]:
    start = 0
    while start < len(requests):
        key = _vector_key(requests[start][1])
        end = start + 1
        while key is not None and end < len(requests) and _vector_key(requests[end][1]) == key:
            end += 1
        if end - start > 1 and key is not None:
            answers = _vectorized(key, [request for _, request in requests[start:end]])
            if answers is not None:
                yield from answers
                start = end
                continue
        for number, request in requests[start:end]:
            yield _answer_one(number, request)
        start = end


def _answer_one(number: int, request: Any) -> dict[str, Any]:
    try:
        if isinstance(request, DerivcliError):
            raise request
        with memory.request():  # each request has the whole budget, and only it
            return answer(request)
    except DerivcliError as error:
        return error_record(number, error)
    except RecursionError:
        return error_record(number, "the request is nested too deeply")
    except Exception as error:  # a bug must not lose the lines after it
        return error_record(number, f"internal error: {type(error).__name__}: {error}", Exit.INTERNAL)


def _vector_key(request: Any) -> tuple[Any, ...] | None:
    """What a run of requests must share to be answered together; None for anything but a plain
    gradient at a point of numbers."""
    if not isinstance(request, dict) or set(request) - {"expression", "point", "wrt", "command"}:
        return None
    point, wrt = request.get("point"), request.get("wrt")
    if request.get("command", "grad") != "grad" or not isinstance(request.get("expression"), str) \
            or not isinstance(point, dict) or not point:
        return None
    if not all(isinstance(v, float) or isinstance(v, int) and not isinstance(v, bool) and abs(v) < 2**1000
               for v in point.values()):
        return None
    if wrt is not None and not (isinstance(wrt, list) and all(isinstance(w, str) for w in wrt)):
        return None
    return request["expression"], tuple(point), None if wrt is None else tuple(wrt)


def _vectorized(key: tuple[Any, ...], requests: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The answers for a run of same-shaped gradient requests, or None to answer them one by one."""
    from ..api import non_finite_warnings


    expression, names, wrt = key
    try:
        compiled = _compiled(expression, wrt, names)
    except DerivcliError:
        return None
    if set(names) != set(compiled.variables):
        return None
    import torch

    columns = {name: torch.tensor([float(r["point"][name]) for r in requests], dtype=torch.float64)
               for name in names}
    values = compiled(**columns).tolist()
    grads = {name: column.tolist() for name, column in compiled.grad(**columns).items()}
    canonical = compiled.parsed.canonical
    answers = []
    for row, value in enumerate(values):
        gradient = {name: grads[name][row] for name in compiled.wrt}
        answers.append({"expression": canonical, "point": {n: float(columns[n][row]) for n in names},
                        "dtype": "float64", "value": value, "gradient": dict(gradient),
                        "warnings": non_finite_warnings(value, gradient)})
    return answers


@lru_cache(maxsize=256)
def _compiled(expression: str, wrt: tuple[str, ...] | None, names: tuple[str, ...]) -> Any:
    from .vectorized import Compiled

    return Compiled(expression, list(wrt) if wrt else None, names=names)


def answer(request: Any) -> dict[str, Any]:
    """Run one batch request: {"expression", "point", "wrt", "command", "order", "check", ...}."""
    from ..differentiate.setup import MissingValues

    if not isinstance(request, dict):
        raise DerivcliError("a request is a JSON object with at least \"expression\" and \"point\"")
    unknown = set(request) - BATCH_KEYS
    if unknown:
        close = [match for key in sorted(unknown) if (match := nearest(key, BATCH_KEYS)) is not None]
        raise DerivcliError(f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(sorted(unknown))}",
                            hint=f"did you mean {close[0]}?" if len(close) == len(unknown) == 1 else
                            f"a request may have {', '.join(sorted(BATCH_KEYS))}")
    try:
        return _answer_request(request)
    except MissingValues as missing:
        raise DerivcliError(missing.message, hint="add " + ", ".join(f'"{name}"' for name in missing.names)
                            + ' to "point"') from None


def _answer_request(request: dict[str, Any]) -> Any:
    from .. import api

    expression = request.get("expression")
    point = request.get("point", {})
    if not isinstance(expression, str):
        raise DerivcliError("\"expression\" must be a string")
    if not isinstance(point, dict):
        raise DerivcliError("\"point\" must be an object of variable values")
    command = request.get("command", "grad")
    wrt = request.get("wrt")
    if wrt is not None and (not isinstance(wrt, list) or not all(isinstance(w, str) for w in wrt)):
        raise DerivcliError("\"wrt\" must be a list of variable names")
    dtype = request.get("dtype", "float64")
    check, fd = bool(request.get("check")), bool(request.get("fd"))
    if command == "grad":
        return api.grad(expression, point, wrt=wrt, check=check, fd=fd, dtype=dtype).to_json()
    if command == "jacobian":
        return api.jacobian(expression, point, wrt=wrt, dtype=dtype, check=check, fd=fd).to_json()
    if command == "hessian":
        return api.hessian(expression, point, wrt=wrt, dtype=dtype, check=check, fd=fd).to_json()
    if command == "diff":
        order = request.get("order", 1)
        if not isinstance(order, int) or isinstance(order, bool):
            raise DerivcliError("\"order\" must be a whole number")
        return api.diff(expression, wrt, order, point, formula=request.get("formula"), dtype=dtype).to_json()
    if command == "propagate":
        return _propagate(expression, point, request)
    raise DerivcliError(f"unknown command {json.dumps(command)[:40]}", hint=f"use one of {', '.join(BATCH_COMMANDS)}")


def _propagate(expression: str, point: dict[str, Any], request: dict[str, Any]) -> Any:
    """A batch `propagate` request: measurements as written on the command line ("9.81±0.02", "9.81(2)"),
    exact values as numbers, lists or texts, "corr" a list of "a,b=r" texts, "k" the coverage factor."""
    from .. import api  # noqa: F401  (the pipeline, as every other request kind loads it)
    from ..inputs.bindings import parse_value
    from ..science.propagation import propagate
    from ..science.uncertainty import has_uncertainty, read_correlation, read_measured

    corr, k = request.get("corr", []), request.get("k")
    if not isinstance(corr, list) or not all(isinstance(item, str) for item in corr):
        raise DerivcliError('"corr" must be a list of texts like "x,y=0.3"')
    if k is not None and (isinstance(k, bool) or not isinstance(k, (int, float))):
        raise DerivcliError('"k" must be a number')
    values = {name: (read_measured(name, value) if has_uncertainty(value) else parse_value(name, value))
              if isinstance(value, str) else value for name, value in point.items()}
    return propagate(expression, values, correlations=[read_correlation(text) for text in corr], k=k).to_json()


@contextmanager
def ending_when_reader_leaves(stream: Any) -> Iterator[None]:
    """While answering into a pipe or socket: when its reader goes away (`| head -1`) the process ends at
    once, quietly (exit 0, as a write to the gone reader would end it), even while no answer is due (a
    slow line, busy workers, input still to come), so nothing goes on computing for nobody.  A thread
    waits for the pipe's error; the workers and SymPy children die with this process."""
    import os
    import select
    import stat
    import threading

    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (AttributeError, OSError, ValueError):  # not a real file (tests)
        mode = 0
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)) or not hasattr(select, "poll"):
        yield
        return
    descriptor = stream.fileno()
    stop_reading, stop_writing = os.pipe()

    def watch() -> None:
        from .workers import kill_workers

        poller = select.poll()
        poller.register(descriptor, 0)  # POLLERR (no reader left) and POLLHUP are always reported
        poller.register(stop_reading, select.POLLIN)
        if any(fd == descriptor for fd, _ in poller.poll()):
            kill_workers()
            os._exit(0)

    watcher = threading.Thread(target=watch, name="derivcli-reader-watch", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        os.write(stop_writing, b"x")
        watcher.join()
        os.close(stop_reading)
        os.close(stop_writing)


# The wire contract of this module's to_json: tests/schema_build.py gathers every module's into
# derivcli/schemas/derivcli.schema.json (its $defs; JSON_OUTPUTS also join its root).
JSON_SCHEMA = {
    "batch_record": {
        "anyOf": [
            {"$ref": "#/$defs/record_error"}, {"$ref": "#/$defs/grad"}, {"$ref": "#/$defs/jacobian"},
            {"$ref": "#/$defs/hessian"}, {"$ref": "#/$defs/diff"}, {"$ref": "#/$defs/propagate"},
            {"$ref": "#/$defs/error"},
        ],
    },
}
