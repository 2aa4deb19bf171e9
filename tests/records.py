"""Reading derivcli's error records in tests: {"line": n, "error": {"message", "column", "hint", "exit_code"}}."""

from __future__ import annotations

from typing import Any


def error_text(record: dict[str, Any]) -> str:
    """The record's message and hint as one line, as the CLI writes them on stderr ('' for an answer)."""
    error = record.get("error")
    if error is None:
        return ""
    assert set(error) == {"message", "column", "hint", "exit_code"}, error
    return "; ".join(part for part in (error["message"], error["hint"]) if part)
