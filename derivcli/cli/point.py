"""The point commands: grad (at a point, streamed from stdin, or over a file of points), jacobian, hessian."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any, Optional

import typer

from ..errors import DerivcliError, Exit
from .app import app
from .commands import BindingCommand
from .options import (
    DEVICE,
    DIGITS,
    DTYPE,
    EXACT,
    EXPECT,
    EXPLAIN,
    FORMAT,
    JSON,
    MATRIX_CHECK,
    MATRIX_FD,
    SCHEDULER,
    SEED,
    STDIN,
    VAR,
    WRT,
    binding_texts,
    output_format,
    read_point,
    report_warnings,
    split_names,
)

HELP_RANK = 10  # its place among the commands in `derivcli --help`

GRAD_EPILOG = """[bold]Examples[/]

  derivcli grad "exp(-(x**2-x+1)/cos(log(x))**2)" --x 1 --check --fd
  derivcli grad "u**2 + v**3 + u*v" --u 2 --v 4 --json
  derivcli grad "log(x**2 + y**2)" --x 15 --y 24 --wrt x
  derivcli grad "2x^2 + sin(pi*x/4)" --x 1 --explain-parse
  derivcli grad "-x**2" --x 3
  derivcli grad "sum((relu(W @ x) - t)**2)" --W "rand(3,4)" --wrt W \\
      --x "arange(4)" --t "[1, 1.2, 1.4]"

Bind each variable with --NAME VALUE, --NAME=VALUE or --var NAME=VALUE; values may be constant expressions such as pi/4.

Exit codes: 0 ok, 1 --check disagreed, 2 bad input."""


@app.command(cls=BindingCommand, epilog=GRAD_EPILOG)
def grad(
    ctx: typer.Context,
    expression: Annotated[str, typer.Argument(help="The expression, e.g. \"sin(x)*exp(-x)\".",
                                              show_default=False)],
    wrt: WRT = None,
    var: VAR = None,
    check: Annotated[bool, typer.Option("--check", help="Compare with SymPy's symbolic derivative; exit 1 if "
                                                        "they disagree.")] = False,
    fd: Annotated[bool, typer.Option("--fd", help="Show the finite-difference table.")] = False,
    fd_steps: Annotated[Optional[str], typer.Option(
        "--fd-steps", help="Step sizes for --fd: a decade range 1e-1:1e-10 (default) or a list 0.1,0.01.",
        show_default=False)] = None,
    expect: EXPECT = None,
    exact: EXACT = False,
    seed: SEED = None,
    points: Annotated[Optional[str], typer.Option(
        "--points", help="Many points at once: a CSV file whose header names the variables, or .npy/.npz; "
                         "values and derivatives come out as CSV.", show_default=False)] = None,
    output: Annotated[Optional[str], typer.Option(
        "--output", help="With --points: write the table to this .csv, .npy or .npz file.", show_default=False)] = None,
    torch_compile: Annotated[bool, typer.Option(
        "--compile", help="With --points: run the gradient through torch.compile (seconds to compile; pays "
                          "off for very large batches).")] = False,
    scheduler: SCHEDULER = None,
    dtype: DTYPE = "float64",
    device: DEVICE = "cpu",
    digits: DIGITS = None,
    json_output: JSON = False,
    fmt: FORMAT = None,
    explain_parse: EXPLAIN = False,
) -> int:
    """Value and gradient of EXPRESSION at a point, by torch autograd."""
    from_stdin = sorted(name for name, text in binding_texts(ctx, var).items() if text.strip() == STDIN)
    if from_stdin and (points is not None or scheduler is not None):
        raise DerivcliError(f"--{from_stdin[0]} -: values from stdin are read one point at a time, and --points "
                            "reads every point from its file", hint=f"give {from_stdin[0]} a column in the points "
                                                                   "file, or a value")
    if scheduler is not None:
        from ..scale.cluster import grad_on_cluster

        refused = {"--check": check, "--fd": fd or fd_steps is not None, "--expect": expect is not None,
                   "--exact": exact, "--compile": torch_compile, "--explain-parse": explain_parse}
        return grad_on_cluster(scheduler, expression, points, output, read_point(ctx, var, seed), split_names(wrt),
                               dtype, device, output_format(json_output, fmt) == "json",
                               [name for name, flag in refused.items() if flag])
    fmt_name = output_format(json_output, fmt)
    fd = fd or fd_steps is not None  # steps without --fd still ask for the table
    point = read_point(ctx, var, seed, streams=True)
    if points is not None:
        from ..scale.points import grad_at_points

        return grad_at_points(expression, points, point, split_names(wrt), output, torch_compile, dtype, device,
                              as_json=fmt_name == "json")
    if output is not None or torch_compile:
        raise DerivcliError("--output and --compile go with --points")
    steps = None
    if fd_steps:  # (torch: imported once there is something to compute, not for a closed or empty stdin)
        from ..checks.differences import parse_steps

        steps = parse_steps(fd_steps)
    streamed = [name for name, value in point.items() if value is STDIN]
    if streamed and (expect is not None or exact):
        raise DerivcliError("--expect and --exact work at one point, not with values from stdin ('-')")
    if streamed:
        if fmt == "table":
            raise DerivcliError("--format table does not work with values from stdin ('-')",
                                hint="use --format plain (one line per value) or --json")
        if fmt_name != "json" and (fd or explain_parse):
            given = "--fd-steps" if fd_steps else "--fd" if fd else "--explain-parse"
            raise DerivcliError(f"{given} does not work with plain values from stdin ('-')",
                                hint="add --json: each line's object then carries it")
        options = {"wrt": split_names(wrt), "check": check, "fd": fd, "fd_steps": steps, "dtype": dtype,
                   "device": device, "as_lists": True}
        return stream_grad(expression, streamed, point, options, "json" if fmt_name == "json" else "plain",
                           explain_parse)
    from ..api import grad as compute_grad
    from ..render import emit_grad

    result = compute_grad(expression, point, wrt=split_names(wrt), check=check, fd=fd, fd_steps=steps, dtype=dtype,
                          device=device, expect=expect, exact=binding_texts(ctx, var) if exact else None,
                          as_lists=True)
    emit_grad(result, fmt_name, sys.stdout, explain_parse)
    report_warnings(result.warnings)
    return Exit.CHECK_FAILED if result.failed else 0


def matrix_command(name: str, expression_help: str) -> Callable[..., int]:
    """jacobian and hessian: the same options and the same steps, each with its own api function and view."""
    def command(
        ctx: typer.Context,
        expression: str,
        wrt: WRT = None,
        var: VAR = None,
        seed: SEED = None,
        check: MATRIX_CHECK = False,
        fd: MATRIX_FD = False,
        dtype: DTYPE = "float64",
        device: DEVICE = "cpu",
        digits: DIGITS = None,
        json_output: JSON = False,
        fmt: FORMAT = None,
        explain_parse: EXPLAIN = False,
    ) -> int:
        from .. import api, render

        fmt_name = output_format(json_output, fmt)
        result = getattr(api, name)(expression, read_point(ctx, var, seed), wrt=split_names(wrt), check=check,
                                    fd=fd, dtype=dtype, device=device)
        getattr(render, f"emit_{name}")(result, fmt_name, sys.stdout, explain_parse)
        report_warnings(result.warnings)
        return Exit.CHECK_FAILED if result.failed else 0

    command.__name__ = name
    command.__annotations__["expression"] = Annotated[str, typer.Argument(help=expression_help, show_default=False)]
    return command


jacobian = app.command(cls=BindingCommand, help="All first derivatives of a vector- or matrix-valued EXPRESSION, "
                                                "by torch autograd.", epilog="""[bold]Examples[/]

  derivcli jacobian "softmax(a)" --a "[0.5214, 0.9971, 0.7792]"
  derivcli jacobian "W @ x" --W "[[1, 2], [3, 4]]" --x "[1, 1]" --wrt x
  derivcli jacobian "sin(x) * y" --x "linspace(0, 1, 3)" --y 2 --json

