"""Tab completion for bash, zsh and fish: commands, options, option values and the expression's variables.

Every Tab starts a process, so a request must cost little more than importing typer.  The words before
the cursor are read here, against the app's click objects, rather than by click's own parser (whose
value coercion imports pydantic), and the expression's variables come from the parser's syntax pass
alone: no SymPy, no torch.  The shell scripts (`completions/`, `--install-completion`) are the templates
below, registered with typer's completion machinery in place of its own.  Each script hands over the line
up to the cursor (`COMP_LINE`) and reads back one candidate a line: `file,` (the shell completes file
names itself) or `plain,VALUE` (zsh and fish also get a tab and the help text).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from typer import _completion_shared
from typer._click.core import Context
from typer._click.shell_completion import CompletionItem, ShellComplete, add_completion_class, split_arg_string

from .commands import BindingCommand

# Values of options that take no file; the option's own declaration is asked for the others.
CHOICES: dict[str, tuple[str, ...]] = {
    "--dtype": ("float64", "float32"),
    "--device": ("cpu", "cuda"),
    "--format": ("table", "plain", "json"),
    "--optimizer": ("sgd", "momentum", "adam", "lbfgs"),
    "--fd-steps": ("1e-1:1e-10", "0.1,0.01,0.001"),  # examples: a decade range, a list
}
FILE_OPTIONS = frozenset({"--points", "--output"})
VARIABLE_OPTIONS = frozenset({"--wrt"})  # its values are the expression's variables, comma-separated
LONG_OPTION = re.compile(r"--[A-Za-z]")  # what a binding never takes as its value (`--x --y 1`)
END = "_"  # appended to the line so that the last word split off is always the one being completed
BASH_WORDBREAKS = "\"'><=;|&(:"  # bash's default COMP_WORDBREAKS, without the blanks

BASH_SCRIPT = r"""%(complete_func)s() {
    local line
    COMPREPLY=()
    while IFS= read -r line; do
        if [[ ${line/,*} == file ]]; then
            compopt -o default  # bash completes the file names itself
        elif [[ ${line/,*} == plain ]]; then
            COMPREPLY+=("${line#*,}")
        fi
    done < <(env COMP_LINE="${COMP_LINE:0:COMP_POINT}" COMP_WORDBREAKS="$COMP_WORDBREAKS" \
                 %(autocomplete_var)s=complete_bash "$1")
}

complete -o nosort -F %(complete_func)s %(prog_name)s"""

ZSH_SCRIPT = r"""#compdef %(prog_name)s

