"""LaTeX input: `\\frac{\\sin x}{x}` -> this parser's plain syntax, through SymPy's LaTeX parser.

SymPy's LaTeX parser builds unevaluated objects and evaluates nothing; what comes back is printed as
plain text and parsed again by the ordinary parser, so the whitelist and every bound apply to it too.
"""

from __future__ import annotations

import re

from ..budget import LATEX_SECONDS, OverBudget, time_budget
from ..errors import DerivcliError
from .limits import MAX_LENGTH, deep_recursion
from .unicode import non_ascii_error

UNSUPPORTED_LATEX = {"Derivative": "a derivative", "Integral": "an integral", "Limit": "a limit",
                     "Sum": "a sum", "Product": "a product"}


def is_latex(text: str) -> bool:
    return "\\" in text or "{" in text


def latex_to_text(latex: str) -> str:
    """LaTeX -> plain text for `parse`, never an object anything trusts."""
    if len(latex) > MAX_LENGTH:
        raise DerivcliError(f"expression is too long ({len(latex):,} characters; the limit is {MAX_LENGTH:,})")
    if not latex.isascii():
        column = next(i for i, char in enumerate(latex) if ord(char) > 127)
        raise non_ascii_error(latex, column)
    try:
        import sympy
        from sympy.parsing.latex import LaTeXParsingError, parse_latex
    except ImportError:  # pragma: no cover - sympy always has it
        raise DerivcliError("LaTeX input is not available") from None
    try:
        with deep_recursion(), time_budget(LATEX_SECONDS):
            expr = parse_latex(latex)
            text = str(expr)
    except OverBudget:
        raise DerivcliError(f"SymPy's LaTeX parser took more than {LATEX_SECONDS:g} s over this input; derivcli "
                            "gave up", hint="write it as a plain expression, such as sin(x)/x") from None
    except ImportError:
        raise DerivcliError("LaTeX input needs the antlr4 runtime 4.11",
                            hint="pip install 'derivcli[latex]' (antlr4-python3-runtime==4.11.*)") from None
    except (LaTeXParsingError, RecursionError, TypeError, ValueError) as error:
        raise DerivcliError(f"cannot read the LaTeX: {str(error).splitlines()[0] if str(error) else 'syntax'}",
                            hint="write a plain expression such as sin(x)/x, or simpler LaTeX") from None
    for node in sympy.preorder_traversal(expr):
        kind = type(node).__name__
        if kind in UNSUPPORTED_LATEX:
            raise DerivcliError(f"the LaTeX is {UNSUPPORTED_LATEX[kind]}, not a function to differentiate",
                                hint="give the function itself, e.g. \\sin{x}")
    return re.sub(r"_\{(\w+)\}", r"_\1", text)  # subscripted names: x_{1} is the variable x_1
