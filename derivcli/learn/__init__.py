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
    """Fill `result.expect` and `result.exact` for --expect (a formula; at a point also one number, named
    at the point in `result.point`) and --exact (the exact texts of the point's values)."""
    from .exact import exact_values
    from .expect import check_answer

    derivatives = symbolic_derivatives(parsed, sequences)
    if expect is not None:
        if len(derivatives) != 1:
            raise DerivcliError("--expect checks one derivative", hint="give --wrt with the one variable")
        ((label, derivative),) = derivatives.items()
        result.expect = check_answer(expect, parsed, derivative, sequences[label],
                                     value=None if value_of is None else value_of[label],
                                     truth=(truth_of or {}).get(label), point=getattr(result, "point", None),
                                     tolerance=tolerance)
    if exact is not None:
        result.exact = exact_values(parsed, derivatives, exact)
