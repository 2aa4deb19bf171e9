"""The standard streams made safe before a command runs: closed descriptors, narrow encodings, full disks."""

from __future__ import annotations

import io
import os
import sys
from typing import Any

from ..errors import DerivcliError


def prepare_streams() -> None:
    """Closed descriptors, narrow encodings and failing writes become one-line errors, not tracebacks.

    A closed 0, 1 or 2 (`>&-`) is reopened on /dev/null first, so no file derivcli opens later can take
    its number (and receive stray output); reading a closed stdin or writing a closed stdout is then an
    error naming it.  An encoding that cannot show derivcli's symbols (`PYTHONIOENCODING=ascii`, a Latin-1
    locale) gets them spelled in ASCII; undecodable input becomes U+FFFD; and a failed write to stdout
    (`>/dev/full`) is an error naming stdout, while a closed pipe stays a BrokenPipeError for `guarded`.
    """
    import codecs

    for descriptor, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(descriptor)
            closed = getattr(sys, name) is None
        except OSError:
            spare = os.open(os.devnull, os.O_RDWR)
            if spare != descriptor:
                os.dup2(spare, descriptor)
                os.close(spare)
            closed = True
        if closed:
            setattr(sys, name, open(os.devnull, "w") if name == "stderr" else _ClosedStream(name))
    codecs.register_error("derivcli-ascii", _ascii_glyphs)
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and not _can_encode(stream.encoding):
            stream.reconfigure(errors="derivcli-ascii")
    if isinstance(sys.stdin, io.TextIOWrapper) and sys.stdin.errors == "strict":
        sys.stdin.reconfigure(errors="replace")
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout = _CheckedOutput(sys.stdout)  # type: ignore[assignment]


class _ClosedStream(io.TextIOBase):
    """Stands in for a standard stream that was closed when derivcli started."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self._name = name

    def _error(self) -> DerivcliError:
        if self._name == "stdin":
            return DerivcliError("stdin is closed, so no values can be read from it", hint="pipe the values in")
        return DerivcliError("cannot write the output: stdout is closed", hint="redirect it to a file or a pipe")

    def read(self, size: int | None = -1) -> str:
        raise self._error()

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        raise self._error()

    def write(self, text: str) -> int:
        if text:
            raise self._error()
        return 0

    def fileno(self) -> int:
        raise self._error()

    def isatty(self) -> bool:
        return False


class _CheckedOutput:
    """sys.stdout, where a failed write or flush (a full disk, an I/O error) is a DerivcliError naming
    stdout; everything else is the real stream's."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except BrokenPipeError:
            raise
        except OSError as error:
            raise _write_error(error) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            raise _write_error(error) from None

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _write_error(error: OSError) -> DerivcliError:
    return DerivcliError(f"cannot write the output to stdout: {(error.strerror or str(error)).lower()}")


_ASCII = {"∂": "d", "∇": "grad ", "·": "*", "×": "x", "…": "...", "–": "-", "±": "+/-", "≈": "~", "★": "*",
          "●": "o", "√": "sqrt ", "∛": "cbrt ", "ε": "eps", "Σ": "sum", "Γ": "Gamma", "↓": "v", "ᵏ": "k",
          "⁽": "(", "⁾": ")", "─": "-", "│": "|", "┤": "|", "├": "|", "┴": "+", "└": "+", "┌": "+", "┐": "+",
          "┘": "+", "┬": "+", "┼": "+", **{chr(code): digit for code, digit in zip(
              (0x2070, 0xB9, 0xB2, 0xB3, 0x2074, 0x2075, 0x2076, 0x2077, 0x2078, 0x2079), "0123456789")}}


def _ascii_glyphs(error: UnicodeError) -> tuple[str, int]:
    """The `derivcli-ascii` codec error handler: derivcli's symbols in ASCII (∂ as d, braille dots as *)."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = error.object[error.start:error.end]
    return "".join(_ASCII.get(char) or (" " if char == "\u2800" else "*" if "\u2800" < char <= "\u28ff" else "?")
                   for char in text), error.end


def _can_encode(encoding: str | None) -> bool:
    try:
        "∂·…★●⠒─".encode(encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True
