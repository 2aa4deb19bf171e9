"""Looking around a point: minimize, plot and graph."""

from __future__ import annotations

import os
import sys
from contextlib import nullcontext
from typing import Annotated, Optional

import typer

from .app import app
from .commands import BindingCommand, EquationCommand
from .options import (
    DEVICE,
    DIGITS,
    DTYPE,
    EXPLAIN,
    FORMAT,
    FUNCTION,
    JSON,
    SEED,
    VAR,
    WRT,
    binding_texts,
    output_format,
    read_point,
    report_warnings,
    split_names,
)

HELP_RANK = 50  # its place among the commands in `derivcli --help`

@app.command(cls=BindingCommand, epilog="""[bold]Examples[/]

  derivcli minimize "(x-1.5)**2" --x 4 --lr 0.1 --steps 100
  derivcli minimize "(x-1.5)**2" --x 4 --manual   # x -= lr * x.grad
  derivcli minimize "(1-x)**2 + 100*(y-x**2)**2" --x -1.2 --y 1 \\
      --optimizer lbfgs --tol 1e-10
  derivcli minimize "sum((relu(W @ x) - t)**2)" --W "rand(3,4)" \\
      --x "arange(4)" --t "[1,1.2,1.4]" --wrt W --seed 0

""" "A divergence (values blowing up to inf or nan) stops the run with a warning. A run that cannot move "
                                         "any more stops too, as stalled: 3 updates in a row that leave the point "
                                         "where it was (a gradient of exactly 0, from dead ReLU units or a "
                                         "stationary point, or steps too small to change it).")
def minimize(
    ctx: typer.Context,
    expression: Annotated[str, typer.Argument(help="The function to minimize.", show_default=False)],
    optimizer: Annotated[str, typer.Option("--optimizer", metavar="sgd|momentum|adam|lbfgs",
                                           help="The optimizer (momentum: SGD with momentum 0.9).")] = "sgd",
    lr: Annotated[float, typer.Option("--lr", help="Learning rate.")] = 0.1,
    steps: Annotated[int, typer.Option("--steps", help="The most updates to make (at most 1,000,000).")] = 100,
    tol: Annotated[Optional[float], typer.Option(
        "--tol", help="Stop when the gradient norm or the step size falls below this. Default: the gradient norm "
                      "below 1.5e-8 x max(1, its norm at the start) (3.5e-4 x ... in float32); 0 runs every step.",
        show_default=False)] = None,
    manual: Annotated[bool, typer.Option(
        "--manual", help="Run the hand-written update x -= lr * x.grad (same trace as sgd).")] = False,
    every: Annotated[int, typer.Option("--every", help="Keep every k-th step in the trace.")] = 1,
    wrt: WRT = None,
    var: VAR = None,
    seed: SEED = None,
    dtype: DTYPE = "float64",
    device: DEVICE = "cpu",
    digits: DIGITS = None,
    json_output: JSON = False,
    fmt: FORMAT = None,
    explain_parse: EXPLAIN = False,
) -> int:
    """Gradient descent on EXPRESSION from the given point."""
    from ..explore.optimize import minimize as run_minimize
    from ..render import emit_minimize

    fmt_name = output_format(json_output, fmt)
    from ..render.progress import progress_bar

    with progress_bar() if sys.stderr.isatty() and fmt_name == "table" else nullcontext() as progress:
        result = run_minimize(expression, read_point(ctx, var, seed), wrt=split_names(wrt), optimizer=optimizer,
                              lr=lr, steps=steps, tol=tol, manual=manual, trace_every=every, dtype=dtype,
                              device=device, progress=progress)
    emit_minimize(result, fmt_name, sys.stdout, explain_parse)
    return report_warnings(result.warnings)


