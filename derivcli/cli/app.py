"""The Typer app: its group, the command class that reads `--NAME VALUE` bindings, global options."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from .. import __version__
from ..errors import DerivcliError, Exit
from .commands import name_types, print_help
from .outcome import PROG, _Carried, guarded, report_error, silence_stdout, wants_json
from .stdio import prepare_streams


class DerivcliGroup(TyperGroup):
    """The app: every error, usage errors included, becomes one `error:` line and an exit code."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, windows_expand_args: bool = True,
             **extra: Any) -> Any:
        def invoke() -> Any:
            return super(DerivcliGroup, self).main(args, prog_name or PROG, complete_var, standalone_mode=False,
                                                   windows_expand_args=windows_expand_args, **extra)

        code = guarded(invoke, json_errors=wants_json(sys.argv[1:] if args is None else list(args)))
        if standalone_mode:
            sys.exit(code)
        return code

    def format_help(self, ctx: Any, formatter: Any) -> None:
        name_types(self.get_params(ctx))
        print_help(self, ctx, lambda: super(DerivcliGroup, self).format_help(ctx, formatter))

    def invoke(self, ctx: Any) -> Any:
        """Carry an EOFError from a library past typer, which would report it as an interrupt (exit 130), and
        Ctrl-C, which typer turns into a silent exit 130: `guarded` says `error: interrupted`.  The views'
        number style is the command's own (a REPL line's --digits is not the next line's)."""
        from ..render.numbers import fresh_style

        try:
            with fresh_style():  # the command's --digits and bindings, for its views only
                return super().invoke(ctx)
        except (EOFError, KeyboardInterrupt) as error:
            raise _Carried(error) from error

    def _main_shell_completion(self, ctx_args: Any, prog_name: str, complete_var: str | None = None) -> None:
        """Tab completion answers through derivcli's own shells (`completion`): fast, and they know the
        expression's variables and the options' values."""
        from .completion import register_shells

        register_shells()
        super()._main_shell_completion(ctx_args, prog_name, complete_var)




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
    from ..inputs.files import set_no_files
    from ..limits import memory

    memory.set_limit(memory.parse_size(max_memory) if max_memory is not None else None)
    set_no_files(no_files)



def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (for tests and embedding)."""
    group = listing() if _asks_for_the_list(sys.argv[1:] if argv is None else list(argv)) else command()
    return int(group.main(args=argv, prog_name=PROG, standalone_mode=False))


def _asks_for_the_list(args: list[str]) -> bool:
    """`derivcli --help` (or `-h`, or nothing at all), not a Tab completion (which also comes with no
    arguments, its words in the environment)."""
    return args in (["--help"], ["-h"]) or (not args and f"_{PROG.upper()}_COMPLETE" not in os.environ)


@functools.cache
def listing() -> Any:
    """The group as `derivcli --help` shows it: its own options, and each command as the list shows it (its
    name, help and panel) without its parameters, which typer reads from the function and that list never
    shows: most of the 9 ms building the whole group costs.  test_cli holds both to the same help text."""
    return _group("get_command_from_info", _as_listed, every_command=False)


@functools.cache
def command() -> Any:
    """The click group built from the app, once per process: building it takes ~40 ms, which each command
    the warm server's children answer would pay again.  typer reads each function's parameters twice (its
    click parameters, then only their names for the callback): read once."""
    return _group("get_params_from_function", functools.cache, every_command=True)


def _group(reader: str, replace: Callable[[Any], Any], every_command: bool) -> Any:
    """typer's group built from the app with its function `reader` replaced by `replace(reader)` meanwhile,
    the annotations it will read evaluated first (the group's own, and every command's where it reads them)."""
    _evaluate_annotations(every_command)
    original = getattr(typer.main, reader)
    setattr(typer.main, reader, replace(original))
    try:
        return typer.main.get_command(app)
    finally:
        setattr(typer.main, reader, original)


def _as_listed(build: Callable[..., Any]) -> Callable[..., Any]:
    """typer's get_command_from_info, given each command's name and docstring but no parameters."""
    import copy

    def as_listed(command_info: Any, **settings: Any) -> Any:
        callback = command_info.callback

        def listed() -> None:  # the command's name and docstring, no parameters
            pass

        listed.__name__, listed.__doc__ = callback.__name__, callback.__doc__
        shown = copy.copy(command_info)
        shown.callback = listed
        return build(shown, **settings)

    return as_listed


def _evaluate_annotations(every_command: bool) -> None:
    """Evaluate the annotations (strings, under `from __future__ import annotations`) of the group's callback
    and, with `every_command`, of each command, once, here: typer reads each function's through both
    `inspect.signature` and `get_type_hints`, which compile and evaluate every string again: a third of the
    time `--help` and Tab spend building the group."""
    import inspect

    callbacks = [info.callback for info in app.registered_commands] if every_command else []
    if app.registered_callback is not None:
        callbacks.append(app.registered_callback.callback)
    for callback in callbacks:
        if callback is not None and any(isinstance(value, str) for value in callback.__annotations__.values()):
            callback.__annotations__ = inspect.get_annotations(callback, eval_str=True)


def run() -> None:
    """The command line, run in this process (a cold run, a warm server's child): make the standard
    streams safe, run, flush, and skip torch's slow interpreter shutdown."""
    prepare_streams()
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
    except DerivcliError as error:  # the last buffered output did not fit (a full disk)
        report_error(error)
        silence_stdout()
        code = code or Exit.BAD_INPUT
    sys.stderr.flush()
    if "torch" in sys.modules:
        os._exit(code)
    sys.exit(code)
