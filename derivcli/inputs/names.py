"""Variable names from the command line and from files' headers: plain identifiers, or one Greek letter
(`--θ` binds the variable theta, as the parser spells it); one variable named twice is an error."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ..errors import DerivcliError
from .tensor_values import clip

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}\Z")


def check_name(name: str, shown: str | None = None) -> str:
    """The variable a binding's name gives a value to, as the parser spells it (`--θ` binds theta)."""
    from ..parsing.unicode import ascii_binding_name

    spelled = ascii_binding_name(name)
    if not NAME.match(spelled):
        raise DerivcliError(f"'{clip(shown or name)}' is not a valid variable name",
                            hint="names are letters, digits and '_', starting with a letter (or one Greek letter)")
    return spelled


def binding_names(point: Iterable[str]) -> dict[str, str]:
    """Each binding's name -> the variable it binds; one variable bound twice (`--θ` and `--theta`) is an
    error."""
    names: dict[str, str] = {}
    for name in point:
        spelled = check_name(name)
        twice = [given for given, bound in names.items() if bound == spelled]
        if twice:
            raise DerivcliError(f"'{spelled}' is given twice (as {twice[0]} and {name})", hint="give it once")
        names[name] = spelled
    return names


def check_wrt(name: str, variables: Sequence[str]) -> None:
    """--wrt NAME must name a variable of the expression (of a constant, any name: its derivative is 0)."""
    if variables and name not in variables:
        raise DerivcliError(f"--wrt {name}: '{name}' is not a variable of the expression",
                            hint=f"its variables are {', '.join(variables)}")
