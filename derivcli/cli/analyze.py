"""For learners: analyze (what f′ and f″ say about a function of one variable)."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from .app import app
from .commands import BindingCommand
from .options import EXPLAIN, FORMAT, FUNCTION, JSON, VAR, binding_texts, output_format, report_warnings

HELP_RANK = 40  # its place among the commands in `derivcli --help`

@app.command(cls=BindingCommand, epilog="""[bold]Examples[/]

  derivcli analyze "x^3 - 3x"
  derivcli analyze "sin x" --from 0 --to 2pi
  derivcli analyze "(x^2 - 1)/(x^2 - 4)" --json
  derivcli analyze "x e^-x" --x 1      # with the tangent line at x = 1

""" "The domain, zeros, critical points (minimum, maximum or neither, by the first-derivative test and, "
                                         "where it decides, the second), points where f' does not exist, "
                                         "inflection points, the sign charts of f' and f'', where f increases, "
                                         "decreases and is concave up or down, asymptotes, and the global extrema "
                                         "on the interval ([-10, 10] unless --from and --to say otherwise). "
                                         "Points are exact where SymPy solves the equation within 4 s, else found "
                                         "numerically (sign changes on a grid, refined by Newton's steps with "
                                         "autograd); every point is checked with autograd before it is shown. "
                                         "With a value for the variable: the tangent and normal lines there and "
                                         "the linear approximation's error 0.1 away.")
def analyze(
    ctx: typer.Context,
    expression: FUNCTION,
    start: Annotated[Optional[str], typer.Option(
        "--from", metavar="NUMBER", help="Left end of the interval (a constant such as -pi; default -10).",
        show_default=False)] = None,
    end: Annotated[Optional[str], typer.Option(
        "--to", metavar="NUMBER", help="Right end of the interval (a constant such as 2pi; default 10).",
        show_default=False)] = None,
    wrt: Annotated[Optional[str], typer.Option(
        "--wrt", help="The variable (when the others are given values).", show_default=False)] = None,
    var: VAR = None,
    json_output: JSON = False,
    fmt: FORMAT = None,
    explain_parse: EXPLAIN = False,
) -> int:
    """What f' and f'' say about f: extrema, monotonicity, concavity, asymptotes."""
    from ..analyze.report import analyze as run_analysis
    from ..render.analysis import emit_analysis

    fmt_name = output_format(json_output, fmt)
    result = run_analysis(expression, start, end, wrt=wrt, values=binding_texts(ctx, var))
    emit_analysis(result, fmt_name, sys.stdout, explain_parse)
    return report_warnings(result.warnings)
