"""Readable numbers on a terminal, exact numbers for machines (issue 28.2): tables round to 6 significant
digits (`--digits N`, `--digits full`), plain lines and JSON keep every digit; a value written as an
expression shows as written in a table (`x = pi/3 ≈ 1.0472`)."""

from __future__ import annotations

import contextlib
import io
import json
import math

import pytest

from derivcli.cli import main
from derivcli.cli.app import command
from derivcli.cli.repl import Shell, plain_reader
from derivcli.cli.repl_history import History
from derivcli.render.numbers import number, styled


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch, width: int = 80) -> tuple[int, str, str]:
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setenv("NO_COLOR", "1")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("value, digits, shown", [
    (math.pi, 6, "3.14159"), (math.pi, 3, "3.14"), (math.pi, None, "3.141592653589793"),
    (0.1, 6, "0.1"), (10.25, 6, "10.25"), (4.0, 6, "4.0"), (0.9999999999999998, 6, "1.0"),
    (-0.36787944117144233, 6, "-0.367879"), (32292.089999999997, 6, "32292.1"), (1234567.0, 6, "1.23457e+06"),
    (1.8110182413986923e-07, 6, "1.81102e-07"), (-0.0, 6, "0.0"), (math.inf, 6, "inf"), (math.nan, 3, "nan"),
])
def test_a_table_rounds_to_its_digits_and_never_adds_any(value, digits, shown):
    with styled(table=True, digits=digits):
        assert number(value) == shown
    with styled(table=False, digits=3):  # plain lines and JSON: every digit, whatever --digits says
        assert number(value) == ("0.0" if value == 0 else repr(value))


def test_float32_rounds_the_float32_value():
    with styled(table=True, digits=12, dtype="float32"):
        assert number(0.1) == "0.1"  # not 0.100000001490: the float32 nearest 0.1 reads back from 0.1
        assert number(1 / 3) == "0.33333334"  # all a float32 has: 12 digits would be noise
    with styled(table=True, digits=4, dtype="float32"):
        assert number(1 / 3) == "0.3333"


def test_digits_change_the_table_and_never_plain_or_json(monkeypatch):
    argv = ["grad", "exp(x)*y", "--x", "1", "--y", "2"]
    code, table, _ = run([*argv, "--format", "table"], monkeypatch)
    assert code == 0 and "5.43656" in table and "2.71828" in table and "5.43656365691809" not in table
    _, three, _ = run([*argv, "--format", "table", "--digits", "3"], monkeypatch)
    assert "5.44" in three and "2.72" in three and "5.437" not in three
    _, full, _ = run([*argv, "--format", "table", "--digits", "full"], monkeypatch)
    assert repr(2 * math.e) in full and repr(math.e) in full
    _, plain, _ = run([*argv, "--format", "plain", "--digits", "3"], monkeypatch)
    assert plain.splitlines() == [f"value\t{2 * math.e!r}", f"d/dx\t{2 * math.e!r}", f"d/dy\t{math.e!r}"]
    _, data, _ = run([*argv, "--json", "--digits", "3"], monkeypatch)
    assert json.loads(data)["gradient"] == {"x": 2 * math.e, "y": math.e}


@pytest.mark.parametrize("given", ["0", "18", "six", "-1", "2.5"])
def test_a_bad_digits_value_is_one_error(given, monkeypatch):
    code, out, err = run(["grad", "x^2", "--x", "1", "--digits", given], monkeypatch)
    assert code == 2 and out == "" and err.startswith(f"error: --digits {given}: give a number of significant "
                                                      "digits from 1 to 17, or full") and err.count("\n") == 1


def test_every_command_with_a_table_takes_digits():
    takes = {name for name, sub in command().commands.items()
             if any("--digits" in getattr(param, "opts", ()) for param in sub.params)}
    assert takes >= {"grad", "jacobian", "hessian", "diff", "taylor", "implicit", "steps", "minimize", "check",
                     "propagate", "sensitivity"}


def test_a_value_written_as_an_expression_shows_as_written_in_a_table(monkeypatch):
    _, table, _ = run(["grad", "sin(x)", "--x", "pi/3", "--format", "table"], monkeypatch)
    assert "at x = pi/3 ≈ 1.0472" in table
    _, diff, _ = run(["diff", "sin(x)", "--x", "pi/3", "--format", "table"], monkeypatch)
    assert "at x = pi/3 ≈ 1.0472" in diff
    _, data, _ = run(["grad", "sin(x)", "--x", "pi/3", "--json"], monkeypatch)
    x = json.loads(data)["point"]["x"]
    assert x == pytest.approx(math.pi / 3, rel=1e-15)
    _, plain, _ = run(["grad", "sin(x)", "--x", "pi/3", "--format", "plain"], monkeypatch)
    assert plain.splitlines() == [f"value\t{math.sin(x)!r}", f"d/dx\t{math.cos(x)!r}"]  # every digit, no pi/3
    _, literal, _ = run(["grad", "sin(x)", "--x", "1.5", "--format", "table"], monkeypatch)
    assert "at x = 1.5 " in literal and "≈" not in literal
    _, half, _ = run(["grad", "sin(x)", "--x", "1/2", "--format", "table"], monkeypatch)
    assert "at x = 1/2 = 0.5 " in half  # the fraction exactly: no ≈
    _, third, _ = run(["grad", "sin(x)", "--x", "1/3", "--format", "table"], monkeypatch)
    assert "at x = 1/3 ≈ 0.333333 " in third


def test_a_repl_lines_digits_are_its_own(capsys):
    lines = "grad exp(x) --x 1 --format table --digits 2\ngrad exp(x) --x 1 --format table\n"
    assert Shell(command(), [], History(None)).run(plain_reader(io.StringIO(lines))) == 0
    out = capsys.readouterr().out
    assert "2.7 " in out and "2.71828 " in out


@pytest.mark.parametrize("digits", ["6", "full"])
def test_the_check_verdict_stays_in_the_first_table_at_80_columns(digits, monkeypatch):
    """Two 17-digit columns and the errors would push `check` into a table of its own: rel error goes first."""
    argv = ["grad", "exp(-(x**2-x+1)/cos(log(x))**2)*y", "--x", "1", "--y", "2", "--check", "--format", "table"]
    code, shown, err = run([*argv, "--digits", digits], monkeypatch)
    assert code == 0, err
    first = shown[shown.index("┏"):shown.index("┘") + 1]
    assert "check" in first and first.count("agree") == 2 and shown.count("┏") == 1
    assert all(len(line) <= 80 for line in shown.splitlines())
