"""The derivation as a teacher writes it: a tree of rule applications, built from the SymPy expression.

Each `Step` differentiates one expression by one rule; its result is made from its substeps' results
(the product rule's sum of products, the chain rule's product of the outer and inner derivatives), never
by asking SymPy for the derivative, so `verify` can hold every step to `sympy.diff`.  The structural
rules (constant, sum, product, quotient, chain, logarithmic differentiation, …) are written here; the rule
of each function is derived from SymPy in `outer`, named from the functions table.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from .outer import Outer, OuterRule, log_base, outer_form

# The rules that are not one function's: (name, statement as text, statement as LaTeX).  `{x}` is the
# variable differentiated by.
CONSTANT = ("constant rule", "d/d{x} c = 0", r"\frac{{d}}{{d{x}}} c = 0")
VARIABLE = ("variable rule", "", "")  # d/dx x = 1: the step says it all
MULTIPLE = ("constant multiple rule", "(c*f)' = c*f'", r"(c f)' = c f'")
SUM = ("sum rule", "(f + g)' = f' + g'", r"(f + g)' = f' + g'")
DIFFERENCE = ("sum and difference rule", "(f +- g)' = f' +- g'", r"(f \pm g)' = f' \pm g'")
PRODUCT = ("product rule", "(f*g)' = f'*g + f*g'", r"(f g)' = f' g + f g'")
PRODUCTS = ("product rule", "(f1*f2*...*fn)' = sum of fi'*(the other factors)",
            r"(f_1 \cdots f_n)' = \sum_i f_i' \prod_{{j \ne i}} f_j")
QUOTIENT = ("quotient rule", "(f/g)' = (f'*g - f*g')/g**2",
            r"\left(\frac{{f}}{{g}}\right)' = \frac{{f' g - f g'}}{{g^2}}")
RECIPROCAL = ("reciprocal rule", "(1/g)' = -g'/g**2", r"\left(\frac{{1}}{{g}}\right)' = -\frac{{g'}}{{g^2}}")
CHAIN = ("chain rule", "d/d{x} f({u}) = f'({u})*d{u}/d{x}",
         r"\frac{{d}}{{d{x}}} f({u}) = f'({u}) \frac{{d{u}}}{{d{x}}}")
PARTIAL = ("df/d{u}*d{u}/d{x}", r"\frac{{\partial f}}{{\partial {u}}} \frac{{d{u}}}{{d{x}}}")  # one argument's term
LOGARITHMIC = ("logarithmic differentiation",
               "y = f**g, so ln(y) = g*ln(f), y'/y = (g*ln(f))' and y' = f**g*(g*ln(f))'",
               r"y = f^g, \quad \ln y = g \ln f, \quad \frac{{y'}}{{y}} = (g \ln f)', \quad y' = f^g \, (g \ln f)'")
LOGARITHMIC_PRODUCT = ("logarithmic differentiation",
                       "y = f1**a1*f2**a2*..., so ln|y| = a1*ln|f1| + a2*ln|f2| + ... and y' = y*(ln|y|)'",
                       r"y = \prod_i f_i^{{a_i}}, \quad \ln |y| = \sum_i a_i \ln |f_i|, \quad y' = y \, "
                       r"(\ln |y|)'")
MANY_FACTORS = 4  # a product of this many varying factors (or 3 with a quotient) by logarithmic differentiation
PIECEWISE = ("piecewise rule", "differentiate each branch where its condition holds",
             r"\text{{differentiate each branch where its condition holds}}")
TENSOR = ("tensor function", "its derivative is taken by autograd", r"\text{{its derivative is taken by autograd}}")
SYMPY = ("SymPy's derivative", "differentiated by SymPy", r"\text{{differentiated by SymPy}}")
INNER_NAMES = ("u", "v", "w", "p", "q", "r", "s", "t")


@dataclass
class Step:
    """One rule applied: d/d(wrt) of `expression` is `result`, from the substeps' results."""

    rule: str
    expression: sp.Expr
    result: sp.Expr
    wrt: sp.Symbol
    statement: str | None  # the rule in general: "(f*g)' = f'*g + f*g'"; None where the step itself is its
    statement_latex: str | None  # rule (d/du sech(u) = -tanh(u)*sech(u), derived from SymPy)
    lets: list[tuple[sp.Symbol, sp.Expr]] = field(default_factory=list)  # the chain rule's inner functions
    substeps: list[Step] = field(default_factory=list)
    note: str | None = None
    check: Any = None  # verify.Check, once verified
    numbers: Any = None  # values.StepNumbers, at a point
    names: list[tuple[str, sp.Expr]] = field(default_factory=list)  # the product and quotient rules' f and g
    role: str | None = None  # which named part this substep differentiates (f, g)

    def walk(self) -> Iterator[Step]:
        """This step and every substep, in pre-order (the order the views number them)."""
        stack = [self]
        while stack:
            step = stack.pop()
            yield step
            stack.extend(reversed(step.substeps))


