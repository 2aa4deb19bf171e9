"""The warm server's wire format, and what both ends must share for a warm answer to equal a cold one.

Each message is a frame: a 4-byte big-endian length, then that many bytes of one JSON object.

- client → server: `{"op": "status"}`, or `{"op": "run", "identity", "argv", "cwd", "env", "umask",
  "limits", "cpus", "niceness", "streams"}` with the open standard streams' descriptors attached
  (SCM_RIGHTS), in order, and last the read end of the go pipe (the child starts the command once the
  client writes one byte on it; an end closed unsaid means the client runs the command itself);
  while the command runs, `{"signal": n}` for each SIGINT, SIGTERM or SIGHUP the client receives.
- server → client: `{"status": {…}}`; `{"fallback": reason}` (the client runs the command itself);
  `{"running": pid}` (sent by the child once it has taken over the streams: from then on the command is
  the server's); at the end `{"exit": code}`, or `{"signal": n}` if the child was killed by signal n
  (with `"reason"` when the server killed it).

Standard library only: the client imports it.
"""

from __future__ import annotations

import os
import struct
import sys

TYPE_CHECKING = False  # typing itself costs a warm answer ~3 ms
if TYPE_CHECKING:
    from typing import Any

PROTOCOL = 2
HEADER = struct.Struct(">I")
MAX_REQUEST = 8 << 20  # argv and environment: Linux caps them together at a few MiB
MAX_REPLY = 1 << 20
# Environment variables read when Python or a library starts (the locale, Python's own, thread pools,
# typer's terminal settings): a server started under other values could answer differently.
STARTUP_PREFIXES = ("PYTHON", "LANG", "LC_", "LD_", "OMP_", "MKL_", "KMP_", "GOMP_", "TORCH", "CUDA", "TYPER_",
                    "_TYPER_")
STARTUP_NAMES = frozenset({"TERMINAL_WIDTH", "GITHUB_ACTIONS", "FORCE_COLOR", "PY_COLORS"})


class ProtocolError(Exception):
    """A frame that is too big, not JSON, or not an object."""


def encode(message: dict[str, Any]) -> bytes:
    import json  # here, not above: what runs cold (help, Tab) never encodes

    body = json.dumps(message, separators=(",", ":")).encode()
    return HEADER.pack(len(body)) + body


class FrameReader:
    """Bytes in, messages out, never holding more than one frame of `limit` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buffer = bytearray()
        self.messages: list[dict[str, Any]] = []

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= HEADER.size:
            (size,) = HEADER.unpack_from(self.buffer)
            if size > self.limit:
                raise ProtocolError(f"a frame of {size} bytes (at most {self.limit})")
            if len(self.buffer) < HEADER.size + size:
                return
            body = bytes(self.buffer[HEADER.size:HEADER.size + size])
            del self.buffer[:HEADER.size + size]
            self.messages.append(decode(body))

    def pop(self) -> dict[str, Any] | None:
        return self.messages.pop(0) if self.messages else None


def decode(body: bytes) -> dict[str, Any]:
    import json

    try:
        message = json.loads(body)
    except (ValueError, RecursionError) as error:  # ValueError: bad JSON, bad UTF-8, a 5,000-digit number
        raise ProtocolError(f"not JSON: {error}") from None
    if not isinstance(message, dict):
        raise ProtocolError("not a JSON object")
    return message


def identity() -> dict[str, str]:
    """What makes this process answer as it does: derivcli's version and source files, the interpreter,
    its flags and module path, and the environment read at start-up.  A client and a server that differ
    in any of it do not talk: the command runs cold."""
    from .. import __version__

    return {
        "protocol": str(PROTOCOL),
        "derivcli": __version__,
        "sources": _sources(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
        "python": f"{sys.prefix} {sys.version}",
        "flags": repr(tuple(sys.flags)),
        "path": repr(sys.path[1:]),  # [0] is the script's directory, or the working one under -m
        "environment": repr(sorted((name, value) for name, value in os.environ.items()
                                   if name.startswith(STARTUP_PREFIXES) or name in STARTUP_NAMES)),
    }


def _sources(package: str) -> str:
    """A fingerprint of the package's files (names, sizes, modification times): an edited source file
    makes a running server another build."""
    import zlib

    entries = []
    pending = [package]
    while pending:
        with os.scandir(pending.pop()) as listing:
            for entry in listing:
                if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                    pending.append(entry.path)
                elif entry.name.endswith((".py", ".json")):
                    info = entry.stat()
                    entries.append(f"{entry.path}:{info.st_size}:{info.st_mtime_ns}")
    return f"{zlib.crc32(chr(10).join(sorted(entries)).encode()):08x}"