%(complete_func)s() {
    local line
    local -a fields described plain
    for line in "${(@f)$(env COMP_LINE="${words[1,CURRENT]}" %(autocomplete_var)s=complete_zsh %(prog_name)s)}"; do
        fields=("${(@ps:\t:)line}")
        if [[ $fields[1] == file ]]; then
            _files
        elif [[ $fields[1] == plain && -n $fields[3] ]]; then
            described+=("${fields[2]//:/\\:}:$fields[3]")
        elif [[ $fields[1] == plain ]]; then
            plain+=("$fields[2]")
        fi
    done
    (( $#described )) && _describe -t values %(prog_name)s described
    (( $#plain )) && compadd -a plain
    return 0
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    %(complete_func)s "$@"  # autoloaded from $fpath by compinit: this call is the first Tab
else
    compdef %(complete_func)s %(prog_name)s  # sourced
fi"""

FISH_SCRIPT = r"""function %(complete_func)s
    for line in (env COMP_LINE=(commandline -cp | string collect) %(autocomplete_var)s=complete_fish %(prog_name)s)
        set -l fields (string split -m 1 , -- $line)
        if test "$fields[1]" = file
            __fish_complete_path (commandline -ct)
        else if test "$fields[1]" = plain
            echo $fields[2]
        end
    end
end

complete --command %(prog_name)s --no-files --arguments '(%(complete_func)s)'"""


def register_shells() -> None:
    """Answer completion requests and `source_*` with derivcli's shells, and install their scripts with
    --install-completion (which reads typer's own table of scripts)."""
    for shell in (BashComplete, ZshComplete, FishComplete):
        add_completion_class(shell, shell.name)
        _completion_shared._completion_scripts[shell.name] = shell.source_template


class _Shell(ShellComplete):
    def source_vars(self) -> dict[str, Any]:
        return {"complete_func": self.func_name, "autocomplete_var": self.complete_var, "prog_name": self.prog_name}

    def get_completion_args(self) -> tuple[list[str], str]:
        words = split_arg_string(os.environ.get("COMP_LINE", "") + END)
        return words[1:-1], words[-1][:-len(END)]

    def get_completions(self, args: list[str], incomplete: str) -> list[CompletionItem]:
        return candidates(self.cli, args, incomplete)

    def format_completion(self, item: CompletionItem) -> str:
        if item.type == "file":
            return "file,"
        return f"plain,{item.value}\t{' '.join(item.help.split())}" if item.help else f"plain,{item.value}"


class BashComplete(_Shell):
    name = "bash"
    source_template = BASH_SCRIPT

    def get_completions(self, args: list[str], incomplete: str) -> list[CompletionItem]:
        """Readline replaces only the text after the word's last word-break character (`--dtype=` and
        `1e-1:` end in one), so that part is cut off each candidate."""
        breaks = "".join(os.environ.get("COMP_WORDBREAKS", BASH_WORDBREAKS).split())
        cut = max((incomplete.rfind(char) for char in breaks), default=-1) + 1
        return [CompletionItem(item.value[cut:], type=item.type) for item in super().get_completions(args, incomplete)]

    def format_completion(self, item: CompletionItem) -> str:
        return "file," if item.type == "file" else f"plain,{item.value}"


class ZshComplete(_Shell):
    name = "zsh"
    source_template = ZSH_SCRIPT

    def format_completion(self, item: CompletionItem) -> str:
        return super().format_completion(item).replace(",", "\t", 1)


class FishComplete(_Shell):
    name = "fish"
    source_template = FISH_SCRIPT


def candidates(group: Any, args: list[str], incomplete: str,
               known: frozenset[str] = frozenset()) -> list[CompletionItem]:
    """What may follow `args` (the words after the program's name) in place of `incomplete`; `known`: names
    bound outside the line (the shell's `let`)."""
    line = read_line(group, args, known)
    if line is None:
        return []
    if line.awaiting is not None and not (line.binding_awaits and incomplete.startswith("--")):
        return line.values(line.awaiting, incomplete)
    if incomplete.startswith("-") and not line.positional:
        option, has_value, value = incomplete.partition("=")
        if has_value and option in line.options:
            return [CompletionItem(f"{option}={item.value}", type=item.type)
                    for item in line.values(option, value)]
        return list(line.option_names(incomplete))
    if line.command is group:
        return [CompletionItem(name, help=command.get_short_help_str(limit=60))
                for name, command in group.commands.items() if name.startswith(incomplete) and not command.hidden]
    return []


@dataclass
class _Line:
    """What the words before the cursor say about the command they reach."""

    context: Context
    options: dict[str, Any]  # each name of each option -> its click parameter
    given: set[Any] = field(default_factory=set)  # options on the line
    bound: set[str] = field(default_factory=set)  # names given a value (`--x 1`, `--var x=1`)
    wrt: list[str] = field(default_factory=list)
    expression: str | None = None
    awaiting: str | None = None  # the option, or `--NAME` binding, whose value the next word is
    positional: bool = False  # after a lone `--`: the next word is the expression, whatever it looks like
    known: frozenset[str] = frozenset()  # bound outside the line (`derivcli repl`'s let): read as bound, not offered

    @classmethod
    def of(cls, command: Any, parent: Context | None = None, known: frozenset[str] = frozenset()) -> _Line:
        context = Context(command, parent=parent, info_name=command.name, resilient_parsing=True,
                          **command.context_settings)
        options = {name: param for param in command.get_params(context) if param.param_type_name == "option"
                   for name in [*param.opts, *param.secondary_opts]}
        return cls(context, options, known=known)

    @property
    def command(self) -> Any:
        return self.context.command

    @property
    def binds(self) -> bool:
        """Whether `--NAME VALUE` binds a variable here."""
        return isinstance(self.command, BindingCommand)

    @property
    def binding_awaits(self) -> bool:
        """A `--NAME` binding waits for its value, which is never an option (`--x --check` is a mistake)."""
        return self.awaiting is not None and self.awaiting not in self.options

    def take_option(self, word: str) -> None:
        name, has_value, value = word.partition("=")
        param = self.options.get(name)
        if param is not None:
            self.given.add(param)
            if not param.is_flag:
                if has_value:
                    self.take_value(name, value)
                else:
                    self.awaiting = name
        elif self.binds and len(name) > 2 and name.startswith("--"):
            self.bound.add(name[2:])
            if not has_value:
                self.awaiting = name

    def take_value(self, option: str, value: str) -> None:
        if option in VARIABLE_OPTIONS:
            self.wrt.extend(name.strip() for name in value.split(",") if name.strip())
        elif option == "--var" and "=" in value:
            self.bound.add(value.partition("=")[0].strip())

    def values(self, option: str, incomplete: str) -> list[CompletionItem]:
        """Values for `option`; none for a binding's (a number, a tensor), and never file names for an
        option that takes no file."""
        param = self.options.get(option)
        if param is None:
            return []
        if option in VARIABLE_OPTIONS:
            head, comma, tail = incomplete.rpartition(",")
            return [CompletionItem(head + comma + name) for name in self.variables if name.startswith(tail)]
        if option in CHOICES:
            return [CompletionItem(choice) for choice in CHOICES[option] if choice.startswith(incomplete)]
        if option in FILE_OPTIONS:
            return [CompletionItem(incomplete, type="file")]
        return list(param.shell_complete(self.context, incomplete))

    def option_names(self, incomplete: str) -> Iterator[CompletionItem]:
        """The variables not yet bound, as `--NAME`, then the options not yet given."""
        for name in self.variables:
            option = f"--{name}"
            if name not in self.bound | self.known and option not in self.options and option.startswith(incomplete):
                yield CompletionItem(option, help=f"value of the variable {name}")
        for param in dict.fromkeys(self.options.values()):
            if param.hidden or (param in self.given and not param.multiple):
                continue
            for name in [*param.opts, *param.secondary_opts]:
                if name.startswith(incomplete):
                    yield CompletionItem(name, help=param.help)

    @cached_property
    def variables(self) -> list[str]:
        """The expression's variables in the order they are written, as the parser reads them with the
        names this line binds; none for LaTeX (read through SymPy) or for text that does not parse."""
        if self.expression is None or not self.binds:
            return []
        from ..parsing import Context as Names
        from ..parsing import check_syntax
        from ..parsing.latex import is_latex
        from ..parsing.notation import CONSTANTS

        if is_latex(self.expression):
            return []
        bound = self.bound | self.known
        try:
            reading = check_syntax(self.expression, Names(frozenset(bound), frozenset(self.wrt)))
        except Exception:  # a Tab must never fail: half-typed text offers the options alone
            return []
        return [name for name in reading.names() if name not in CONSTANTS or name in bound]


def read_line(group: Any, args: list[str], known: frozenset[str] = frozenset()) -> _Line | None:
    """Follow the words as derivcli's parser would (`split_arguments`), without failing on half a line;
    None past a word that is no command."""
    line = _Line.of(group, known=known)
    for word in args:
        if line.awaiting is not None and not (line.binding_awaits and LONG_OPTION.match(word)):
            line.take_value(line.awaiting, word)
            line.awaiting = None
        elif word == "--" and line.binds:
            line.positional = True
        elif not line.positional and (word in line.options or (word.startswith("--") and len(word) > 2)):
            line.awaiting = None
            line.take_option(word)
        elif line.command is group:
            command = group.commands.get(word)
            if command is None:
                return None
            line = _Line.of(command, line.context, known)
        else:
            line.positional = False
            if line.binds and line.expression is None:
                line.expression = word
    return line
