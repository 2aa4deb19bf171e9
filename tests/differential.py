"""The differential fuzzer's parts: random expression trees, their spellings, and an oracle that never
touches derivcli's parser.

A tree is nested tuples.  `spell(tree, rng)` writes it as text, choosing for every node one of the
equivalent ways people write it (`exp(u)`, `e^(u)`, `E**(u)`; `^`; products by juxtaposition; `|u|`;
`log_2(u)`; sigmoid, softplus, expm1 and tanh written out; Unicode operators; numbers as people write
them (`½`, `.5`, `15e-1`); coefficients (`2x³`); a leading minus (`-b + a`); a number beside a constant
that is exactly 0), so that one tree gives many texts that must all mean the same function.
`oracle(tree)` builds the SymPy expression from the tree directly (SymPy's own classes, derivcli's
activations by their textbook definitions) and evaluates value and gradient with mpmath at 50 digits.
Shared by tests/test_differential.py and benchmarks/differential.py.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

Tree = tuple[Any, ...]
VARIABLES = ("x", "y", "z")

# name -> (how the oracle builds it from SymPy, the spellings of f(u) with "{u}" for the argument's text)
UNARY: dict[str, tuple[Callable[[Any], Any], tuple[str, ...]]] = {}


def _unary_table() -> None:
    import sympy as sp

    def logistic(u: Any) -> Any:
        return 1 / (1 + sp.exp(-u))

    def softplus(u: Any) -> Any:
        return sp.log(1 + sp.exp(u))

    exps = ("exp({u})", "e^({u})", "E**({u})", "e**({u})")
    table: dict[str, tuple[Callable[[Any], Any], tuple[str, ...]]] = {
        "sin": (sp.sin, ("sin({u})", "sin ({u})")),
        "cos": (sp.cos, ("cos({u})",)),
        "tan": (sp.tan, ("tan({u})", "tg({u})")),
        "sec": (sp.sec, ("sec({u})", "1/cos({u})")),
        "cot": (sp.cot, ("cot({u})", "ctg({u})")),
        "asin": (sp.asin, ("asin({u})", "arcsin({u})", "sin^-1({u})")),
        "acos": (sp.acos, ("acos({u})", "arccos({u})")),
        "atan": (sp.atan, ("atan({u})", "arctan({u})", "tan^-1({u})", "tan⁻¹({u})")),
        "sinh": (sp.sinh, ("sinh({u})", "(exp({u}) - exp(-({u})))/2", "(e^({u}) - e^(-({u})))/2")),
        "cosh": (sp.cosh, ("cosh({u})", "(exp({u}) + exp(-({u})))/2", "(E**({u}) + E**(-({u})))/2")),
        "tanh": (sp.tanh, ("tanh({u})", "(exp({u}) - exp(-({u})))/(exp({u}) + exp(-({u})))",
                           "(e^({u}) - e^(-({u})))/(e^({u}) + e^(-({u})))",
                           "(E**({u}) - E**(-({u})))/(E**({u}) + E**(-({u})))")),
        "asinh": (sp.asinh, ("asinh({u})", "arsinh({u})")),
        "atanh": (sp.atanh, ("atanh({u})", "artanh({u})")),
        "exp": (sp.exp, (*exps, "e^{{{u}}}")),
        "expm1": (lambda u: sp.exp(u) - 1, ("expm1({u})", *(f"({e} - 1)" for e in exps))),
        "log": (sp.log, ("log({u})", "ln({u})", "ln ({u})")),
        "log1p": (lambda u: sp.log(1 + u), ("log1p({u})", "log(1 + ({u}))", "ln(1 + ({u}))")),
        "log2": (lambda u: sp.log(u) / sp.log(2), ("log2({u})", "log_2({u})", "log({u})/log(2)", "log({u}, 2)",
                                                   "lb({u})", "log_{{2}}({u})", "log₂({u})")),
        "log10": (lambda u: sp.log(u) / sp.log(10), ("log10({u})", "log_10({u})", "lg({u})", "log({u}, 10)")),
        "sqrt": (sp.sqrt, ("sqrt({u})", "({u})**0.5", "({u})^(1/2)", "√({u})", "root({u}, 2)", "\\sqrt{{{u}}}")),
        "abs": (sp.Abs, ("abs({u})", "|{u}|", "Abs({u})")),
        "erf": (sp.erf, ("erf({u})",)),
        "erfc": (sp.erfc, ("erfc({u})", "(1 - erf({u}))", "(1 + erf(-({u})))")),
        "gamma": (sp.gamma, ("gamma({u})",)),
        "loggamma": (sp.loggamma, ("loggamma({u})", "lgamma({u})")),
        "digamma": (sp.digamma, ("digamma({u})", "psi({u})", "polygamma(0, {u})")),
        "trigamma": (lambda u: sp.polygamma(1, u), ("polygamma(1, {u})", "polygamma(1.0, {u})")),
        "sigmoid": (logistic, ("sigmoid({u})", "expit({u})", *(f"1/(1 + {e.format(u='-({u})')})" for e in exps))),
        "softplus": (softplus, ("softplus({u})", *(f"log(1 + {e})" for e in exps), "ln(1 + e^({u}))")),
        "logsigmoid": (lambda u: -softplus(-u), ("logsigmoid({u})", "-log(1 + exp(-({u})))")),
        "silu": (lambda u: u * logistic(u), ("silu({u})", "swish({u})", "({u})*sigmoid({u})")),
        "gelu": (lambda u: u / 2 * (1 + sp.erf(u / sp.sqrt(2))), ("gelu({u})",)),
        "softsign": (lambda u: u / (1 + sp.Abs(u)), ("softsign({u})", "({u})/(1 + |{u}|)")),
        "mish": (lambda u: u * sp.tanh(softplus(u)), ("mish({u})", "({u})*tanh(softplus({u}))")),
        "relu6": (lambda u: sp.Min(sp.Max(u, 0), 6), ("relu6({u})", "hardtanh({u}, 0, 6)", "clamp({u}, 0, 6)",
                                                        "clip({u}, max=6, min=0)", "min(max({u}, 0.0), 6.0)")),
        "hardsigmoid": (lambda u: sp.Min(sp.Max(u + 3, 0), 6) / 6, ("hardsigmoid({u})", "relu6(({u}) + 3)/6",
                                                                      "clamp(({u})/6 + 0.5, 0, 1)")),
        "hardswish": (lambda u: u * sp.Min(sp.Max(u + 3, 0), 6) / 6, ("hardswish({u})", "({u})*relu6(({u}) + 3)/6",
                                                                        "({u})*hardsigmoid({u})")),
        "selu": (lambda u: sp.Float(SELU_SCALE, 40) * sp.Piecewise(
            (u, u > 0), (sp.Float(SELU_ALPHA, 40) * (sp.exp(u) - 1), True)),
                 ("selu({u})", f"{SELU_SCALE}*elu({{u}}, {SELU_ALPHA})")),
        "celu": (lambda u: sp.Piecewise((u, u > 0), (sp.exp(u) - 1, True)), ("celu({u})", "celu({u}, 1)", "elu({u})",
                                                                             "({u} if {u} > 0 else exp({u}) - 1)")),
    }
    UNARY.update(table)


@dataclass(frozen=True)
class Truth:
    """The oracle's answer: value and gradient as 50-digit numbers rounded to float."""

    value: float
    gradient: dict[str, float]


