"""The command line: a thin Typer layer over `derivcli.api`.

It reads options and `--NAME VALUE` bindings, calls the library, hands the result to `render`, and turns
every failure into one `error: …` line on stderr with exit code 2 (1: a requested check disagreed).
torch and SymPy are imported only inside the commands that compute, so `--help` and tab completion
stay fast.
"""

from __future__ import annotations

import functools
import io
import os
import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperCommand, TyperGroup

from . import __version__
from .errors import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, DerivcliError

try:  # typer >= 0.29 vendors click
    from typer._click.exceptions import ClickException, UsageError
except ImportError:  # pragma: no cover - older typer depends on click itself
    from click.exceptions import ClickException, UsageError  # type: ignore[no-redef]

EXIT_INTERNAL = 3
STDIN = "-"  # a binding's value read line by line from stdin
PROG = "derivcli"


class DerivcliGroup(TyperGroup):
    """The app: every error, usage errors included, becomes one `error:` line and an exit code."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, windows_expand_args: bool = True,
             **extra: Any) -> Any:
        def invoke() -> Any:
            return super(DerivcliGroup, self).main(args, prog_name or PROG, complete_var, standalone_mode=False,
                                                   windows_expand_args=windows_expand_args, **extra)

        code = guarded(invoke)
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx: Any) -> Any:
        """Carry an EOFError from a library past typer, which would report it as an interrupt (exit 130)."""
        try:
            return super().invoke(ctx)
        except EOFError as error:
            raise _Carried(error) from error


class _Carried(Exception):
    """An exception typer would misreport, on its way to `guarded`."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class BindingCommand(TyperCommand):
    """A command that also accepts `--NAME VALUE` for each variable of the expression."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        from .bindings import split_arguments

        takes_value: set[str] = set()
        flags: set[str] = {"--help", "-h"}
        for param in self.params:
            if getattr(param, "param_type_name", "") != "option":
                continue
            names = [*param.opts, *getattr(param, "secondary_opts", [])]
            (flags if getattr(param, "is_flag", False) else takes_value).update(names)
        remaining, bindings = split_arguments(list(args), takes_value, flags)
        ctx.meta["bindings"] = bindings
        return super().parse_args(ctx, remaining)

    def invoke(self, ctx: Any) -> Any:
        """Mistakes in the expression's text are reported before torch or SymPy is imported."""
        expression = ctx.params.get("expression")
        if isinstance(expression, str):
            from .bindings import parse_var_options
            from .parsing import Context, check_syntax
            from .parsing.latex import is_latex

            if not is_latex(expression):
                names = {*ctx.meta.get("bindings", {}), *parse_var_options(ctx.params.get("var") or [])}
                given = ctx.params.get("wrt")
                wrt = split_names([given] if isinstance(given, str) else given)
                check_syntax(expression, Context(frozenset(names), frozenset(wrt or ())))
        return super().invoke(ctx)


def guarded(call: Callable[[], Any]) -> int:
    """Run a command; map every outcome to an exit code, reporting errors as one line on stderr.

    A reader that goes away (`| head -1`) is normal: exit 0, nothing on stderr, whether the broken pipe
    reaches here as itself or as the SystemExit(1) typer and rich turn it into.
    """
    try:
        result = call()
        return result if isinstance(result, int) else 0
    except _Carried as carried:
        return guarded(functools.partial(_reraise, carried.error))
    except SystemExit as exit:
        if isinstance(exit.__context__, BrokenPipeError):
            _silence_stdout()
            return 0
        raise
    except DerivcliError as error:
        report_error(error)
        return EXIT_BAD_INPUT
    except UsageError as error:
        message = error.format_message().strip()
        if message:  # (no message: no arguments at all, and the help was printed)
            command = error.ctx.command_path if error.ctx is not None else PROG
            report_error(DerivcliError(_first_line(message).rstrip("."), hint=f"see '{command} --help'"))
        return EXIT_BAD_INPUT
    except ClickException as error:
        report_error(DerivcliError(_first_line(error.format_message())))
        return error.exit_code
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("error: interrupted\n")
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except RecursionError:
        report_error(DerivcliError("the expression is too deeply nested to handle"))
        return EXIT_BAD_INPUT
    except MemoryError:
        report_error(DerivcliError("out of memory"))
        return EXIT_BAD_INPUT
    except Exception as error:  # a bug: still one line, never a traceback
        if os.environ.get("DERIVCLI_DEBUG"):
            raise
        report_error(DerivcliError(f"internal error: {type(error).__name__}: {_first_line(str(error))}",
                                   hint="please report it; DERIVCLI_DEBUG=1 shows the traceback"))
        return EXIT_INTERNAL


