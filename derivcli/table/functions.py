"""The one table of supported functions.

Each entry names its SymPy form (what the parser builds) and its torch form (what the lowering runs), as
dotted paths resolved on first use, so that listing the table (`derivcli functions`, tab completion)
imports neither SymPy nor torch.  The lowering looks torch forms up by SymPy class, so SymPy nodes that
only appear inside derivatives (polygamma, DiracDelta, Heaviside, …) are entries too, marked internal.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

SP = "sympy."
CF = "sympy.codegen.cfunctions."
OWN = "derivcli.table.sympy_forms."
T = "torch."
NF = "torch.nn.functional."
TF = "derivcli.table.torch_forms."


@dataclass(frozen=True)
class FunctionSpec:
    """One supported function: how to build it in SymPy, how to run it in torch, and what it means."""

    name: str
    sympy: str  # dotted path of the SymPy constructor the parser calls
    torch: str  # dotted path of the torch form the lowering calls with the node's args
    arity: tuple[int, int | None]  # (min, max) arguments; None: any number
    description: str
    domain: tuple[float, float] = (-3.0, 3.0)  # where the tests sample it (open interval)
    aliases: tuple[str, ...] = ()
    internal: bool = False  # only produced by SymPy (inside derivatives) or by syntax, not written by users
    tensor: bool = False  # works on whole tensors (reductions, matmul, losses), not element by element
    exact_arg_limit: float | None = None  # constant args above this would make SymPy compute huge numbers
    inverse: str | None = None  # the entry that inverts it (the parser reads sin^-1(x) as asin(x))

    def arity_text(self) -> str:
        low, high = self.arity
        if high is None:
            return f"{low}+"
        return str(low) if low == high else f"{low}-{high}"


def _f(name: str, sympy: str, torch: str, description: str, **kw: Any) -> FunctionSpec:
    return FunctionSpec(name, sympy, torch, kw.pop("arity", (1, 1)), description, **kw)


POS = (0.05, 4.0)
UNIT = (-0.95, 0.95)
OUTSIDE_UNIT = (1.05, 4.0)

FUNCTIONS: tuple[FunctionSpec, ...] = (
    _f("sin", SP + "sin", T + "sin", "sine", inverse="asin"),
    _f("cos", SP + "cos", T + "cos", "cosine", inverse="acos"),
    _f("tan", SP + "tan", T + "tan", "tangent", domain=(-1.4, 1.4), aliases=("tg",), inverse="atan"),
    _f("sec", SP + "sec", TF + "sec", "secant, 1/cos(x)", domain=(-1.4, 1.4), inverse="asec"),
    _f("csc", SP + "csc", TF + "csc", "cosecant, 1/sin(x)", domain=(0.1, 3.0), aliases=("cosec",),
       inverse="acsc"),
    _f("cot", SP + "cot", TF + "cot", "cotangent, 1/tan(x)", domain=(0.1, 3.0), aliases=("ctg", "cotg"),
       inverse="acot"),
    _f("asin", SP + "asin", T + "asin", "inverse sine", domain=UNIT, aliases=("arcsin",)),
    _f("acos", SP + "acos", T + "acos", "inverse cosine", domain=UNIT, aliases=("arccos",)),
    _f("atan", SP + "atan", T + "atan", "inverse tangent", aliases=("arctan", "arctg")),
    _f("atan2", SP + "atan2", T + "atan2", "angle of the point (x, y): atan2(y, x)", arity=(2, 2),
       domain=POS, aliases=("arctan2",)),
    _f("asec", SP + "asec", TF + "asec", "inverse secant", domain=OUTSIDE_UNIT, aliases=("arcsec",)),
    _f("acsc", SP + "acsc", TF + "acsc", "inverse cosecant", domain=OUTSIDE_UNIT, aliases=("arccsc",)),
    _f("acot", SP + "acot", TF + "acot", "inverse cotangent", domain=POS, aliases=("arccot", "arcctg")),
    _f("sinh", SP + "sinh", T + "sinh", "hyperbolic sine", inverse="asinh"),
    _f("cosh", SP + "cosh", T + "cosh", "hyperbolic cosine", inverse="acosh"),
    _f("tanh", SP + "tanh", T + "tanh", "hyperbolic tangent", inverse="atanh"),
    _f("coth", SP + "coth", TF + "coth", "hyperbolic cotangent, 1/tanh(x)", domain=(0.1, 3.0),
       inverse="acoth"),
    _f("sech", SP + "sech", TF + "sech", "hyperbolic secant, 1/cosh(x)", inverse="asech"),
    _f("csch", SP + "csch", TF + "csch", "hyperbolic cosecant, 1/sinh(x)", domain=(0.1, 3.0),
       aliases=("cosech",), inverse="acsch"),
    _f("asinh", SP + "asinh", T + "asinh", "inverse hyperbolic sine", aliases=("arcsinh", "arsinh")),
    _f("acosh", SP + "acosh", T + "acosh", "inverse hyperbolic cosine", domain=OUTSIDE_UNIT,
       aliases=("arccosh", "arcosh")),
    _f("atanh", SP + "atanh", T + "atanh", "inverse hyperbolic tangent", domain=UNIT,
       aliases=("arctanh", "artanh")),
    _f("acoth", SP + "acoth", TF + "acoth", "inverse hyperbolic cotangent (|x| > 1)", domain=OUTSIDE_UNIT,
       aliases=("arcoth", "arccoth")),
    _f("asech", SP + "asech", TF + "asech", "inverse hyperbolic secant (0 < x <= 1)", domain=(0.05, 0.95),
       aliases=("arsech", "arcsech")),
    _f("acsch", SP + "acsch", TF + "acsch", "inverse hyperbolic cosecant", domain=POS,
       aliases=("arcsch", "arccsch")),
    _f("exp", SP + "exp", T + "exp", "e to the power x"),
    _f("expm1", CF + "expm1", TF + "expm1", "exp(x) - 1, accurate near 0"),
    _f("log", SP + "log", T + "log", "natural logarithm; log(x, b) is base b", arity=(1, 2), domain=POS,
       aliases=("ln",)),
    _f("log1p", CF + "log1p", T + "log1p", "log(1 + x), accurate near 0", domain=(-0.9, 3.0)),
    _f("log2", CF + "log2", T + "log2", "base-2 logarithm", domain=POS, aliases=("lb",)),
    _f("log10", CF + "log10", T + "log10", "base-10 logarithm", domain=POS, aliases=("lg",)),
    _f("sqrt", OWN + "sqrt", T + "sqrt", "square root", domain=POS),
    _f("cbrt", OWN + "cbrt", TF + "cbrt", "real cube root (negative for negative x)", domain=POS),
    _f("root", SP + "root", T + "pow", "principal n-th root: root(x, n) = x**(1/n)", arity=(2, 2),
       domain=POS),
    _f("abs", OWN + "Abs", T + "abs", "absolute value", aliases=("Abs",)),
    _f("sign", OWN + "sign", T + "sign", "sign: -1, 0 or 1 (derivative 0)", aliases=("sgn",)),
    _f("floor", OWN + "floor", T + "floor", "largest integer <= x (derivative 0)", exact_arg_limit=1e300),
    _f("ceiling", OWN + "ceiling", T + "ceil", "smallest integer >= x (derivative 0)", aliases=("ceil",),
       exact_arg_limit=1e300),
    _f("min", SP + "Min", TF + "minimum", "smallest argument; min(x) of one tensor: its smallest element",
       arity=(1, None), aliases=("Min",)),
    _f("max", SP + "Max", TF + "maximum", "largest argument; max(x) of one tensor: its largest element",
       arity=(1, None), aliases=("Max",)),
    _f("erf", SP + "erf", T + "erf", "error function"),
    _f("erfc", SP + "erfc", T + "erfc", "complementary error function, 1 - erf(x)"),
    _f("gamma", SP + "gamma", TF + "gamma", "gamma function", domain=(0.1, 5.0), exact_arg_limit=1000),
    _f("factorial", SP + "factorial", TF + "factorial", "x! = gamma(x + 1)", domain=(0.1, 5.0),
       exact_arg_limit=1000),
    _f("loggamma", SP + "loggamma", TF + "loggamma", "log of the gamma function", domain=(0.1, 5.0),
       aliases=("lgamma",), exact_arg_limit=1000),
    _f("digamma", SP + "digamma", TF + "digamma", "derivative of loggamma", domain=(0.1, 5.0),
       aliases=("psi",), exact_arg_limit=1000),
    _f("sigmoid", OWN + "sigmoid", TF + "sigmoid", "logistic function 1/(1 + exp(-x)), stable",
       domain=(-8.0, 8.0), aliases=("expit",)),
    _f("relu", OWN + "relu", T + "relu", "max(x, 0); derivative 0 at 0 as in torch"),
    _f("softplus", OWN + "softplus", TF + "softplus", "log(1 + exp(x)), stable", domain=(-8.0, 8.0)),
    # Activations, exactly as torch.nn.functional defines them (its defaults, its gradient at the kinks):
    _f("gelu", OWN + "gelu", NF + "gelu", "x/2*(1 + erf(x/sqrt(2))), the exact (erf) GELU"),
    _f("silu", OWN + "silu", NF + "silu", "x*sigmoid(x)", domain=(-8.0, 8.0), aliases=("swish",)),
    _f("elu", OWN + "elu", TF + "elu", "x for x > 0, alpha*(exp(x) - 1) else; alpha defaults to 1",
       arity=(1, 2)),
    _f("leaky_relu", OWN + "leaky_relu", TF + "leaky_relu",
       "x for x > 0, slope*x else; slope defaults to 0.01", arity=(1, 2)),
    _f("softsign", OWN + "softsign", NF + "softsign", "x/(1 + |x|)"),
    _f("logsigmoid", OWN + "logsigmoid", NF + "logsigmoid", "log(sigmoid(x)), stable", domain=(-8.0, 8.0)),
    _f("mish", OWN + "mish", NF + "mish", "x*tanh(softplus(x))"),
    _f("hardtanh", OWN + "hardtanh", TF + "hardtanh",
       "x clamped to [min, max]: hardtanh(x, min, max), defaults -1 and 1", arity=(1, 3)),
    _f("heaviside", SP + "Heaviside", TF + "heaviside", "step: 0 for x<0, 1/2 at 0, 1 for x>0",
       arity=(1, 2), aliases=("Heaviside", "step")),
    # Tensor functions (whole vectors and matrices; scalar functions above apply element by element):
    _f("dot", OWN + "dot", TF + "dot", "dot product of two vectors", arity=(2, 2), tensor=True),
    _f("matmul", OWN + "matmul", TF + "matmul", "matrix product, also written a @ b", arity=(2, 2),
       tensor=True),
    _f("sum", OWN + "tsum", T + "sum", "sum of all elements", tensor=True),
    _f("mean", OWN + "mean", T + "mean", "mean of all elements", tensor=True),
    _f("prod", OWN + "prod", T + "prod", "product of all elements", tensor=True),
    _f("norm", OWN + "norm", TF + "norm", "Euclidean (Frobenius) norm", tensor=True),
    _f("logsumexp", OWN + "logsumexp", TF + "logsumexp", "log(sum(exp(x))), stable", tensor=True),
    _f("softmax", OWN + "softmax", TF + "softmax", "softmax along the last axis", tensor=True),
    _f("log_softmax", OWN + "log_softmax", TF + "log_softmax", "log of softmax along the last axis, stable",
       tensor=True),
    _f("mse_loss", OWN + "mse_loss", TF + "mse_loss", "mean squared error (mean reduction, as torch)",
       arity=(2, 2), tensor=True),
    _f("cross_entropy", OWN + "cross_entropy", TF + "cross_entropy",
       "cross entropy of logits against probabilities (or a class index)", arity=(2, 2), tensor=True),
    _f("transpose", OWN + "transpose", TF + "transpose", "matrix transpose, also written W.T", tensor=True),
    _f("detach", OWN + "detach", TF + "detach", "the value without its gradient (a constant)", tensor=True),
    # Produced by syntax (max(x) of one tensor, x[0]) or by SymPy inside derivatives:
    _f("amax", OWN + "amax", TF + "amax", "largest element (max of one argument)", internal=True, tensor=True),
    _f("amin", OWN + "amin", TF + "amin", "smallest element (min of one argument)", internal=True, tensor=True),
    _f("index", OWN + "index", TF + "indexer", "x[i], W[i, j], x[a:b]", internal=True, tensor=True),
    _f("sympy-abs", SP + "Abs", T + "abs", "SymPy's own Abs, from simplification (sqrt(x**2))", internal=True),
    _f("sympy-sign", SP + "sign", T + "sign", "SymPy's own sign, inside derivatives", internal=True),
    _f("polygamma", SP + "polygamma", TF + "polygamma", "n-th derivative of digamma", arity=(2, 2),
       internal=True),
    _f("held", OWN + "held", T + "positive", "a constant kept from SymPy for torch (1/0, asin(3))",
       internal=True),
    _f("DiracDelta", SP + "DiracDelta", TF + "zero", "Dirac delta (0 away from the origin)",
       arity=(1, 2), internal=True),
)


@cache
def by_name() -> dict[str, FunctionSpec]:
    """Every public name and alias, mapped to its entry."""
    names: dict[str, FunctionSpec] = {}
    for spec in FUNCTIONS:
        if spec.internal:
            continue
        for name in (spec.name, *spec.aliases):
            names[name] = spec
    return names


def resolve(path: str) -> Any:
    """Import the object a dotted path names (the table's lazy reference)."""
    module, _, attribute = path.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


@cache
def torch_form_by_sympy_class() -> dict[type, Callable[..., Any]]:
    """SymPy class -> torch form, for the lowering: built once, on first use."""
    forms: dict[type, Callable[..., Any]] = {}
    for spec in FUNCTIONS:
        constructor = resolve(spec.sympy)
        if isinstance(constructor, type):
            forms[constructor] = resolve(spec.torch)
    return forms