def random_tree(rng: random.Random, variables: Sequence[str], depth: int = 3) -> Tree:
    """A random expression over `variables`, at most `depth` operators deep."""
    if not UNARY:
        _unary_table()
    if depth == 0 or rng.random() < 0.2:
        if rng.random() < 0.75:
            return ("var", rng.choice(variables))
        return ("num", rng.choice(("2", "3", "0.5", "1.5", "5")))
    kind = rng.choice(("add", "sub", "mul", "div", "pow", "fn", "fn", "fn"))
    if kind == "fn":
        return ("fn", rng.choice(sorted(UNARY)), random_tree(rng, variables, depth - 1))
    if kind == "pow":
        return ("pow", random_tree(rng, variables, depth - 1), rng.choice((2, 3, -1, -2)))
    return (kind, random_tree(rng, variables, depth - 1), random_tree(rng, variables, depth - 1))


def variables_of(tree: Tree) -> list[str]:
    found: set[str] = set()

    def walk(node: Tree) -> None:
        if node[0] == "var":
            found.add(node[1])
        for child in node[1:]:
            if isinstance(child, tuple):
                walk(child)

    walk(tree)
    return sorted(found)


SUPERSCRIPTS = {2: "²", 3: "³", -1: "⁻¹", -2: "⁻²"}
# a number written beside a constant that is exactly 0, which SymPy cannot always see (log(2) + log(3) -
# log(6)) and whose floats round to 1e-16 where it is computed (then 10**20 times that is 10**4)
EXACT_ZEROS = ("({} + 2 - 2)", "({} + log(2) + log(3) - log(6))", "({} + sin(1)^2 + cos(1)^2 - 1)",
               "({} + 10**20*((sqrt(2) + sqrt(3))^2 - 5 - 2*sqrt(6)))")


