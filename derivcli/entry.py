"""The `derivcli` console script.

It imports only the standard library (and `serve.client`, which does too) until it knows the command runs
cold: a warm server answers most commands in the time Python takes to start.  Only then does it import the
CLI, and with it torch and SymPy.
"""

from __future__ import annotations

import os
import sys

from .serve.client import answer_warm


def main() -> None:
    code = answer_warm(sys.argv)
    if code is None:
        from .cli import run

        run()
    else:  # nothing here to finalize but stderr (closed at start: None): skip the interpreter's shutdown
        if sys.stderr is not None:
            sys.stderr.flush()
        os._exit(code)
