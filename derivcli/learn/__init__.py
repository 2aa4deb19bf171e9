"""For learners: checking an answer worked out by hand (`expect`), exact values at exact points
(`exact`), and implicit differentiation (`implicit`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import DerivcliError

if TYPE_CHECKING:  # (imported by the command line before SymPy loads: `implicit` reads its equation here)
    import sympy as sp

    from ..parsing import ParsedExpression


def symbolic_derivatives(parsed: ParsedExpression, sequences: Mapping[str, list[str]]) -> dict[str, sp.Expr]:
    """label -> SymPy's derivative of f along each sequence of variables (a name f lacks gives 0)."""
    import sympy as sp

    derivatives = {}
    for label, sequence in sequences.items():
        derivative = parsed.expr
        for name in sequence:
            derivative = sp.diff(derivative, parsed.symbols.get(name, sp.Symbol(name)))
        derivatives[label] = derivative
    return derivatives


def check_answers(result: Any, parsed: ParsedExpression, sequences: Mapping[str, list[str]], expect: str | None,
                  exact: Mapping[str, str] | None, value_of: Mapping[str, float] | None = None,
                  truth_of: Mapping[str, float] | None = None, tolerance: tuple[float, float] = (1e-8, 1e-10)
                  ) -> None:
    """Fill `result.expect` and `result.exact` for --expect (a formula, or at a point one number) and
    --exact (the exact texts of the point's values)."""
    from .exact import exact_values
    from .expect import check_expected, check_expected_number, is_number

    derivatives = symbolic_derivatives(parsed, sequences)
    if expect is not None:
        if len(derivatives) != 1:
            raise DerivcliError("--expect checks one derivative", hint="give --wrt with the one variable")
        ((label, derivative),) = derivatives.items()
        if is_number(expect):
            if value_of is None:
                raise DerivcliError("--expect with a number needs a point", hint="give the variables' values")
            result.expect = check_expected_number(expect, value_of[label], (truth_of or {}).get(label), *tolerance)
        else:
            result.expect = check_expected(expect, parsed, derivative)
    if exact is not None:
        result.exact = exact_values(parsed, derivatives, exact)