# each number of the trees as people write it
NUMBERS = {"2": ("2", "2.0", "2e0", "2."), "3": ("3", "3.0", "30e-1"), "0.5": ("0.5", "(1/2)", ".5", "½", "5e-1"),
           "1.5": ("1.5", "(3/2)", "15e-1", "1.50"), "5": ("5", "5.0", "0.5e1")}


def _coefficient(tree: Tree) -> list[str]:
    """A number times a variable or its power, written as a textbook does: 2x, 2 x, 2x^3, 2x³ (a power
    binds tighter than the product without *)."""
    number, other = tree[1], tree[2]
    if number[0] != "num" or number[1] not in ("2", "3", "5"):
        return []
    if other[0] == "var":
        return [f"{number[1]}{other[1]}", f"{number[1]} {other[1]}"]
    if other[0] == "pow" and other[1][0] == "var" and other[2] > 0:
        return [f"({number[1]}{other[1][1]}^{other[2]})", f"({number[1]}{other[1][1]}{SUPERSCRIPTS[other[2]]})"]
    return []


def spell(tree: Tree, rng: random.Random | None) -> str:
    """The tree as text: with `rng`, each node written in one of its equivalent spellings; without, the
    first (Python's own) everywhere.  In a text with braces or a backslash (read as LaTeX) a subscript of
    two digits is braced, as a LaTeX writer must (`log_10` there reads two ways, and derivcli says so)."""
    text = _spelled(tree, rng)
    return text.replace("log_10(", "log_{10}(") if any(mark in text for mark in "{}\\") else text


def _spelled(tree: Tree, rng: random.Random | None) -> str:

    def pick(options: Sequence[str]) -> str:
        return options[0] if rng is None else rng.choice(options)

    kind = tree[0]
    if kind == "var":
        return tree[1]
    if kind == "num":
        number = pick(NUMBERS[tree[1]])
        return pick((number, number, *(zero.format(number) for zero in EXACT_ZEROS)))
    if kind == "fn":
        return pick(UNARY[tree[1]][1]).format(u=_spelled(tree[2], rng))
    if kind == "pow":
        base, n = tree[1], tree[2]
        inner = _spelled(base, rng)
        options = [f"({inner})**{n}" if n > 0 else f"({inner})**({n})", f"({inner})^({n})",
                   f"({inner}){SUPERSCRIPTS[n]}"]
        if n > 0:
            options.append(f"({inner})^{n}")
        if base[0] == "fn" and n > 0 and base[1] in ("sin", "cos", "tan", "sinh", "cosh", "log"):
            argument = _spelled(base[2], rng)
            options += [f"{base[1]}^{n}({argument})", f"{base[1]}{SUPERSCRIPTS[n]}({argument})",
                        f"{base[1]}^{{{n}}}({argument})"]
        return pick(options)
    a, b = _spelled(tree[1], rng), _spelled(tree[2], rng)
    if kind == "add":
        return pick((f"({a} + {b})", f"({a}+{b})"))
    if kind == "sub":  # -b + a: a minus binds looser than a power (-(u)² is -(u²)) and tighter than +
        return pick((f"({a} - {b})", f"({a} − {b})", f"({a} + -{b})", f"(-{b} + {a})"))
    if kind == "mul":
        return pick((f"({a})*({b})", f"({a})({b})", f"({a}) ({b})", f"({a})·({b})", f"({a}) × ({b})",
                     *_coefficient(tree)))
    return pick((f"({a})/({b})", f"({a}) ÷ ({b})"))


def sympy_of(tree: Tree) -> Any:
    """The tree as a SymPy expression, built from SymPy's classes (never from text)."""
    import sympy as sp

    kind = tree[0]
    if kind == "var":
        return sp.Symbol(tree[1], real=True)
    if kind == "num":
        return sp.Rational(tree[1])
    if kind == "fn":
        return UNARY[tree[1]][0](sympy_of(tree[2]))
    if kind == "pow":
        return sympy_of(tree[1]) ** tree[2]
    a, b = sympy_of(tree[1]), sympy_of(tree[2])
    return {"add": a + b, "sub": a - b, "mul": a * b, "div": a / b}[kind]


# where each non-smooth function of the table has its kinks
KINKS = {"abs": (0,), "softsign": (0,), "relu6": (0, 6), "hardsigmoid": (-3, 3), "hardswish": (-3, 3), "selu": (0,),
         "celu": (0,)}
SELU_ALPHA = "1.6732632423543772848170429916717"
SELU_SCALE = "1.0507009873554804934193349852946"