def _reraise(error: BaseException) -> None:
    raise error


def report_error(error: DerivcliError) -> None:
    sys.stderr.write("".join(line + "\n" for line in ["error: " + error.one_line(), *error.caret_lines()]))


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


def _silence_stdout() -> None:
    """Point descriptor 1 at /dev/null, so output still buffered flushes quietly at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


def output_format(json_flag: bool, fmt: Optional[str]) -> str:
    from .render import FORMATS

    if json_flag:
        return "json"
    if fmt is not None:
        if fmt not in FORMATS:
            raise DerivcliError(f"--format {fmt}: unknown format", hint="use table, plain or json")
        return fmt
    return "table" if sys.stdout.isatty() else "plain"


app = typer.Typer(
    cls=DerivcliGroup,
    name=PROG,
    help="Derivatives from the command line: autograd gradients, checked against SymPy and finite "
         "differences.",
    epilog="[bold]Examples[/]\n\n"
           "  derivcli grad \"exp(-(x**2-x+1)/cos(log(x))**2)\" --x 1 --check --fd\n"
           "  derivcli grad \"u**2 + v**3 + u*v\" --u 2 --v 4 --json\n"
           "  derivcli functions\n\n"
           "'derivcli COMMAND --help' shows each command's options.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"{PROG} {__version__}\n")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    max_memory: Annotated[Optional[str], typer.Option(
        "--max-memory", help="The most memory one request's tensors may take (default 1GB, or "
                             "DERIVCLI_MAX_MEMORY); inputs that would need more are refused up front.",
        show_default=False)] = None,
    no_files: Annotated[bool, typer.Option(
        "--no-files", help="Refuse every @file value, --points and --output (also DERIVCLI_NO_FILES=1), for "
                           "programs that pass untrusted text to derivcli.")] = False,
) -> None:
    """Derivatives from the command line: autograd gradients, checked against SymPy and finite differences."""
    from . import memory
    from .files import set_no_files

    memory.set_limit(memory.parse_size(max_memory) if max_memory is not None else None)
    set_no_files(no_files)


WRT = Annotated[Optional[list[str]], typer.Option(
    "--wrt", help="Differentiate only these variables (comma-separated or repeated); the rest are constants.",
    show_default=False)]
VAR = Annotated[Optional[list[str]], typer.Option(
    "--var", help="A binding NAME=VALUE, for names that clash with an option.", show_default=False)]
SEED = Annotated[Optional[int], typer.Option(
    "--seed", help="Seed for rand(...) and randn(...) values, for reproducible runs.", show_default=False)]
DTYPE = Annotated[str, typer.Option("--dtype", help="float64 or float32.")]
DEVICE = Annotated[str, typer.Option("--device", help="cpu or cuda.")]
JSON = Annotated[bool, typer.Option("--json", help="Print the JSON result.")]
FORMAT = Annotated[Optional[str], typer.Option(
    "--format", help="table, plain or json (default: table on a terminal, plain in a pipe).", show_default=False)]
EXPLAIN = Annotated[bool, typer.Option("--explain-parse", help="Show how the expression was read.")]
MATRIX_CHECK = Annotated[bool, typer.Option(
    "--check", help="Compare every entry with SymPy's derivative (up to 400 entries); exit 1 if they disagree.")]
MATRIX_FD = Annotated[bool, typer.Option(
    "--fd", help="Compare every entry with central differences (up to 400 entries); exit 1 if they disagree.")]

GRAD_EPILOG = """[bold]Examples[/]

  derivcli grad "exp(-(x**2-x+1)/cos(log(x))**2)" --x 1 --check --fd
  derivcli grad "u**2 + v**3 + u*v" --u 2 --v 4 --json
  derivcli grad "log(x**2 + y**2)" --x 15 --y 24 --wrt x
  derivcli grad "2x^2 + sin(pi*x/4)" --x 1 --explain-parse
  derivcli grad "-x**2" --x 3
  derivcli grad "sum((relu(W @ x) - t)**2)" --W "rand(3,4)" --x "arange(4)" --t "[1, 1.2, 1.4]" --wrt W

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
    seed: SEED = None,
    points: Annotated[Optional[str], typer.Option(
        "--points", help="Many points at once: a CSV file whose header names the variables, or .npy/.npz; "
                         "values and derivatives come out as CSV.", show_default=False)] = None,
    output: Annotated[Optional[str], typer.Option(
        "--output", help="With --points: write the table to this .csv or .npy file.", show_default=False)] = None,
    torch_compile: Annotated[bool, typer.Option(
        "--compile", help="With --points: run the gradient through torch.compile (seconds to compile; pays "
                          "off for very large batches).")] = False,
    dtype: DTYPE = "float64",
    device: DEVICE = "cpu",
    json_output: JSON = False,
    fmt: FORMAT = None,
    explain_parse: EXPLAIN = False,
) -> int:
    """Value and gradient of EXPRESSION at a point, by torch autograd."""
    from .api import grad as compute_grad
    from .checks import parse_steps
    from .render import emit_grad

    fmt_name = output_format(json_output, fmt)
    fd = fd or fd_steps is not None  # steps without --fd still ask for the table
    point = read_point(ctx, var, seed, streams=True)
    if points is not None:
        return grad_at_points(expression, points, point, split_names(wrt), output, torch_compile, dtype, device)
    if output is not None or torch_compile:
        raise DerivcliError("--output and --compile go with --points")
    streamed = [name for name, value in point.items() if value is STDIN]
    if streamed:
        if fmt == "table":
            raise DerivcliError("--format table does not work with values from stdin ('-')",
                                hint="use --format plain (one line per value) or --json")
        if fmt_name != "json" and (fd or explain_parse):
            given = "--fd-steps" if fd_steps else "--fd" if fd else "--explain-parse"
            raise DerivcliError(f"{given} does not work with plain values from stdin ('-')",
                                hint="add --json: each line's object then carries it")
        options = {"wrt": split_names(wrt), "check": check, "fd": fd,
                   "fd_steps": parse_steps(fd_steps) if fd_steps else None, "dtype": dtype, "device": device}
        return stream_grad(expression, streamed, point, options, "json" if fmt_name == "json" else "plain",
                           explain_parse)
    result = compute_grad(expression, point, wrt=split_names(wrt), check=check, fd=fd,
                          fd_steps=parse_steps(fd_steps) if fd_steps else None, dtype=dtype, device=device)
    emit_grad(result, fmt_name, sys.stdout, explain_parse)
    report_warnings(result.warnings)
    return EXIT_CHECK_FAILED if result.failed else 0


