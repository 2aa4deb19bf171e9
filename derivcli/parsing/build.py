"""The SymPy builder: the syntax tree -> a SymPy expression, name by name from the functions table.

The bounds in `limits` are applied as the tree is built, before SymPy computes anything with a
constant: exact powers and roots, constant quotients, the arguments of factorial-like functions.
Constants SymPy would make complex or infinite are held for torch to compute (`sympy_forms.held`).
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from ..errors import DerivcliError
from ..limits.spelling import nearest
from ..symbolic.variables import HasVariables
from ..table.functions import FUNCTIONS, by_name, resolve
from .arguments import bind, make_call
from .limits import MAX_EXACT_BITS, MAX_EXACT_EXPONENT, MAX_POLYGAMMA_ORDER
from .limits import magnitude as _magnitude
from .limits import power_text as _power_text
from .limits import raised_constants as _raised_constants
from .limits import short as _short
from .literals import number_literal
from .notation import CONSTANTS, TORCH_ONLY, torch_only_error
from .ranks import refuse_dimension_reading
from .syntax import (
    BoolOp,
    Call,
    Chain,
    Compare,
    Context,
    IfElse,
    Name,
    Node,
    Num,
    Postfix,
    Power,
    Reading,
    SliceItem,
    TensorLiteral,
    Unary,
)
from .syntax import span_of as _span


class Builder:
    """Turns the syntax tree into SymPy, name by name from the functions table."""

    def __init__(self, text: str, context: Context) -> None:
        import sympy

        self.sp = sympy
        self.text = text
        self.context = context
        self.symbols: dict[str, sympy.Symbol] = {}
        self.notes: list[str] = []
        self.spans: dict[Any, tuple[int, int]] = {}
        self.has_variables = HasVariables()  # asked of every call's arguments: once per node

    def error(self, message: str, span: tuple[int, int], hint: str | None = None) -> DerivcliError:
        return DerivcliError(message, span=span, source=self.text, hint=hint)

    def build(self, node: Node) -> Any:
        method = getattr(self, "_" + type(node).__name__.lower())
        value = method(node)
        if getattr(value, "args", None):  # where each built node was written, for diagnoses
            self.spans.setdefault(value, node.span)
        return value

    def number(self, node: Node) -> Any:
        """A node that must be a number, not a condition: `(x > 0) * 2` is refused with its column,
        never computed in whatever dtype a boolean becomes."""
        value = self.build(node)
        if getattr(value, "is_Boolean", False) or getattr(value, "is_Relational", False):
            raise self.error("a condition is used as a number", _span(node),
                             hint="write (1 if condition else 0) for its 0/1 value")
        return value

    def _num(self, node: Num) -> Any:
        value = number_literal(node.text)
        if value is None:
            raise self.error(f"number {node.text} is too large (beyond float64)", node.span)
        return value

    def _name(self, node: Name) -> Any:
        sp = self.sp
        if node.id == "e" and "e" in self.context.bound:
            self.notes.append("'e' read as the variable you bound (--e); write E for Euler's number")
        elif node.id in CONSTANTS:
            if node.id in ("e", "E"):
                self.notes.append(f"'{node.id}' read as Euler's number e = 2.71828…")
            return getattr(sp, CONSTANTS[node.id])
        elif node.id in by_name() and node.id not in self.context.names:
            raise self.error(f"'{node.id}' is a function", node.span, hint=f"call it, as {node.id}(x)")
        elif node.id in TORCH_ONLY and node.id not in self.context.names:
            raise torch_only_error(node.id, node.span, self.text)
        symbol = self.symbols.get(node.id)
        if symbol is None:
            symbol = self.symbols[node.id] = sp.Symbol(node.id, real=True)
        return symbol

    def _call(self, node: Call) -> Any:
        spec = by_name().get(node.name)
        if spec is None:
            raise self._unknown_function(node)
        if node.name != spec.name and (spec.signature or node.keywords):
            self.notes.append(f"'{node.name}' read as {spec.name} ({spec.description.split(';')[0]})")
        if spec.signature:
            return make_call(spec, bind(spec, node, self.text), self.number)
        if node.keywords:  # max(X, dim=1), min(X, dim=0, keepdim=True): over a dim of one tensor
            if len(node.args) != 1:
                raise self.error(f"{node.name}(…, dim=…) takes one tensor, got {len(node.args)} arguments", node.span,
                                 hint=f"for the elementwise {node.name}imum leave dim out")
            internal = next(entry for entry in FUNCTIONS if entry.name == f"a{spec.name}")
            return make_call(internal, {"input": node.args[0], **bind(spec, node, self.text)}, self.number)
        low, high = spec.arity
        count = len(node.args)
        if count < low or (high is not None and count > high):
            expected = spec.arity_text().replace("-", " or ").replace("+", " or more")
            raise self.error(f"{node.name}() takes {expected} argument{'s' if expected != '1' else ''}, "
                             f"got {count}", node.span)
        refuse_dimension_reading(node, dict(self.context.ranks), self.text)
        self._refuse_brackets_for_parentheses(node)
        args = [self.number(arg) for arg in node.args]
        if node.name != spec.name:
            self.notes.append(f"'{node.name}' read as {spec.name} ({spec.description.split(';')[0]})")
        if spec.name == "log" and count == 2:
            self.notes.append("log(x, b) read as the logarithm of x to base b")
        if spec.name == "polygamma":
            self._refuse_polygamma_order(args[0], node.args[0])
        if spec.exact_arg_limit is not None:
            from ..table.tensor_forms import constant_tensor

            for arg, arg_node in zip(args, node.args):  # (SymPy computes f(number) exactly, never f([…]))
                if (not self.has_variables(arg) and not isinstance(arg, constant_tensor)
                        and _magnitude(arg) > spec.exact_arg_limit):
                    raise self.error(f"{node.name}({_short(arg)}) is too large to compute exactly",
                                     _span(arg_node),
                                     hint=f"arguments above {spec.exact_arg_limit:g} are refused")
        if spec.name in ("max", "min") and count == 1:  # a reduction over one tensor's elements
            constructor = _resolve_sympy(f"derivcli.table.tensor_forms.a{spec.name}")
        elif spec.name in ("max", "min") and count > 3:
            # SymPy compares every pair of arguments (36 s for 200 of them); torch needs no simplification.
            extremum = _resolve_sympy(spec.sympy)
            return extremum(*args, evaluate=False)
        else:
            constructor = _resolve_sympy(spec.sympy)
        if spec.name == "root":  # root(x, n) = x**(1/n): the power's size bounds apply
            return self._power_of(args[0], self._quotient(self.sp.S.One, args[1]), node.span)
        if spec.name == "log" and count == 2:
            if not (args[0].free_symbols or args[1].free_symbols):  # SymPy's exact value (log(8, 2) is 3)
                value = self._evaluate_real(lambda **kw: constructor(*args, **kw), args)
                if not isinstance(value, _resolve_sympy("derivcli.table.sympy_forms.held")):
                    return value
            # log(x, b) = log(x)/log(b), as SymPy writes it (torch's log takes one argument)
            return self._bounded(self._quotient(self.build_log(args[0]), self.build_log(args[1])), node.span)
        if isinstance(constructor, type) and any(self.has_variables(arg) for arg in args):
            # SymPy's automatic evaluation of f(non-constant) only rewrites, and can take minutes doing it
            # (tan of a tanh of a tan asks whether its argument is real: 197 s); torch needs none of it.
            return constructor(*args, evaluate=False)
        return self._evaluate_real(lambda **kw: constructor(*args, **kw), args)

    def _refuse_polygamma_order(self, order: Any, order_node: Node) -> None:
        """polygamma(n, x) for a whole number 0 <= n <= MAX_POLYGAMMA_ORDER: torch computes the n-th
        derivative of digamma for a fixed n, and neither differentiates nor varies it."""
        if not (order.is_Integer and 0 <= order <= MAX_POLYGAMMA_ORDER):
            raise self.error(f"polygamma's order must be a whole number from 0 to {MAX_POLYGAMMA_ORDER}, not "
                             f"{_short(order)}", _span(order_node),
                             hint="polygamma(n, x) is the n-th derivative of digamma(x): polygamma(1, x) for its first")

    def _refuse_brackets_for_parentheses(self, node: Call) -> None:
        """`sin[x]` reads as sin of the constant tensor [x]; with a variable inside the brackets, the user
        meant parentheses, which is what to say (not that a tensor holds constants only)."""
        literal = node.args[0] if len(node.args) == 1 else None
        if (isinstance(literal, TensorLiteral) and literal.span[0] == node.name_span[1]
                and any(name not in CONSTANTS for name in Reading(literal).names())):
            inner = self.text[literal.span[0] + 1:literal.span[1] - 1]
            raise self.error(f"square brackets make a tensor, not a call of {node.name}", (literal.span[0],
                             literal.span[1]), hint=f"use parentheses: {node.name}({inner})")

    def build_log(self, arg: Any) -> Any:
        log = self.sp.log
        return log(arg, evaluate=False) if arg.free_symbols else self._evaluate_real(lambda **kw: log(arg, **kw), [arg])

    def _unknown_function(self, node: Call) -> DerivcliError:
        if node.name in TORCH_ONLY:
            return torch_only_error(node.name, node.name_span, self.text)
        close = nearest(node.name, by_name(), shortest=2)
        if close is not None:
            return self.error(f"unknown function '{node.name}'", node.name_span, hint=f"did you mean {close}?")
        return self.error(f"'{node.name}' is not a function", node.name_span,
                          hint=f"for a product write {node.name}*(...), or bind {node.name} as a variable; "
                               "'derivcli functions' lists the functions")

    def _evaluate_real(self, make: Any, args: list[Any]) -> Any:
        """Build a node; where SymPy would turn constants into a complex or infinite number (log(-1) is
        I*pi, 1/0 is zoo) or one it cannot show real (asin(3), (-2)**sin(1/3)), hold it unevaluated so
        that torch computes the real-valued float answer: left to SymPy, non-real constants make its
        comparisons raise and its 'if' folding crawl.  Where SymPy's evaluation itself gives up (it has
        raised NotImplementedError deep in its assumptions, on constants such as
        heaviside(sinh(...)*...)), the unevaluated node is just as good to torch."""
        try:
            result = make()
        except (ArithmeticError, NotImplementedError, TypeError, ValueError):
            return make(evaluate=False)
        if all(not getattr(arg, "free_symbols", True) for arg in args):
            sp = self.sp
            if result.has(sp.I, sp.zoo, sp.nan, sp.oo, -sp.oo) or result.is_extended_real is not True:
                result = _resolve_sympy("derivcli.table.sympy_forms.held")(make(evaluate=False))
        return result

    def _chain(self, node: Chain) -> Any:
        sp = self.sp
        if node.items[0][0] == "+":
            terms = [self.number(item) if op == "+" else -self.number(item) for op, item, _ in node.items]
            return self._bounded(sp.Add(*terms), node.span)
        # Runs of * and / become one Mul (flattening a long product once); @, // and % fold left.
        numerator: list[Any] = []
        denominator: list[Any] = []

        def collapse() -> Any:
            return self._bounded(self._quotient(sp.Mul(*numerator), sp.Mul(*denominator)), node.span)

        for op, item, _ in node.items:
            value = self.number(item)
            if op in ("@", "//", "%"):
                left = collapse()
                if op == "@":
                    result = _resolve_sympy("derivcli.table.tensor_forms.matmul")(left, value)
                else:
                    ratio = self._quotient(left, value)
                    if not ratio.free_symbols and _magnitude(ratio) > 1e300:
                        raise self.error(f"'{op}' of a constant this large cannot be computed exactly",
                                         node.span, hint="quotients above 1e+300 are refused")
                    quotient = _resolve_sympy("derivcli.table.sympy_forms.floor")(ratio)
                    result = quotient if op == "//" else left - value * quotient
                numerator, denominator = [result], []
            elif op == "*":
                numerator.append(value)
            else:
                denominator.append(value)
        return collapse()

    def _quotient(self, top: Any, bottom: Any) -> Any:
        """top/bottom; by a constant zero, held for torch to compute (inf or nan), not SymPy's zoo.  Only a
        constant is asked whether it is zero: a zero sum of variables is already folded to 0, and asking
        one costs a full assumptions deduction."""
        sp = self.sp
        if bottom is sp.S.One:
            return top
        if not self.has_variables(bottom) and bottom.is_zero:
            held = _resolve_sympy("derivcli.table.sympy_forms.held")
            if top.free_symbols:
                return sp.Mul(top, held(sp.Pow(bottom, -1, evaluate=False)))
            return held(sp.Mul(top, sp.Pow(bottom, -1, evaluate=False), evaluate=False))
        reciprocal = _resolve_sympy("derivcli.table.sympy_forms.power")(bottom, sp.S.NegativeOne)
        return reciprocal if top is sp.S.One else sp.Mul(top, reciprocal)

    def _bounded(self, value: Any, span: tuple[int, int]) -> Any:
        """Refuse exact constants so large that printing or using them would cost seconds."""
        coefficient = value.as_coeff_Mul()[0] if hasattr(value, "as_coeff_Mul") else value
        if coefficient.is_Rational and max(coefficient.p.bit_length(), coefficient.q.bit_length()) \
                > MAX_EXACT_BITS:
            raise self.error("a constant in the expression is too large to handle exactly", span,
                             hint="derivcli keeps exact constants below about 1,200 digits")
        return value

    def _unary(self, node: Unary) -> Any:
        if node.op == "not":
            return self.sp.Not(self._condition(self.build(node.operand), node.operand))
        operand = self.number(node.operand)
        return -operand if node.op == "-" else operand

    def _power(self, node: Power) -> Any:
        return self._power_of(self.number(node.base), self.number(node.exponent), node.span)

    def _power_of(self, base: Any, exponent: Any, span: tuple[int, int]) -> Any:
        """base**exponent, refused where the exact constant it makes would be too large to handle."""
        constants = _raised_constants(base) if exponent.is_Rational else []
        for constant in constants:
            if abs(exponent) > MAX_EXACT_EXPONENT and not constant.is_Rational:
                raise self.error(f"exponent {_short(exponent)} is too large for an exact constant "
                                 f"({_power_text(constant, exponent)})", span)
            if constant.is_Rational and abs(constant) not in (0, 1):
                bits = float(abs(exponent)) * (abs(constant.p).bit_length() + constant.q.bit_length())
                if bits > MAX_EXACT_BITS:
                    digits = float(abs(exponent)) * (math.log10(abs(constant.p)) + math.log10(constant.q)) + 1
                    count = f"{int(digits):,}" if digits < 1e15 else f"{digits:.1e}"
                    raise self.error(f"{_power_text(constant, exponent)} is too large "
                                     f"(about {count} digits)", span,
                                     hint="derivcli keeps exact constants below about 1,200 digits")
        if exponent.is_Rational and exponent.q > MAX_EXACT_EXPONENT and any(abs(c) != 1 for c in constants):
            # An exact root of such a degree (2**1e-300 is the 10**300-th root of 2) costs SymPy unbounded
            # memory to compare: keep it from SymPy, for torch to compute.
            raw = self.sp.Pow(base, exponent, evaluate=False)
            return raw if base.free_symbols else _resolve_sympy("derivcli.table.sympy_forms.held")(raw)
        power = _resolve_sympy("derivcli.table.sympy_forms.power")
        return self._evaluate_real(lambda **kw: power(base, exponent, **kw), [base, exponent])

    def _condition(self, value: Any, node: Node) -> Any:
        if not (getattr(value, "is_Boolean", False) or getattr(value, "is_Relational", False)):
            raise self.error("expected a condition (a comparison such as x > 0)", _span(node))
        return value

    def _compare(self, node: Compare) -> Any:
        sp = self.sp
        relations = {"<": sp.Lt, "<=": sp.Le, ">": sp.Gt, ">=": sp.Ge, "==": sp.Eq, "!=": sp.Ne}
        values = [self.number(operand) for operand in node.operands]
        parts = [self._relation(relations[op], left, right) for op, left, right in zip(node.ops, values, values[1:])]
        return sp.And(*parts) if len(parts) > 1 else parts[0]

    @staticmethod
    def _relation(relation: Any, left: Any, right: Any) -> Any:
        """left < right and the like; SymPy refuses to compare a constant it knows is not real (asin(3)),
        and torch compares its NaN as False, so that one is built unevaluated."""
        try:
            return relation(left, right)
        except TypeError:
            return relation(left, right, evaluate=False)

    def _boolop(self, node: BoolOp) -> Any:
        sp = self.sp
        values = [self._condition(self.build(value), value) for value in node.values]
        return (sp.And if node.op == "and" else sp.Or)(*values)

    def _ifelse(self, node: IfElse) -> Any:
        sp = self.sp
        body = self.number(node.body)  # in reading order, so variables come in order of appearance
        condition = self._condition(self.build(node.condition), node.condition)
        orelse = self.number(node.orelse)
        if not condition.free_symbols and condition not in (sp.true, sp.false):
            # A constant SymPy could not decide (log(0) > 2, with log(0) held for torch): decide it as
            # torch will.  SymPy cannot build a condition holding an undecided constant 'if'.
            from ..lowering.program import evaluate_constant

            condition = sp.true if evaluate_constant(condition) else sp.false
        return sp.Piecewise((body, condition), (orelse, True))

    def _postfix(self, node: Postfix) -> Any:
        base = self.number(node.base)
        if node.what == ".T":
            return _resolve_sympy("derivcli.table.tensor_forms.transpose")(base)
        items: list[Any] = []
        for item in node.items:
            if isinstance(item, SliceItem):
                items.append(slice(*(None if part is None else self._integer(part)
                                     for part in (item.start, item.stop, item.step))))
                if items[-1].step == 0:
                    raise self.error("a slice's step cannot be zero", item.span, hint="write x[::1] or x[::-1]")
            else:
                items.append(self._integer(item))
        from ..table.tensor_forms import encode_index, index

        return index(base, *encode_index(items))

    def _tensorliteral(self, node: TensorLiteral) -> Any:
        """A constant tensor written inline; its elements must be constants."""
        elements = []
        for element in node.elements:
            value = self.number(element)
            if getattr(value, "free_symbols", True) or not getattr(value, "is_number", False):
                raise self.error("an inline tensor holds constants only", _span(element),
                                 hint="for a tensor of variables, bind a tensor variable (--w \"[1, 2]\")")
            elements.append(value)
        from ..table.tensor_forms import constant_tensor

        return constant_tensor.of(node.shape, elements)

    def _integer(self, node: Node) -> int:
        value = self.number(node)
        if not getattr(value, "is_Integer", False) or abs(value) > 2**40:
            raise self.error("an index must be an integer constant", _span(node))
        return int(value)



@cache
def _resolve_sympy(path: str) -> Any:
    """The table's object for a dotted path, looked up once."""
    return resolve(path)


