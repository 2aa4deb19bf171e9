"""The command line: a thin Typer layer over `derivcli.api`.

`app` reads options and `--NAME VALUE` bindings, each command calls the library and hands the result to
`render`, and `outcome` turns every failure into one `error: …` line on stderr with an exit code (2 bad
input, 1 a requested check disagreed).  torch and SymPy are imported only inside the commands that
compute, so `--help` and tab completion stay fast.  The modules: `app` (the group, the binding command),
`options` (declared once, shared), `point` (grad, jacobian, hessian), `series` (diff, taylor), `explore`
(minimize, plot, graph), `batch` (batch, functions), `outcome` (exit codes), `stdio` (safe streams).
"""

from __future__ import annotations

import os
import sys

from ..errors import EXIT_BAD_INPUT, DerivcliError

# isort: off
from . import point, series, learn, explore, check, science, batch, repl, serve  # noqa: F401  (registers the commands, in help's order)
# isort: on
from .app import app, main
from .outcome import report_error, silence_stdout
from .stdio import prepare_streams

__all__ = ["app", "main", "run"]


def run() -> None:
    """Console-script entry point: make the standard streams safe, run, flush, and skip torch's slow
    interpreter shutdown."""
    prepare_streams()
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
    except DerivcliError as error:  # the last buffered output did not fit (a full disk)
        report_error(error)
        silence_stdout()
        code = code or EXIT_BAD_INPUT
    sys.stderr.flush()
    if "torch" in sys.modules:
        os._exit(code)
    sys.exit(code)
