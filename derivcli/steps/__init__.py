"""Step-by-step derivations, as a teacher writes them, verified step by step.

`tree` builds the rule applications (constant, sum, product, quotient, chain, logarithmic differentiation, piecewise),
`outer` gives every function of the table its own rule, derived from SymPy; `verify` holds each step's
result to `sympy.diff` of its expression; `values` reads each step's numbers at a point from torch's
autograd graph; `result` turns the tree into the text the views print.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from typing import Any

from ..errors import DerivcliError
from .from_definition import DefinitionResult, definition
from .result import StepsResult, StepView

__all__ = ["DefinitionResult", "StepView", "StepsResult", "definition", "steps"]


SIMPLIFY_SECONDS = 1.0  # the final line's simplify and factor (each in a child), beside the verification and torch
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
    from ..differentiate.setup import prepare
    from ..results import ParseInfo, to_plain
    from ..symbolic.budgeted import Budgeted
    from ..symbolic.formula_text import formula
    from . import blocks
    from .outer import textbook_form
    from .reading import read
    from .result import describe
    from .textbook import textbook, textbook_latex
    from .tree import derivation
    from .verify import verify

    values = {**(point or {}), **bindings}
    parsed, name, x = read(expression, wrt, values)
    root = derivation(parsed.expr, x)
    at_point: dict[str, Any] = {}
    size = sp.count_ops(root.result)
    simplifying = [Budgeted(way, (root.result,), simplify_seconds) for way in (sp.simplify, sp.factor)] \
        if size <= SIMPLIFY_MAX_OPS else []
    with ExitStack() as children:  # the simplifications run in children, meanwhile:
        for child in simplifying:
            children.enter_context(child)
        verified = verify(root)
        if values:
            from .values import attach_numbers

            setup = prepare(expression, values, [name], "float64", "cpu")
            value, gradient = attach_numbers(root, setup)
            warnings = setup.warnings + non_finite_warnings(value, {name: gradient})
            at_point = {"value": value, "gradient": gradient, "warnings": warnings,
                        "point": {key: to_plain(number) for key, number in setup.values.items()}}
        view = describe(root, latex)
        forms = [form for done, form in (child.outcome() for child in simplifying) if done and form is not None]
    notes = []
    final = _simplest([root.result, textbook_form(root.result), *forms]) if forms else root.result
    if not forms:
        why = (f"simplifying took longer than {simplify_seconds:g} s" if simplifying else
               f"the derivative has {size} operations, too many to simplify within {simplify_seconds:g} s")
        notes.append(f"{why}: the derivative is shown as the steps built it")
    derivative, derivative_latex = formula(final), textbook_latex(final)
    result = StepsResult(parsed.canonical, name, view, derivative, derivative_latex, verified,
                         ParseInfo(parsed.source, parsed.canonical, parsed.notes, parsed.as_written),
                         dict(Counter(step.check.method for step in root.walk())), notes, **at_point)
    if verified is False:
        result.warnings.append("a step's result differs from SymPy's derivative of its expression (see its check)")
    block = blocks.form(final)
    result.pretty, result.textbook = None if block is None else blocks.text(block), textbook(final)
    built = textbook_form(root.result)
    if final is not root.result and formula(built) != derivative:  # the unsimplified form, kept beside it
        result.unsimplified, result.unsimplified_pretty = formula(built), textbook(built)
    if exact is not None:  # the exact values beside the steps' floats (`exact`: the point's values as written)
        from ..learn.exact import exact_values

        if not values:
            raise DerivcliError("--exact needs a point", hint="give the variables' values, e.g. --x pi/3")
        result.exact = exact_values(parsed, {f"d/d{name}": root.result}, exact)
    return result


def _simplest(forms: list[Any]) -> Any:
    """The form with the fewest operations (then the shortest text; the first on a tie): SymPy's simplify or
    factor, the textbook's form (sec²x), or the derivative as the steps built it."""
    import sympy as sp

    return min(forms, key=lambda form: (sp.count_ops(form), len(str(form))))