JACOBIAN_EPILOG = """[bold]Examples[/]

  derivcli jacobian "softmax(a)" --a "[0.5214, 0.9971, 0.7792]"
  derivcli jacobian "W @ x" --W "[[1, 2], [3, 4]]" --x "[1, 1]" --wrt x
  derivcli jacobian "sin(x) * y" --x "linspace(0, 1, 3)" --y 2 --json

The Jacobian with respect to each variable has shape (output shape) + (variable shape)."""


@app.command(cls=BindingCommand, epilog=JACOBIAN_EPILOG)
def jacobian(
    ctx: typer.Context,
    expression: Annotated[str, typer.Argument(help="A vector- or matrix-valued expression.", show_default=False)],
    wrt: WRT = None,
    var: VAR = None,
    seed: SEED = None,
    check: MATRIX_CHECK = False,
    fd: MATRIX_FD = False,
    dtype: DTYPE = "float64",
    device: DEVICE = "cpu",
    json_output: JSON = False,
    fmt: FORMAT = None,
    explain_parse: EXPLAIN = False,
) -> int:
    """All first derivatives of a vector- or matrix-valued EXPRESSION, by torch autograd."""
    from .api import jacobian as compute_jacobian
    from .render import emit_jacobian

    fmt_name = output_format(json_output, fmt)
    result = compute_jacobian(expression, read_point(ctx, var, seed), wrt=split_names(wrt), check=check, fd=fd,
                              dtype=dtype, device=device)
    emit_jacobian(result, fmt_name, sys.stdout, explain_parse)
    report_warnings(result.warnings)
    return EXIT_CHECK_FAILED if result.failed else 0