class Deriver:
    """Builds the tree of one expression's derivative by one variable, naming inner functions u, v, w, …
    (names the expression does not use)."""

    def __init__(self, expr: sp.Expr, x: sp.Symbol) -> None:
        self.x = x
        taken = {symbol.name for symbol in expr.free_symbols}
        self.names = _unused_names(taken)
        self.parts = next(pair for pair in (("f", "g"), ("F", "G"), ("p", "q")) if not taken & set(pair))

    def inner_symbol(self) -> sp.Symbol:
        return sp.Symbol(next(self.names), real=True)

    def derive(self, expr: sp.Expr) -> Step:
        """The step that differentiates `expr` by x, with its substeps."""
        x = self.x
        if not expr.has(x):
            return self.step(CONSTANT, expr, sp.S.Zero)
        if expr == x:
            return self.step(VARIABLE, expr, sp.S.One)
        from ..table.sympy_forms import TensorFunction

        if isinstance(expr, TensorFunction):
            return self.step(TENSOR, expr, sp.Derivative(expr, x),
                             note="a tensor function: derivcli leaves its derivative to autograd")
        if isinstance(expr, sp.Add):
            terms = expr.as_ordered_terms()  # in the order they are printed
            parts = [self.derive(term) for term in terms]
            rule = DIFFERENCE if any(term.could_extract_minus_sign() for term in terms) else SUM
            return self.step(rule, expr, sp.Add(*(part.result for part in parts)), parts)
        if isinstance(expr, sp.Piecewise):
            parts = [self.derive(branch) for branch, _ in expr.args]
            pieces = [(part.result, condition) for part, (_, condition) in zip(parts, expr.args)]
            return self.step(PIECEWISE, expr, sp.Piecewise(*pieces), parts)
        if isinstance(expr, sp.Mul):
            return self.product(expr)
        if isinstance(expr, sp.Pow) and expr.base.has(x) and expr.exp.has(x):
            exponent = self.derive(expr.exp * sp.log(expr.base))
            return self.step(LOGARITHMIC, expr, expr * exponent.result, [exponent])
        form = outer_form(expr, x)
        if form is not None:
            return self.apply(form, expr)
        return self.step(SYMPY, expr, sp.diff(expr, x))

    def product(self, expr: sp.Mul) -> Step:
        """c·f (constants first), then log(u)/log(b), f/g, 1/g, and f·g·…"""
        x = self.x
        constants = [factor for factor in expr.args if not factor.has(x)]
        varying = [factor for factor in expr.args if factor.has(x)]
        if constants:
            form = outer_form(expr, x)
            if form is not None:  # log(u)/log(b): the logarithm to base b, not a multiple of log(u)
                return self.apply(form, expr)
            split = log_base(expr, x)
            if split is not None and len(varying) == 1:  # c*log(u, b): keep 1/log(b) with the logarithm
                base = 1 / sp.log(split[1])
                constants.remove(base)
                varying.append(base)
            part = self.derive(sp.Mul(*varying))
            return self.step(MULTIPLE, expr, sp.Mul(*constants) * part.result, [part])
        top = [factor for factor in varying if not _in_denominator(factor)]
        bottom = [1 / factor for factor in varying if _in_denominator(factor)]
        f_name, g_name = self.parts
        if len(varying) >= MANY_FACTORS or (bottom and len(varying) >= MANY_FACTORS - 1):
            return self.logarithmic(expr, varying)
        if bottom and not top:
            denominator = sp.Mul(*bottom)
            part = self.named(self.derive(denominator), g_name)
            return self.step(RECIPROCAL, expr, -part.result / denominator**2, [part], names=[(g_name, denominator)])
        if bottom:
            numerator, denominator = sp.Mul(*top), sp.Mul(*bottom)
            f, g = self.named(self.derive(numerator), f_name), self.named(self.derive(denominator), g_name)
            result = (f.result * denominator - numerator * g.result) / denominator**2
            return self.step(QUOTIENT, expr, result, [f, g], names=[(f_name, numerator), (g_name, denominator)])
        names = [f_name, g_name] if len(varying) == 2 else [f"{f_name}{index}" for index in range(1, len(varying) + 1)]
        parts = [self.named(self.derive(factor), name) for factor, name in zip(varying, names)]
        terms = [sp.Mul(*(part.result if j == i else factor for j, factor in enumerate(varying)))
                 for i, part in enumerate(parts)]
        return self.step(PRODUCT if len(varying) == 2 else PRODUCTS, expr, sp.Add(*terms), parts,
                         names=list(zip(names, varying)))

    def logarithmic(self, expr: sp.Expr, varying: list[sp.Expr]) -> Step:
        """A product of many factors: ln|y| is a sum of each factor's logarithm times its power, which the
        sum rule differentiates; y' = y·(ln|y|)' (where y ≠ 0)."""
        logarithm = sp.Add(*(exponent * sp.log(base) for base, exponent in
                             (factor.as_base_exp() for factor in varying)))
        part = self.derive(logarithm)
        return self.step(LOGARITHMIC_PRODUCT, expr, expr * part.result, [part])

    @staticmethod
    def named(step: Step, role: str) -> Step:
        step.role = role
        return step

    def apply(self, form: Outer, expr: sp.Expr) -> Step:
        """A function of one varying argument: its rule directly (f(x)), or the chain rule through a named
        inner function (f(u), u = g(x)); of several, the chain rule through each."""
        x = self.x
        if len(form.arguments) == 1 and form.arguments[0] == x:
            return _rule_step(form.rule(x), x)
        symbols = [self.inner_symbol() for _ in form.arguments]
        inners = [self.derive(argument) for argument in form.arguments]
        outers = [form.rule(*symbols, by=index) for index in range(len(symbols))]
        back = dict(zip(symbols, form.arguments))
        result = sp.Add(*(outer.result.xreplace(back) * inner.result for outer, inner in zip(outers, inners)))
        partials = [_rule_step(outer, symbol) for outer, symbol in zip(outers, symbols)]
        return self.step(_chain_rule(symbols), expr, result, [*partials, *inners],
                         lets=list(zip(symbols, form.arguments)))

    def step(self, rule: tuple[str, str, str], expr: sp.Expr, result: sp.Expr, substeps: list[Step] | None = None,
             lets: list[tuple[sp.Symbol, sp.Expr]] | None = None, note: str | None = None,
             names: list[tuple[str, sp.Expr]] | None = None) -> Step:
        name, text, latex = rule
        x = self.x.name
        return Step(name, expr, result, self.x, text.format(x=x) or None, latex.format(x=sp.latex(self.x)) or None,
                    lets or [], substeps or [], note, names=names or [])


