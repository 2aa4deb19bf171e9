"""What `steps` and `steps --definition` both read first: the expression (with the command line's names)
and the one variable to differentiate by."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import DerivcliError
from ..inputs.names import check_wrt


def read(expression: str, wrt: str | Sequence[str] | None, values: Mapping[str, Any]) -> tuple[Any, str, Any]:
    """(the parsed expression, the variable's name, its SymPy symbol)."""
    import sympy as sp

    from ..differentiate.setup import reading_context, text_wrt
    from ..inputs.names import binding_names
    from ..parsing import parse

    names = [wrt] if isinstance(wrt, str) else list(wrt or [])
    parsed = parse(expression, reading_context(list(binding_names(values).values()), names))
    name = variable(parsed, text_wrt(parsed, names))
    return parsed, name, parsed.symbols.get(name, sp.Symbol(name, real=True))


def variable(parsed: Any, wrt: Sequence[str] | None) -> str:
    """The one variable to differentiate by: --wrt, the text's d/dx, or the expression's only variable."""
    names = list(dict.fromkeys(wrt or []))
    if len(names) > 1:
        raise DerivcliError("steps differentiates by one variable at a time", hint=f"give one of {', '.join(names)}")
    if names:
        check_wrt(names[0], parsed.variables)
        return names[0]
    if len(parsed.variables) > 1:
        raise DerivcliError("say which variable to differentiate with --wrt",
                            hint=f"the variables are {', '.join(parsed.variables)}")
    return parsed.variables[0] if parsed.variables else "x"