@app.command(cls=BindingCommand, epilog="""[bold]Examples[/]

  derivcli hessian "(1-x)**2 + 100*(y-x**2)**2" --x 1 --y 1
  derivcli hessian "u**2 + v**3 + u*v" --u 2 --v 4 --json
  derivcli hessian "sum(x**4) - dot(x, x)" --x "[0.5, -1]"

Tensor variables are flattened as x[0], x[1], …; the eigenvalues say whether the point is a
minimum, a maximum or a saddle.""")
def hessian(
    ctx: typer.Context,
    expression: Annotated[str, typer.Argument(help="A scalar expression.", show_default=False)],
    wrt: WRT = None,
    var: VAR = None,
    seed: SEED = None,
    check: MATRIX_CHECK = False,
    fd: MATRIX_FD = False,
    dtype: DTYPE = "float64",
    device: DEVICE = "cpu",
    json_output: JSON = False,
    fmt: FORMAT = None,
    explain_parse: EXPLAIN = False,
) -> int:
    """The Hessian of EXPRESSION at a point (forward-over-reverse autograd), with its eigenvalues."""
    from .api import hessian as compute_hessian
    from .render import emit_hessian

    fmt_name = output_format(json_output, fmt)
    result = compute_hessian(expression, read_point(ctx, var, seed), wrt=split_names(wrt), check=check, fd=fd,
                             dtype=dtype, device=device)
    emit_hessian(result, fmt_name, sys.stdout, explain_parse)
    report_warnings(result.warnings)
    return EXIT_CHECK_FAILED if result.failed else 0


@app.command(cls=BindingCommand, epilog="""[bold]Examples[/]

  derivcli diff "x**3*sin(x)" --wrt x --order 2
  derivcli diff "exp(-(x**2-x+1)/cos(log(x))**2)" --wrt x --order 3 --x 1.3
  derivcli diff "exp(-(x**2-x+1)/cos(log(x))**2)" --wrt x --order 20 --x 1.3
  derivcli diff "x**2*y**3" --wrt x,y,y --latex
  derivcli diff "\\frac{\\sin x}{x}" --wrt x

With a point, the value comes from torch (nested autograd at low order, Taylor mode at high order)
and is compared with SymPy's formula; exit 1 if they disagree.""")
def diff(
    ctx: typer.Context,
    expression: Annotated[str, typer.Argument(help="The expression (plain or LaTeX).", show_default=False)],
    wrt: Annotated[Optional[list[str]], typer.Option(
        "--wrt", help="The variable; several (x,y,y or repeated) for a mixed partial.", show_default=False)] = None,
    order: Annotated[int, typer.Option("--order", help="How many times to differentiate (at most 200).")] = 1,
    latex: Annotated[bool, typer.Option("--latex", help="Print the derivative as LaTeX.")] = False,
    formula: Annotated[Optional[bool], typer.Option(
        "--formula/--no-formula", help="Build SymPy's formula (default: always without a point, up to "
                                       "order 4 with one).", show_default=False)] = None,
    var: VAR = None,
    dtype: DTYPE = "float64",
    device: DEVICE = "cpu",
    json_output: JSON = False,
    fmt: FORMAT = None,
    explain_parse: EXPLAIN = False,
) -> int:
    """The symbolic derivative of any order, and its value at a point."""
    from .api import diff as compute_diff
    from .render import emit_diff

    fmt_name = output_format(json_output, fmt)
    result = compute_diff(expression, split_names(wrt), order, read_point(ctx, var, None), formula=formula,
                          dtype=dtype, device=device)
    emit_diff(result, fmt_name, sys.stdout, explain_parse, latex=latex)
    code = report_warnings(result.warnings)
    return EXIT_CHECK_FAILED if result.agree is False else code


@app.command(cls=BindingCommand, epilog="""[bold]Examples[/]

  derivcli taylor "sin(x)" --x 0 --order 7
  derivcli taylor "exp(-(x**2-x+1)/cos(log(x))**2)" --x 1 --order 10 --json
  derivcli taylor "x**2*y" --x 1 --y 3 --wrt x --order 3""")
def taylor(
    ctx: typer.Context,
    expression: Annotated[str, typer.Argument(help="The expression.", show_default=False)],
    order: Annotated[int, typer.Option("--order", help="The degree of the polynomial (at most 200).")] = 5,
    wrt: Annotated[Optional[str], typer.Option("--wrt", help="The variable to expand in (when there are "
                                                              "several).", show_default=False)] = None,
    var: VAR = None,
    dtype: DTYPE = "float64",
    json_output: JSON = False,
    fmt: FORMAT = None,
    explain_parse: EXPLAIN = False,
) -> int:
    """The Taylor polynomial of EXPRESSION around the point: torch's coefficients beside SymPy's series."""
    from .api import taylor as compute_taylor
    from .render import emit_taylor

    fmt_name = output_format(json_output, fmt)
    result = compute_taylor(expression, read_point(ctx, var, None), wrt=wrt, order=order, dtype=dtype)
    emit_taylor(result, fmt_name, sys.stdout, explain_parse)
    code = report_warnings(result.warnings)
    return EXIT_CHECK_FAILED if result.agree is False else code


