"""SymPy's value of a constant, made strict (`symbolic.exact.evaluated`): every digit right, or no value.

evalf left to itself hands over the bound of what it cannot tell from zero as a number: `1/(2 - 2)` as
written came out as 4.6e164 in the lowering, as "its true value is 7.7e171" in `--check`'s diagnosis, and
`x/(log(2) + log(3) - log(6))` as x times a literal 1.5e138 in `emit`'s code.  The truths here are
mpmath's own, at 60 digits (more where the argument needs it), never SymPy's evalf.
"""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp

import derivcli
from derivcli.emit.code import emit
from derivcli.errors import DerivcliError
from derivcli.symbolic.exact import evaluated

x = sp.Symbol("x")
ZERO_AS_WRITTEN = sp.Add(2, -2, evaluate=False)
LOGS = sp.log(2) + sp.log(3) - sp.log(6)  # 0, which SymPy does not see


def _mp(function, digits=60):
    with mpmath.workdps(digits):
        return function()


@pytest.mark.parametrize(("expr", "subs", "truth"), [
    (1 - sp.erf(5), None, _mp(lambda: 1 - mpmath.erf(5))),
    (sp.sin(sp.Integer(10) ** 100), None, _mp(lambda: mpmath.sin(mpmath.mpf(10) ** 100), 200)),
    (sp.sin(sp.Integer(10) ** 500), None, _mp(lambda: mpmath.sin(mpmath.mpf(10) ** 500), 600)),  # past MAX_DIGITS
    (sp.Add(1, ZERO_AS_WRITTEN, evaluate=False), None, 1),
    (sp.Add(sp.exp(-800), ZERO_AS_WRITTEN, evaluate=False), None, _mp(lambda: mpmath.exp(-800))),
    ((x**2 - 4) * sp.exp(x) + sp.sin(x), {x: sp.Integer(2)}, _mp(lambda: mpmath.sin(2))),
    (ZERO_AS_WRITTEN, None, 0), (LOGS, None, 0), (x**2 - 2 * x, {x: sp.Integer(2)}, 0),
    (sp.Mul(sp.exp(700), LOGS, evaluate=False), None, 0),
])
def test_the_value_has_every_digit_or_is_exactly_zero(expr, subs, truth):
    value = evaluated(expr, 30, subs)
    assert value is not None and value.is_Number
    if truth == 0:
        assert value == 0
    else:
        with mpmath.workdps(40):
            assert abs(mpmath.mpf(value._mpf_) - truth) <= abs(truth) * mpmath.mpf(10) ** -29


@pytest.mark.parametrize(("expr", "subs"), [
    (1 / ZERO_AS_WRITTEN, None), (x / ZERO_AS_WRITTEN + x, {x: 1}), (1 / LOGS, None), (1 / (x**2 - 4), {x: 2}),
])
def test_a_division_by_what_cancels_is_undefined_not_a_huge_number(expr, subs):
    value = evaluated(expr, 30, subs)
    assert value is not None and not value.is_finite, value


def test_what_is_not_a_real_number_passes_through():
    assert evaluated(sp.true) is sp.true
    assert evaluated(sp.sqrt(-2)) == sp.sqrt(2).evalf(30) * sp.I
    assert evaluated(x + 1).free_symbols == {x}


@pytest.mark.parametrize("text", ["x/(2 - 2) + x", "x/(log(2) + log(3) - log(6))"])
def test_check_claims_no_true_value_for_a_division_by_zero(text):
    """`--check` once said "its true value is 7.72907504603e+171" of x/(2 - 2): the diagnosis took evalf's
    bound for the truth."""
    result = derivcli.grad(text, x=1.5, check=True)
    assert result.value == float("inf") and any("divides by zero" in w for w in result.warnings)
    assert not any("true value" in warning for warning in result.warnings), result.warnings
    assert result.check is not None and result.check.verdict_by_variable == {"x": "undefined"}


def test_emit_never_bakes_a_constant_it_has_no_digits_of():
    with pytest.raises(DerivcliError, match="not a finite real number"):
        emit("x/(log(2) + log(3) - log(6))", language="python")
    code = emit("x*(log(2) + log(3) - log(6)) + x", language="python").code
    assert code.rstrip().endswith("_f = x\n    _g0 = 1.0\n    return _f, (_g0,)"), code
