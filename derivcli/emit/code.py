"""`derivcli emit`: self-contained code for a formula, its gradient and (with `hessian`) its Hessian, in
Python, numpy, torch, JAX or C.  derivcli only prints the code; it never runs it.

The formula is the one torch computes: the expression as written where SymPy's simplification removed
something (`x/x` stays x/x, NaN at 0), with the overflow-free forms the lowering uses (log(1 + exp(u)) is
softplus(u)).  The derivatives are SymPy's `diff` of that formula, so they are autograd's up to rounding.
Value and derivatives go through one `sympy.cse`, so each common subexpression is computed once; constant
subexpressions become float64 literals (correctly rounded, as torch's constants are).  derivcli's own
functions that no printer knows become the elementary forms they stand for (gelu, silu, mish, softsign,
logsigmoid, elu, leaky_relu, hardtanh, sec … acsch) or helpers written in the header (sigmoid, softplus,
cbrt, … in `emit_languages`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..errors import DerivcliError, printable
from ..symbolic.exact import evaluated
from .languages import LANGUAGES, OUTPUTS, helper_text, imports, make_printer, refuse_unsupported, safe_names

EMIT_SECONDS = 30.0  # SymPy's derivatives, CSE and printing together
MAX_DERIVATIVE_NODES = 2_000_000  # the estimate past which `--check` skips; emit refuses
EXACT_INTEGER = 2**53  # integers beyond this are written as float64 literals (outside Python), as torch sees them


@dataclass
class EmittedCode:
    """The code `emit` wrote, and what it computes."""

    expression: str
    language: str
    variables: list[str]  # the function's parameters, in order
    wrt: list[str]
    hessian: bool
    name: str
    code: str
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"expression": self.expression, "language": self.language, "variables": self.variables,
                "wrt": self.wrt, "hessian": self.hessian, "name": self.name, "code": self.code}


def emit(expression: str, wrt: Sequence[str] | None = None, language: str = "python", *, hessian: bool = False,
         name: str = "f") -> EmittedCode:
    """Code for `expression`'s value and gradient by `wrt` (every variable by default), and its Hessian.

    >>> print(emit("x*sin(y)", language="python").code.split("def ")[-1], end="")
    f(x, y):
        _t0 = math.sin(y)
        _f = _t0*x
        _g0 = _t0
        _g1 = x*math.cos(y)
        return _f, (_g0, _g1)
    """
    from ..differentiate.setup import reading_context
    from ..inputs.names import check_name
    from ..limits.budget import OverBudget, time_budget
    from ..parsing import parse

    started = time.monotonic()
    if language not in LANGUAGES:
        raise DerivcliError(f"--lang {printable(language)[:20]}: unknown language", hint="use " + ", ".join(LANGUAGES))
    _check_name(name, language)
    wrt = [check_name(given, f"--wrt {given}") for given in wrt] if wrt else None
    parsed = parse(expression, reading_context([], wrt))
    variables = parsed.variables + [extra for extra in wrt or () if extra not in parsed.variables]
    wrt_names = list(dict.fromkeys(wrt)) if wrt else list(parsed.variables)
    if not wrt_names:
        raise DerivcliError("the expression has no variables, so it has no gradient to write",
                            hint="give the variable to differentiate by with --wrt NAME")
    _refuse_what_has_no_code(parsed.expr)
    _refuse_what_has_no_code(parsed.computed)
    try:
        with time_budget(EMIT_SECONDS):
            outputs = _formulas(parsed, wrt_names, hessian)
            code = _write(parsed, language, name, variables, wrt_names, hessian, outputs)
    except OverBudget:
        raise DerivcliError(f"SymPy took more than {EMIT_SECONDS:g} s over the derivatives and their shared "
                            "subexpressions", hint="emit the gradient of smaller pieces") from None
    return EmittedCode(parsed.canonical, language, variables, wrt_names, hessian, name, code,
                       time.monotonic() - started)


def _check_name(name: str, language: str) -> None:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) or safe_names(language, [name])[name] != name:
        raise DerivcliError(f"--name {printable(name)[:40]}: not a usable function name in {language}",
                            hint="a name of letters, digits and '_', starting with a letter, not a keyword")


def _refuse_what_has_no_code(expr: Any) -> None:
    """Tensor operations and constants SymPy holds unevaluated (1/0, log(-1)) have no scalar code."""
    import sympy as sp

    from ..table.sympy_forms import TensorFunction, held

    for node in sp.preorder_traversal(expr):
        if isinstance(node, TensorFunction):
            raise DerivcliError(f"emit writes code for expressions of numbers; "
                                f"{getattr(node, 'display_name', node.func.__name__)} is a tensor operation",
                                hint="emit each element's expression")
        if isinstance(node, held):
            raise DerivcliError(f"the expression holds the constant {node}, which is not a finite real number",
                                hint="emit writes code where the formula has a value")


def _formulas(parsed: Any, wrt: list[str], hessian: bool) -> list[Any]:
    """[f, ∂f/∂wrt…, and the Hessian's upper triangle row by row]: f as torch computes it, the derivatives
    by SymPy from its overflow-free form (autograd differentiates that form too)."""
    import sympy as sp

    from ..lowering.program import stable_forms
    from ..symbolic.budgeted import derivative_size

    base = stable_forms(parsed.expr)
    size = derivative_size(base) * (len(wrt) + 1) ** (2 if hessian else 1)
    if size > MAX_DERIVATIVE_NODES:
        raise DerivcliError(f"the derivatives would have about {size:,.0f} nodes (the limit is "
                            f"{MAX_DERIVATIVE_NODES:,})", hint="emit the gradient of smaller pieces")
    symbols = [parsed.symbols.get(name) or sp.Symbol(name, real=True) for name in wrt]
    value = _as_written(parsed.computed) if parsed.written is not None else base
    gradient = [sp.diff(base, symbol) for symbol in symbols]
    second = [sp.diff(gradient[i], symbols[j]) for i in range(len(wrt)) for j in range(i, len(wrt))] if hessian else []
    return [value, *gradient, *second]


@cache
def _written_classes() -> dict[type, type]:
    """Opaque stand-ins for Add, Mul, Pow and Piecewise in the tree as written: CSE rebuilds the nodes it
    walks, which would evaluate x/x to 1; a stand-in is only ever printed (as its node, unevaluated)."""
    import sympy as sp

    def stand_in(builtin: type) -> type:
        return type(f"Written{builtin.__name__}", (sp.Function,), {
            "builtin": builtin, "eval": classmethod(lambda cls, *args: None), "is_real": True})

    return {kind: stand_in(kind) for kind in (sp.Add, sp.Mul, sp.Pow, sp.Piecewise)}


def _as_written(expr: Any) -> Any:
    """The written tree with the lowering's overflow-free form at each node (as the lowering walks it),
    and its sums, products, powers and branches made opaque (see `_written_classes`)."""
    from ..lowering.program import stable_form

    classes = _written_classes()
    done: dict[Any, Any] = {}

    def walk(node: Any) -> Any:
        if node in done:
            return done[node]
        stable = stable_form(node)
        current = node if stable is None else stable
        if not current.args or not current.free_symbols:  # a constant is computed once, exactly
            result = current
        else:
            args = [walk(arg) for arg in current.args]
            kind = next((stand_in for builtin, stand_in in classes.items() if type(current) is builtin), None)
            result = kind(*args) if kind is not None else current.func(*args)
        done[node] = result
        return result

    return walk(expr)


def _for_language(expr: Any, language: str) -> Any:
    """derivcli's functions that printers do not know, as the elementary forms they are; DiracDelta (only
    in derivatives of sign, 0 away from its point, as torch's sign's derivative is everywhere) as 0;
    constant subexpressions as float64 literals."""
    import sympy as sp
    from sympy.codegen.cfunctions import expm1

    from ..table import activations
    from ..table import sympy_forms as own

    def elu(x: Any, alpha: Any = sp.S.One) -> Any:
        return sp.Piecewise((x, x > 0), (alpha * expm1(x), True))

    rewrites: dict[type, Any] = {
        own.gelu: lambda x: x * (1 + sp.erf(x / sp.sqrt(2))) / 2, own.silu: lambda x: x * own.sigmoid(x),
        own.mish: lambda x: x * sp.tanh(own.softplus(x)), own.softsign: lambda x: x / (1 + sp.Abs(x)),
        own.logsigmoid: lambda x: -own.softplus(-x), own.elu: elu,
        own.leaky_relu: lambda x, slope=sp.Rational(1, 100): sp.Piecewise((x, x > 0), (slope * x, True)),
        own.hardtanh: lambda x, low=-1, high=1: sp.Min(sp.Max(x, low), high),
        sp.factorial: lambda x: sp.gamma(x + 1), sp.digamma: lambda x: sp.polygamma(0, x),
        sp.DiracDelta: lambda *args: sp.S.Zero,
        sp.sec: lambda x: 1 / sp.cos(x), sp.csc: lambda x: 1 / sp.sin(x), sp.cot: lambda x: 1 / sp.tan(x),
        sp.asec: lambda x: sp.acos(1 / x), sp.acsc: lambda x: sp.asin(1 / x), sp.acot: lambda x: sp.atan(1 / x),
        sp.sech: lambda x: 1 / sp.cosh(x), sp.csch: lambda x: 1 / sp.sinh(x), sp.coth: lambda x: 1 / sp.tanh(x),
        sp.acoth: lambda x: sp.atanh(1 / x), sp.asech: lambda x: sp.acosh(1 / x),
        sp.acsch: lambda x: sp.asinh(1 / x),
        **{kind: (lambda *args, kind=kind: kind(*args, evaluate=False).definition())
           for kind in (activations.relu6, activations.hardsigmoid, activations.hardswish, activations.selu,
                        activations.celu, activations.clamp)},
    }
    done: dict[Any, Any] = {}

    def walk(node: Any) -> Any:
        if node in done:
            return done[node]
        if _constant(node):
            result = _literal(node, language)
        elif not node.args:
            result = node
        else:
            args = [walk(arg) for arg in node.args]
            rewrite = next((form for kind, form in rewrites.items() if isinstance(node, kind)), None)
            result = walk(rewrite(*args)) if rewrite is not None else node.func(*args)
        done[node] = result
        return result

    return walk(expr)


def _constant(node: Any) -> bool:
    import sympy as sp

    if not isinstance(node, sp.Expr) or node.free_symbols or isinstance(node, sp.Float):
        return False
    return not node.is_Rational or max(abs(node.p), node.q) > EXACT_INTEGER


def _literal(node: Any, language: str) -> Any:
    """A constant subexpression: exact where the language keeps it exact (Python's integers and
    fractions), else its float64 value, correctly rounded from 30 digits."""
    import sympy as sp

    if node.is_Rational and language == "python":
        return node
    value = evaluated(node)
    if value is None:
        raise DerivcliError(f"SymPy cannot get the digits of the constant {node}",
                            hint="write it more simply (a sum that cancels exactly, or a huge argument)")
    if not (value.is_real and value.is_finite):
        raise DerivcliError(f"the constant {node} is not a finite real number", hint="emit writes real-valued code")
    return sp.Float(float(value), precision=53)


def _write(parsed: Any, language: str, name: str, variables: list[str], wrt: list[str], hessian: bool,
           outputs: list[Any]) -> str:
    """The code: header, imports, helpers, then the function, every output from one CSE."""
    import sympy as sp

    safe = safe_names(language, variables)
    renamed = {parsed.symbols.get(v) or sp.Symbol(v, real=True): sp.Symbol(safe[v], real=True) for v in variables}
    ready = [_for_language(output, language).xreplace(renamed) for output in outputs]
    refuse_unsupported(language, {"digamma" if isinstance(node, sp.polygamma) and node.args[0] == 0 else
                                  type(node).__name__ for output in ready for node in sp.preorder_traversal(output)})
    replacements, reduced = sp.cse(ready, symbols=sp.numbered_symbols("_t"), order="none")
    printer = make_printer(language)
    try:
        shared = [(str(symbol), printer.doprint(formula)) for symbol, formula in replacements]
        results = [printer.doprint(formula) for formula in reduced]
    except Exception as error:  # a node no printer knows: name it rather than write wrong code
        raise DerivcliError(f"emit --lang {language} cannot write {getattr(error, 'args', ['?'])[0]!s:.80}") from None
    count = len(wrt)
    labels = ["_f", *(f"_g{i}" for i in range(count)),
              *(f"_h{i}_{j}" for i in range(count) for j in range(i, count))] if hessian else [
        "_f", *(f"_g{i}" for i in range(count))]
    params = [safe[v] for v in variables]
    header = _header(parsed, language, name, params, [safe[v] for v in wrt], hessian)
    helpers = helper_text(language, printer.helpers)
    lines = [*header, *imports(language, printer, printer.helpers), ""]
    if language == "jax":
        lines += ['jax.config.update("jax_enable_x64", True)  # float64, as derivcli computes', ""]
    for helper in helpers:
        lines += ["", helper, ""] if language != "c" else [helper, ""]
    body = shared + list(zip(labels, results))
    if language == "c":
        lines += _c_function(name, params, count, hessian, body)
    else:
        lines += _python_function(language, name, params, count, hessian, body)
    return "\n".join(lines).rstrip("\n") + "\n"


def _header(parsed: Any, language: str, name: str, params: list[str], wrt: list[str], hessian: bool) -> list[str]:
    from .. import __version__

    what = "f, its gradient and its Hessian" if hessian else "f and its gradient"
    signature = f"{name}({', '.join(params)})"
    if language == "c":
        outputs = f"*value = f; gradient[i] = df/d{wrt[0] if len(wrt) == 1 else 'x_i'}"
        if hessian:
            outputs += f"; hessian[{len(wrt)}*i + j] = d2f/dx_i dx_j"
        returns = f"{signature} writes {outputs}, with x = ({', '.join(wrt)})"
    else:
        returns = f"{signature} returns (value, gradient{', hessian' if hessian else ''}): gradient[i] = " \
                  f"df/dx_i{', hessian[i][j] = d2f/dx_i dx_j' if hessian else ''}, with x = ({', '.join(wrt)})"
    lines = [f"Generated by derivcli {__version__} (derivcli emit --lang {language}): {what}.",
             f"f = {printable(parsed.canonical)}",
             *([f"as written: {printable(parsed.source)}"] if printable(parsed.source) != parsed.canonical else []),
             returns,
             "Derivatives by SymPy; common subexpressions computed once (SymPy's cse)."]
    if language == "c":
        return ["/*", *(f" * {line.replace('*/', '* /')}" for line in lines), " */"]
    return [f"# {line}" for line in lines]


def _python_function(language: str, name: str, params: list[str], count: int, hessian: bool,
                     body: list[tuple[str, str]]) -> list[str]:
    convert = {"numpy": "numpy.asarray({0}, dtype=numpy.float64)", "torch": "torch.as_tensor({0}, dtype=torch.float64)",
               "jax": "jax.numpy.asarray({0}, dtype=jax.numpy.float64)"}.get(language)
    lines = ["", f"def {name}({', '.join(params)}):"]
    if convert is not None:
        lines += [f"    {param} = {convert.format(param)}" for param in params]
    lines += [f"    {symbol} = {text}" for symbol, text in body]
    gradient = "(" + ", ".join(f"_g{i}" for i in range(count)) + ("," if count == 1 else "") + ")"
    result = f"_f, {gradient}"
    if hessian:
        rows = ["(" + ", ".join(f"_h{min(i, j)}_{max(i, j)}" for j in range(count)) + ("," if count == 1 else "")
                + ")" for i in range(count)]
        result += ", (" + ", ".join(rows) + ("," if count == 1 else "") + ")"
    return [*lines, f"    return {result}", ""]


def _c_function(name: str, params: list[str], count: int, hessian: bool, body: list[tuple[str, str]]) -> list[str]:
    value, gradient, matrix = OUTPUTS
    arguments = [f"double {param}" for param in params] + [f"double *{value}", f"double {gradient}[{count}]"]
    if hessian:
        arguments.append(f"double {matrix}[{count * count}]")
    lines = [f"void {name}({', '.join(arguments)})", "{"]
    for symbol, text in body:
        if symbol == "_f":
            lines.append(f"    *{value} = {text};")
        elif symbol.startswith("_g"):
            lines.append(f"    {gradient}[{symbol[2:]}] = {text};")
        elif symbol.startswith("_h"):
            i, j = (int(part) for part in symbol[2:].split("_"))
            lines.append(f"    {matrix}[{i * count + j}] = {text};")
            if i != j:
                lines.append(f"    {matrix}[{j * count + i}] = {matrix}[{i * count + j}];")
        else:
            lines.append(f"    const double {symbol} = {text};")
    return [*lines, "}", ""]


# The wire contract of this module's to_json: tests/schema_build.py gathers every module's into
# derivcli/schemas/derivcli.schema.json (its $defs; JSON_OUTPUTS also join its root).
JSON_SCHEMA = {
    "emit": {
        "type": "object", "required": ["expression", "language", "variables", "wrt", "hessian", "name", "code"],
        "properties": {
            "expression": {"type": "string"}, "language": {"enum": ["python", "numpy", "torch", "jax", "c"]},
            "variables": {"type": "array", "items": {"type": "string"}},
            "wrt": {"type": "array", "items": {"type": "string"}}, "hessian": {"type": "boolean"},
            "name": {"type": "string"}, "code": {"type": "string"},
        },
        "additionalProperties": False,
    },
}
JSON_OUTPUTS = ("emit",)
