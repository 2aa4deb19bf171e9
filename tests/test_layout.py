"""Table views that fit: every command's table at 40, 80, 120 and 200 columns against golden files, no
number ever cut, no line wider than the terminal, and the layout primitives on their own.

Regenerate the golden files after an intended change of layout with
`DERIVCLI_GOLDEN=update .venv/bin/python -m pytest tests/test_layout.py`, and read the diff.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from derivcli.cli import app
from derivcli.render.layout import print_fitting, print_grid

GOLDEN = Path(__file__).parent / "golden"
WIDTHS = [40, 80, 120, 200]
# The finite-difference table's round-off rows carry the last bits of every operation: exp, cos, log … round
# differently on different CPUs (one ulp), so its view is of an expression of + - * / alone, which IEEE
# arithmetic rounds alike everywhere.
RATIONAL = "(x**2 - x + 1)/(x**3 + 3*x)"
VIEWS = {
    "grad-check-fd": ["grad", RATIONAL, "--x", "1.5", "--check", "--fd"],
    "grad-tensor": ["grad", "sum(W**3)", "--W", json.dumps([[(30 * row + column) / 100 for column in range(30)]
                                                           for row in range(20)])],
    "grad-mse": ["grad", "mse_loss(sigmoid(x @ w.T), 1)", "--x", "[[0.5, -1.2, 2.0]]", "--w", "[[0.3, 0.1, -0.7]]"],
    "jacobian": ["jacobian", "softmax(a)", "--a", "linspace(0, 1, 6)", "--check"],
    "hessian": ["hessian", "(1-x)**2 + 100*(y-x**2)**2 + z*x", "--x", "1", "--y", "1", "--z", "0.5", "--fd"],
    "diff": ["diff", "x**3*sin(x)/(1 + x**2)", "--wrt", "x", "--order", "2", "--x", "1.3"],
    "taylor": ["taylor", "sin(x)", "--x", "0", "--order", "7"],
    "minimize": ["minimize", "(x-1.5)**2 + (y+2)**2", "--x", "4", "--y", "0", "--lr", "0.1", "--steps", "40"],
    "functions": ["functions"],
}
CUT_NUMBER = re.compile(r"[0-9.]…|…[0-9]")  # digits beside an ellipsis: a number Rich cut short


def render(argv: list[str], width: int) -> str:
    result = CliRunner().invoke(app, [*argv, "--format", "table"], env={"COLUMNS": str(width), "NO_COLOR": "1"})
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("view", VIEWS)
def test_table_view_matches_its_golden_file(view, width):
    shown = render(VIEWS[view], width)
    golden = GOLDEN / f"{view}-{width}.txt"
    if os.environ.get("DERIVCLI_GOLDEN") == "update":
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(shown, encoding="utf-8")
    assert shown == golden.read_text(encoding="utf-8"), f"{golden.name} differs (DERIVCLI_GOLDEN=update regenerates)"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("view", VIEWS)
def test_no_number_is_cut_and_no_line_overflows(view, width):
    shown = render(VIEWS[view], width)
    assert not CUT_NUMBER.search(shown), CUT_NUMBER.search(shown)
    assert max(len(line) for line in shown.splitlines()) <= width


def test_every_number_of_a_wide_table_appears_whole_at_every_width():
    numbers = [[f"-0.{k}{'3' * 15}", f"1.{k}e-12", "agree"] for k in range(5)]
    rows = [[f"∂f/∂x{k}", *cells] for k, cells in enumerate(numbers)]
    for width in range(40, 201, 7):
        console = Console(width=width, record=True, file=io.StringIO())
        print_fitting(console, ["", "autograd", "error", "check"], rows, ["left", "right", "right", "center"])
        text = console.export_text()
        assert all(cell in text for row in rows for cell in row), (width, text)
        assert max(len(line) for line in text.splitlines()) <= width


def test_a_narrow_console_stacks_the_columns_as_key_value_lines():
    console = Console(width=40, record=True, file=io.StringIO())
    print_fitting(console, ["", "autograd", "symbolic", "abs error", "rel error"],
                  [["∂f/∂x", "-0.36787944117144233", "-0.36787944117144233", "0.00e+00", "0.00e+00"]],
                  ["left", "right", "right", "right", "right"])
    assert console.export_text().splitlines() == ["∂f/∂x", "  autograd: -0.36787944117144233",
                                                  "  symbolic: -0.36787944117144233", "  abs error: 0.00e+00",
                                                  "  rel error: 0.00e+00"]


def test_a_large_matrix_is_one_table_of_as_many_first_and_last_columns_as_fit():
    """As torch prints a tensor at its linewidth: the first and last columns around a `…` column, as many
    as fit each width, in one table; the first and last three of 20 rows around a `…` row."""
    matrix = [[float(100 * row + column) for column in range(30)] for row in range(20)]
    for width in (40, 80, 120, 200):
        console = Console(width=width, record=True, file=io.StringIO())
        print_grid(console, "W", matrix)
        lines = console.export_text().splitlines()
        assert sum(line.startswith("┏") for line in lines) == 1 and max(map(len, lines)) <= width
        header = next(line for line in lines if line.startswith("┃"))
        shown = [int(label[1:-1]) for label in re.findall(r"\[\d+\]", header)]
        left = [index for index in shown if index < 15]
        right = [index for index in shown if index >= 15]
        assert left == list(range(len(left))) and right == list(range(30 - len(right), 30)), shown
        assert "…" in header and 0 in shown and 29 in shown and len(left) - len(right) in (0, 1)
        wider = len(lines[0]) + len(f" {100 * 19 + len(left)}.0 │")  # one more column would not fit
        assert wider > width or len(shown) == 30
        rows = {line.split()[1]: line for line in lines if line.startswith("│")}
        assert list(rows) == ["[0]", "[1]", "[2]", "…", "[17]", "[18]", "[19]"]  # the middle rows summarized
        for row in (0, 1, 2, 17, 18, 19):
            assert [float(cell) for cell in rows[f"[{row}]"].split("│")[2:-1] if cell.strip() != "…"] == \
                [100.0 * row + column for column in shown]


# --------------------------------------------------------------------------- help at 80 columns
COMMANDS = [[], ["grad"], ["jacobian"], ["hessian"], ["diff"], ["taylor"], ["implicit"], ["steps"], ["analyze"],
            ["minimize"], ["plot"], ["graph"], ["check"], ["batch"], ["functions"], ["repl"], ["serve"]]


def help_text(command: list[str]) -> tuple[str, str]:
    """The command's help rendered at 80 columns, and its epilog's source text."""
    import typer.main

    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.stderr
    group = typer.main.get_command(app)
    source = group if not command else group.commands[command[0]]  # type: ignore[attr-defined]
    return result.stdout, source.epilog or ""


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: " ".join(command) or "derivcli")
def test_help_fits_80_columns_with_examples_whole_and_types_in_words(command):
    shown, epilog = help_text(command)
    assert max(len(line) for line in shown.splitlines()) <= 80
    assert not re.search(r"<(bool|str|int|float|list\[str\])>", shown)  # typer's types, as words instead
    lines = {line.strip() for line in shown.splitlines()}
    examples = [line.strip() for line in epilog.splitlines() if line.startswith("  ")]
    assert examples, "every command shows examples"
    for example in examples:  # an example is never rewrapped: each fits on its line
        assert example in lines, example
    for paragraph in epilog.split("\n\n"):  # notes are paragraphs for the terminal to wrap, not hard lines
        if not paragraph.startswith(("  ", "[bold]")):
            assert "\n" not in paragraph.strip(), paragraph


@pytest.mark.parametrize("width", [40, 54, 58, 66])
def test_help_never_cuts_an_option_name_on_a_narrow_terminal(width):
    """Typer's table squeezes its name column first (`--fd-st…` at 40 columns); where it would, each option
    goes on a line of its own with its description wrapped under it."""
    import typer.main

    group = typer.main.get_command(app)
    for name in ["", *group.commands]:  # type: ignore[attr-defined]
        source = group if not name else group.commands[name]  # type: ignore[attr-defined]
        shown = CliRunner().invoke(app, [*([name] if name else []), "--help"],
                                   env={"COLUMNS": str(width), "NO_COLOR": "1"}).stdout
        assert max(len(line) for line in shown.splitlines()) <= width, (name, shown)
        assert not re.search(r"--[a-z-]*…", shown), (name, shown)
        written = set(re.findall(r"--[a-z][a-z-]*", shown))
        assert {o for p in source.params for o in getattr(p, "opts", ()) if o.startswith("--")} <= written, name
        if width == 40 and name == "grad":  # the narrow layout: a name, then its description indented under it
            assert "│ --fd-steps TEXT" in shown and "│   Step sizes for --fd" in shown, shown


@pytest.mark.parametrize("command", ["grad", "jacobian", "hessian", "diff", "taylor", "implicit", "minimize", "plot",
                                     "graph"])
def test_expression_commands_show_their_usage_and_the_bindings(command):
    shown, _ = help_text([command])
    text = "EQUATION" if command == "implicit" else "EXPRESSION"
    assert f"Usage: derivcli {command} {text} [--NAME VALUE]... [OPTIONS]" in shown
    assert "--NAME" in shown and "VALUE" in shown


def test_the_commands_are_listed_in_the_order_a_user_meets_them():
    shown, _ = help_text([])
    listed = [line.split()[1] for line in shown.splitlines() if re.match(r"│ [a-z]+ ", line)]
    assert listed == ["grad", "jacobian", "hessian", "diff", "taylor", "implicit", "steps", "analyze", "minimize",
                      "plot", "graph", "check", "propagate", "sensitivity", "emit", "batch", "functions", "repl",
                      "serve"]


def test_a_formula_shows_its_2d_form_on_a_terminal_where_it_fits():
    from derivcli.render.layout import print_formula

    pretty = "  -x  \n──────\n  y   "  # 6 columns: with `dy/dx = ` it needs 14
    for terminal, width, two_d in ((True, 80, True), (False, 80, False), (True, 13, False)):
        console = Console(width=width, record=True, file=io.StringIO(), force_terminal=terminal)
        print_formula(console, "dy/dx", "-x/y", pretty)
        shown = console.export_text()
        assert ("dy/dx = ───" in shown) == two_d and ("dy/dx = -x/y" in shown) == (not two_d), shown
