"""Room on Python's stack for the expressions the parser lets through."""

from __future__ import annotations

import sys


class deep_recursion:
    """Room for MAX_NESTING levels (`parsing.limits`): each level of parentheses is about 14 Python frames
    in the parser and more in the builder, the printer and SymPy (pure-Python frames, so the C stack is not
    at risk)."""

    LIMIT = 20_000

    def __enter__(self) -> None:
        self.previous = sys.getrecursionlimit()
        sys.setrecursionlimit(max(self.previous, self.LIMIT))

    def __exit__(self, *exc: object) -> None:
        sys.setrecursionlimit(self.previous)
