"""The command line: a thin Typer layer over the library.

Each command reads its options and `--NAME VALUE` bindings, calls the library and hands the result to
`render`; `outcome` turns every failure into one `error: …` line on stderr with an `errors.Exit` status.
torch and SymPy are imported only inside the commands that compute, so `--help` and tab completion stay
fast.  The modules: `app` (the group, `main`, `run`), `commands` (the command that reads bindings before
torch loads), `options` (declared once, shared), one module per command family (`point`, `series`,
`learn`, `analyze`, `explore`, `check`, `science`, `batch`, `repl`, `serve`), `outcome`, `stdio` (safe
streams) and `completion`.
"""

from __future__ import annotations

# isort: off
from . import point, series, learn, analyze, explore, check, science, batch, repl, serve  # noqa: F401  (registers the commands, in help's order)
# isort: on
from .app import app, main, run

__all__ = ["app", "main", "run"]
