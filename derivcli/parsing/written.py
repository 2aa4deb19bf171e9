"""The expression as written: the same tree built without SymPy's automatic simplification.

SymPy evaluates as it builds: `x/x` becomes 1, `x - x + y` becomes y, `sqrt(x)**2` becomes x.  That is
the right form to show and to differentiate symbolically, but not what the user wrote: torch computes
`x/x` at 0 as NaN, and an ML engineer checking a gradient is checking their own expression.  So the
syntax tree is built a second time with every sum, product, quotient, power, negation, comparison and
`if` left unevaluated; torch lowers this tree, and `--check` differentiates it.  The evaluated build
runs first, so every bound on exact constants has already been applied; nothing here computes one.
"""

from __future__ import annotations

from typing import Any

from .build import Builder, _resolve_sympy
from .syntax import Chain, IfElse, Unary


class WrittenBuilder(Builder):
    """A Builder whose arithmetic is left as written (functions are built unevaluated already)."""

    def _chain(self, node: Chain) -> Any:
        sp = self.sp
        if node.items[0][0] == "+":
            terms = [self.number(item) if op == "+" else self._negative(self.number(item))
                     for op, item, _ in node.items]
            return sp.Add(*terms, evaluate=False)
        factors: list[Any] = []
        for op, item, _ in node.items:
            value = self.number(item)
            if op == "*":
                factors.append(value)
            elif op == "/":
                factors.append(sp.Pow(value, sp.S.NegativeOne, evaluate=False))
            else:  # @, // and %: as the evaluated build makes them, from the product so far
                left = self._product(factors)
                if op == "@":
                    result = _resolve_sympy("derivcli.table.tensor_forms.matmul")(left, value)
                else:
                    ratio = sp.Mul(left, sp.Pow(value, sp.S.NegativeOne, evaluate=False), evaluate=False)
                    quotient = _resolve_sympy("derivcli.table.sympy_forms.floor")(ratio, evaluate=False)
                    result = quotient if op == "//" else sp.Add(
                        left, self._negative(sp.Mul(value, quotient, evaluate=False)), evaluate=False)
                factors = [result]
        return self._product(factors)

    def _product(self, factors: list[Any]) -> Any:
        return factors[0] if len(factors) == 1 else self.sp.Mul(*factors, evaluate=False)

    def _negative(self, value: Any) -> Any:
        """-value; kept unevaluated where SymPy would distribute it and cancel terms (-(x - x))."""
        if value.is_Number or value.is_Symbol:
            return -value
        return self.sp.Mul(self.sp.S.NegativeOne, value, evaluate=False)

    def _quotient(self, top: Any, bottom: Any) -> Any:
        sp = self.sp
        if bottom is sp.S.One:
            return top
        reciprocal = sp.Pow(bottom, sp.S.NegativeOne, evaluate=False)
        return reciprocal if top is sp.S.One else sp.Mul(top, reciprocal, evaluate=False)

    def _unary(self, node: Unary) -> Any:
        if node.op == "-":
            return self._negative(self.number(node.operand))
        return super()._unary(node)

    def _power_of(self, base: Any, exponent: Any, span: tuple[int, int]) -> Any:
        return self.sp.Pow(base, exponent, evaluate=False)

    @staticmethod
    def _relation(relation: Any, left: Any, right: Any) -> Any:
        return relation(left, right, evaluate=False)

    def _ifelse(self, node: IfElse) -> Any:
        sp = self.sp
        body = self.number(node.body)
        condition = self._condition(self.build(node.condition), node.condition)
        orelse = self.number(node.orelse)
        if not condition.free_symbols and condition not in (sp.true, sp.false):  # decided as torch will
            from ..lowering.program import evaluate_constant

            condition = sp.true if evaluate_constant(condition) else sp.false
        return sp.Piecewise((body, condition), (orelse, True), evaluate=False)
