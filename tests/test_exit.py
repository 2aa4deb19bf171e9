"""derivcli's exit statuses are one IntEnum, and each command line ends with the one its outcome names."""

from __future__ import annotations

import contextlib
import io

import pytest

from derivcli.cli import main
from derivcli.errors import Exit


def test_the_statuses_are_the_documented_numbers():
    assert {status.name: int(status) for status in Exit} == {
        "OK": 0, "CHECK_FAILED": 1, "BAD_INPUT": 2, "INTERNAL": 3, "INTERRUPTED": 130}


@pytest.mark.parametrize("argv, status", [
    (["grad", "x^2", "--x", "3"], Exit.OK),
    (["grad", "x^2", "--x", "3", "--expect", "5"], Exit.CHECK_FAILED),
    (["grad", "(1 - cos(x))/x^2", "--x", "1e-4", "--check"], Exit.CHECK_FAILED),
    (["grad", "sin(x", "--x", "1"], Exit.BAD_INPUT),
    (["minimize", "(x-3)^2", "--x", "0", "--stpes", "5"], Exit.BAD_INPUT),
])
def test_a_command_line_ends_with_its_outcomes_status(argv, status):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(argv) == status
