"""What every command shares: option declarations, the output format, reading the point, warnings."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from ..errors import DerivcliError

DASK_EXTRA = "pip install 'derivcli[dask]'"

STDIN = "-"  # a binding's value read line by line from stdin


def output_format(json_flag: bool, fmt: Optional[str]) -> str:
    from ..render import FORMATS

    if json_flag:
        return "json"
    if fmt is not None:
        if fmt not in FORMATS:
            raise DerivcliError(f"--format {fmt}: unknown format", hint="use table, plain or json")
        return fmt
    return "table" if sys.stdout.isatty() else "plain"


def _digits(value: Optional[str]) -> None:
    """--digits N|full: the significant digits of a table's numbers, set for this command's views (plain
    lines and JSON always give every digit)."""
    from ..render.numbers import TABLE_DIGITS, set_style

    if value is None:
        set_style(digits=TABLE_DIGITS)
    elif value.strip().lower() == "full":
        set_style(digits=None)
    elif value.strip().isdigit() and 1 <= int(value) <= 17:
        set_style(digits=int(value))
    else:
        raise DerivcliError(f"--digits {value[:20]}: give a number of significant digits from 1 to 17, or full",
                            hint="--digits full prints every digit, as plain output and JSON do")


# the expression a command reads: any (steps, diff), or a function of one variable (analyze, plot)
EXPRESSION = Annotated[str, typer.Argument(help="The expression (plain or LaTeX).", show_default=False)]
FUNCTION = Annotated[str, typer.Argument(help="A function of one variable.", show_default=False)]
# the views' numbers: read by its callback (see _digits), which sets the style every table view follows
DIGITS = Annotated[Optional[str], typer.Option(
    "--digits", metavar="N|full", callback=_digits, expose_value=False, show_default=False,
    help="Significant digits of the numbers in tables (default 6); full gives every digit, as plain output "
         "and JSON always do.")]
WRT = Annotated[Optional[list[str]], typer.Option(
    "--wrt", metavar="NAMES",
    help="Differentiate only these variables (comma-separated or repeated); the rest are constants.",
    show_default=False)]
VAR = Annotated[Optional[list[str]], typer.Option(
    "--var", metavar="NAME=VALUE", help="A binding NAME=VALUE, for names that clash with an option.",
    show_default=False)]
SEED = Annotated[Optional[int], typer.Option(
    "--seed", help="Seed for rand(...) and randn(...) values, for reproducible runs.", show_default=False)]
DTYPE = Annotated[str, typer.Option("--dtype", metavar="float64|float32", help="The working precision.")]
DEVICE = Annotated[str, typer.Option("--device", metavar="cpu|cuda", help="Where torch computes.")]
JSON = Annotated[bool, typer.Option("--json", help="Print the JSON result.")]
FORMAT = Annotated[Optional[str], typer.Option(
    "--format", metavar="table|plain|json", help="The output (default: table on a terminal, plain in a pipe).",
    show_default=False)]
EXPLAIN = Annotated[bool, typer.Option("--explain-parse", help="Show how the expression was read.")]
EXPECT = Annotated[Optional[str], typer.Option(
    "--expect", metavar="FORMULA", help="Check a derivative you worked out (any equivalent form; in grad also a "
                                        "number); exit 1 if it is wrong, with a point where it differs.",
    show_default=False)]
EXACT = Annotated[bool, typer.Option(
    "--exact", help="Also SymPy's exact values at a point written exactly (--x pi/3, --x 1/2), within 5 s.")]
MATRIX_CHECK = Annotated[bool, typer.Option(
    "--check", help="Compare every entry with SymPy's derivative (up to 400 entries); exit 1 if they disagree.")]
MATRIX_FD = Annotated[bool, typer.Option(
    "--fd", help="Compare every entry with central differences (up to 400 entries); exit 1 if they disagree.")]


def report_warnings(warnings: list[str]) -> int:
    for warning in warnings:
        sys.stderr.write(f"warning: {warning}\n")
    return 0



def binding_texts(ctx: typer.Context, var: Optional[list[str]]) -> dict[str, str]:
    """The bindings as written, --NAME VALUE and --var NAME=VALUE together (--exact reads them exactly)."""
    from ..inputs.bindings import parse_var_options

    raw = dict(ctx.meta.get("bindings", {}))
    for name, value in parse_var_options(var or []).items():
        if name in raw:
            raise DerivcliError(f"--var {name}: '{name}' is given twice")
        raw[name] = value
    return raw


def read_point(ctx: typer.Context, var: Optional[list[str]], seed: Optional[int],
               streams: bool = False) -> dict[str, object]:
    """The bindings given as --NAME VALUE and --var NAME=VALUE, read into numbers and tensors (with
    `streams`, `-` stays STDIN: values to read line by line)."""
    from ..inputs.bindings import parse_value
    from ..render.numbers import set_style

    raw = binding_texts(ctx, var)
    set_style(written=raw)  # a table shows `x = pi/3 ≈ 1.0472`
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


# --scheduler and --input: Dask (the extra named in the help, its brackets escaped from Rich markup)
SCHEDULER = Annotated[Optional[str], typer.Option(
    "--scheduler", metavar="ADDRESS|local",
    help="Run on a Dask cluster: a scheduler's address (tcp://host:8786), or 'local' for a LocalCluster of one "
         f"worker process per CPU ({DASK_EXTRA.replace('[', chr(92) + '[')}).", show_default=False)]
INPUT = Annotated[Optional[list[str]], typer.Option(
    "--input", metavar="GLOB", help="With --scheduler: read the requests from these NDJSON files (globs, in "
                                    "name order; lines are numbered across them) instead of stdin.",
    show_default=False)]
