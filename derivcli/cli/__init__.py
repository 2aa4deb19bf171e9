"""The command line: a thin Typer layer over the library.

Each command reads its options and `--NAME VALUE` bindings, calls the library and hands the result to
`render`; `outcome` turns every failure into one `error: …` line on stderr with an `errors.Exit` status.
torch and SymPy are imported only inside the commands that compute, so `--help` and tab completion stay
fast.  The modules: `app` (the group, `main`, `run`), `commands` (the command that reads bindings before
torch loads), `options` (declared once, shared), one module per command family (`point`, `series`,
`learn`, `analyze`, `explore`, `check`, `science`, `batch`, `repl`, `serve`; each found and imported here,
its HELP_RANK placing it in help), `repl_words` and `repl_history` (the shell's words and Tab offers, its
history), `outcome`, `stdio` (safe streams), `narrow` (help at 40 columns) and `completion`.
"""

from __future__ import annotations

import importlib
import math
import os
import sys

from .app import app, main, run

__all__ = ["app", "main", "run"]

# Every module here is imported, so a command module registers its commands by being here: adding a command
# touches no list.  Help lists them by each module's HELP_RANK, then in the order the module defines them.
# (The directory read by name, in pkgutil.iter_modules' sorted order: pkgutil costs `--help` 4 ms.)
for _file in sorted(os.listdir(__path__[0])):
    if _file.endswith(".py") and _file != "__init__.py":
        importlib.import_module(f"{__name__}.{_file[:-3]}")
app.registered_commands.sort(key=lambda command: getattr(sys.modules[command.callback.__module__], "HELP_RANK",
                                                         math.inf))
