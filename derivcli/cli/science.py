"""The commands for scientists: propagate (uncertainty propagation, the GUM's law of propagation with its
second-order and Monte Carlo checks), sensitivity (local and derivative-based global), emit (code for a
formula and its gradient)."""

from __future__ import annotations

import sys
from typing import Annotated, Any, Optional

import typer

from ..errors import DerivcliError, Exit
from .app import app
from .commands import BindingCommand
from .options import DIGITS, EXPLAIN, FORMAT, JSON, STDIN, VAR, WRT, binding_texts, output_format, report_warnings

HELP_RANK = 70  # its place among the commands in `derivcli --help`

FORMULA = Annotated[str, typer.Argument(help="The formula, e.g. \"4*pi**2*L/T**2\".", show_default=False)]
SEED = Annotated[Optional[int], typer.Option(
    "--seed", help="Seed of the random samples, for a reproducible run (the one used is in --json).",
    show_default=False)]


class ExpressionCommand(BindingCommand):
    """A command that reads an expression but no values (emit): its text is checked before SymPy loads,
    and its help has no --NAME VALUE row."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [*super().collect_usage_pieces(ctx)[:1], "[OPTIONS]"]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from typer.core import TyperCommand

        from .commands import name_types, print_help

        name_types(self.get_params(ctx))
        print_help(self, ctx, lambda: TyperCommand.format_help(self, ctx, formatter))


class MeasuredCommand(BindingCommand):
    """A command whose bindings may be more than values (a measurement, a range), each read by `read_own`
    where it is one, else as a value, before torch or SymPy loads; none comes from stdin."""

    @staticmethod
    def read_own(name: str, text: str) -> bool:
        """Read `text` if it is this command's own kind of binding; False for a plain value (here, all are)."""
        return False

    @classmethod
    def _check_values(cls, ctx: Any) -> None:
        from ..inputs.bindings import parse_var_options, plan_value

        texts = {**ctx.meta.get("bindings", {}), **parse_var_options(ctx.params.get("var") or [])}
        streamed = [name for name, text in texts.items() if text.strip() == STDIN]
        if streamed:
            raise DerivcliError(f"--{streamed[0]} -: values from stdin work with 'derivcli grad'")
        for name, text in texts.items():
            if not cls.read_own(name, text):
                plan_value(name, text)


class PropagateCommand(MeasuredCommand):
    """Bindings are measurements (`--g 9.81±0.02`), read by `uncertainty`; --corr and --dist are read too."""

    @staticmethod
    def read_own(name: str, text: str) -> bool:
        from ..science.uncertainty import has_uncertainty, read_measured

        if not has_uncertainty(text):
            return False
        read_measured(name, text)
        return True

    @classmethod
    def _check_values(cls, ctx: Any) -> None:
        from ..science.uncertainty import read_correlation, read_distribution

        super()._check_values(ctx)
        for text in ctx.params.get("corr") or []:
            read_correlation(text)
        for text in ctx.params.get("dist") or []:
            read_distribution(text)


class SensitivityCommand(MeasuredCommand):
    """Bindings are values or ranges (`--x 0:2`)."""

    @staticmethod
    def read_own(name: str, text: str) -> bool:
        from ..science.sensitivity import read_range

        return read_range(name, text) is not None


@app.command(cls=PropagateCommand, epilog="""[bold]Examples[/]

  derivcli propagate "4*pi**2*L/T**2" --L 1.000±0.002 --T "2.007 +- 0.003"
  derivcli propagate "x*y" --x "2.0(1)" --y "3.0(2)" --corr x,y=0.5 --k 2
  derivcli propagate "x**2" --x 0.1±0.1 --mc 100000 --seed 1
  derivcli propagate "m*g*h" --m 2 --g 9.81 --h 1.5 --cov cov.json

""" "Each input is a measurement: 9.81±0.02, \"9.81 +- 0.02\", 9.81+/-0.02 or 9.81(2) (the digits in parentheses "
   "are the uncertainty in the last digits: ±0.02), with its standard uncertainty; a number alone is exact. A "
   "variable named like an option (k, mc) is given with --var k=2±0.1.\n\n"
   "The uncertainty is first order (u² = gᵀΣg, the GUM's law of propagation); the second-order terms for normal "
   "inputs (GUM 5.1.2) are computed too, with a warning when they change u by more than 10 %. --mc N runs the "
   "Monte Carlo check of GUM Supplement 1 (exit 1 when it differs).")
