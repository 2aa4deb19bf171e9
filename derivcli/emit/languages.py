"""The languages `derivcli emit` writes: one SymPy code printer each (SymPy's own, taught derivcli's
functions), the helper definitions a language lacks, and the code around the formulas.

Every function of the table reaches a printer either as itself (sigmoid, softplus, relu, cbrt: a native
function or a helper written in the header, in the numerically stable form derivcli's torch form uses) or
rewritten by `emit` into ones the printers know.  What a language cannot compute to float64's last digits
(digamma and polygamma: no library function, or torch's trigamma good to 5e-10 only) is refused by name.
"""

from __future__ import annotations

import keyword
import math
from collections.abc import Sequence
from functools import cache
from typing import Any

from ..errors import DerivcliError

LANGUAGES = ("python", "numpy", "torch", "jax", "c")
CANNOT = {  # SymPy class name -> the languages that have no exact form for it
    "digamma": ("python", "numpy", "c"),
    "polygamma": ("python", "numpy", "c", "torch"),
}
WHY = {"python": "Python's math module has no {name}", "numpy": "numpy has no {name}",
       "c": "C's math library has no {name}", "torch": "torch's {name} is good to about 5e-10 only"}
C_KEYWORDS = frozenset(
    "auto break case char const continue default do double else enum extern float for goto if inline int long "
    "register restrict return short signed sizeof static struct switch typedef union unsigned void volatile "
    "while _Bool _Complex _Imaginary".split())
OUTPUTS = ("value", "gradient", "hessian")  # the C function's output parameters

PYTHON_HELPERS = {
    "sigmoid": '''def _sigmoid(u):
    """1/(1 + exp(-u)), on the side where exp cannot overflow."""
    if u >= 0:
        return 1 / (1 + math.exp(-u))
    e = math.exp(u)
    return e / (1 + e)''',
    "softplus": '''def _softplus(u):
    """log(1 + exp(u)), without overflow."""
    return max(u, 0.0) + math.log1p(math.exp(-abs(u)))''',
    "cbrt": '''def _cbrt(u):
    """The real cube root."""
    return math.copysign(abs(u) ** (1 / 3), u)''',
}
NUMPY_HELPERS = {
    "sigmoid": '''def _sigmoid(u):
    """1/(1 + exp(-u)), on the side where exp cannot overflow."""
    e = numpy.exp(-numpy.abs(u))
    return numpy.where(u >= 0, 1 / (1 + e), e / (1 + e))''',
    "erf": "_erf = numpy.vectorize(math.erf, otypes=[float])  # numpy has no erf",
    "erfc": "_erfc = numpy.vectorize(math.erfc, otypes=[float])",
    "gamma": "_gamma = numpy.vectorize(math.gamma, otypes=[float])",
    "loggamma": "_lgamma = numpy.vectorize(math.lgamma, otypes=[float])  # log|gamma(u)|",
}
TORCH_HELPERS = {
    "softplus": '''def _softplus(u):
    """log(1 + exp(u)), exact at any u (torch's softplus switches to u above 20)."""
    return torch.logaddexp(u, torch.zeros_like(u))''',
    "cbrt": '''def _cbrt(u):
    """The real cube root."""
    return torch.sign(u) * torch.abs(u) ** (1 / 3)''',
    "gamma": '''def _gamma(u):
    """gamma(u) from lgamma and its sign."""
    sign = torch.where(u > 0, 1.0, 1 - 2 * torch.remainder(torch.ceil(-u), 2))
    return sign * torch.exp(torch.lgamma(u))''',
    "minimum": '''def _minimum(*values):
    return functools.reduce(torch.minimum, [torch.as_tensor(v, dtype=torch.float64) for v in values])''',
    "maximum": '''def _maximum(*values):
    return functools.reduce(torch.maximum, [torch.as_tensor(v, dtype=torch.float64) for v in values])''',
}
C_HELPERS = {
    "sigmoid": '''static double derivcli_sigmoid(double u)
{
    /* 1/(1 + exp(-u)), on the side where exp cannot overflow */
    if (u >= 0) return 1 / (1 + exp(-u));
    const double e = exp(u);
    return e / (1 + e);
}''',
    "softplus": '''static double derivcli_softplus(double u)
{
    /* log(1 + exp(u)), without overflow */
    return fmax(u, 0.0) + log1p(exp(-fabs(u)));
}''',
}