@app.command(cls=EquationCommand, epilog="""[bold]Examples[/]

  derivcli plot "sin(x)*exp(-x**2/4)" --x 1
  derivcli plot "log(x)" --x 2 --from 0.01 --to 5
  derivcli plot "log(x)" --x 2 --output log.png    # .png, .svg or .pdf
  derivcli plot "x**2*y" --x 1 --y 3 --wrt x
  derivcli plot --implicit "x^2 + y^2 = 25" --x 3 --y 4
  derivcli plot "x^3 - 3x" --analyze --from -2.5 --to 2.5
  derivcli plot "sin x" --analyze --from 0 --to 2pi --output sin.png

""" "Figures need matplotlib: pip install 'derivcli\\[plot]'. Each curve's y range comes from its central "
                                         "values, so a spike is clipped (marked ^ or v) instead of flattening the "
                                         "rest; f' gets a panel of its own when its range dwarfs f's. Where f is "
                                         "not differentiable at the point, there is no tangent. With --analyze the "
                                         "plot marks what 'derivcli analyze' finds on the interval (its default "
                                         "[-10, 10]): zeros, local and global extrema, corners and cusps, "
                                         "inflection points, asymptotes, and where f rises and falls.")
def plot(
    ctx: typer.Context,
    expression: FUNCTION,
    start: Annotated[Optional[str], typer.Option("--from", metavar="NUMBER",
                                                 help="Left end of the interval (a constant such as -pi too).",
                                                 show_default=False)] = None,
    end: Annotated[Optional[str], typer.Option("--to", metavar="NUMBER",
                                               help="Right end of the interval (a constant such as 2pi too).",
                                               show_default=False)] = None,
    output: Annotated[Optional[str], typer.Option(
        "--output", help="Write a figure (.png, .svg, .pdf; needs pip install 'derivcli\\[plot]') instead of "
                         "drawing in the terminal.",
        show_default=False)] = None,
    wrt: Annotated[Optional[str], typer.Option("--wrt", help="The variable on the x axis.", show_default=False)] = None,
    samples: Annotated[int, typer.Option("--samples", help="Points to evaluate (2 to 100,000).")] = 400,
    implicit: Annotated[bool, typer.Option(
        "--implicit", help="EXPRESSION is a curve's equation (x^2 + y^2 = 25): draw it and its tangent at the point "
                           "(in the terminal, or --json).")] = False,
    analyze: Annotated[bool, typer.Option(
        "--analyze", help="Mark what 'derivcli analyze' finds (a function of one variable): zeros, extrema, "
                          "corners, inflection points, asymptotes, where f rises and falls; --json adds it as "
                          "\"analysis\".")] = False,
    var: VAR = None,
    dtype: DTYPE = "float64",
    json_output: JSON = False,
    explain_parse: EXPLAIN = False,
) -> int:
    """f and f' around the point, with the tangent line there: in the terminal, or as a figure."""
    import shutil

    from ..explore.plotting import plot_data, save_figure, smallest_width, terminal_plot
    from ..render import reading_lines

    if implicit and analyze:
        from ..errors import DerivcliError

        raise DerivcliError("--analyze studies a function of one variable; a curve (--implicit) has none to study")
    if implicit:
        return _plot_curve(ctx, expression, var, wrt, _number(start, "--from"), _number(end, "--to"), output,
                           json_output)
    if output is not None:
        from ..inputs.files import check_files_allowed

        check_files_allowed("--output")
    if analyze:
        from ..explore.plotting.marks import analyzed_plot

        data = analyzed_plot(expression, binding_texts(ctx, var), wrt=wrt, start=start, end=end, samples=samples,
                             dtype=dtype)
    else:
        data = plot_data(expression, read_point(ctx, var, None), wrt=wrt, start=_number(start, "--from"),
                         end=_number(end, "--to"), samples=samples, dtype=dtype)
    if json_output:
        from ..wire import dumps

        sys.stdout.write(dumps(data.to_json(explain_parse)) + "\n")
    elif output is not None:
        sys.stdout.write("".join(line + "\n" for line in reading_lines(data.parse, explain_parse)))
        save_figure(data, output)
        sys.stdout.write(f"wrote {output}\n")
    else:
        sys.stdout.write("".join(line + "\n" for line in reading_lines(data.parse, explain_parse)))
        size = shutil.get_terminal_size((80, 24))
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        width = max(min(size.columns, 120), smallest_width(data))  # a narrow terminal still gets a plot
        least = 12 if data.analysis is None else 16  # the analysis takes up to 4 lines (arrows, its legend)
        sys.stdout.write(terminal_plot(data, width=width, height=max(least, min(size.lines - 2, 30)),
                                       color=color) + "\n")
    analysis = data.analysis
    for note in data.notes + (analysis.notes if analysis is not None else []):
        sys.stderr.write(f"note: {note}\n")
    return report_warnings(data.warnings + (analysis.warnings if analysis is not None else []))


