"""Streams: values from stdin (`--x -`) and NDJSON batches (`derivcli batch`), one answer per line.

Each answer is produced as its line is read (the caller writes and flushes it), in constant memory, so
both work inside `tail -f` pipelines.  A bad line becomes an error record in its place; the rest go on.
Expressions are parsed and lowered once per text (`api.compile_text` is cached).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .errors import DerivcliError

STDIN = "-"
BATCH_KEYS = {"expression", "point", "wrt", "command", "order", "check", "fd", "dtype", "formula"}
BATCH_COMMANDS = ("grad", "jacobian", "hessian", "diff")


def stream_value(name: str, text: str) -> Any:
    """A streamed line: a number or a JSON list (the binding syntax, without files or constructors)."""
    from .bindings import parse_value

    stripped = text.strip()
    if stripped.startswith("@") or stripped.startswith(("zeros", "ones", "rand", "arange", "linspace")):
        raise DerivcliError(f"'{stripped[:40]}': a streamed line is a number or a JSON list")
    return parse_value(name, stripped)


def grad_stream(expression: str, name: str, lines: Iterable[str], point: Mapping[str, Any],
                **options: Any) -> Iterator[tuple[int, str, Any]]:
    """(line number, the line, GradResult or DerivcliError) for each non-blank input line."""
    from .api import grad

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, line.strip(), grad(expression, {**point, name: stream_value(name, line)}, **options)
        except DerivcliError as error:
            yield number, line.strip(), error


def batch(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """One JSON-ready answer per non-blank NDJSON request line: the command's contract, or
    {"line": n, "error": "..."}."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield answer(json.loads(line))
        except json.JSONDecodeError as error:
            yield {"line": number, "error": f"invalid JSON: {error.msg} (column {error.colno})"}
        except DerivcliError as error:
            yield {"line": number, "error": error.one_line()}
        except RecursionError:
            yield {"line": number, "error": "the request is nested too deeply"}
        except Exception as error:  # a bug must not lose the lines after it
            yield {"line": number, "error": f"internal error: {type(error).__name__}: {error}"}


def answer(request: Any) -> dict[str, Any]:
    """Run one batch request: {"expression", "point", "wrt", "command", "order", "check", ...}."""
    from . import api

    if not isinstance(request, dict):
        raise DerivcliError("a request is a JSON object with at least \"expression\" and \"point\"")
    unknown = set(request) - BATCH_KEYS
    if unknown:
        raise DerivcliError(f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(sorted(unknown))}",
                            hint=f"a request may have {', '.join(sorted(BATCH_KEYS))}")
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
    if command == "grad":
        return api.grad(expression, point, wrt=wrt, check=bool(request.get("check")), fd=bool(request.get("fd")),
                        dtype=dtype).to_json()
    if command == "jacobian":
        return api.jacobian(expression, point, wrt=wrt, dtype=dtype).to_json()
    if command == "hessian":
        return api.hessian(expression, point, wrt=wrt, dtype=dtype).to_json()
    if command == "diff":
        order = request.get("order", 1)
        if not isinstance(order, int) or isinstance(order, bool):
            raise DerivcliError("\"order\" must be a whole number")
        return api.diff(expression, wrt, order, point, formula=request.get("formula"), dtype=dtype).to_json()
    raise DerivcliError(f"unknown command {json.dumps(command)[:40]}", hint=f"use one of {', '.join(BATCH_COMMANDS)}")