def refuse_unsupported(language: str, names: set[str]) -> None:
    """One error naming the function a language cannot compute exactly, and the languages that can."""
    for name in sorted(names):
        if language in CANNOT.get(name, ()):
            able = [other for other in LANGUAGES if other not in CANNOT[name]]
            raise DerivcliError(f"emit --lang {language}: {WHY[language].format(name=name)}, and the expression "
                                f"(or its derivatives) needs {name}", hint=f"use --lang {' or '.join(able)}")


def safe_names(language: str, names: Sequence[str]) -> dict[str, str]:
    """Each variable's identifier in the code: a keyword, a module or an output parameter gets a '_' after it."""
    taken = set(C_KEYWORDS | set(OUTPUTS)) if language == "c" else {
        *keyword.kwlist, "math", "numpy", "torch", "jax", "functools", "abs", "min", "max", "float"}
    safe: dict[str, str] = {}
    for name in names:
        spelled = name
        while spelled in taken or spelled in safe.values():
            spelled += "_"
        safe[name] = spelled
    return safe


def float_text(value: float, language: str) -> str:
    """A float64 literal that reads back exactly; inf and NaN as each language spells them."""
    if math.isfinite(value):
        return repr(value)
    if language == "c":
        return "NAN" if math.isnan(value) else "INFINITY" if value > 0 else "(-INFINITY)"
    module = {"numpy": "numpy", "jax": "jax.numpy"}.get(language, "math")
    name = f"{module}.nan" if math.isnan(value) else f"{module}.inf"
    return name if math.isnan(value) or value > 0 else f"(-{name})"


@cache
def printer_class(language: str) -> type:
    """The SymPy printer of `language`, taught derivcli's functions and the written tree's nodes."""
    from sympy.printing.c import C99CodePrinter
    from sympy.printing.numpy import JaxPrinter, NumPyPrinter
    from sympy.printing.pycode import PythonCodePrinter

    base = {"python": PythonCodePrinter, "numpy": NumPyPrinter, "torch": NumPyPrinter, "jax": JaxPrinter,
            "c": C99CodePrinter}[language]
    methods: dict[str, Any] = {"language": language, "_print_Float": _print_float,
                               **{f"_print_{kind}": _print_written for kind in ("WrittenAdd", "WrittenMul",
                                                                                "WrittenPow", "WrittenPiecewise")}}
    methods.update(_LANGUAGE_METHODS[language]())
    return type(f"Emit{language.capitalize()}Printer", (base,), methods)


def make_printer(language: str) -> Any:
    settings: dict[str, Any] = {"strict": True}
    if language != "c":
        settings["fully_qualified_modules"] = True
    printer = printer_class(language)(settings)
    printer.helpers = set()
    return printer


def _print_float(self: Any, expr: Any) -> str:
    return float_text(float(expr), self.language)


def _print_written(self: Any, expr: Any) -> str:
    """A node of the tree as written (`emit`'s opaque stand-in, kept so by CSE) printed as the node it
    stands for, built unevaluated."""
    return f"({self._print(expr.builtin(*expr.args, evaluate=False))})"  # its parent sees a call, not an operator


def _helper(name: str, call: str) -> Any:
    """A print method that calls a helper defined in the header (recorded for the header)."""
    def method(self: Any, expr: Any) -> str:
        self.helpers.add(name)
        return f"{call}({', '.join(self._print(arg) for arg in expr.args)})"
    return method


def _call(template: str) -> Any:
    """A print method from a template over the printed arguments ({0}, {1})."""
    def method(self: Any, expr: Any) -> str:
        for module in ("math", "numpy", "torch", "functools", "jax.numpy", "jax.nn", "jax.scipy.special"):
            if template.startswith(module + "."):
                self.module_imports[module].add(template)
        return template.format(*(self._print(arg) for arg in expr.args))
    return method