def kink_arguments(tree: Tree) -> Iterator[Any]:
    """The SymPy arguments of every non-smooth node, less each kink (abs, softsign's |u|, relu6 at 0 and
    6, …): points near their zero are left out, where a derivative is one-sided."""
    if tree[0] == "fn" and tree[1] in KINKS:
        yield from (sympy_of(tree[2]) - point for point in KINKS[tree[1]])
    for child in tree[1:]:
        if isinstance(child, tuple):
            yield from kink_arguments(child)


def partial_results(tree: Tree) -> Iterator[Tree]:
    """Every subtree that can leave the reals or the finite numbers: functions, powers and quotients."""
    if tree[0] in ("fn", "pow", "div"):
        yield tree
    for child in tree[1:]:
        if isinstance(child, tuple):
            yield from partial_results(child)


ORACLE_SECONDS = 5.0


def oracle(tree: Tree, point: dict[str, float], limit: float = 1e8) -> Truth | None:
    """Value and gradient at `point` by mpmath at 50 digits, or None where the tree is not a real,
    moderate, smooth function there (outside a domain, near a pole or a kink, or past `limit`), or where
    SymPy's own evaluation of the tree takes longer than ORACLE_SECONDS: building one tree of seed 5152
    (a log of nested constants, whose sign SymPy asks of evalf) ran for minutes until memory ran out."""
    from derivcli.limits.budget import OverBudget, time_budget

    if not UNARY:  # (a tree written by hand, before any was drawn)
        _unary_table()
    try:
        with time_budget(ORACLE_SECONDS):
            return _oracle(tree, point, limit)
    except OverBudget:
        return None


def _oracle(tree: Tree, point: dict[str, float], limit: float) -> Truth | None:
    import mpmath
    import sympy as sp

    try:
        expr = sympy_of(tree)
    except (TypeError, ValueError):  # SymPy cannot order a non-real part (relu6 of acos(3/2)): no real function
        return None
    names = sorted(point)
    symbols = [sp.Symbol(n, real=True) for n in names]
    exact = {s: sp.Float(mpmath.mpf(point[n]), 60) for s, n in zip(symbols, names)}
    for argument in kink_arguments(tree):
        at = _number(argument, exact)
        if at is None or abs(at) < 1e-6:
            return None
    if any(_number(sympy_of(node), exact) is None for node in partial_results(tree)):
        return None  # a step leaves the reals (atanh(1.1)), even where SymPy's algebra cancels it
    value = _number(expr, exact)
    if value is None or abs(value) > limit:
        return None
    gradient = {}
    for symbol, name in zip(symbols, names):
        derivative = _number(sp.diff(expr, symbol), exact)
        if derivative is None or abs(derivative) > limit:
            return None
        gradient[name] = derivative
    return Truth(value, gradient)


def _number(expr: Any, at: dict[Any, Any]) -> float | None:
    """expr at `at` to 50 digits, as a float; None where it is not a finite real number."""
    import sympy as sp

    try:
        number = expr.evalf(50, subs=at)
    except (ZeroDivisionError, ValueError, TypeError, OverflowError):
        return None
    if not number.is_number or number.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return None
    real, imaginary = number.as_real_imag()
    if abs(imaginary) > 1e-30 * max(1, abs(real)) or not real.is_Float and not real.is_Integer \
            and not real.is_Rational:
        return None
    result = float(real)
    return result if math.isfinite(result) else None


def close(got: Any, truth: float, rtol: float = 1e-8, atol: float = 1e-10) -> bool:
    """Whether a number derivcli printed is the truth, to float64's check tolerance."""
    return isinstance(got, (int, float)) and math.isfinite(got) and abs(got - truth) <= atol + rtol * abs(truth)


def cases(seed: int, count: int, spellings: int = 3) -> Iterator[tuple[Tree, dict[str, float], Truth, list[str]]]:
    """`count` trees with a point where the oracle answers, each with its Python spelling first and then
    `spellings` random ones (distinct texts only)."""
    rng = random.Random(seed)
    made = 0
    while made < count:
        variables = VARIABLES[:rng.randint(1, 3)]
        tree = random_tree(rng, variables, depth=rng.randint(1, 4))
        names = variables_of(tree)
        if not names:
            continue
        for _ in range(4):
            point = {n: round(rng.uniform(-3, 3), 3) for n in names}
            truth = oracle(tree, point)
            if truth is not None:
                break
        else:
            continue
        texts = [spell(tree, None)]
        for _ in range(spellings):
            text = spell(tree, rng)
            if text not in texts and len(text) < 2000:
                texts.append(text)
        made += 1
        yield tree, point, truth, texts
