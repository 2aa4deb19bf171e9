"""`derivcli repl`'s words: which lines are command lines and which are bare expressions for `grad`, and what
Tab offers at the end of a line (`completions`, read by the terminal reader in `repl`)."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from typer._click.shell_completion import split_arg_string

from ..limits.spelling import nearest
from .completion import END, candidates, read_line

SHELL_WORDS = {  # the shell's own words, beside derivcli's commands
    "let": ("let NAME = VALUE", "bind a variable for the lines that follow; 'let' alone lists the bindings"),
    "unlet": ("unlet NAME...", "forget bindings"),
    "help": ("help [COMMAND]", "this list, or a command's options"),
    "exit": ("exit, quit", "leave (Ctrl-D too)"),
    "quit": ("exit, quit", "leave (Ctrl-D too)"),
}


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
    from ..table.functions import by_name  # here: every --help and Tab imports this module, few need the table

    last = re.search(r"[A-Za-z][A-Za-z0-9_]*\Z", expression)
    if last is None:
        return []
    line = read_line(group, ["grad", "--", expression], known)
    variables = [] if line is None else line.variables
    names = {**{name: "variable" for name in variables}, **{name: "bound by let" for name in sorted(known)},
             **{name: spec.description for name, spec in sorted(by_name().items())}}
    return [Offer(name, len(last.group()), meaning) for name, meaning in names.items()
            if name.startswith(last.group()) and name != last.group()]