@app.command(cls=BindingCommand, epilog="""[bold]Examples[/]

  derivcli minimize "(x-1.5)**2" --x 4 --lr 0.1 --steps 100
  derivcli minimize "(x-1.5)**2" --x 4 --lr 0.1 --steps 100 --manual     # the tutorials' hand-written loop
  derivcli minimize "(1-x)**2 + 100*(y-x**2)**2" --x -1.2 --y 1 --optimizer lbfgs --tol 1e-10
  derivcli minimize "sum((relu(W @ x) - t)**2)" --W "rand(3,4)" --x "arange(4)" --t "[1,1.2,1.4]" --wrt W --seed 0

A divergence (values blowing up to inf or nan) stops the run with a warning.""")
def minimize(
    ctx: typer.Context,
    expression: Annotated[str, typer.Argument(help="The function to minimize.", show_default=False)],
    optimizer: Annotated[str, typer.Option("--optimizer", help="sgd, momentum, adam or lbfgs.")] = "sgd",
    lr: Annotated[float, typer.Option("--lr", help="Learning rate.")] = 0.1,
    steps: Annotated[int, typer.Option("--steps", help="The most updates to make (at most 1,000,000).")] = 100,
    tol: Annotated[Optional[float], typer.Option(
        "--tol", help="Stop when the gradient norm or the step size falls below this.", show_default=False)] = None,
    manual: Annotated[bool, typer.Option(
        "--manual", help="Run the hand-written update x -= lr * x.grad (same trace as sgd).")] = False,
    every: Annotated[int, typer.Option("--every", help="Keep every k-th step in the trace.")] = 1,
    wrt: WRT = None,
    var: VAR = None,
    seed: SEED = None,
    dtype: DTYPE = "float64",
    device: DEVICE = "cpu",
    json_output: JSON = False,
    fmt: FORMAT = None,
    explain_parse: EXPLAIN = False,
) -> int:
    """Gradient descent on EXPRESSION from the given point."""
    from .optimize import minimize as run_minimize
    from .render import emit_minimize

    fmt_name = output_format(json_output, fmt)
    progress = _progress_bar() if sys.stderr.isatty() and fmt_name == "table" else None
    result = run_minimize(expression, read_point(ctx, var, seed), wrt=split_names(wrt), optimizer=optimizer,
                          lr=lr, steps=steps, tol=tol, manual=manual, trace_every=every, dtype=dtype,
                          device=device, progress=progress)
    emit_minimize(result, fmt_name, sys.stdout, explain_parse)
    return report_warnings(result.warnings)


@app.command(cls=BindingCommand, epilog="""[bold]Examples[/]

  derivcli plot "sin(x)*exp(-x**2/4)" --x 1
  derivcli plot "log(x)" --x 2 --from 0.01 --to 5 --output log.png      # PNG, SVG or PDF: pip install 'derivcli[plot]'
  derivcli plot "x**2*y" --x 1 --y 3 --wrt x""")
