"""`derivcli repl`: an interactive shell whose lines are derivcli commands, run in this one process.

Each line is split like a shell line and handed to the CLI's own entry (`main`), so output, errors and exit
codes are the CLI's; torch and SymPy are imported once, in the background while the first line is typed,
and stay loaded, so later lines answer at once.  A line that starts with no command is an expression, for
`grad`.  `let` keeps bindings, added to each command whose expression uses them, found as tab completion
reads a line (`completion.read_line`).  prompt_toolkit (the `repl` extra) gives line editing, Tab and
history on a terminal; without it, or off a terminal, lines are read plainly.  History is kept either way.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple

import typer
from typer._click.shell_completion import split_arg_string

from ..errors import DerivcliError, Exit, printable
from ..inputs.bindings import parse_value
from ..inputs.names import check_name
from ..limits.spelling import nearest
from ..parsing import CONSTANT_NAMES
from ..serve.paths import Unsafe, open_own, tighten_own_dir
from ..table.functions import by_name
from .app import app, main
from .commands import PlainCommand
from .completion import END, candidates, read_line
from .outcome import guarded, report_error

HELP_RANK = 90  # its place among the commands in `derivcli --help`

PROMPT = "derivcli> "
MAX_LINE = 65_536  # past this, splitting the line costs more than the work (a big value belongs in @file)
MAX_ENTRIES = 1_000  # history kept: the newest lines, each at most MAX_ENTRY characters
MAX_ENTRY = 16_384
HISTORY_TAIL = 2 << 20  # bytes of the history file read at the start: its end, however big the file is
SHELL_WORDS = {  # the shell's own words, beside derivcli's commands
    "let": ("let NAME = VALUE", "bind a variable for the lines that follow; 'let' alone lists the bindings"),
    "unlet": ("unlet NAME...", "forget bindings"),
    "help": ("help [COMMAND]", "this list, or a command's options"),
    "exit": ("exit, quit", "leave (Ctrl-D too)"),
    "quit": ("exit, quit", "leave (Ctrl-D too)"),
}
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
        argv = command_words(self.group, words)
        line = read_line(self.group, argv, frozenset(self.bindings))
        used = [] if line is None else [name for name in line.variables
                                        if name in self.bindings and name not in line.bound]
        return [*self.prefix, *argv, *(word for name in used for word in ("--var", f"{name}={self.bindings[name]}"))]

    def let(self, words: list[str]) -> None:
        """`let x = 2`: the value is checked as the command line checks it, then kept as written, for each
        later command to read (a `rand(3)` draws again unless the command has --seed)."""
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


def command_words(group: Any, words: list[str]) -> list[str]:
    """A line as the CLI's arguments: a command line as it is; anything else is an expression for grad, its
    words up to the first --option."""
    if is_command(group, words[0]):
        return words
    cut = first_option(words)
    return ["grad", "--", " ".join(words[:cut]), *words[cut:]]


def is_command(group: Any, head: str) -> bool:
    """Whether a line starting with `head` is a command line: a command, a global --option, or a misspelt
    command (left to the CLI's 'did you mean')."""
    return head in group.commands or head.startswith("--") or bool(
        head.isalpha() and nearest(head, group.commands) is not None)


def first_option(words: list[str]) -> int:
    """Where a bare expression's words end: the first --option, or the end."""
    return next((index for index, word in enumerate(words) if word.startswith("--") and len(word) > 2), len(words))


class Offer(NamedTuple):
    """One Tab candidate: the text, how many characters before the cursor it replaces, and what it is."""

    text: str
    replace: int
    help: str


def completions(group: Any, text: str, known: frozenset[str]) -> list[Offer]:
    """What Tab offers at the end of `text` (the line up to the cursor), with the names `known` bound by let:
    the commands and the shell's words first; then what `completion.candidates` finds for the command line
    (options, their values, the expression's variables as --NAME); in the expression, the variables, the
    bindings and the function names that continue its last name."""
    words = split_arg_string(text + END)
    args, incomplete = words[:-1], words[-1][:-len(END)]
    if not text.endswith(incomplete):  # a word with quotes or escapes inside
        return []
    if not args:
        firsts = [offer for offer in offers(candidates(group, [], incomplete), incomplete) if offer.text != "repl"]
        shells = [Offer(word, len(incomplete), meaning) for word, (_, meaning) in SHELL_WORDS.items()
                  if word.startswith(incomplete)]
        expression = [] if incomplete.startswith("-") else in_expression(group, incomplete, known)
        return firsts + shells + expression
    if args[0] in ("let", "unlet", "help"):
        names = {"unlet": sorted(known), "help": [] if args[1:] else list(group.commands)}.get(args[0], [])
        return [Offer(name, len(incomplete), "") for name in names if name.startswith(incomplete)]
    if not is_command(group, args[0]):
        if first_option([*args, incomplete]) > len(args):  # still in the expression
            return in_expression(group, " ".join([*args, incomplete]), known)
        args = command_words(group, args)
    line = read_line(group, args, known)
    found = offers(candidates(group, args, incomplete, known), incomplete)
    at_expression = (line is not None and line.binds and line.expression is None and line.awaiting is None
                     and (line.positional or not incomplete.startswith("-")))
    return found or (in_expression(group, incomplete, known) if at_expression else [])


def offers(items: list[Any], incomplete: str) -> list[Offer]:
    """`completion.candidates`' items, each in place of the word being completed."""
    return [Offer(item.value, len(incomplete), item.help or "") for item in items]


def in_expression(group: Any, expression: str, known: frozenset[str]) -> list[Offer]:
    """Names that continue the last name in `expression` (the text so far): its variables as the parser
    reads it, the let bindings, then the functions and their aliases."""
    last = re.search(r"[A-Za-z][A-Za-z0-9_]*\Z", expression)
    if last is None:
        return []
    line = read_line(group, ["grad", "--", expression], known)
    variables = [] if line is None else line.variables
    names = {**{name: "variable" for name in variables}, **{name: "bound by let" for name in sorted(known)},
             **{name: spec.description for name, spec in sorted(by_name().items())}}
    return [Offer(name, len(last.group()), meaning) for name, meaning in names.items()
            if name.startswith(last.group()) and name != last.group()]


def terminal_reader(shell: Shell, input: Any = None, output: Any = None) -> Callable[[], str] | None:
    """prompt_toolkit's prompt, with the history and Tab completion; None without prompt_toolkit."""
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


def history_path() -> Path | None:
    """`$XDG_STATE_HOME/derivcli/history` (a relative XDG_STATE_HOME is ignored, as the XDG spec says), else
    `~/.local/state/derivcli/history`; None without a home."""
    state = os.environ.get("XDG_STATE_HOME", "")
    try:
        base = Path(state) if os.path.isabs(state) else Path.home() / ".local" / "state"
    except RuntimeError:
        return None
    return base / "derivcli" / "history"


class History:
    """The lines of earlier sessions, oldest first, in a file only the user can read (0600, in a 0700
    directory; a looser mode is tightened), bounded: only its last HISTORY_TAIL bytes are read, and past
    2 * MAX_ENTRIES lines it is rewritten with the newest MAX_ENTRIES.  The file and its directory are
    opened as derivcli's own (`serve.paths.open_own`): not through a link, never blocking on a FIFO, a
    regular file of the user's.  A history that cannot be kept is one warning, and the session goes on
    without it."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: list[str] = []
        self.lines = 0  # in the file
        if path is None:
            return
        try:
            tighten_own_dir(str(path.parent))
            descriptor = open_own(str(path), os.O_RDONLY)
            with open(descriptor, "rb") as file:
                start = max(0, os.fstat(descriptor).st_size - HISTORY_TAIL)
                file.seek(start)
                lines = file.read(HISTORY_TAIL).decode("utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return
        except (OSError, Unsafe) as error:
            self._give_up(error)
            return
        # Past the tail, the file is longer than it should be: the first line added rewrites it.
        self.lines = 2 * MAX_ENTRIES if start else len(lines)
        self.entries = [line for line in lines[1 if start else 0:] if worth_keeping(line)][-MAX_ENTRIES:]

    def add(self, line: str) -> None:
        entry = line.strip()
        if self.path is None or not worth_keeping(entry) or self.entries[-1:] == [entry]:
            return
        self.entries = [*self.entries[-(MAX_ENTRIES - 1):], entry]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tighten_own_dir(str(self.path.parent))
            if self.lines + 1 > 2 * MAX_ENTRIES:
                self._rewrite(self.path)
            else:
                self._append(self.path, entry)
        except (OSError, Unsafe) as error:
            self._give_up(error)

    def _append(self, path: Path, entry: str) -> None:
        descriptor = open_own(str(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        with open(descriptor, "a", encoding="utf-8") as file:
            file.write(entry + "\n")
        self.lines += 1

    def _rewrite(self, path: Path) -> None:
        """The newest entries, written to a new file that then replaces the history (never a file that the
        history's name pointed to: a link is replaced, not followed)."""
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".history.")  # 0600
        try:
            with open(descriptor, "w", encoding="utf-8") as file:
                file.write("".join(entry + "\n" for entry in self.entries))
            os.replace(temporary, path)
        except OSError:
            os.unlink(temporary)
            raise
        self.lines = len(self.entries)

    def _give_up(self, error: OSError | Unsafe) -> None:
        why = str(error) if isinstance(error, Unsafe) else f"{error.strerror or error}: {self.path}"
        sys.stderr.write(f"warning: history is not kept: {printable(why)}\n")
        self.path = None


def worth_keeping(entry: str) -> bool:
    """A line to keep in the history: not blank, not too long, nothing but printable characters and tabs
    (the same test for lines added and lines read back: a planted line of escape codes is not recalled)."""
    return bool(entry) and len(entry) <= MAX_ENTRY and entry.replace("\t", " ").isprintable()
