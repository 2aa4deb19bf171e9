"""Symbolic work with a numeric side: `diff` (SymPy's formula of any order, and its value at a point)
and `taylor` (coefficients by torch, checked against SymPy's series)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import DerivcliError
from ..inputs.names import check_wrt
from ..results import (
    DiffResult,
    ParseInfo,
    TaylorResult,
    derivative_key,
    to_plain,
)

if TYPE_CHECKING:

    from ..parsing import ParsedExpression


from ..differentiate.setup import Setup, compile_text, prepare, reading_context, text_wrt


def diff(
    expression: str,
    wrt: Sequence[str] | str | None = None,
    order: int = 1,
    point: Mapping[str, Any] | None = None,
    *,
    formula: bool | None = None,
    dtype: str = "float64",
    device: str = "cpu",
    expect: str | None = None,
    exact: Mapping[str, str] | None = None,
    forms: bool = False,
    **bindings: Any,
) -> DiffResult:
    """The symbolic derivative of any order (mixed partials: wrt=["x", "y"]), and with a point its value
    by torch (nested autograd at low order, Taylor mode at high order) checked against the formula.

    `formula` builds SymPy's formula; by default it does without a point, and with one up to order 4
    (formulas grow about 2x per order).  `expect` checks a derivative worked out by hand; `exact` gives
    exact values at a point written exactly (the values' texts); `forms` the
    derivative simplified, expanded, factored and with trig functions combined and expanded.

    >>> diff("x**3", "x", 2).derivative
    '6*x'
    >>> diff("exp(2*x)", "x", 10, x=0).derivative_value
    1024.0
    """
    from ..differentiate.higher import check_order
    from ..inputs.names import binding_names
    from ..parsing import parse

    check_order(order)
    values = {**(point or {}), **bindings}
    names = [wrt] if isinstance(wrt, str) else list(wrt or [])
    parsed = parse(expression, reading_context(list(binding_names(values).values()), names))
    names = list(text_wrt(parsed, names) or [])
    if not names and not parsed.variables:  # a constant: every derivative is 0, by any name
        names = ["x"]
    if not names:
        if len(parsed.variables) != 1:
            raise DerivcliError("say which variable to differentiate with --wrt",
                                hint=f"the variables are {', '.join(parsed.variables) or 'none'}")
        names = list(parsed.variables)
    if len(names) > 1 and order > 1:
        raise DerivcliError("give --order with one variable, or list the variables of a mixed partial",
                            hint="--wrt x --order 3 is d³/dx³; --wrt x,y,y is ∂³/∂x∂y²")
    sequence = names * order if len(names) == 1 else names
    check_order(len(sequence))
    result = DiffResult(expression=parsed.canonical, wrt=sequence, derivative=None, latex=None,
                        parse=ParseInfo(parsed.source, parsed.canonical, parsed.notes, parsed.as_written))
    build_formula = formula if formula is not None else (not values or len(sequence) <= 4)
    derivative = _formula(parsed, sequence, result) if build_formula else None
    if build_formula and derivative is None and not values:  # nothing else to show: the reason is the answer
        raise DerivcliError(result.notes.pop(), hint="give a point (--x 1): its value comes from torch without "
                            "the formula")
    if not build_formula:
        result.notes.append(f"SymPy's formula is not built at order {len(sequence)} (it grows about 2x per "
                            "order); --formula builds it anyway")
    if forms:
        import sympy as sp

        from ..learn.forms import FORM_SECONDS, FORMS, other_forms
        from ..symbolic.budgeted import with_budget

        built = derivative
        if built is None:  # not built (at a point, above order 4): built here within the forms' budget
            symbols = [parsed.symbols.get(name, sp.Symbol(name)) for name in sequence]
            _, built = with_budget(sp.diff, (parsed.expr, *symbols), FORM_SECONDS)
        result.forms = other_forms(built) if built is not None else dict.fromkeys(FORMS)
        if None in result.forms.values():
            result.notes.append("some forms did not finish within their budget")
    if values:
        _diff_at_point(expression, parsed, sequence, values, derivative, dtype, device, result)
    label = derivative_key(sequence)
    if expect is not None:
        from ..checks.compare import TOLERANCES
        from ..differentiate.autograd import torch_dtype
        from ..learn import check_answers

        check_answers(result, parsed, {label: sequence}, expect, None,
                      value_of=None if result.derivative_value is None else {label: result.derivative_value},
                      tolerance=TOLERANCES[torch_dtype(dtype)])
    if exact is not None:
        from ..learn.exact import exact_values

        if not values:
            raise DerivcliError("--exact needs a point", hint="give the variables' values, e.g. --x pi/3")
        result.exact = exact_values(parsed, {}, exact, sequences={label: sequence})  # built within its budget
    return result


def _formula(parsed: ParsedExpression, sequence: list[str], result: DiffResult) -> Any:
    import sympy as sp

    from ..symbolic.budgeted import nth_derivative, presented

    for name in sequence:
        check_wrt(name, parsed.variables)
    derivative, why = nth_derivative(parsed.expr, [parsed.symbols.get(name, sp.Symbol(name)) for name in sequence])
    if derivative is None:
        result.notes.append(why or "SymPy's formula was not built")
        return None
    shown = presented(derivative)
    result.derivative, result.latex, result.pretty = shown.text, shown.latex, shown.pretty
    if shown.note:
        result.notes.append(shown.note)
    return derivative


def _diff_at_point(expression: str, parsed: ParsedExpression, sequence: list[str], values: Mapping[str, Any],
                   derivative: Any, dtype: str, device: str, result: DiffResult) -> None:
    """The derivative's value by torch, and by the lowered formula when there is one."""
    import torch

    from ..checks.compare import TOLERANCES, agree
    from ..differentiate.higher import NESTED_AUTOGRAD_MAX, nested_autograd
    from ..lowering.program import lower

    setup = prepare(expression, values, list(dict.fromkeys(sequence)), dtype, device)
    for name in setup.wrt:
        if setup.inputs[setup.variables.index(name)].numel() != 1:
            raise DerivcliError(f"diff at a point needs scalar variables; {name} is a tensor",
                                hint="use 'derivcli hessian' or 'derivcli jacobian' for tensor variables")
    result.point = {name: to_plain(value) for name, value in setup.values.items()}
    result.dtype = dtype
    result.warnings = list(setup.warnings)
    single = len(set(sequence)) == 1
    value, derivative_value, method = None, None, None
    if single and len(sequence) > NESTED_AUTOGRAD_MAX:
        value, derivative_value, method = _taylor_mode(setup, sequence[0], len(sequence))
    if derivative_value is None:
        if len(sequence) > 2 * NESTED_AUTOGRAD_MAX:
            raise DerivcliError(f"order {len(sequence)} needs Taylor mode, which this expression does not support "
                                f"({method or 'mixed partials'})",
                                hint=f"nested autograd is used up to order {2 * NESTED_AUTOGRAD_MAX}")
        value, derivative_value = nested_autograd(setup.program, setup.inputs,
                                                  [setup.variables.index(name) for name in sequence],
                                                  setup.dtype, setup.device)
        method = f"nested autograd ({len(sequence)} backward pass{'' if len(sequence) == 1 else 'es'})"
    result.value, result.derivative_value, result.method = value, derivative_value, method
    if single and not all(number is not None and math.isfinite(number) for number in (value, derivative_value)):
        if _limits_at_singularity(setup, sequence[0], len(sequence), result):
            return
    if derivative is not None:
        with torch.no_grad():
            program = lower(derivative, setup.variables)
            result.formula_value = float(program([v.detach() for v in setup.inputs], dtype=setup.dtype,
                                                 device=setup.device))
        rtol, atol = TOLERANCES[setup.dtype]
        # each order loses a little accuracy to rounding: widen the tolerance with the order
        result.agree = None if math.isnan(derivative_value) or math.isnan(result.formula_value) else \
            agree(derivative_value, result.formula_value, rtol * 10 ** min(len(sequence) - 1, 6), atol)
    for label, number in (("value", value), ("derivative", derivative_value)):
        if number is not None and not math.isfinite(number):
            result.warnings.append(f"the {label} is {number} at this point")


def _limits_at_singularity(setup: Setup, name: str, order: int, result: DiffResult) -> bool:
    """Where torch's f or f^(order) is not finite: the limits from SymPy's series at a removable singularity
    (True, result filled in), an error where f has no Taylor series there (a pole, a branch point), False
    where SymPy cannot tell within its budget (torch's numbers stand, with their warnings)."""
    import sympy as sp

    from ..symbolic.local_series import NOT_REAL

    with _start_local_series(setup, name, order) as series:
        finished, expansion = series.outcome()
    if not finished or expansion is None:
        return False
    at = f"{name} = {_text(float(setup.inputs[setup.variables.index(name)].detach()))}"
    if not expansion.has_taylor_series:
        if expansion.kind == NOT_REAL:
            raise DerivcliError(expansion.statement(at))
        what = "derivative" if order == 1 else f"derivative of order {order}"
        raise DerivcliError(f"f has no {what} at {at}: {expansion.reason()}")
    assert expansion.floats is not None
    exact = None if expansion.exact is None else expansion.exact[order] * sp.factorial(order)
    result.value = expansion.floats[0]
    result.derivative_value = float(exact) if exact is not None else expansion.floats[order] * math.factorial(order)
    result.method = "SymPy's series (the limit)" if expansion.kind == "removable" else "SymPy's series"
    result.notes.append(expansion.statement(at))
    result.agree = None  # (the formula is undefined here too: nothing to compare with)
    return True


def _start_local_series(setup: Setup, name: str, order: int) -> Any:
    """SymPy's series of f in `name` around its value, the other scalar variables held at theirs, started
    in a budgeted child (local_series.start)."""
    import sympy as sp

    from ..symbolic.local_series import start

    around = float(setup.inputs[setup.variables.index(name)].detach())
    symbol = setup.parsed.symbols.get(name, sp.Symbol(name, real=True))
    constants = {setup.parsed.symbols[n]: float(v.detach()) for n, v in zip(setup.variables, setup.inputs)
                 if n != name and n in setup.parsed.symbols and v.numel() == 1}
    return start(setup.parsed.expr, symbol, around, order, constants)


def _text(number: float) -> str:
    return str(int(number)) if number.is_integer() else repr(number)


def _taylor_mode(setup: Setup, name: str, order: int) -> tuple[float | None, float | None, str | None]:
    """(f, f^(order), method) by Taylor-mode arithmetic, or Nones with the reason it does not apply."""
    try:
        from ..differentiate.taylor_mode import TaylorUnsupported, derivatives
    except ImportError:  # pragma: no cover - the module ships with derivcli
        return None, None, None
    point = {n: float(v.detach()) for n, v in zip(setup.variables, setup.inputs)}
    try:
        values = derivatives(setup.parsed.expr, name, point, order, dtype=setup.dtype)
    except TaylorUnsupported as error:
        return None, None, str(error)
    return values[0], values[order], "Taylor mode"


def taylor(
    expression: str,
    point: Mapping[str, Any] | None = None,
    *,
    wrt: str | None = None,
    order: int = 5,
    dtype: str = "float64",
    **bindings: Any,
) -> TaylorResult:
    """The Taylor polynomial around the point: coefficients f^(k)(a)/k! by torch (Taylor mode, or nested
    autograd) beside SymPy's series.

    >>> taylor("exp(x)", x=0, order=3).coefficients
    [1.0, 1.0, 0.5, 0.16666666666666666]
    """
    from ..checks.compare import TOLERANCES, agree
    from ..differentiate.higher import check_order, nested_autograd
    from ..symbolic import local_series
    from ..symbolic.local_series import NOT_REAL, REMOVABLE

    check_order(order)
    values = {**(point or {}), **bindings}
    notes: list[str] = []
    unbound = _maclaurin_variable(expression, values, wrt)
    if unbound is not None:  # no point given: around 0
        values[unbound], wrt = 0.0, unbound
        notes.append(f"no point given for {unbound}: the Maclaurin series, around {unbound} = 0")
    setup = prepare(expression, values, [wrt] if wrt else None, dtype, "cpu")
    if len(setup.wrt) != 1:
        raise DerivcliError("say which variable to expand in with --wrt",
                            hint=f"the variables are {', '.join(setup.variables)}")
    name = setup.wrt[0]
    index = setup.variables.index(name)
    if setup.inputs[index].numel() != 1:
        raise DerivcliError(f"taylor expands in one scalar variable; {name} is a tensor")
    around = float(setup.inputs[index].detach())
    with _start_local_series(setup, name, order) as series:  # beside torch's work
        _, _, method = _taylor_mode(setup, name, order)
        if method and method.startswith("Taylor"):
            from ..differentiate.taylor_mode import taylor_coefficients

            point_values = {n: float(v.detach()) for n, v in zip(setup.variables, setup.inputs)}
            coefficients = taylor_coefficients(setup.parsed.expr, name, point_values, order, dtype=setup.dtype).tolist()
        else:
            if order > 8:
                raise DerivcliError(f"order {order} needs Taylor mode, which this expression does not support",
                                    hint="nested autograd is used up to order 8")
            coefficients = [nested_autograd(setup.program, setup.inputs, [index] * k, setup.dtype, setup.device)[1]
                            / math.factorial(k) for k in range(order + 1)]
            method = "nested autograd"
        finished, expansion = series.outcome()
    at = f"{name} = {_text(around)}"
    finite = all(math.isfinite(c) for c in coefficients)
    agreement, reference, exact, singularity = None, None, None, None
    if not finished or expansion is None:
        why = (f"did not finish within its budget ({local_series.SERIES_SECONDS:g} s)" if not finished else
               "gives no coefficients here")
        if not finite:  # never NaN coefficients: nothing to give
            raise DerivcliError(f"no Taylor coefficients at {at}: torch's are not finite there (f may be singular "
                                f"there), and SymPy's series {why}")
        notes.append(f"SymPy's series {why}")
    elif not expansion.has_taylor_series:  # a pole, a branch point, a kink: there are no coefficients to give
        if expansion.kind == NOT_REAL:
            raise DerivcliError(expansion.statement(at))
        singularity = {"kind": expansion.kind, "series": expansion.expansion, "statement": expansion.statement(at)}
        coefficients, method = [], "SymPy's series"
    else:
        reference, exact = expansion.floats, expansion.exact
        assert reference is not None
        if finite:
            rtol, atol = TOLERANCES[setup.dtype]
            agreement = all(agree(a, b, rtol * 100, atol) for a, b in zip(coefficients, reference))
        else:  # f undefined at the point (sin(x)/x at 0) or torch overflowing: SymPy's coefficients are the answer
            coefficients, method = list(reference), "SymPy's series"
            if expansion.kind == REMOVABLE:
                singularity = {"kind": REMOVABLE, "series": expansion.text, "statement": expansion.statement(at)}
            else:
                notes.append(expansion.statement(at))
    shown_exact = exact if exact is not None and (agreement or method == "SymPy's series") else None
    shift = name if around == 0 else f"({name} - {around!r})"
    terms = _terms(shown_exact, shift) if shown_exact is not None else [
        f"{c!r}" if k == 0 else f"{c!r}*{shift}" + (f"**{k}" if k > 1 else "")
        for k, c in enumerate(coefficients) if c != 0]
    polynomial = "" if singularity is not None and not coefficients else " + ".join(terms).replace("+ -", "- ") or "0"
    return TaylorResult(
        expression=setup.parsed.canonical, variable=name, around=around,
        point={n: to_plain(v) for n, v in setup.values.items()}, order=order, coefficients=coefficients,
        method=method or "nested autograd", sympy_coefficients=reference,
        exact_coefficients=None if exact is None else [str(c) for c in exact],
        polynomial=polynomial, parse=setup.parse_info(), agree=agreement,
        notes=notes, warnings=list(setup.warnings), singularity=singularity,
        pretty=_pretty_polynomial(shown_exact, name, around) if shown_exact is not None else None,
    )


def _maclaurin_variable(expression: str, values: Mapping[str, Any], wrt: str | None) -> str | None:
    """The variable to expand in when it has no value: --wrt's, or the expression's only unbound one."""
    from ..inputs.names import binding_names

    context = reading_context(list(binding_names(values).values()), [wrt] if wrt else None)
    parsed, _ = compile_text(expression, (), context)
    unbound = [name for name in parsed.variables if name not in values]
    if wrt is not None:
        return wrt if wrt in unbound else None
    return unbound[0] if len(unbound) == 1 else None


def _pretty_polynomial(exact: list[Any], name: str, around: float) -> str:
    """SymPy's 2-D form of the polynomial, lowest degree first as printed on one line."""
    import sympy as sp

    offset = int(around) if around == int(around) else around
    shift = sp.Symbol(name if around == 0 else f"({name} - {offset})")  # printed as written, like the line form
    terms = [c * shift**k for k, c in enumerate(exact) if c != 0]
    return sp.pretty(sp.Add(*terms, evaluate=False), use_unicode=True, wrap_line=False, order="none")


def _terms(exact: list[Any], shift: str) -> list[str]:
    """The polynomial's terms from SymPy's exact coefficients, lowest degree first: `x`, `-x**3/6`."""
    import sympy as sp

    power = sp.Symbol(shift)
    return [str(c * power**k) for k, c in enumerate(exact) if c != 0]