def _chain_rule(symbols: list[sp.Symbol]) -> tuple[str, str, str]:
    """The chain rule stated in the names of its inner functions: d/dx f(u) = f'(u)*du/dx, and through
    several arguments d/dx f(u, v) = df/du*du/dx + df/dv*dv/dx."""
    names = [symbol.name for symbol in symbols]
    if len(names) == 1:
        return CHAIN[0], CHAIN[1].replace("{u}", names[0]), CHAIN[2].replace("{u}", names[0])
    arguments = ", ".join(names)
    text = " + ".join(PARTIAL[0].replace("{u}", u) for u in names)
    latex = " + ".join(PARTIAL[1].replace("{u}", u) for u in names)
    return ("chain rule, several arguments", f"d/d{{x}} f({arguments}) = {text}",
            rf"\frac{{{{d}}}}{{{{d{{x}}}}}} f({arguments}) = {latex}")


def _rule_step(rule: OuterRule, symbol: sp.Symbol) -> Step:
    text, latex = rule.statement or (None, None)
    return Step(rule.name, rule.expression, rule.result, symbol, text, latex)


def _unused_names(taken: set[str]) -> Iterator[str]:
    """u, v, w, …, then u2, v2, …: never a name of the expression's own."""
    for round_ in itertools.count(1):
        for name in INNER_NAMES:
            candidate = name if round_ == 1 else f"{name}{round_}"
            if candidate not in taken:
                yield candidate


def _in_denominator(factor: sp.Expr) -> bool:
    return isinstance(factor, sp.Pow) and factor.exp.is_number and bool(factor.exp.is_negative)


def derivation(expr: sp.Expr, x: sp.Symbol) -> Step:
    """The whole tree of d(expr)/dx."""
    from ..limits.recursion import deep_recursion

    with deep_recursion():
        return Deriver(expr, x).derive(expr)
