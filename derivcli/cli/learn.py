"""For learners: steps (the derivation as a teacher writes it, every step verified)."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from ..errors import DerivcliError, Exit
from .app import app
from .commands import BindingCommand
from .options import (
    DIGITS,
    EXACT,
    EXPLAIN,
    EXPRESSION,
    FORMAT,
    JSON,
    VAR,
    binding_texts,
    output_format,
    read_point,
    report_warnings,
    split_names,
)

HELP_RANK = 30  # its place among the commands in `derivcli --help`

@app.command(cls=BindingCommand, epilog="""[bold]Examples[/]

  derivcli steps "x^2 sin(x)" --wrt x
  derivcli steps "exp(-(x**2-x+1)/cos(log(x))**2)" --x 1
  derivcli steps "ln|x|" --latex
  derivcli steps "x/(1+x^2)" --json
  derivcli steps "x^2" --definition --x 3

""" "Each step names its rule, states it, and gives its result, which is checked against SymPy's derivative "
                                         "of the step's expression (exit 1 if one differs). With a point, every "
                                         "step shows its value, its derivative and the gradient autograd sends "
                                         "into it; the last number is grad's. SymPy simplifies the final "
                                         "derivative within 1 s (past that it is shown as the steps built it).")
def steps(
    ctx: typer.Context,
    expression: EXPRESSION,
    wrt: Annotated[Optional[str], typer.Option(
        "--wrt", help="The variable to differentiate by (when there are several).", show_default=False)] = None,
    latex: Annotated[bool, typer.Option("--latex", help="Print the formulas as LaTeX.")] = False,
    from_definition: Annotated[bool, typer.Option(
        "--definition", help="Derive f' from the limit of the difference quotient (polynomials, rational "
                             "functions, roots, sin, cos, exp); at a point, the secant slopes for h = 1e-1 ... "
                             "1e-8.")] = False,
    exact: EXACT = False,
    var: VAR = None,
    digits: DIGITS = None,
    json_output: JSON = False,
    fmt: FORMAT = None,
    explain_parse: EXPLAIN = False,
) -> int:
    """The derivative step by step: every rule applied, each result verified."""
    from ..render.steps import emit_steps
    from ..steps import steps as derivation

    fmt_name = output_format(json_output, fmt)
    if from_definition:
        from ..render.steps import emit_definition
        from ..steps import definition

        if exact:
            raise DerivcliError("--exact does not go with --definition", hint="leave out one of them")
        board = definition(expression, wrt, read_point(ctx, var, None))
        emit_definition(board, fmt_name, sys.stdout, explain_parse, latex=latex)
        code = report_warnings(board.warnings)
        return Exit.CHECK_FAILED if not board.verified else code
    result = derivation(expression, split_names([wrt] if wrt else None), read_point(ctx, var, None), latex=latex,
                        exact=binding_texts(ctx, var) if exact else None)
    emit_steps(result, fmt_name, sys.stdout, explain_parse, latex=latex)
    code = report_warnings(result.warnings)
    return Exit.CHECK_FAILED if result.verified is False else code
