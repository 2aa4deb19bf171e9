"""Every outcome of a command as an exit code; every failure as one `error: …` line on stderr."""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable
from typing import Any

import typer
from typer._click.exceptions import ClickException, UsageError  # typer >= 0.29 (pyproject's floor) vendors click

from ..errors import DerivcliError, Exit
from ..limits import memory

PROG = "derivcli"


class _Carried(Exception):
    """An exception typer would misreport, on its way to `guarded`."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def guarded(call: Callable[[], Any], json_errors: bool = False) -> int:
    """Run a command; map every outcome to an exit code, reporting errors as one line on stderr (and, for
    a command whose output is JSON, as an error object on stdout too).

    A reader that goes away (`| head -1`) is normal: exit 0, nothing on stderr, whether the broken pipe
    reaches here as itself or as the SystemExit(1) typer and rich turn it into.
    """
    try:
        with memory.request():  # one budget for everything this command reads and computes
            result = call()
        return result if isinstance(result, int) else 0
    except _Carried as carried:
        return guarded(functools.partial(_reraise, carried.error), json_errors)
    except SystemExit as exit:
        if isinstance(exit.__context__, BrokenPipeError):
            silence_stdout()
            return 0
        raise
    except BrokenPipeError:
        silence_stdout()
        return 0
    except (typer.Abort, KeyboardInterrupt):
        return _fail(DerivcliError("interrupted"), Exit.INTERRUPTED, json_errors)
    except UsageError as error:
        message = error.format_message().strip()
        if not message:  # no arguments at all, and the help was printed
            return Exit.BAD_INPUT
        return _fail(usage_error(message, error.ctx.command_path if error.ctx is not None else PROG),
                     Exit.BAD_INPUT, json_errors)
    except ClickException as error:
        return _fail(DerivcliError(_first_line(error.format_message())), error.exit_code, json_errors)
    except DerivcliError as error:
        return _fail(error, Exit.BAD_INPUT, json_errors)
    except RecursionError:
        return _fail(DerivcliError("the expression is too deeply nested to handle"), Exit.BAD_INPUT, json_errors)
    except MemoryError:
        return _fail(DerivcliError("out of memory"), Exit.BAD_INPUT, json_errors)
    except Exception as error:  # a bug: still one line, never a traceback
        if os.environ.get("DERIVCLI_DEBUG"):
            raise
        return _fail(DerivcliError(f"internal error: {type(error).__name__}: {_first_line(str(error))}",
                                   hint="please report it; DERIVCLI_DEBUG=1 shows the traceback"),
                     Exit.INTERNAL, json_errors)


def _fail(error: DerivcliError, code: int, json_errors: bool) -> int:
    report_error(error)
    if json_errors:
        from ..wire import dumps, error_object

        try:
            sys.stdout.write(dumps({"error": error_object(error, code)}) + "\n")
            sys.stdout.flush()
        except (OSError, DerivcliError):  # stdout is gone: the stderr line is all there can be
            pass
    return code


def usage_error(message: str, command: str) -> DerivcliError:
    """Click's usage messages in derivcli's voice: `No such command 'gard'. Did you mean 'grad'?` becomes
    `no such command 'gard'` with the hint `did you mean 'grad'?`; others point at the command's help."""
    invalid = INVALID_VALUE.match(_first_line(message))
    if invalid:
        option, reason = invalid.group(1).split("'")[1], invalid.group(2)
        for pattern, said in VALUE_REASONS:
            reason = re.sub(pattern, said, reason)
        return DerivcliError(f"{option}: {reason}", hint=f"see '{command} --help'")
    first, _, rest = _first_line(message).partition(". ")
    first = first.rstrip(".")
    text = first[:1].lower() + first[1:] if first[1:2].islower() else first
    suggestion = rest.strip()
    hint = suggestion[:1].lower() + suggestion[1:] if suggestion.startswith("Did you mean") else None
    return DerivcliError(text, hint=hint or f"see '{command} --help'")


INVALID_VALUE = re.compile(r"Invalid value for ('[^']*')(?: / '[^']*')?: (.*)")
VALUE_REASONS = [  # typer's wording for a bad option value, in derivcli's
    (r"^Input should be a valid integer.*", "expected a whole number"),
    (r"^Input should be a valid number.*", "expected a number"),
    (r"^Input should be greater than or equal to (\S+).*", r"expected at least \1"),
    (r"^Input should be less than or equal to (\S+).*", r"expected at most \1"),
    (r"^'([^']*)' is not one of (.*)\.?$", r"'\1' is not one of \2"),
]


def wants_json(args: list[str]) -> bool:
    """Whether the command line asks for JSON output (`--json`, `--format json`, or `batch`), before it is
    parsed: errors in parsing it are then JSON too."""
    words = args[:args.index("--")] if "--" in args else args
    pairs = zip(words, [*words[1:], ""])
    return "batch" in words[:1] or any(word == "--json" or word == "--format=json" or (word, following) ==
                                       ("--format", "json") for word, following in pairs)


def _reraise(error: BaseException) -> None:
    raise error


def report_error(error: DerivcliError) -> None:
    sys.stderr.write("".join(line + "\n" for line in ["error: " + error.one_line(), *error.caret_lines()]))


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


def silence_stdout() -> None:
    """Point descriptor 1 at /dev/null, so output still buffered flushes quietly at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