def _python_methods() -> dict[str, Any]:
    def power(self: Any, expr: Any, rational: bool = False) -> str:
        """A power that is not a whole number's is math.pow: Python's ** makes (-8)**(1/3) complex."""
        if expr.exp.is_Integer or expr.exp == 0.5 or expr.exp == -0.5:
            return str(self._hprint_Pow(expr, rational=rational))
        self.module_imports["math"].add("math.pow")
        return f"math.pow({self._print(expr.base)}, {self._print(expr.exp)})"

    return {"_print_Pow": power, "_print_sigmoid": _helper("sigmoid", "_sigmoid"),
            "_print_softplus": _helper("softplus", "_softplus"), "_print_cbrt": _helper("cbrt", "_cbrt"),
            "_print_relu": _call("max({0}, 0.0)")}


def _numpy_methods() -> dict[str, Any]:
    return {"_print_sigmoid": _helper("sigmoid", "_sigmoid"), "_print_softplus": _call("numpy.logaddexp({0}, 0.0)"),
            "_print_relu": _call("numpy.maximum({0}, 0.0)"), "_print_cbrt": _call("numpy.cbrt({0})"),
            "_print_erf": _helper("erf", "_erf"), "_print_erfc": _helper("erfc", "_erfc"),
            "_print_gamma": _helper("gamma", "_gamma"), "_print_loggamma": _helper("loggamma", "_lgamma")}


def _torch_methods() -> dict[str, Any]:
    from sympy.printing.numpy import _known_functions_numpy

    def value(self: Any, expr: Any) -> str:
        """A branch of torch.where: a number as a float64 tensor (torch.where(c, 1.0, 0.2) is float32)."""
        text = self._print(expr)
        return f"torch.tensor({text}, dtype=torch.float64)" if expr.is_number else text

    def piecewise(self: Any, expr: Any) -> str:
        """Nested torch.where, the last branch outermost's default (NaN where no condition holds)."""
        text = "torch.tensor(math.nan, dtype=torch.float64)"
        self.module_imports["math"].add("math.nan")
        for branch, condition in reversed(expr.args):
            text = value(self, branch) if condition == True else (  # noqa: E712 (SymPy's true)
                f"torch.where({self._print(condition)}, {value(self, branch)}, {text})")
        return text

    def heaviside(self: Any, expr: Any) -> str:
        import sympy as sp

        at_zero = value(self, expr.args[1] if len(expr.args) > 1 else sp.Float(0.5))
        u = self._print(expr.args[0])
        one, zero = value(self, sp.Float(1.0)), value(self, sp.Float(0.0))
        return f"torch.where({u} > 0, {one}, torch.where({u} < 0, {zero}, {at_zero}))"

    def relation(self: Any, expr: Any) -> str:
        return f"({self._print(expr.lhs)} {expr.rel_op} {self._print(expr.rhs)})"

    def logic(name: str) -> Any:
        def method(self: Any, expr: Any) -> str:
            self.module_imports["functools"].add("functools.reduce")
            return f"functools.reduce(torch.{name}, [{', '.join(self._print(arg) for arg in expr.args)}])"
        return method

    return {"_module": "torch", "_kf": {name: f"torch.{function}" for name, function in _known_functions_numpy.items()},
            "_kc": {"Exp1": "math.e", "Pi": "math.pi", "NaN": "math.nan", "Infinity": "math.inf"},
            "_print_Piecewise": piecewise, "_print_Heaviside": heaviside, "_print_Relational": relation,
            "_print_And": logic("logical_and"), "_print_Or": logic("logical_or"),
            "_print_Not": _call("torch.logical_not({0})"), "_print_Min": _helper("minimum", "_minimum"),
            "_print_Max": _helper("maximum", "_maximum"), "_print_sigmoid": _call("torch.sigmoid({0})"),
            "_print_softplus": _helper("softplus", "_softplus"), "_print_relu": _call("torch.relu({0})"),
            "_print_cbrt": _helper("cbrt", "_cbrt"), "_print_erf": _call("torch.erf({0})"),
            "_print_erfc": _call("torch.erfc({0})"), "_print_gamma": _helper("gamma", "_gamma"),
            "_print_loggamma": _call("torch.lgamma({0})"), "_print_polygamma": _call("torch.special.digamma({1})"),
            "_print_sign": _call("torch.sign({0})")}