def propagate(
    ctx: typer.Context,
    expression: FORMULA,
    var: VAR = None,
    corr: Annotated[Optional[list[str]], typer.Option(
        "--corr", metavar="A,B=R", help="The correlation coefficient of two inputs (repeat for more pairs).",
        show_default=False)] = None,
    cov: Annotated[Optional[str], typer.Option(
        "--cov", metavar="FILE", help="A JSON file with the covariance matrix of every bound variable (tensors "
                                      "element by element), in the order they are bound (replaces their "
                                      "uncertainties and --corr).",
        show_default=False)] = None,
    mc: Annotated[Optional[int], typer.Option(
        "--mc", metavar="N", help="Monte Carlo check with N samples (normal inputs unless --dist).",
        show_default=False)] = None,
    dist: Annotated[Optional[list[str]], typer.Option(
        "--dist", metavar="NAME=normal|uniform|triangular",
        help="An input's distribution in the Monte Carlo check, with the same standard uncertainty.",
        show_default=False)] = None,
    k: Annotated[Optional[float], typer.Option(
        "--k", metavar="K", help="Coverage factor: also give the expanded uncertainty U = k·u.",
        show_default=False)] = None,
    coverage: Annotated[float, typer.Option(
        "--coverage", metavar="P", help="The Monte Carlo coverage interval's probability.")] = 0.95,
    seed: SEED = None,
    digits: DIGITS = None,
    json_output: JSON = False,
    fmt: FORMAT = None,
    explain_parse: EXPLAIN = False,
) -> int:
    """The uncertainty of EXPRESSION from its inputs' (the GUM's law of propagation), with each input's share."""
    from ..inputs.bindings import parse_value
    from ..render.science import emit_propagation
    from ..science.propagation import propagate as compute
    from ..science.uncertainty import has_uncertainty, read_correlation, read_distribution, read_measured

    fmt_name = output_format(json_output, fmt)
    texts = binding_texts(ctx, var)
    point = {name: read_measured(name, text) if has_uncertainty(text) else parse_value(name, text)
             for name, text in texts.items()}
    covariance = None
    if cov is not None:
        from ..inputs.files import read_value_file

        covariance = read_value_file("cov", cov)
    distributions = dict(read_distribution(text) for text in dist or [])
    if distributions and mc is None:
        raise DerivcliError("--dist shapes the Monte Carlo check's inputs", hint="add --mc N")
    result = compute(expression, point, correlations=[read_correlation(text) for text in corr or []],
                     covariance=covariance, monte_carlo=mc, distributions=distributions, k=k, coverage=coverage,
                     seed=seed)
    emit_propagation(result, fmt_name, sys.stdout, explain_parse)
    report_warnings(result.warnings)
    return Exit.CHECK_FAILED if result.monte_carlo is not None and result.monte_carlo.verdict == "differ" else 0


@app.command(cls=SensitivityCommand, epilog="""[bold]Examples[/]

  derivcli sensitivity "x**2 * y + sin(z)" --x 3 --y 2 --z 1
  derivcli sensitivity "x + 2*y + x*z" --x 0:1 --y 0:1 --z 0:2 --samples 100000 --seed 1

""" "At a point: each input's partial derivative and elasticity (∂f/∂x · x/f), ranked. With ranges (LOW:HIGH; the "
   "other variables held at their values): the derivative-based global sensitivity measure E[(∂f/∂x)²] over "
   "uniform samples, and the upper bound it gives on each input's total Sobol' index.")
def sensitivity(
    ctx: typer.Context,
    expression: FORMULA,
    var: VAR = None,
    samples: Annotated[int, typer.Option("--samples", metavar="N", help="Samples over the ranges.")] = 10_000,
    seed: SEED = None,
    digits: DIGITS = None,
    json_output: JSON = False,
    fmt: FORMAT = None,
    explain_parse: EXPLAIN = False,
) -> int:
    """How much each input of EXPRESSION moves it: derivatives, elasticities and their ranking."""
    from ..inputs.bindings import parse_value
    from ..render.science import emit_sensitivity
    from ..science.sensitivity import read_range
    from ..science.sensitivity import sensitivity as compute

    fmt_name = output_format(json_output, fmt)
    point: dict[str, Any] = {}
    ranges: dict[str, tuple[float, float]] = {}
    for name, text in binding_texts(ctx, var).items():
        ends = read_range(name, text)
        if ends is None:
            point[name] = parse_value(name, text)
        else:
            ranges[name] = (float(parse_value(name, ends[0])), float(parse_value(name, ends[1])))
    result = compute(expression, point, ranges, samples=samples, seed=seed)
    emit_sensitivity(result, fmt_name, sys.stdout, explain_parse)
    report_warnings(result.warnings)
    return 0


@app.command(cls=ExpressionCommand, epilog="""[bold]Examples[/]

  derivcli emit "x*sin(y)" --lang python
  derivcli emit "sigmoid(w*x + b)" --wrt w,b --lang c --hessian > model.c
  derivcli emit "a*exp(-b*t)" --wrt a,b --lang numpy --name model

""" "Languages: python (the math module), numpy, torch, jax, c (C99, math.h; compile with -lm). The code is "
   "printed, never run; its header says what it computes. Derivatives are SymPy's, with the common "
   "subexpressions of the value and every derivative computed once.")
def emit(
    ctx: typer.Context,
    expression: FORMULA,
    wrt: WRT = None,
    lang: Annotated[str, typer.Option("--lang", metavar="python|numpy|torch|jax|c",
                                      help="The language of the code.")] = "python",
    hessian: Annotated[bool, typer.Option("--hessian", help="Also the Hessian.")] = False,
    name: Annotated[str, typer.Option("--name", help="The function's name.")] = "f",
    json_output: JSON = False,
    fmt: FORMAT = None,
) -> int:
    """Self-contained code for EXPRESSION's value and gradient (and Hessian), to use in your own program."""
    from ..emit.code import emit as write
    from ..render.science import emit_code
    from .options import split_names

    given = sorted(ctx.meta.get("bindings", {}))
    if given:
        raise DerivcliError(f"--{given[0]}: emit writes code for every point, and takes no values",
                            hint="give the variables to differentiate by with --wrt")
    result = write(expression, split_names(wrt), lang, hessian=hessian, name=name)
    emit_code(result, output_format(json_output, fmt), sys.stdout)
    return 0
