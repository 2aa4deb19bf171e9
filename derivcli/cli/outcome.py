"""Every outcome of a command as an exit code; every failure as one `error: …` line on stderr."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any

import typer

from ..errors import EXIT_BAD_INPUT, DerivcliError

try:  # typer >= 0.29 vendors click
    from typer._click.exceptions import ClickException, UsageError
except ImportError:  # pragma: no cover - older typer depends on click itself
    from click.exceptions import ClickException, UsageError  # type: ignore[no-redef]

EXIT_INTERNAL = 3
PROG = "derivcli"


class _Carried(Exception):
    """An exception typer would misreport, on its way to `guarded`."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def guarded(call: Callable[[], Any]) -> int:
    """Run a command; map every outcome to an exit code, reporting errors as one line on stderr.

    A reader that goes away (`| head -1`) is normal: exit 0, nothing on stderr, whether the broken pipe
    reaches here as itself or as the SystemExit(1) typer and rich turn it into.
    """
    try:
        result = call()
        return result if isinstance(result, int) else 0
    except _Carried as carried:
        return guarded(functools.partial(_reraise, carried.error))
    except SystemExit as exit:
        if isinstance(exit.__context__, BrokenPipeError):
            silence_stdout()
            return 0
        raise
    except DerivcliError as error:
        report_error(error)
        return EXIT_BAD_INPUT
    except UsageError as error:
        message = error.format_message().strip()
        if message:  # (no message: no arguments at all, and the help was printed)
            command = error.ctx.command_path if error.ctx is not None else PROG
            report_error(DerivcliError(_first_line(message).rstrip("."), hint=f"see '{command} --help'"))
        return EXIT_BAD_INPUT
    except ClickException as error:
        report_error(DerivcliError(_first_line(error.format_message())))
        return error.exit_code
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("error: interrupted\n")
        return 130
    except BrokenPipeError:
        silence_stdout()
        return 0
    except RecursionError:
        report_error(DerivcliError("the expression is too deeply nested to handle"))
        return EXIT_BAD_INPUT
    except MemoryError:
        report_error(DerivcliError("out of memory"))
        return EXIT_BAD_INPUT
    except Exception as error:  # a bug: still one line, never a traceback
        if os.environ.get("DERIVCLI_DEBUG"):
            raise
        report_error(DerivcliError(f"internal error: {type(error).__name__}: {_first_line(str(error))}",
                                   hint="please report it; DERIVCLI_DEBUG=1 shows the traceback"))
        return EXIT_INTERNAL


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
