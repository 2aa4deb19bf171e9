"""The one error type every user-facing failure goes through.

The CLI turns a `DerivcliError` into one ``error: …`` line on stderr (plus the expression with a caret
under ``span`` when there is one) and exit code 2; library callers get the same object as an exception.
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    """derivcli's exit statuses, the same for every command, the API's batch records and the warm server."""

    OK = 0
    CHECK_FAILED = 1  # a check the user asked for disagreed, was inaccurate or not finite
    BAD_INPUT = 2  # the input or the usage: one `error:` line says what
    INTERNAL = 3  # a bug or a lost process, not the input's fault
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as a shell reports it


class DerivcliError(Exception):
    """Bad input or usage: a message, where in the expression it is, and how to fix it."""

    def __init__(
        self,
        message: str,
        *,
        span: tuple[int, int] | None = None,
        source: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.span = span  # 0-based [start, end) columns in `source`
        self.source = source
        self.hint = hint

    def one_line(self) -> str:
        """The message as a single line, with the 1-based column and the hint."""
        text = self.message
        if self.span is not None:
            text += f" (column {self.span[0] + 1})"
        if self.hint:
            text += f"; {self.hint}"
        return printable(text)

    def caret_lines(self) -> list[str]:
        """The expression and a caret line under the fault, when the error has a position."""
        if self.span is None or self.source is None or len(self.source) > 200:
            return []
        start, end = self.span
        width = max(1, min(end, len(self.source) + 1) - start)
        return ["  " + printable(self.source), "  " + " " * start + "^" * width]


def printable(text: str) -> str:
    """Untrusted text made safe to echo: control characters (escape sequences, newlines) become '?',
    one for one, so columns still line up."""
    return "".join(char if char.isprintable() else "?" for char in text)
