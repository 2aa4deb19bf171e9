"""The Typer app: its group, the command class that reads `--NAME VALUE` bindings, global options."""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperCommand, TyperGroup

from .. import __version__
from ..errors import DerivcliError
from .options import mistyped, split_names
from .outcome import PROG, _Carried, guarded, wants_json


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
        super().format_help(ctx, formatter)

    def invoke(self, ctx: Any) -> Any:
        """Carry an EOFError from a library past typer, which would report it as an interrupt (exit 130), and
        Ctrl-C, which typer turns into a silent exit 130: `guarded` says `error: interrupted`."""
        try:
            return super().invoke(ctx)
        except (EOFError, KeyboardInterrupt) as error:
            raise _Carried(error) from error

    def _main_shell_completion(self, ctx_args: Any, prog_name: str, complete_var: str | None = None) -> None:
        """Tab completion answers through derivcli's own shells (`completion`): fast, and they know the
        expression's variables and the options' values."""
        from .completion import register_shells

        register_shells()
        super()._main_shell_completion(ctx_args, prog_name, complete_var)




TYPE_WORDS = {"int": "INTEGER", "float": "NUMBER", "str": "TEXT", "list[str]": "TEXT"}


def name_types(params: list[Any]) -> None:
    """Help shows a value's type as a word (NUMBER, TEXT), a flag as nothing: typer's default `<float>`,
    `<bool>` reads as markup to a new user."""
    for param in params:
        if param.param_type_name == "argument":
            param.metavar = param.metavar or param.name.upper()
            param.display_type_rich = lambda ctx: "TEXT"  # typer's own is `<str>`
            continue
        if param.metavar is not None:
            continue
        if getattr(param, "is_flag", False):
            param.metavar = ""
        elif hasattr(param, "bare_type"):
            param.metavar = TYPE_WORDS.get(param.bare_type(), param.bare_type().upper())


