"""The command classes: the types of help in words, and the command that reads `--NAME VALUE` bindings
(refusing other commands' options and typos of its own before torch or SymPy is imported)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from typer.core import TyperCommand

from ..errors import DerivcliError
from ..limits.spelling import nearest
from .options import split_names

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


def print_help(command: Any, ctx: Any, wide: Callable[[], None]) -> None:
    """Typer's help (`wide`) where its table fits the terminal, else the narrow layout that never cuts an
    option's name."""
    from .narrow import console, is_narrow, print_narrow_help

    out = console()
    if is_narrow(command, ctx, out.width):
        print_narrow_help(command, ctx, out)
    else:
        wide()


class PlainCommand(TyperCommand):
    """A command without an expression (batch, functions): its help names types in words."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        name_types(self.get_params(ctx))
        print_help(self, ctx, lambda: super(PlainCommand, self).format_help(ctx, formatter))


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
            print_help(self, ctx, lambda: super(BindingCommand, self).format_help(ctx, formatter))
        finally:
            self.params.remove(binding)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        from ..inputs.bindings import split_arguments

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
            from ..inputs.bindings import parse_var_options
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
        from ..inputs.bindings import parse_var_options, plan_value
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
        close = nearest(option[2:], own)
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
