"""Step-by-step derivations, as a teacher writes them, verified step by step.

`tree` builds the rule applications (constant, sum, product, quotient, chain, general power, piecewise),
`outer` gives every function of the table its own rule, derived from SymPy; `verify` holds each step's
result to `sympy.diff` of its expression; `values` reads each step's numbers at a point from torch's
autograd graph; `result` turns the tree into the text the views print.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from typing import Any

from ..errors import DerivcliError
from .from_definition import DefinitionResult, definition
from .result import StepsResult, StepView

__all__ = ["DefinitionResult", "StepView", "StepsResult", "definition", "steps"]


SIMPLIFY_SECONDS = 1.0  # the final line's simplification, beside the verification and torch's work
SIMPLIFY_MAX_OPS = 100  # past this SymPy's simplify takes seconds to minutes: not tried


def steps(expression: str, wrt: str | Sequence[str] | None = None, point: Mapping[str, Any] | None = None, *,
          latex: bool = False, simplify_seconds: float = SIMPLIFY_SECONDS, exact: Mapping[str, str] | None = None,
          **bindings: Any) -> StepsResult:
    """The derivation of d(expression)/d(wrt) as a tree of verified steps, the simplified derivative, and
    with a point every step's numbers (the last one is `grad`'s gradient).

    >>> steps("x**2*sin(x)").root.rule
    'product rule'
    """
    import sympy as sp

    from ..api import non_finite_warnings
    from ..api.setup import prepare, reading_context, text_wrt
    from ..formula_text import formula
    from ..names import binding_names
    from ..parsing import parse
    from ..results import ParseInfo, to_plain
    from ..symbolic import Budgeted
    from ..symbolic import _simplify as simplify  # SymPy's simplify, kept only where it is shorter
    from .result import describe
    from .tree import derivation
    from .verify import verify

    values = {**(point or {}), **bindings}
    names = [wrt] if isinstance(wrt, str) else list(wrt or [])
    parsed = parse(expression, reading_context(list(binding_names(values).values()), names))
    name = _variable(parsed, text_wrt(parsed, names))
    x = parsed.symbols.get(name, sp.Symbol(name, real=True))
    root = derivation(parsed.expr, x)
    at_point: dict[str, Any] = {}
    size = sp.count_ops(root.result)
    simplifying = Budgeted(simplify, (root.result,), simplify_seconds) if size <= SIMPLIFY_MAX_OPS else None
    with simplifying or nullcontext():  # the simplification runs in a child, meanwhile:
        verified = verify(root)
        if values:
            from .values import attach_numbers

            setup = prepare(expression, values, [name], "float64", "cpu")
            value, gradient = attach_numbers(root, setup)
            warnings = setup.warnings + non_finite_warnings(value, {name: gradient})
            at_point = {"value": value, "gradient": gradient, "warnings": warnings,
                        "point": {key: to_plain(number) for key, number in setup.values.items()}}
        view = describe(root, latex)
        done, shown = simplifying.outcome() if simplifying is not None else (False, None)
    notes = []
    pretty = None
    if done and shown is not None:
        derivative, derivative_latex, pretty = shown.text, shown.latex, shown.pretty
    else:
        derivative, derivative_latex = formula(root.result), sp.latex(root.result)
        why = (f"simplifying took longer than {simplify_seconds:g} s" if simplifying is not None else
               f"the derivative has {size} operations, too many to simplify within {simplify_seconds:g} s")
        notes.append(f"{why}: the derivative is shown as the steps built it")
    result = StepsResult(parsed.canonical, name, view, derivative, derivative_latex, verified,
                         ParseInfo(parsed.source, parsed.canonical, parsed.notes, parsed.as_written),
                         dict(Counter(step.check.method for step in root.walk())), notes, **at_point)
    if verified is False:
        result.warnings.append("a step's result differs from SymPy's derivative of its expression (see its check)")
    result.pretty = pretty
    if exact is not None:  # the exact values beside the steps' floats (`exact`: the point's values as written)
        from ..learn.exact import exact_values

        if not values:
            raise DerivcliError("--exact needs a point", hint="give the variables' values, e.g. --x pi/3")
        result.exact = exact_values(parsed, {f"d/d{name}": root.result}, exact)
    return result


def _variable(parsed: Any, wrt: Sequence[str] | None) -> str:
    """The one variable to differentiate by: --wrt, the text's d/dx, or the expression's only variable."""
    names = list(dict.fromkeys(wrt or []))
    if len(names) > 1:
        raise DerivcliError("steps differentiates by one variable at a time", hint=f"give one of {', '.join(names)}")
    if names:
        if names[0] not in parsed.symbols and parsed.variables:
            raise DerivcliError(f"--wrt {names[0]}: '{names[0]}' is not a variable of the expression",
                                hint=f"its variables are {', '.join(parsed.variables)}")
        return names[0]
    if len(parsed.variables) > 1:
        raise DerivcliError("say which variable to differentiate with --wrt",
                            hint=f"the variables are {', '.join(parsed.variables)}")
    return parsed.variables[0] if parsed.variables else "x"
