"""`derivcli repl`: an interactive shell whose lines are derivcli commands, run in this one process.

Each line is split like a shell line and handed to the CLI's own entry (`main`), so output, errors and exit
codes are the CLI's; torch and SymPy are imported once, in the background while the first line is typed,
and stay loaded, so later lines answer at once.  A line that starts with no command is an expression, for
`grad`.  `let` keeps bindings, added to each command whose expression uses them, found as tab completion
reads a line (`completion.read_line`).  prompt_toolkit (the `repl` extra) gives line editing, Tab and
history on a terminal; without it, or off a terminal, lines are read plainly.  History is kept either way.
This module is the command and its loop; `repl_words` tells command lines from expressions and offers Tab's
candidates, `repl_history` keeps the history file.
"""

from __future__ import annotations

import functools
import shlex
import sys
import threading
import traceback
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

import typer

from ..errors import DerivcliError, Exit
from .app import app, main
from .commands import PlainCommand
from .outcome import guarded, report_error

if TYPE_CHECKING:
    from .repl_history import History

# The shell's own modules (the parser's names, its words, its history) are imported where the shell uses
# them: every `derivcli --help`, Tab and cold command imports this module to register `repl`.

HELP_RANK = 90  # its place among the commands in `derivcli --help`

PROMPT = "derivcli> "
MAX_LINE = 65_536  # past this, splitting the line costs more than the work (a big value belongs in @file)
REPL_EPILOG = ("""[bold]Examples[/]

  derivcli repl
  derivcli> let x = 2
  derivcli> grad "sin(x) * y" --y 3
  derivcli> x^3 - 2x

"""
               "Each line is a derivcli command without 'derivcli'; a line without a command is an expression for "
               "grad. Type help in the shell for its own words (let, unlet, exit). History is kept in "
               "$XDG_STATE_HOME/derivcli/history (default ~/.local/state/derivcli/history); Tab completion and line "
               "editing need pip install 'derivcli\\[repl]'.\n\n"
               "Exit codes (derivcli repl < FILE runs a script): 0 every line ran, 1 a check disagreed, 2 a line "
               "failed.")


@app.command(cls=PlainCommand, epilog=REPL_EPILOG)
def repl(ctx: typer.Context) -> int:
    """An interactive shell: derivcli commands without 'derivcli', let bindings, history, Tab completion."""
    from .repl_history import History, history_path

    root = ctx.find_root()
    prefix = [*(["--max-memory", root.params["max_memory"]] if root.params.get("max_memory") else []),
              *(["--no-files"] if root.params.get("no_files") else [])]
    shell = Shell(root.command, prefix, History(history_path()))
    terminal = sys.stdin.isatty() and sys.stdout.isatty()
    return shell.run((terminal_reader(shell) if terminal else None) or plain_reader(sys.stdin))


@dataclass
class Shell:
    """The session: derivcli's click group, the global options every line gets (those the shell was started
    with: each command sets them anew), the history and the bindings (name -> value as written)."""

    group: Any
    prefix: list[str]
    history: History
    bindings: dict[str, str] = field(default_factory=dict)
    loaded: threading.Event = field(default_factory=threading.Event)  # set once torch and SymPy are imported

    def run(self, read: Callable[[], str]) -> int:
        """Read and run lines until EOF or exit; nothing a line does ends the session.  The exit code is the
        worst line's, as a script run through `repl < file` needs it: 2 if any line was an error, 1 if a check
        disagreed, else 0."""
        threading.Thread(target=preload, args=(self.loaded,), daemon=True).start()
        worst = 0
        while True:
            try:
                line = read()
            except KeyboardInterrupt:  # Ctrl-C at the prompt drops the line
                continue
            except EOFError:
                return worst
            self.history.add(line)
            if line.split() in (["exit"], ["quit"]):
                return worst
            try:
                code = contained(functools.partial(self.execute, line))
            except KeyboardInterrupt:  # between the edges of the command's own guard
                report_error(DerivcliError("interrupted"))
                code = Exit.INTERRUPTED
            worst = max(worst, Exit.BAD_INPUT if code > Exit.CHECK_FAILED else code)

    def execute(self, line: str) -> int:
        if len(line) > MAX_LINE:
            raise DerivcliError(f"the line is longer than {MAX_LINE:,} characters",
                                hint="put a big value in a file: let W = @w.json")
        try:
            words = shlex.split(line)
        except ValueError as error:  # an unbalanced quote
            raise DerivcliError(f"cannot split the line: {error}", hint="close the quote") from None
        if not words:
            return 0
        head, rest = words[0], words[1:]
        if head == "let":
            self.loaded.wait()
            self.let(rest)
        elif head == "unlet":
            self.unlet(rest)
        elif head == "help":
            self.help(rest)
        elif head == "repl":
            raise DerivcliError("this is derivcli's shell already", hint="type help for what it takes")
        else:
            self.loaded.wait()
            return main(self.command_line(words))
        return 0

    def command_line(self, words: list[str]) -> list[str]:
        """The CLI's arguments for a line: the shell's global options, the line as a command, and a
        `--var NAME=VALUE` for each binding the expression uses that the line does not give itself."""
        from .completion import read_line
        from .repl_words import command_words

        argv = command_words(self.group, words)
        line = read_line(self.group, argv, frozenset(self.bindings))
        used = [] if line is None else [name for name in line.variables
                                        if name in self.bindings and name not in line.bound]
        return [*self.prefix, *argv, *(word for name in used for word in ("--var", f"{name}={self.bindings[name]}"))]

    def let(self, words: list[str]) -> None:
        """`let x = 2`: the value is checked as the command line checks it, then kept as written, for each
        later command to read (a `rand(3)` draws again unless the command has --seed)."""
        from ..inputs.bindings import parse_value
        from ..inputs.names import check_name
        from ..parsing import CONSTANT_NAMES

        if not words:
            sys.stdout.write("".join(f"{name} = {value}\n" for name, value in self.bindings.items()))
            return
        name, equals, value = " ".join(words).partition("=")
        if not equals or not value.strip():
            raise DerivcliError("let needs NAME = VALUE", hint="write let x = 2")
        spelled = check_name(name.strip())
        if spelled in CONSTANT_NAMES:
            raise DerivcliError(f"{spelled} is a constant and cannot be bound", hint="give your variable another name")
        parse_value(spelled, value.strip())
        self.bindings[spelled] = value.strip()

    def unlet(self, words: list[str]) -> None:
        from ..inputs.names import check_name

        if not words:
            raise DerivcliError("unlet needs a name", hint="write unlet x; let alone lists the bindings")
        names = [check_name(word) for word in words]
        unbound = [name for name in names if name not in self.bindings]
        if unbound:
            raise DerivcliError(f"'{unbound[0]}' is not bound", hint="let alone lists the bindings")
        for name in names:
            del self.bindings[name]

    def help(self, words: list[str]) -> None:
        """`help grad` is `grad --help`; `help` lists the commands and the shell's words."""
        from .repl_words import SHELL_WORDS

        if words[:1] and words[0] in self.group.commands:
            main([*self.prefix, words[0], "--help"])
            return
        commands = {name: command.get_short_help_str(limit=58) for name, command in self.group.commands.items()
                    if not command.hidden and name != "repl"}
        own = dict(SHELL_WORDS.values())
        width = max(map(len, [*commands, *own]))
        sys.stdout.write("".join([
            "Commands, as on the command line without 'derivcli' (help COMMAND shows its options):\n",
            *(f"  {name:<{width}}  {text}\n" for name, text in commands.items()),
            "The shell's own:\n",
            *(f"  {usage:<{width}}  {text}\n" for usage, text in own.items()),
            "A line without a command is an expression, for grad with the bindings: x^2 sin(x) --x 2\n"]))


