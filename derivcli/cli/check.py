"""`derivcli check FILE.py:NAME`: the gradient of the user's own PyTorch code against a float64 reference."""

from __future__ import annotations

import sys
from typing import Annotated, Any, Optional

import typer

from ..errors import DerivcliError, Exit
from ..limits.spelling import nearest
from .app import app
from .commands import BindingCommand
from .options import DEVICE, DIGITS, FORMAT, JSON, SEED, VAR, output_format, read_point, split_names

HELP_RANK = 60  # its place among the commands in `derivcli --help`

CHECK_EPILOG = ("""[bold]Examples[/]

  derivcli check model.py:MLP --input "randn(8, 10)"
  derivcli check ops.py:MySin --x "randn(1000)" --dtype float32
  derivcli check losses.py:focal --logits "randn(16, 5)" --t @t.npy
  derivcli check mypkg.layers:Block --input "randn(2, 7, 16)" --json

"""
                "NAME is a function returning a tensor, an autograd.Function, or an nn.Module class, instance or "
                "factory (then its parameters are checked too, and --input is its forward's first argument). Its "
                "arguments are bound by name: --NAME VALUE, a number, a list, randn(4, 3) or @file. A non-scalar "
                "output is reduced to sum(out * r) with a fixed random r. The reference is float64 central "
                "differences whatever --dtype is: random projections first, then blocks down to the wrong "
                "elements.\n\n"
                "check imports and runs FILE.py (or the module): only one named on this command line, never from "
                "batch or the REPL, and not at all under --no-files.\n\n"
                "Exit codes: 0 agree (or a kink), 1 DISAGREE, inaccurate or non-finite, 2 bad input.")


WRT = Annotated[Optional[list[str]], typer.Option(
    "--wrt", metavar="NAMES", help="Check only these inputs and parameters (comma-separated or repeated).",
    show_default=False)]


@app.command(cls=BindingCommand, epilog=CHECK_EPILOG)
def check(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(metavar="TARGET", help="FILE.py:NAME or package.module:NAME.",
                                          show_default=False)],
    input_value: Annotated[Optional[str], typer.Option(
        "--input", metavar="VALUE", help="The first argument of NAME (a module's forward), whatever its name.",
        show_default=False)] = None,
    wrt: WRT = None,
    var: VAR = None,
    seed: SEED = None,
    order: Annotated[int, typer.Option(
        "--order", min=1, max=2, help="1: the gradient; 2: the gradient's own derivative (as gradgradcheck).")] = 1,
    full: Annotated[bool, typer.Option(
        "--full", help="Compare every element one by one (up to 4,096 in all).")] = False,
    dtype: Annotated[str, typer.Option(
        "--dtype", metavar="float32|float64|bfloat16",
        help="The precision your code runs in; the reference is float64 whatever it is.")] = "float32",
    device: DEVICE = "cpu",
    digits: DIGITS = None,
    json_output: JSON = False,
    fmt: FORMAT = None,
) -> int:
    """Check the gradient of your own PyTorch function, autograd.Function or module."""
    import contextlib

    from ..inputs.files import NO_FILES_ENVIRONMENT, files_allowed

    if not files_allowed():
        raise DerivcliError(f"check imports and runs your Python code, and files are turned off (--no-files or "
                            f"{NO_FILES_ENVIRONMENT})")
    if target not in sys.argv[1:]:  # the REPL, an embedding program's main([...]): not a command line typed
        raise DerivcliError("check runs your code only from a command line you type",
                            hint=f"run 'derivcli check {target}' in your shell")
    fmt_name = output_format(json_output, fmt)
    bindings = read_point(ctx, var, seed)
    given = None
    if input_value is not None:
        from ..inputs.bindings import parse_value

        given = parse_value("input", input_value)
    from ..gradcheck.checker import check as check_callable
    from ..gradcheck.usercode import load
    from ..render.check import emit_check

    with contextlib.redirect_stdout(sys.stderr):  # what the user's code prints stays out of the output
        callee = load(target)
        _refuse_typos(ctx, callee, bindings)
        result = check_callable(callee, bindings, given, split_names(wrt), dtype, device, order, full)
    emit_check(result, fmt_name, sys.stdout)
    return Exit.CHECK_FAILED if result.failed else 0


def _refuse_typos(ctx: typer.Context, callee: Any, bindings: dict[str, Any]) -> None:
    """`--ful`: a binding that names no argument of the callable but is one edit from an option of check."""
    import inspect

    if any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in callee.arguments):
        return
    arguments = {parameter.name for parameter in callee.arguments}
    options = [name[2:] for param in ctx.command.params for name in getattr(param, "opts", ())
               if name.startswith("--")]
    for name in bindings:
        close = nearest(name, options) if name not in arguments else None
        if close is not None:
            raise DerivcliError(f"no such option: --{name}", hint=f"did you mean --{close}?")