def plot(
    ctx: typer.Context,
    expression: Annotated[str, typer.Argument(help="A function of one variable.", show_default=False)],
    start: Annotated[Optional[float], typer.Option("--from", help="Left end of the interval.",
                                                   show_default=False)] = None,
    end: Annotated[Optional[float], typer.Option("--to", help="Right end of the interval.",
                                                 show_default=False)] = None,
    output: Annotated[Optional[str], typer.Option(
        "--output", help="Write a figure (.png, .svg, .pdf) instead of drawing in the terminal.",
        show_default=False)] = None,
    wrt: Annotated[Optional[str], typer.Option("--wrt", help="The variable on the x axis.", show_default=False)] = None,
    samples: Annotated[int, typer.Option("--samples", help="Points to evaluate (2 to 100,000).")] = 400,
    var: VAR = None,
    dtype: DTYPE = "float64",
    json_output: JSON = False,
    explain_parse: EXPLAIN = False,
) -> int:
    """f and f' around the point, with the tangent line there: in the terminal, or as a figure."""
    import shutil

    from .plotting import plot_data, save_figure, smallest_width, terminal_plot
    from .render import reading_lines

    if output is not None:
        from .files import check_files_allowed

        check_files_allowed("--output")
    data = plot_data(expression, read_point(ctx, var, None), wrt=wrt, start=start, end=end, samples=samples,
                     dtype=dtype)
    if json_output:
        import json

        sys.stdout.write(json.dumps(data.to_json(explain_parse)) + "\n")
    elif output is not None:
        sys.stdout.write("".join(line + "\n" for line in reading_lines(data.parse, explain_parse)))
        save_figure(data, output)
        sys.stdout.write(f"wrote {output}\n")
    else:
        sys.stdout.write("".join(line + "\n" for line in reading_lines(data.parse, explain_parse)))
        size = shutil.get_terminal_size((80, 24))
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        width = max(min(size.columns, 120), smallest_width(data))  # a narrow terminal still gets a plot
        sys.stdout.write(terminal_plot(data, width=width, height=max(12, min(size.lines - 2, 30)), color=color) + "\n")
    for note in data.notes:
        sys.stderr.write(f"note: {note}\n")
    return report_warnings(data.warnings)


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
    from .autograd_graph import autograd_graph
    from .render import reading_lines

    result = autograd_graph(expression, read_point(ctx, var, None), wrt=split_names(wrt), dtype=dtype)
    if json_output:
        import json

        sys.stdout.write(json.dumps(result.to_json(explain_parse)) + "\n")
    elif dot:
        sys.stdout.write(result.to_dot() + "\n")
    else:
        lines = [*reading_lines(result.parse, explain_parse), *result.tree_lines()]
        sys.stdout.write("".join(line + "\n" for line in lines))
    for note in result.notes:
        sys.stderr.write(f"note: {note}\n")
    return report_warnings(result.warnings)


def report_warnings(warnings: list[str]) -> int:
    for warning in warnings:
        sys.stderr.write(f"warning: {warning}\n")
    return 0


def stream_grad(expression: str, streamed: list[str], point: dict[str, object], options: dict[str, Any],
                fmt: str, explain_parse: bool = False) -> int:
    """`--x -`: one answer per stdin line, written and flushed as the line arrives.

    Plain lines are `x, f, derivatives` (and agree/DISAGREE/skipped with --check); JSON lines are the
    --json object, with --fd and --explain-parse in it.  An echoed bad line is made printable first: it
    is untrusted text going to a terminal.
    """
    import json

    from .errors import printable
    from .render import number
    from .streams import grad_stream

    if len(streamed) > 1:
        raise DerivcliError(f"only one variable can come from stdin (got {', '.join(streamed)})")
    fixed = {name: value for name, value in point.items() if value is not STDIN}
    failed = disagreed = False
    for line_number, text, result in grad_stream(expression, streamed[0], sys.stdin, fixed, **options):
        if isinstance(result, DerivcliError):
            failed = True
            message = result.one_line()
            sys.stdout.write(json.dumps({"line": line_number, "error": message}) + "\n" if fmt == "json"
                             else f"{printable(text)}\terror: {message}\n")
            sys.stderr.write(f"error: line {line_number}: {message}\n")
            sys.stdout.flush()
            continue
        disagreed = disagreed or (result.check is not None and not result.check.agree)
        if fmt == "json":
            sys.stdout.write(json.dumps(result.to_json(explain_parse)) + "\n")
        else:
            derivatives = "\t".join(number(value) for value in result.gradient.values())
            verdict = "" if result.check is None else "\tskipped" if result.check.skipped is not None else \
                "\tagree" if result.check.agree else "\tDISAGREE"
            sys.stdout.write(f"{number(result.point[streamed[0]])}\t{number(result.value)}\t{derivatives}{verdict}\n")
        sys.stdout.flush()
    return EXIT_BAD_INPUT if failed else EXIT_CHECK_FAILED if disagreed else 0


