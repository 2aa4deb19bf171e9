"""`derivcli repl`'s history: the lines of earlier sessions, kept in a file of the user's own."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..errors import printable
from ..serve.paths import Unsafe, open_own, tighten_own_dir

MAX_ENTRIES = 1_000  # history kept: the newest lines, each at most MAX_ENTRY characters
MAX_ENTRY = 16_384
HISTORY_TAIL = 2 << 20  # bytes of the history file read at the start: its end, however big the file is


def history_path() -> Path | None:
    """`$XDG_STATE_HOME/derivcli/history` (a relative XDG_STATE_HOME is ignored, as the XDG spec says), else
    `~/.local/state/derivcli/history`; None without a home."""
    state = os.environ.get("XDG_STATE_HOME", "")
    try:
        base = Path(state) if os.path.isabs(state) else Path.home() / ".local" / "state"
    except RuntimeError:
        return None
    return base / "derivcli" / "history"


class History:
    """The lines of earlier sessions, oldest first, in a file only the user can read (0600, in a 0700
    directory; a looser mode is tightened), bounded: only its last HISTORY_TAIL bytes are read, and past
    2 * MAX_ENTRIES lines it is rewritten with the newest MAX_ENTRIES.  The file and its directory are
    opened as derivcli's own (`serve.paths.open_own`): not through a link, never blocking on a FIFO, a
    regular file of the user's.  A history that cannot be kept is one warning, and the session goes on
    without it."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: list[str] = []
        self.lines = 0  # in the file
        if path is None:
            return
        try:
            tighten_own_dir(str(path.parent))
            descriptor = open_own(str(path), os.O_RDONLY)
            with open(descriptor, "rb") as file:
                start = max(0, os.fstat(descriptor).st_size - HISTORY_TAIL)
                file.seek(start)
                lines = file.read(HISTORY_TAIL).decode("utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return
        except (OSError, Unsafe) as error:
            self._give_up(error)
            return
        # Past the tail, the file is longer than it should be: the first line added rewrites it.
        self.lines = 2 * MAX_ENTRIES if start else len(lines)
        self.entries = [line for line in lines[1 if start else 0:] if worth_keeping(line)][-MAX_ENTRIES:]

    def add(self, line: str) -> None:
        entry = line.strip()
        if self.path is None or not worth_keeping(entry) or self.entries[-1:] == [entry]:
            return
        self.entries = [*self.entries[-(MAX_ENTRIES - 1):], entry]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tighten_own_dir(str(self.path.parent))
            if self.lines + 1 > 2 * MAX_ENTRIES:
                self._rewrite(self.path)
            else:
                self._append(self.path, entry)
        except (OSError, Unsafe) as error:
            self._give_up(error)

    def _append(self, path: Path, entry: str) -> None:
        descriptor = open_own(str(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        with open(descriptor, "a", encoding="utf-8") as file:
            file.write(entry + "\n")
        self.lines += 1

    def _rewrite(self, path: Path) -> None:
        """The newest entries, written to a new file that then replaces the history (never a file that the
        history's name pointed to: a link is replaced, not followed)."""
        import tempfile  # (here: `derivcli --help` imports this module, and tempfile costs it 2 ms)

        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".history.")  # 0600
        try:
            with open(descriptor, "w", encoding="utf-8") as file:
                file.write("".join(entry + "\n" for entry in self.entries))
            os.replace(temporary, path)
        except OSError:
            os.unlink(temporary)
            raise
        self.lines = len(self.entries)

    def _give_up(self, error: OSError | Unsafe) -> None:
        why = str(error) if isinstance(error, Unsafe) else f"{error.strerror or error}: {self.path}"
        sys.stderr.write(f"warning: history is not kept: {printable(why)}\n")
        self.path = None


def worth_keeping(entry: str) -> bool:
    """A line to keep in the history: not blank, not too long, nothing but printable characters and tabs
    (the same test for lines added and lines read back: a planted line of escape codes is not recalled)."""
    return bool(entry) and len(entry) <= MAX_ENTRY and entry.replace("\t", " ").isprintable()
