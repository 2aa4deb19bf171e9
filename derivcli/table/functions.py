"""The one table of supported functions.

Each entry names its SymPy form (what the parser builds) and its torch form (what the lowering runs), as
dotted paths resolved on first use, so that listing the table (`derivcli functions`, tab completion)
imports neither SymPy nor torch.  The lowering looks torch forms up by SymPy class, so SymPy nodes that
only appear inside derivatives (DiracDelta, SymPy's own sign and Abs, …) are entries too, marked internal.
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
ACT = "derivcli.table.activations."
TEN = "derivcli.table.tensor_forms."
OPS = "derivcli.table.tensor_ops."
T = "torch."
NF = "torch.nn.functional."
TF = "derivcli.table.torch_forms."
TT = "derivcli.table.torch_tensor_ops."

REST = ("operands", "ints")  # kinds that take every remaining positional argument


@dataclass(frozen=True)
class Param:
    """One argument of a function that takes settings: a tensor expression (`tensor`; `tensors`, a list
    `[A, B]`; `operands`, the rest), or a literal written in the text (`int`, `ints` the rest, `number`,
    `bool`, `text` with its `choices`).  A literal is a setting, never a variable: it has no gradient."""

    name: str
    kind: str
    default: Any = None  # None: required for a tensor, absent for a setting
    choices: tuple[str, ...] = ()
    required: bool = False

    def text(self) -> str:
        if self.kind in REST:
            return f"{self.name}..."
        if self.required or (self.kind in ("tensor", "tensors") and self.default is None):
            return self.name
        if self.kind == "tensor":
            return f"{self.name}=None"  # may be left out (clamp's bounds)
        shown = f'"{self.default}"' if isinstance(self.default, str) else self.default
        return f"{self.name}={shown}"


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
    signature: tuple[Param, ...] = ()  # every argument in order, for a function that takes settings
    keyword_only: tuple[Param, ...] = ()  # settings of a function read by arity otherwise (max(X, dim=1))

    def keywords(self) -> tuple[Param, ...]:
        """The arguments that may be given as name=value: the settings, and the tensors that may be left out
        (clamp's min and max), whose value then is a number."""
        return tuple(param for param in self.signature if param.kind not in (*REST, "tensors")
                     and not (param.kind == "tensor" and param.default is None)) + self.keyword_only

    def arity_text(self) -> str:
        if self.signature:
            return ", ".join(param.text() for param in self.signature)
        low, high = self.arity
        if high is None:
            return f"{low}+"
        return str(low) if low == high else f"{low}-{high}"


def _f(name: str, sympy: str, torch: str, description: str, **kw: Any) -> FunctionSpec:
    return FunctionSpec(name, sympy, torch, kw.pop("arity", (1, 1)), description, **kw)


def _s(name: str, sympy: str, torch: str, description: str, *signature: Param, **kw: Any) -> FunctionSpec:
    """A tensor function with a signature; its arity counts the positional arguments it can take."""
    required = sum(1 for param in signature if param.required or param.kind in ("tensor", "tensors", "operands")
                   and param.default is None)
    most = None if any(param.kind in REST for param in signature) else len(signature)
    return FunctionSpec(name, sympy, torch, kw.pop("arity", (required, most)), description, signature=signature,
                        **{"tensor": True, **kw})


def _t(name: str, default: Any = None) -> Param:
    return Param(name, "tensor", default)


X = _t("input")
DIM = Param("dim", "int")
KEEPDIM = Param("keepdim", "bool", False)
REDUCTION = Param("reduction", "text", "mean", ("mean", "sum", "none"))


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
    _f("min", SP + "Min", TF + "minimum", "smallest argument; min(x) of one tensor: its smallest element, "
       "min(X, dim=1) over a dim (a tie splits the gradient evenly, as torch.amin)", arity=(1, None),
       aliases=("Min",), keyword_only=(DIM, KEEPDIM)),
    _f("max", SP + "Max", TF + "maximum", "largest argument; max(x) of one tensor: its largest element, "
       "max(X, dim=1) over a dim (a tie splits the gradient evenly, as torch.amax)", arity=(1, None),
       aliases=("Max",), keyword_only=(DIM, KEEPDIM)),
    _f("erf", SP + "erf", T + "erf", "error function"),
    _f("erfc", SP + "erfc", T + "erfc", "complementary error function, 1 - erf(x)"),
    _f("gamma", SP + "gamma", TF + "gamma", "gamma function", domain=(0.1, 5.0), exact_arg_limit=1000),
    _f("factorial", SP + "factorial", TF + "factorial", "x! = gamma(x + 1)", domain=(0.1, 5.0),
       exact_arg_limit=1000),
    _f("loggamma", SP + "loggamma", TF + "loggamma", "log of the gamma function", domain=(0.1, 5.0),
       aliases=("lgamma",), exact_arg_limit=1000),
    _f("digamma", SP + "digamma", TF + "digamma", "derivative of loggamma", domain=(0.1, 5.0),
       aliases=("psi",), exact_arg_limit=1000),
    _f("polygamma", SP + "polygamma", TF + "polygamma", "n-th derivative of digamma: polygamma(n, x), n = 0 to 100",
       arity=(2, 2), domain=(0.1, 5.0), exact_arg_limit=1000),
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
    _f("relu6", ACT + "relu6", NF + "relu6", "min(max(x, 0), 6); gradient 0 at 0 and 6, as torch"),
    _f("hardsigmoid", ACT + "hardsigmoid", TF + "hardsigmoid", "relu6(x + 3)/6, as torch",
       domain=(-5.0, 5.0)),
    _f("hardswish", ACT + "hardswish", NF + "hardswish", "x*relu6(x + 3)/6, as torch", domain=(-5.0, 5.0)),
    _f("selu", ACT + "selu", NF + "selu", "scale*(x for x > 0, alpha*(exp(x) - 1) else), torch's constants"),
    _f("celu", ACT + "celu", TF + "celu", "x for x > 0, alpha*(exp(x/alpha) - 1) else; alpha defaults to 1",
       arity=(1, 2)),
    # Tensor functions (whole vectors and matrices; scalar functions above apply element by element):
    _f("dot", TEN + "dot", TF + "dot", "dot product of two vectors", arity=(2, 2), tensor=True),
    _f("matmul", TEN + "matmul", TF + "matmul", "matrix product, also written a @ b", arity=(2, 2),
       tensor=True),
    _s("sum", TEN + "tsum", TT + "reduce_sum", "sum of all elements, or over dim", X, DIM, KEEPDIM),
    _s("mean", TEN + "mean", TT + "reduce_mean", "mean of all elements, or over dim", X, DIM, KEEPDIM),
    _s("prod", TEN + "prod", TT + "reduce_prod", "product of all elements, or over dim", X, DIM, KEEPDIM),
    _s("norm", TEN + "norm", TT + "norm", "p-norm of all elements (Euclidean/Frobenius), or over dim", X,
       Param("p", "number", 2), DIM, KEEPDIM),
    _s("logsumexp", TEN + "logsumexp", TT + "logsumexp", "log(sum(exp(x))), stable; of all elements or over dim",
       X, DIM, KEEPDIM),
    _s("var", OPS + "var", TT + "var", "variance (correction=1, as torch; unbiased=False is correction=0)", X,
       DIM, Param("correction", "int", 1), KEEPDIM, Param("unbiased", "bool")),
    _s("std", OPS + "std", TT + "std", "standard deviation (correction=1, as torch)", X, DIM,
       Param("correction", "int", 1), KEEPDIM, Param("unbiased", "bool")),
    _s("softmax", TEN + "softmax", TT + "softmax", "softmax along dim (the last by default)", X,
       Param("dim", "int", -1)),
    _s("log_softmax", TEN + "log_softmax", TT + "log_softmax", "log of softmax along dim (the last by default), "
       "stable", X, Param("dim", "int", -1)),
    _s("cumsum", OPS + "cumsum", TT + "cumsum", "running sums along dim", X, Param("dim", "int", required=True)),
    _s("where", SP + "Piecewise", T + "where", "where(condition, a, b): a where the condition holds, else b "
       "(read as a if condition else b)", _t("condition"), _t("a"), _t("b")),
    _s("clamp", ACT + "clamp", TF + "clamp", "x limited to [min, max], either may be left out; gradient 1 "
       "at the bounds, as torch", X, _t("min", "-inf"), _t("max", "inf"), aliases=("clip",), tensor=False,
       arity=(2, 3)),
    _s("einsum", OPS + "einsum", TT + "einsum", 'Einstein summation: einsum("ij,jk->ik", A, B)',
       Param("equation", "text", required=True), Param("operands", "operands")),
    _s("outer", OPS + "outer", TT + "outer", "outer product of two vectors", _t("input"), _t("vec2")),
    _s("bmm", OPS + "bmm", TT + "bmm", "batched matrix product (b, n, m) @ (b, m, p)", _t("input"), _t("mat2")),
    _s("reshape", OPS + "reshape", TT + "reshape", "the elements in a new shape: reshape(X, 2, 3); -1 is "
       "inferred", X, Param("shape", "ints", required=True), aliases=("view",)),
    _s("cat", OPS + "cat", TT + "cat", "tensors joined along an existing dim: cat([A, B], dim=0)",
       Param("tensors", "tensors"), Param("dim", "int", 0)),
    _s("stack", OPS + "stack", TT + "stack", "tensors stacked along a new dim: stack([A, B], dim=0)",
       Param("tensors", "tensors"), Param("dim", "int", 0)),
    _s("unsqueeze", OPS + "unsqueeze", TT + "unsqueeze", "a new dimension of size 1 at dim", X,
       Param("dim", "int", required=True)),
    _s("tril", OPS + "tril", TT + "tril", "lower triangle (elements above the diagonal set to 0)", X,
       Param("diagonal", "int", 0)),
    _s("triu", OPS + "triu", TT + "triu", "upper triangle (elements below the diagonal set to 0)", X,
       Param("diagonal", "int", 0)),
    _s("gather", OPS + "gather", TT + "gather", "elements picked along dim by a tensor of indices", X,
       Param("dim", "int", required=True), _t("index")),
    _s("layer_norm", OPS + "layer_norm", TT + "layer_norm", "normalized over the last dim (no affine "
       "parameters), eps=1e-5 as torch", X, Param("eps", "number", 1e-5)),
    _s("mse_loss", TEN + "mse_loss", TT + "mse_loss", "mean squared error (mean reduction, as torch)", X,
       _t("target"), REDUCTION),
    _s("cross_entropy", TEN + "cross_entropy", TT + "cross_entropy", "cross entropy of logits (C,) or (N, C) "
       "against class indices (a number, or (N,)) or probabilities (same shape); mean over N, as torch", X,
       _t("target"), REDUCTION),
    _s("nll_loss", OPS + "nll_loss", TT + "nll_loss", "negative log likelihood of log-probabilities (C,) or "
       "(N, C) at class indices; mean over N, as torch", X, _t("target"), REDUCTION),
    _s("binary_cross_entropy", OPS + "binary_cross_entropy", TT + "binary_cross_entropy", "binary cross "
       "entropy of probabilities against targets (mean, as torch)", X, _t("target"), REDUCTION,
       aliases=("bce",)),
    _s("binary_cross_entropy_with_logits", OPS + "binary_cross_entropy_with_logits",
       TT + "binary_cross_entropy_with_logits", "binary cross entropy of logits, stable (mean, as torch)", X,
       _t("target"), REDUCTION, aliases=("bce_with_logits",)),
    _s("huber_loss", OPS + "huber_loss", TT + "huber_loss", "squared below delta, linear above (mean, as "
       "torch)", X, _t("target"), REDUCTION, Param("delta", "number", 1.0)),
    _s("smooth_l1_loss", OPS + "smooth_l1_loss", TT + "smooth_l1_loss", "squared/beta below beta, linear "
       "above (mean, as torch)", X, _t("target"), REDUCTION, Param("beta", "number", 1.0)),
    _s("kl_div", OPS + "kl_div", TT + "kl_div", "KL divergence, torch's convention: input log-probabilities, "
       'target probabilities; reduction "mean" (torch\'s default, the mean over every element; "batchmean" '
       "is the true KL per row)", X, _t("target"),
       Param("reduction", "text", "mean", ("mean", "batchmean", "sum", "none")), Param("log_target", "bool", False)),
    _s("cosine_similarity", OPS + "cosine_similarity", TT + "cosine_similarity", "cosine of the angle "
       "between x1 and x2 along dim (1, as torch)", _t("x1"), _t("x2"), Param("dim", "int", 1),
       Param("eps", "number", 1e-8)),
    _s("det", OPS + "det", TT + "det", "determinant of a square matrix (or a batch of them)", X),
    _s("inverse", OPS + "inverse", TT + "inverse", "inverse of a square matrix (or a batch of them)", X,
       aliases=("inv",)),
    _s("solve", OPS + "solve", TT + "solve", "x with A @ x = b, for a square A", _t("A"), _t("B")),
    _f("transpose", TEN + "transpose", TF + "transpose", "matrix transpose, also written W.T", tensor=True),
    _f("detach", TEN + "detach", TF + "detach", "the value without its gradient (a constant)", tensor=True),
    # Produced by syntax (max(x) of one tensor, x[0]) or by SymPy inside derivatives:
    _s("amax", TEN + "amax", TT + "amax", "largest element, or over dim (max of one argument)", X, DIM, KEEPDIM,
       internal=True),
    _s("amin", TEN + "amin", TT + "amin", "smallest element, or over dim (min of one argument)", X, DIM, KEEPDIM,
       internal=True),
    _f("index", TEN + "index", TF + "indexer", "x[i], W[i, j], x[a:b]", internal=True, tensor=True),
    _f("sympy-abs", SP + "Abs", T + "abs", "SymPy's own Abs, from simplification (sqrt(x**2))", internal=True),
    _f("sympy-sign", SP + "sign", T + "sign", "SymPy's own sign, inside derivatives", internal=True),
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