def grad_at_points(expression: str, path: str, fixed: dict[str, object], wrt: list[str] | None,
                   output: Optional[str], torch_compile: bool, dtype: str, device: str) -> int:
    """--points: every point of a file in one vectorized pass per chunk, as a table of columns."""
    import derivcli

    from .files import output_kind, read_points
    from .render import write_points

    if output is not None:
        output_kind(output)  # a bad --output is refused before the work, not after
    compiled = derivcli.compile(expression, wrt=wrt, dtype=dtype, device=device, torch_compile=torch_compile)
    columns = read_points(path)
    if "" in columns:  # an .npy file: one unnamed column, for the only variable not bound otherwise
        free = [name for name in compiled.variables if name not in fixed]
        if len(free) != 1:
            raise DerivcliError("--points: an .npy file holds one column; name the columns with .csv or .npz")
        columns = {free[0]: columns.pop("")}
    both = sorted(set(fixed) & set(columns))
    if both:
        raise DerivcliError(f"--points: {', '.join(both)} is both a column of {path} and given with --NAME")
    values = {**fixed, **columns}
    progress = _progress_bar() if sys.stderr.isatty() and len(next(iter(columns.values()), [])) > 1_000_000 else None
    f = compiled(**values)
    grads = compiled.grad(progress=progress, **values)
    table = {**{name: columns[name] for name in columns if name in compiled.variables}, "f": f,
             **{f"d/d{name}": value for name, value in grads.items()}}
    write_points(table, output, sys.stdout)
    return 0


def _progress_bar() -> Any:
    from rich.progress import Progress

    bar = Progress(transient=True)
    task = bar.add_task("gradients", total=None)
    bar.start()

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)
        if done >= total:
            bar.stop()

    return update


@app.command(epilog="""[bold]Examples[/]

  derivcli batch < requests.ndjson > results.ndjson
  echo '{"expression": "x**2", "point": {"x": 3}}' | derivcli batch

A request: {"expression": "...", "point": {...}, "wrt": [...], "command": "grad|jacobian|hessian|diff",
"order": n, "check": bool}; only expression and point are required.  Each answer is that command's
--json object, in order; a bad line gets {"line": n, "error": "..."} and the rest go on.  Exit 2 if any
line failed.  Big inputs are shared among --jobs worker processes (default: one per CPU, at most 8).""")
def batch(
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", min=1, show_default=False,
                                       help="Worker processes for big inputs; 1 answers every line in this one."),
) -> int:
    """Answer NDJSON requests from stdin, one JSON line each, as they arrive."""
    import json

    from .streams import available_lines, batch_groups, settle_for_volume
    from .workers import default_jobs

    settle_for_volume()
    failed = False
    for answer in batch_groups(available_lines(sys.stdin), jobs or default_jobs()):
        failed = failed or "error" in answer and "line" in answer
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return EXIT_BAD_INPUT if failed else 0


def read_point(ctx: typer.Context, var: Optional[list[str]], seed: Optional[int],
               streams: bool = False) -> dict[str, object]:
    """The bindings given as --NAME VALUE and --var NAME=VALUE, read into numbers and tensors (with
    `streams`, `-` stays STDIN: values to read line by line)."""
    from .bindings import parse_value, parse_var_options

    raw = dict(ctx.meta.get("bindings", {}))
    for name, value in parse_var_options(var or []).items():
        if name in raw:
            raise DerivcliError(f"--var {name}: '{name}' is given twice")
        raw[name] = value
    if seed is not None:
        import torch

        if not -(2**63) <= seed < 2**64:  # what torch's generator takes
            raise DerivcliError(f"--seed {seed if len(str(seed)) <= 24 else str(seed)[:21] + '...'} is out of range",
                                hint="give a whole number from 0 to 2**64 - 1")
        torch.manual_seed(seed)
    if not streams and STDIN in raw.values():
        raise DerivcliError("values from stdin ('-') work with 'derivcli grad'; use 'derivcli batch' for others")
    return {name: STDIN if streams and text.strip() == STDIN else parse_value(name, text)
            for name, text in raw.items()}


def split_names(wrt: Optional[list[str]]) -> list[str] | None:
    """--wrt a,b --wrt c -> [a, b, c]."""
    names = [name.strip() for item in (wrt or []) for name in item.split(",") if name.strip()]
    return names or None


