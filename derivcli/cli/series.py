"""Higher order: diff (the symbolic derivative of any order) and taylor."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from ..errors import DerivcliError, Exit
from .app import app
from .commands import BindingCommand, EquationCommand
from .options import (
    DEVICE,
    DIGITS,
    DTYPE,
    EXACT,
    EXPECT,
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

HELP_RANK = 20  # its place among the commands in `derivcli --help`

@app.command(cls=BindingCommand, epilog="""[bold]Examples[/]

  derivcli diff "x**3*sin(x)" --wrt x --order 2
  derivcli diff "exp(-(x**2-x+1)/cos(log(x))**2)" --wrt x --order 3 --x 1.3
  derivcli diff "exp(-(x**2-x+1)/cos(log(x))**2)" --wrt x --order 20 --x 1.3
  derivcli diff "x**2*y**3" --wrt x,y,y --latex
  derivcli diff "\\frac{\\sin x}{x}" --wrt x

""" "With a point, the value comes from torch (nested autograd at low order, Taylor mode at high order) and "
                                         "is compared with SymPy's formula; exit 1 if they disagree. SymPy "
                                         "simplifies the formula within 3 s (past that, it is printed "
                                         "unsimplified, with common subexpressions named).")
def diff(
    ctx: typer.Context,
    expression: EXPRESSION,
    wrt: Annotated[Optional[list[str]], typer.Option(
        "--wrt", help="The variable; several (x,y,y or repeated) for a mixed partial.", show_default=False)] = None,
    order: Annotated[int, typer.Option("--order", help="How many times to differentiate (at most 200).")] = 1,
    latex: Annotated[bool, typer.Option("--latex", help="Print the derivative as LaTeX.")] = False,
    formula: Annotated[Optional[bool], typer.Option(
        "--formula/--no-formula", help="Build SymPy's formula (default: always without a point, up to "
                                       "order 4 with one).", show_default=False)] = None,
    expect: EXPECT = None,
    exact: EXACT = False,
    forms: Annotated[bool, typer.Option("--forms", help="Also the derivative simplified, expanded, factored, and "
                                                        "with trig functions combined and expanded (3 s each).")
                     ] = False,
    var: VAR = None,
    dtype: DTYPE = "float64",
    device: DEVICE = "cpu",
    digits: DIGITS = None,
    json_output: JSON = False,
    fmt: FORMAT = None,
    explain_parse: EXPLAIN = False,
) -> int:
    """The symbolic derivative of any order, and its value at a point."""
    from ..api import diff as compute_diff
    from ..render import emit_diff

    fmt_name = output_format(json_output, fmt)
    result = compute_diff(expression, split_names(wrt), order, read_point(ctx, var, None), formula=formula,
                          dtype=dtype, device=device, expect=expect, exact=binding_texts(ctx, var) if exact else None,
                          forms=forms)
    emit_diff(result, fmt_name, sys.stdout, explain_parse, latex=latex)
    code = report_warnings(result.warnings)
    return Exit.CHECK_FAILED if result.failed else code


@app.command(cls=BindingCommand, epilog="""[bold]Examples[/]

  derivcli taylor "sin(x)" --x 0 --order 7
  derivcli taylor "exp(-(x**2-x+1)/cos(log(x))**2)" --x 1 --order 10 --json
  derivcli taylor "x**2*y" --x 1 --y 3 --wrt x --order 3

""" "SymPy's series runs beside torch's Taylor mode and gets 5 s; past that the coefficients are torch's "
                                         "alone, with a note saying so.")
def taylor(
    ctx: typer.Context,
    expression: Annotated[str, typer.Argument(help="The expression.", show_default=False)],
    order: Annotated[int, typer.Option("--order", help="The degree of the polynomial (at most 200).")] = 5,
    wrt: Annotated[Optional[str], typer.Option("--wrt", help="The variable to expand in (when there are "
                                                              "several).", show_default=False)] = None,
    var: VAR = None,
    dtype: DTYPE = "float64",
    digits: DIGITS = None,
    json_output: JSON = False,
    fmt: FORMAT = None,
    explain_parse: EXPLAIN = False,
) -> int:
    """The Taylor polynomial of EXPRESSION around the point: torch's coefficients beside SymPy's series."""
    from ..api import taylor as compute_taylor
    from ..render import emit_taylor

    fmt_name = output_format(json_output, fmt)
    result = compute_taylor(expression, read_point(ctx, var, None), wrt=wrt, order=order, dtype=dtype)
    emit_taylor(result, fmt_name, sys.stdout, explain_parse)
    code = report_warnings(result.warnings)
    return Exit.CHECK_FAILED if result.agree is False else code


@app.command(cls=EquationCommand, epilog="""[bold]Examples[/]

  derivcli implicit "x^2 + y^2 = 25" --wrt x
  derivcli implicit "x^2 + y^2 = 25" --wrt x --x 3 --y 4
  derivcli implicit "x*y = 1" --wrt x --order 2 --x 2 --y 0.5
  derivcli implicit "x^2/4 + y^2/9 = 1" --wrt x --latex

""" "The curve is F = 0 with F the left side minus the right; dy/dx comes from SymPy's idiff. A point is first "
                                         "checked to lie on the curve; the tangent line there is printed.")
def implicit(
    ctx: typer.Context,
    expression: Annotated[str, typer.Argument(metavar="EQUATION", show_default=False,
                                              help="The curve, an equation such as \"x^2 + y^2 = 25\".")],
    wrt: Annotated[str, typer.Option("--wrt", metavar="NAME", help="The independent variable.")] = "x",
    dependent: Annotated[Optional[str], typer.Option(
        "--dependent", metavar="NAME", help="The variable that depends on it (default: the other one).",
        show_default=False)] = None,
    order: Annotated[int, typer.Option("--order", help="1 for dy/dx, 2 for d²y/dx², …")] = 1,
    latex: Annotated[bool, typer.Option("--latex", help="Print the derivative as LaTeX.")] = False,
    var: VAR = None,
    digits: DIGITS = None,
    json_output: JSON = False,
    fmt: FORMAT = None,
) -> int:
    """Implicit differentiation: dy/dx on a curve F(x, y) = 0, and at a point on it its value and tangent."""
    from ..learn.implicit import implicit as compute_implicit
    from ..render import emit_implicit

    fmt_name = output_format(json_output, fmt)
    point = read_point(ctx, var, None)
    tensors = [name for name, value in point.items() if not isinstance(value, float)]
    if tensors:
        raise DerivcliError(f"--{tensors[0]}: implicit takes numbers")
    result = compute_implicit(expression, wrt=wrt, dependent=dependent, order=order,
                              point={name: float(value) for name, value in point.items()})  # type: ignore[arg-type]
    emit_implicit(result, fmt_name, sys.stdout, latex=latex)
    return report_warnings(result.warnings)
