"""The command line: a thin Typer layer over `derivcli.api`.

`app` reads options and `--NAME VALUE` bindings, each command calls the library and hands the result to
`render`, and `outcome` turns every failure into one `error: …` line on stderr with an exit code (2 bad
input, 1 a requested check disagreed).  torch and SymPy are imported only inside the commands that
compute, so `--help` and tab completion stay fast.  The modules: `app` (the group, the binding command),
`options` (declared once, shared), `point` (grad, jacobian, hessian), `series` (diff, taylor), `explore`
(minimize, plot, graph), `batch` (batch, functions), `outcome` (exit codes), `stdio` (safe streams).
"""

from __future__ import annotations

# isort: off
from . import point, series, learn, analyze, explore, check, science, batch, repl, serve  # noqa: F401  (registers the commands, in help's order)
# isort: on
from .app import app, main, run

__all__ = ["app", "main", "run"]