@app.command(epilog="[bold]Example[/]\n\n  derivcli functions --format plain | grep log")
def functions(
    json_output: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
    fmt: Annotated[Optional[str], typer.Option("--format", help="table, plain or json.",
                                               show_default=False)] = None,
) -> None:
    """List the supported functions, with their SymPy and torch forms."""
    from .functions import FUNCTIONS
    from .render import emit_functions

    emit_functions([spec for spec in FUNCTIONS if not spec.internal], output_format(json_output, fmt),
                   sys.stdout)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (for tests and embedding)."""
    return int(typer.main.get_command(app).main(args=argv, prog_name=PROG, standalone_mode=False))


def run() -> None:
    """Console-script entry point: make the standard streams safe, run, flush, and skip torch's slow
    interpreter shutdown."""
    _prepare_streams()
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    except DerivcliError as error:  # the last buffered output did not fit (a full disk)
        report_error(error)
        _silence_stdout()
        code = code or EXIT_BAD_INPUT
    sys.stderr.flush()
    if "torch" in sys.modules:
        os._exit(code)
    sys.exit(code)


# --------------------------------------------------------------------------- the standard streams
def _prepare_streams() -> None:
    """Closed descriptors, narrow encodings and failing writes become one-line errors, not tracebacks.

    A closed 0, 1 or 2 (`>&-`) is reopened on /dev/null first, so no file derivcli opens later can take
    its number (and receive stray output); reading a closed stdin or writing a closed stdout is then an
    error naming it.  An encoding that cannot show derivcli's symbols (`PYTHONIOENCODING=ascii`, a Latin-1
    locale) gets them spelled in ASCII; undecodable input becomes U+FFFD; and a failed write to stdout
    (`>/dev/full`) is an error naming stdout, while a closed pipe stays a BrokenPipeError for `guarded`.
    """
    import codecs

    for descriptor, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(descriptor)
            closed = getattr(sys, name) is None
        except OSError:
            spare = os.open(os.devnull, os.O_RDWR)
            if spare != descriptor:
                os.dup2(spare, descriptor)
                os.close(spare)
            closed = True
        if closed:
            setattr(sys, name, open(os.devnull, "w") if name == "stderr" else _ClosedStream(name))
    codecs.register_error("derivcli-ascii", _ascii_glyphs)
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and not _can_encode(stream.encoding):
            stream.reconfigure(errors="derivcli-ascii")
    if isinstance(sys.stdin, io.TextIOWrapper) and sys.stdin.errors == "strict":
        sys.stdin.reconfigure(errors="replace")
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout = _CheckedOutput(sys.stdout)  # type: ignore[assignment]


class _ClosedStream(io.TextIOBase):
    """Stands in for a standard stream that was closed when derivcli started."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self._name = name

    def _error(self) -> DerivcliError:
        if self._name == "stdin":
            return DerivcliError("stdin is closed, so no values can be read from it", hint="pipe the values in")
        return DerivcliError("cannot write the output: stdout is closed", hint="redirect it to a file or a pipe")

    def read(self, size: int | None = -1) -> str:
        raise self._error()

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        raise self._error()

    def write(self, text: str) -> int:
        if text:
            raise self._error()
        return 0

    def fileno(self) -> int:
        raise self._error()

    def isatty(self) -> bool:
        return False


class _CheckedOutput:
    """sys.stdout, where a failed write or flush (a full disk, an I/O error) is a DerivcliError naming
    stdout; everything else is the real stream's."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except BrokenPipeError:
            raise
        except OSError as error:
            raise _write_error(error) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            raise _write_error(error) from None

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _write_error(error: OSError) -> DerivcliError:
    return DerivcliError(f"cannot write the output to stdout: {(error.strerror or str(error)).lower()}")


_ASCII = {"∂": "d", "∇": "grad ", "·": "*", "×": "x", "…": "...", "–": "-", "±": "+/-", "≈": "~", "★": "*",
          "●": "o", "√": "sqrt ", "∛": "cbrt ", "ε": "eps", "Σ": "sum", "Γ": "Gamma", "↓": "v", "ᵏ": "k",
          "⁽": "(", "⁾": ")", "─": "-", "│": "|", "┤": "|", "├": "|", "┴": "+", "└": "+", "┌": "+", "┐": "+",
          "┘": "+", "┬": "+", "┼": "+", **{chr(code): digit for code, digit in zip(
              (0x2070, 0xB9, 0xB2, 0xB3, 0x2074, 0x2075, 0x2076, 0x2077, 0x2078, 0x2079), "0123456789")}}


def _ascii_glyphs(error: UnicodeError) -> tuple[str, int]:
    """The `derivcli-ascii` codec error handler: derivcli's symbols in ASCII (∂ as d, braille dots as *)."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = error.object[error.start:error.end]
    return "".join(_ASCII.get(char) or (" " if char == "\u2800" else "*" if "\u2800" < char <= "\u28ff" else "?")
                   for char in text), error.end


def _can_encode(encoding: str | None) -> bool:
    try:
        "∂·…★●⠒─".encode(encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True