class PlainCommand(TyperCommand):
    """A command without an expression (batch, functions): its help names types in words."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        name_types(self.get_params(ctx))
        super().format_help(ctx, formatter)


class BindingCommand(TyperCommand):
    """A command that also accepts `--NAME VALUE` for each variable of the expression."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        argument = next(param for param in self.params if param.param_type_name == "argument")
        return [argument.metavar or argument.name.upper(), "[--NAME VALUE]...", "[OPTIONS]"]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The options table also documents the bindings, as the row `--NAME VALUE`."""
        import copy

        name_types(self.get_params(ctx))
        binding: Any = copy.copy(next(param for param in self.params if "--var" in param.opts))
        binding.opts, binding.secondary_opts, binding.metavar = ["--NAME"], [], "VALUE"
        binding.help = ("The value of the expression's variable NAME: a number, a constant expression (pi/4), a "
                        "list ([1, 2]), a constructor (rand(3, 4)), @file, or - to read values from stdin (grad).")
        self.params.insert(1, binding)
        try:
            super().format_help(ctx, formatter)
        finally:
            self.params.remove(binding)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        from ..bindings import split_arguments

        takes_value: set[str] = set()
        flags: set[str] = {"--help", "-h"}
        for param in self.params:
            if getattr(param, "param_type_name", "") != "option":
                continue
            names = [*param.opts, *getattr(param, "secondary_opts", [])]
            (flags if getattr(param, "is_flag", False) else takes_value).update(names)
        for arg in args[:args.index("--")] if "--" in args else args:
            option = arg.partition("=")[0]
            if option.startswith("--") and not option[2:].isidentifier() and option not in takes_value | flags:
                self._refuse_other_commands_option(ctx, option)  # `--fd-steps` can never be a variable
                self._refuse_typo(option)
        remaining, bindings = split_arguments(list(args), takes_value, flags)
        ctx.meta["bindings"] = bindings
        return super().parse_args(ctx, remaining)

    def invoke(self, ctx: Any) -> Any:
        """Mistakes in the expression's text, and options given to the wrong command, are reported before
        torch or SymPy is imported."""
        expression = ctx.params.get("expression")
        if isinstance(expression, str):
            from ..bindings import parse_var_options
            from ..parsing import Context, check_syntax
            from ..parsing.latex import is_latex

            if not is_latex(expression):
                names = {*ctx.meta.get("bindings", {}), *parse_var_options(ctx.params.get("var") or [])}
                given = ctx.params.get("wrt")
                wrt = split_names([given] if isinstance(given, str) else given)
                context = Context(frozenset(names), frozenset(wrt or ()))
                variables = []
                for text, start in self.texts_to_read(ctx, expression):
                    try:
                        variables += check_syntax(text, context).names()
                    except DerivcliError as error:  # the column in the whole text
                        if error.span is None or not start:
                            raise
                        raise DerivcliError(error.message, span=(error.span[0] + start, error.span[1] + start),
                                            source=expression, hint=error.hint) from None
                self._refuse_other_commands_options(ctx, variables)
            self._check_values(ctx)
        return super().invoke(ctx)

    def texts_to_read(self, ctx: Any, expression: str) -> list[tuple[str, int]]:
        """The texts the syntax pass reads, with where each starts (an equation's two sides, in `implicit`)."""
        return [(expression, 0)]

    @staticmethod
    def _check_values(ctx: Any) -> None:
        """Every binding's text is read before torch or SymPy is imported: a typo in a value is as quick to
        report as one in the expression."""
        from ..bindings import parse_var_options, plan_value
        from .options import STDIN

        values = {**ctx.meta.get("bindings", {}), **parse_var_options(ctx.params.get("var") or [])}
        for name, text in values.items():
            if text.strip() != STDIN:
                plan_value(name, text)

    def _refuse_other_commands_options(self, ctx: Any, variables: list[str]) -> None:
        """`hessian … --order 2`: an option of another command, and no variable `order` in the expression,
        is a mistake to name, not a binding the expression would ignore."""
        for name in ctx.meta.get("bindings", {}):
            if name not in variables:
                self._refuse_other_commands_option(ctx, f"--{name}", hint=f"the expression has no variable {name} "
                                                                          "to bind")
                self._refuse_typo(f"--{name}")

    def _refuse_typo(self, option: str) -> None:
        """`minimize … --stpes 5`: one or two edits from an option of this command, and no variable of the
        expression, is a typo that would otherwise run the wrong job with a warning."""
        own = [name[2:] for param in self.params for name in getattr(param, "opts", ()) if name.startswith("--")]
        close = mistyped(option[2:], own)
        if close is not None:
            raise DerivcliError(f"no such option: {option}", hint=f"did you mean --{close}?")

    def _refuse_other_commands_option(self, ctx: Any, option: str, hint: str | None = None) -> None:
        group = ctx.parent.command if ctx.parent is not None else None
        owners = [name for name, command in sorted(getattr(group, "commands", {}).items())
                  if command is not self and any(option in getattr(param, "opts", ()) for param in command.params)]
        if owners:
            raise DerivcliError(f"{ctx.info_name} has no {option} (it is an option of "
                                f"{' and '.join(owners) if len(owners) < 3 else ', '.join(owners)})", hint=hint)



class EquationCommand(BindingCommand):
    """A command whose text is an equation (`implicit`, `plot --implicit`): its two sides are what the
    syntax pass reads."""

    def texts_to_read(self, ctx: Any, expression: str) -> list[tuple[str, int]]:
        if not self.is_equation(ctx):
            return super().texts_to_read(ctx, expression)
        from ..learn.implicit import split_equation

        left, right, start = split_equation(expression)
        return [(left, 0), (right, start)]

    def is_equation(self, ctx: Any) -> bool:
        return ctx.params.get("implicit", True) is not False


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
    from .. import memory
    from ..files import set_no_files

    memory.set_limit(memory.parse_size(max_memory) if max_memory is not None else None)
    set_no_files(no_files)



def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (for tests and embedding)."""
    return int(command().main(args=argv, prog_name=PROG, standalone_mode=False))


@functools.cache
def command() -> Any:
    """The click group built from the app, once per process: building it takes ~40 ms, which each command
    the warm server's children answer would pay again."""
    return typer.main.get_command(app)