def preload(done: threading.Event) -> None:
    """Import torch and SymPy (and numpy, which torch imports) on a thread of their own: Ctrl-C reaches only
    the main thread, and an import of torch cut short leaves it half-loaded, so that importing it again
    crashes the interpreter.  Lines that need them wait for `done` (a wait Ctrl-C does cancel; not
    Thread.join, which Python 3.11 ends for good when Ctrl-C cuts it, the thread still importing, and the
    main thread then imported torch beside it); a failed import is left for the command's own to report."""
    try:
        with suppress(Exception):
            import sympy  # noqa: F401
            import torch  # noqa: F401
    finally:
        done.set()


def contained(call: Callable[[], int]) -> int:
    """One line's work and its exit code: its errors are one line each (`guarded`), and neither a command's
    SystemExit nor the traceback `guarded` lets through under DERIVCLI_DEBUG=1 ends the session."""
    try:
        return guarded(call)
    except SystemExit as exit:
        return exit.code if isinstance(exit.code, int) else Exit.BAD_INPUT
    except Exception:
        traceback.print_exc()
        return Exit.INTERNAL


def terminal_reader(shell: Shell, input: Any = None, output: Any = None) -> Callable[[], str] | None:
    """prompt_toolkit's prompt, with the history and Tab completion; None without prompt_toolkit."""
    from .repl_words import completions

    try:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.completion import Completer, Completion
        from prompt_toolkit.history import InMemoryHistory
    except ImportError:
        return None

    class ShellCompleter(Completer):
        def get_completions(self, document: Any, complete_event: Any) -> Any:
            for offer in completions(shell.group, document.text_before_cursor, frozenset(shell.bindings)):
                yield Completion(offer.text, -offer.replace, display_meta=offer.help or None)

    session: Any = PromptSession(history=InMemoryHistory(shell.history.entries), completer=ShellCompleter(),
                                 complete_while_typing=False, input=input, output=output)
    return lambda: str(session.prompt(PROMPT))


def plain_reader(stream: IO[str]) -> Callable[[], str]:
    """Lines read plainly (no prompt_toolkit, or stdin is not a terminal): a prompt on stderr only for a
    terminal, and a line past MAX_LINE read no further than that (execute refuses it)."""
    prompting = stream.isatty()

    def read() -> str:
        if prompting:
            sys.stderr.write(PROMPT)
            sys.stderr.flush()
        try:
            line = stream.readline(MAX_LINE + 1)
        except KeyboardInterrupt:
            if prompting:
                sys.stderr.write("\n")
            raise
        if not line:
            if prompting:
                sys.stderr.write("\n")
            raise EOFError
        if len(line) > MAX_LINE and not line.endswith("\n"):
            while (more := stream.readline(MAX_LINE)) and not more.endswith("\n"):
                pass
        return line.removesuffix("\n")

    return read