The Jacobian with respect to each variable has shape (output shape) + (variable shape).""")(
    matrix_command("jacobian", "A vector- or matrix-valued expression."))

hessian = app.command(cls=BindingCommand, help="The Hessian of EXPRESSION at a point (forward-over-reverse "
                                               "autograd), with its eigenvalues.", epilog="""[bold]Examples[/]

  derivcli hessian "(1-x)**2 + 100*(y-x**2)**2" --x 1 --y 1
  derivcli hessian "u**2 + v**3 + u*v" --u 2 --v 4 --json
  derivcli hessian "sum(x**4) - dot(x, x)" --x "[0.5, -1]"

""" "Tensor variables are flattened as x[0], x[1], …; the eigenvalues say whether the point is a minimum, a "
                                                "maximum or a saddle.")(
    matrix_command("hessian", "A scalar expression."))


def stream_grad(expression: str, streamed: list[str], point: dict[str, object], options: dict[str, Any],
                fmt: str, explain_parse: bool = False) -> int:
    """`--x -`: one answer per stdin line, written and flushed as the line arrives.

    Plain lines are `x, f, derivatives` (and agree/DISAGREE/skipped with --check); JSON lines are the
    --json object, with --fd and --explain-parse in it.  An echoed bad line is made printable first: it
    is untrusted text going to a terminal.
    """
    from ..render.numbers import working_dtype
    from ..scale.streams import ending_when_reader_leaves, grad_stream

    if len(streamed) > 1:
        raise DerivcliError(f"only one variable can come from stdin (got {', '.join(streamed)})")
    fixed = {name: value for name, value in point.items() if value is not STDIN}
    with working_dtype(options["dtype"]), ending_when_reader_leaves(sys.stdout):
        return _answer_stream(grad_stream(expression, streamed[0], sys.stdin, fixed, **options), streamed[0], fmt,
                              explain_parse)


def _answer_stream(answers: Any, streamed: str, fmt: str, explain_parse: bool) -> int:
    """Each streamed line's answer or error, written and flushed at once; the exit code for them all."""
    from ..errors import printable
    from ..render import number
    from ..wire import dumps, error_record

    failed = disagreed = False
    for line_number, text, result in answers:
        if isinstance(result, DerivcliError):
            failed = True
            message = result.one_line()
            sys.stdout.write(dumps(error_record(line_number, result)) + "\n" if fmt == "json"
                             else f"{printable(text)}\terror: {message}\n")
            sys.stderr.write(f"error: line {line_number}: {message}\n")
            sys.stdout.flush()
            continue
        disagreed = disagreed or (result.check is not None and result.check.failed)
        if fmt == "json":
            sys.stdout.write(dumps(result.to_json(explain_parse)) + "\n")
        else:
            derivatives = "\t".join(number(value) for value in result.gradient.values())
            verdict = "" if result.check is None else f"\t{result.check.overall}"
            sys.stdout.write(f"{number(result.point[streamed])}\t{number(result.value)}\t{derivatives}{verdict}\n")
        sys.stdout.flush()
    return Exit.BAD_INPUT if failed else Exit.CHECK_FAILED if disagreed else 0
