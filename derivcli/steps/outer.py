"""The outer function of an expression and its own rule: every function of the table, powers,
exponentials and logarithms to a base.

A function's rule is not written by hand: it is SymPy's derivative of the function applied to a fresh
symbol (d/du sech(u) = -tanh(u)*sech(u)), so each of the table's functions has its rule, stated as a
formula, and named by the table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import sympy as sp

from ..table.functions import FUNCTIONS, FunctionSpec, resolve

POWER = ("power rule", "d/du u**n = n*u**(n - 1)", r"\frac{d}{du} u^n = n u^{n - 1}")
EXPONENTIAL = ("exponential rule", "d/du a**u = a**u*log(a)", r"\frac{d}{du} a^u = a^u \ln a")
LOG_BASE = ("logarithm to a base", "d/du log(u, b) = 1/(u*log(b))", r"\frac{d}{du} \log_b u = \frac{1}{u \ln b}")


@dataclass
class OuterRule:
    """f applied to symbols, and its derivative by one of them; `statement` (text, LaTeX) where the rule
    has a general form beyond this instance (the power rule's n), None where the instance is the rule."""

    name: str
    expression: sp.Expr
    result: sp.Expr
    statement: tuple[str, str] | None


@dataclass
class Outer:
    """expr = f(arguments…) for the varying `arguments`; `rule(*symbols, by=i)` is f of the symbols in their
    place, differentiated by the i-th."""

    arguments: list[sp.Expr]
    make: Callable[[Sequence[sp.Symbol]], sp.Expr]
    name: str
    statement: tuple[str, str] | None = None

    def rule(self, *symbols: sp.Symbol, by: int = 0) -> OuterRule:
        expression = self.make(symbols)
        return OuterRule(self.name, expression, sp.diff(expression, symbols[by]), self.statement)


# SymPy's derivatives that a textbook writes another way: d/du tan(u) = sec²(u), not tan²(u) + 1.
TEXTBOOK_FORMS: tuple[tuple[Callable[[sp.Expr], sp.Expr], Callable[[sp.Expr], sp.Expr]], ...] = (
    (lambda u: sp.tan(u) ** 2 + 1, lambda u: sp.sec(u) ** 2),
    (lambda u: -sp.cot(u) ** 2 - 1, lambda u: -sp.csc(u) ** 2),
    (lambda u: 1 - sp.tanh(u) ** 2, lambda u: sp.sech(u) ** 2),
    (lambda u: 1 - sp.coth(u) ** 2, lambda u: -sp.csch(u) ** 2),
)


def textbook_form(derivative: sp.Expr) -> sp.Expr:
    """A derivative as a textbook writes it, for the views (the tree keeps SymPy's own form, which `verify`
    finds identical to sympy.diff at once; these identities are the same function)."""
    for node in derivative.atoms(sp.tan, sp.cot, sp.tanh, sp.coth):
        for sympy_form, textbook in TEXTBOOK_FORMS:
            derivative = derivative.subs(sympy_form(node.args[0]), textbook(node.args[0]))
    return derivative


def outer_form(expr: sp.Expr, x: sp.Symbol) -> Outer | None:
    """expr as an outer function of its varying parts, or None where it is none of these."""
    if isinstance(expr, sp.Pow):
        base, exponent = expr.args
        if not exponent.has(x):
            return Outer([base], lambda s: s[0] ** exponent, POWER[0], POWER[1:])
        if not base.has(x):
            return Outer([exponent], lambda s: base ** s[0], EXPONENTIAL[0], EXPONENTIAL[1:])
        return None
    if isinstance(expr, sp.Mul):
        split = log_base(expr, x)
        if split is None or len(expr.args) != 2:
            return None
        argument, base = split
        return Outer([argument], lambda s: sp.log(s[0]) / sp.log(base), LOG_BASE[0], LOG_BASE[1:])
    spec = spec_for(expr)
    if spec is None or not all(isinstance(argument, sp.Expr) for argument in expr.args):
        return None
    varying = [index for index, argument in enumerate(expr.args) if argument.has(x)]
    func, args = expr.func, expr.args

    def make(symbols: Sequence[sp.Symbol]) -> sp.Expr:
        given = dict(zip(varying, symbols))
        return func(*(given.get(index, argument) for index, argument in enumerate(args)))

    return Outer([args[index] for index in varying], make, f"{rule_name(spec)} rule")


def log_base(expr: sp.Mul, x: sp.Symbol) -> tuple[sp.Expr, sp.Expr] | None:
    """(u, b) where the product holds log(u) and 1/log(b) (how SymPy writes log(u, b)), else None."""
    logs = [factor for factor in expr.args if isinstance(factor, sp.log) and factor.has(x)]
    bases = [factor.base.args[0] for factor in expr.args
             if isinstance(factor, sp.Pow) and factor.exp == -1 and isinstance(factor.base, sp.log)
             and not factor.has(x)]
    if len(logs) != 1 or len(bases) != 1 or len(logs[0].args) != 1:
        return None
    return logs[0].args[0], bases[0]


def rule_name(spec: FunctionSpec) -> str:
    """The table's name for the function; for an internal entry standing for a public one (SymPy's own
    Abs, from simplification), the public name."""
    if spec.internal:
        constructor = resolve(spec.sympy)
        for public in FUNCTIONS:
            own = resolve(public.sympy)
            if not public.internal and isinstance(own, type) and isinstance(constructor, type) \
                    and issubclass(own, constructor):
                return public.name
    return spec.name


def spec_for(expr: sp.Basic) -> FunctionSpec | None:
    """The table's entry for the node's class (walking the class's MRO, as the lowering does)."""
    table = _specs_by_class()
    for cls in type(expr).__mro__:
        if cls in table:
            return table[cls]
    return None


@cache
def _specs_by_class() -> dict[type, FunctionSpec]:
    table: dict[type, FunctionSpec] = {}
    for spec in FUNCTIONS:
        constructor = resolve(spec.sympy)
        if isinstance(constructor, type):
            table.setdefault(constructor, spec)
    return table