def _number(text: Optional[str], option: str) -> Optional[float]:
    """--from/--to: a number as float reads it (nan and inf too, which plot refuses by name), else a
    constant such as 2pi."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        from ..analyze.problem import constant

        return float(constant(text, option))


def _plot_curve(ctx: typer.Context, equation: str, var: Optional[list[str]], wrt: Optional[str],
                start: Optional[float], end: Optional[float], output: Optional[str], json_output: bool) -> int:
    """plot --implicit: the curve F = 0 around the point, with its tangent there."""
    import shutil

    from ..errors import DerivcliError
    from ..explore.plotting.implicit import curve_plot, terminal_curve

    if output is not None:
        raise DerivcliError("plot --implicit draws in the terminal or as --json; --output figures are for functions")
    point = {name: value for name, value in read_point(ctx, var, None).items()}
    tensors = [name for name, value in point.items() if not isinstance(value, float)]
    if tensors:
        raise DerivcliError(f"--{tensors[0]}: plot --implicit takes numbers")
    data = curve_plot(equation, point, wrt=wrt, start=start, end=end)  # type: ignore[arg-type]
    if json_output:
        from ..wire import dumps

        sys.stdout.write(dumps(data.to_json()) + "\n")
    else:
        size = shutil.get_terminal_size((80, 24))
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        sys.stdout.write(terminal_curve(data, width=max(min(size.columns, 120), 30),
                                        height=max(12, min(size.lines - 2, 30)), color=color) + "\n")
    for note in data.notes:
        sys.stderr.write(f"note: {note}\n")
    return 0


@app.command(cls=BindingCommand, epilog="""[bold]Examples[/]

  derivcli graph "x**2 + sin(x)" --x 1
  derivcli graph "exp(-(x**2-x+1)/cos(log(x))**2)" --x 1
  derivcli graph "x**2 + sin(x)" --x 1 --dot | dot -Tpng > graph.png""")
def graph(
    ctx: typer.Context,
    expression: Annotated[str, typer.Argument(help="The expression.", show_default=False)],
    dot: Annotated[bool, typer.Option("--dot", help="Print Graphviz DOT instead of a tree.")] = False,
    wrt: WRT = None,
    var: VAR = None,
    dtype: DTYPE = "float64",
    json_output: JSON = False,
    explain_parse: EXPLAIN = False,
) -> int:
    """The autograd graph torch builds for EXPRESSION at the point: backward nodes down to the variables."""
    from ..explore.graph import autograd_graph
    from ..render import reading_lines

    result = autograd_graph(expression, read_point(ctx, var, None), wrt=split_names(wrt), dtype=dtype)
    if json_output:
        from ..wire import dumps

        sys.stdout.write(dumps(result.to_json(explain_parse)) + "\n")
    elif dot:
        sys.stdout.write(result.to_dot() + "\n")
    else:
        lines = [*reading_lines(result.parse, explain_parse), *result.tree_lines()]
        sys.stdout.write("".join(line + "\n" for line in lines))
    for note in result.notes:
        sys.stderr.write(f"note: {note}\n")
    return report_warnings(result.warnings)