def _jax_methods() -> dict[str, Any]:
    special = "jax.scipy.special."
    return {"_print_sigmoid": _call("jax.nn.sigmoid({0})"), "_print_softplus": _call("jax.nn.softplus({0})"),
            "_print_relu": _call("jax.nn.relu({0})"), "_print_cbrt": _call("jax.numpy.cbrt({0})"),
            "_print_erf": _call(special + "erf({0})"), "_print_erfc": _call(special + "erfc({0})"),
            "_print_gamma": _call(special + "gamma({0})"), "_print_loggamma": _call(special + "gammaln({0})"),
            "_print_polygamma": _call(special + "polygamma({0}, {1})")}


def _c_methods() -> dict[str, Any]:
    from sympy.printing.c import C99CodePrinter

    def power(self: Any, expr: Any) -> str:
        """pow(), never cbrt() for **(1/3) (C's cbrt is real where torch's power of a negative is NaN)."""
        if expr.exp == 0.5 or expr.exp == -1:
            return str(C99CodePrinter._print_Pow(self, expr))
        return f"pow({self._print(expr.base)}, {self._print(expr.exp)})"

    def piecewise(self: Any, expr: Any) -> str:
        text = "NAN"
        for branch, condition in reversed(expr.args):
            text = self._print(branch) if condition == True else (  # noqa: E712 (SymPy's true)
                f"(({self._print(condition)}) ? ({self._print(branch)}) : ({text}))")
        return text

    def heaviside(self: Any, expr: Any) -> str:
        at_zero = self._print(expr.args[1]) if len(expr.args) > 1 else "0.5"
        u = self._print(expr.args[0])
        return f"(({u}) > 0 ? 1.0 : (({u}) < 0 ? 0.0 : {at_zero}))"

    return {"_print_Pow": power, "_print_Piecewise": piecewise, "_print_Heaviside": heaviside,
            "_print_sigmoid": _helper("sigmoid", "derivcli_sigmoid"),
            "_print_softplus": _helper("softplus", "derivcli_softplus"), "_print_relu": _call("fmax({0}, 0.0)"),
            "_print_cbrt": _call("cbrt({0})")}


_LANGUAGE_METHODS = {"python": _python_methods, "numpy": _numpy_methods, "torch": _torch_methods,
                     "jax": _jax_methods, "c": _c_methods}


def helper_text(language: str, helpers: set[str]) -> list[str]:
    """The helpers' definitions; in C each guarded, so that several emitted functions share one file."""
    table = {"python": PYTHON_HELPERS, "numpy": NUMPY_HELPERS, "torch": TORCH_HELPERS, "c": C_HELPERS}.get(language, {})
    if language == "c":
        return [f"#ifndef DERIVCLI_{name.upper()}\n#define DERIVCLI_{name.upper()}\n{table[name]}\n#endif"
                for name in sorted(helpers)]
    return [table[name] for name in sorted(helpers)]


def imports(language: str, printer: Any, helpers: set[str]) -> list[str]:
    """The import lines: what the printed code and the helpers use."""
    if language == "c":
        return ["#include <math.h>"]
    always = {"python": {"math"}, "numpy": {"numpy"}, "torch": {"torch"}, "jax": {"jax", "jax.numpy"}}
    modules = set(printer.module_imports) | always[language]
    if language == "numpy" and helpers & {"erf", "erfc", "gamma", "loggamma"}:
        modules.add("math")
    if language == "torch" and helpers & {"minimum", "maximum"}:
        modules.add("functools")
    return [f"import {name}" for name in sorted(modules)]
