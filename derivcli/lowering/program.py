"""Lowering: a SymPy expression -> a `Program`, a flat list of torch operations.

One iterative walk over the SymPy tree, memoized on subexpressions, so a repeated subexpression is one
torch node and deep expressions cannot overflow Python's stack.  The same Program runs one point or a
batch of points (inputs broadcast), and its output carries torch autograd's graph.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial, reduce
from typing import Any

import sympy as sp
import torch
from sympy.codegen.cfunctions import expm1, log1p

from ..errors import DerivcliError
from ..limits import memory
from ..symbolic.exact import evaluated
from ..symbolic.variables import HasVariables
from ..table.functions import torch_form_by_sympy_class
from ..table.sympy_forms import TensorFunction, sigmoid, softplus
from ..table.tensor_forms import TensorOp, constant_tensor, index
from ..table.torch_forms import elementwise, indexer, signed_sum
from .forms import PiecewiseForm, add, checked_pow, fraction, power, shorten, to_float

Step = tuple[Callable[..., torch.Tensor], tuple[int, ...]]

RELATIONS: dict[type, Callable[..., torch.Tensor]] = {
    sp.StrictLessThan: torch.lt,
    sp.LessThan: torch.le,
    sp.StrictGreaterThan: torch.gt,
    sp.GreaterThan: torch.ge,
    sp.Equality: torch.eq,
    sp.Unequality: torch.ne,
}
LOGIC: dict[type, Callable[..., torch.Tensor]] = {
    sp.And: lambda *a: reduce(torch.logical_and, a),
    sp.Or: lambda *a: reduce(torch.logical_or, a),
    sp.Not: torch.logical_not,
    sp.Xor: lambda *a: reduce(torch.logical_xor, a),
    sp.ITE: torch.where,  # a condition that holds an 'if' (SymPy's rewrite of it)
}


@dataclass
class Program:
    """A lowered expression: inputs (one per variable), constants, and steps in evaluation order.

    Slots number the inputs first, then the constants, then each step's result.
    """

    variables: list[str]
    constants: list[float | bool | tuple[Any, ...]] = field(default_factory=list)  # tuples: inline tensors
    steps: list[Step] = field(default_factory=list)
    output: int = 0
    nodes: list[sp.Basic] = field(default_factory=list)  # the SymPy node each step computes, for diagnoses
    # what later stages work out once about a Program and read on every call (the kink search's non-smooth
    # steps, the slot of each node); a lowered Program never changes, so neither do these
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __call__(self, inputs: Sequence[torch.Tensor], dtype: torch.dtype, device: torch.device | str = "cpu"
                 ) -> torch.Tensor:
        return self.slots(inputs, dtype, device)[self.output]

    def slots(self, inputs: Sequence[torch.Tensor], dtype: torch.dtype, device: torch.device | str = "cpu"
              ) -> list[torch.Tensor]:
        """Every slot's value in order: the inputs, the constants, then each step's result."""
        values: list[torch.Tensor] = list(inputs)
        for constant in self.constants:
            values.append(torch.tensor(constant, dtype=torch.bool if isinstance(constant, bool) else dtype,
                                       device=device))
        with memory.Intermediates() as kept:  # every value stays alive (and autograd keeps it) until the end
            counted = kept.counting  # (inside a request only: the library's loops pay nothing for it)
            for function, slots in self.steps:
                value = function(*[values[slot] for slot in slots])
                if counted:
                    kept.add(value.numel() * value.element_size())
                values.append(value)
        return values


def lower(expr: sp.Basic, variables: Sequence[str], every_node: bool = False) -> Program:
    """Lower a SymPy expression over the named variables into a torch Program.  `every_node` keeps a step for
    each node of the tree, a - b's (-1)*b too (steps shows each node's number), instead of subtracting b."""
    return _Lowering(list(variables), every_node).run(expr)


def evaluate_constant(expr: sp.Expr) -> float:
    """The float64 value of a constant expression (a binding like pi/4), by the same lowering."""
    program = lower(expr, [])
    return float(program([], dtype=torch.float64))


def stable_forms(expr: sp.Basic) -> sp.Basic:
    """The expression with every textbook formula that overflows replaced by its stable equivalent
    (`stable_form`).  The lowering applies the same rewrites node by node as it walks."""
    return expr.replace(lambda node: stable_form(node) is not None, lambda node: stable_form(node))


def stable_form(node: sp.Basic) -> sp.Basic | None:
    """The stable equivalent of a textbook formula that overflows or cancels, for the numbers only, else
    None: 1/(1+exp(-u)) -> sigmoid(u), log(1+exp(u)) -> softplus(u), log(1+u) -> log1p(u), exp(u)-1 ->
    expm1(u), 1-erf(u) -> erfc(u) (and 1+erf(u), erf(u)-1 alike).

    Written naively, 1/(1+exp(-x)) at x = -800 and log(1+exp(x)) at x = 800 have NaN gradients, and
    1 - erf(5.362) keeps two of its digits (3.3751e-14 against erfc's 3.3762e-14).
    """
    if isinstance(node, sp.Pow) and node.exp == -1:
        exponent = _exponent_of_e(_one_plus(node.base))
        if exponent is not None:
            return sigmoid(-exponent)
    if isinstance(node, sp.log):
        rest = _one_plus(node.args[0])
        exponent = _exponent_of_e(rest)
        if exponent is not None:
            return softplus(exponent)
        if rest is not None:
            return log1p(rest)
    if isinstance(node, sp.Add) and len(node.args) == 2 and sp.S.NegativeOne in node.args:
        exponent = _exponent_of_e(node.args[0] if node.args[1] == -1 else node.args[1])
        if exponent is not None:
            return expm1(exponent)
    if isinstance(node, sp.Add) and len(node.args) == 2:
        return _erf_complement(node)
    return None


def _erf_complement(node: sp.Add) -> sp.Basic | None:
    """erfc for ±1 ± erf(u): 1 - erf(u) = erfc(u), 1 + erf(u) = erfc(-u), erf(u) - 1 = -erfc(u) and
    -1 - erf(u) = -erfc(-u).  Unevaluated: SymPy writes erfc(-u) as 2 - erfc(u), which cancels again."""
    constant, term = node.args if node.args[0].is_Number else node.args[::-1]
    if constant not in (1, -1):  # (first: every two-term sum of the lowering comes here)
        return None
    sign, rest = term.as_coeff_Mul()
    if not isinstance(rest, sp.erf) or sign not in (1, -1):
        return None
    complement = sp.erfc(rest.args[0] if sign != constant else -rest.args[0], evaluate=False)
    return complement if constant == 1 else -complement


def _exponent_of_e(node: sp.Basic | None) -> sp.Basic | None:
    """u for exp(u) or E**u, else None.

    Both must be asked for by their own shape: SymPy's `isinstance(Pow(E, u), exp)` is true (a metaclass
    check), and such a node's `args[0]` is the base E, not the exponent u.
    """
    if isinstance(node, sp.Pow) and node.base is sp.E:
        return node.exp
    if isinstance(node, sp.exp):  # a true exp node, E**u having been answered above
        return node.args[0]
    return None


def _one_plus(node: sp.Basic) -> sp.Basic | None:
    """u for a node 1 + u, else None."""
    if isinstance(node, sp.Add) and len(node.args) == 2 and sp.S.One in node.args:
        return node.args[0] if node.args[1] == 1 else node.args[1]
    return None


MAX_BRANCH_NESTING = 100  # `a if c else …` inside one another: each level lowers its branches again


class _Lowering:
    def __init__(self, variables: list[str], every_node: bool = False, nesting: int = 0,
                 has_variables: HasVariables | None = None) -> None:
        self.variables = variables
        self.every_node = every_node
        self.nesting = nesting
        self.forms = torch_form_by_sympy_class()
        self.stable_nodes: dict[sp.Basic, sp.Basic] = {}
        self.fractions: dict[sp.Basic, tuple[list[sp.Basic], list[sp.Basic]]] = {}
        self.has_variables = has_variables or HasVariables()  # a branch's lowering shares its parent's answers

    def stable(self, node: sp.Basic) -> sp.Basic:
        """The node, or its `stable_form` (the walk lowers each node's stable form in its place), with a sum's
        constant terms grouped."""
        rewritten = self.stable_nodes.get(node)
        if rewritten is None:
            form = stable_form(node)
            rewritten = node if form is None else form
            rewritten = self.stable_nodes[node] = self.constants_grouped(rewritten)
        return rewritten

    def constants_grouped(self, node: sp.Basic) -> sp.Basic:
        """A sum with its constant terms as one sum, which the walk folds as an exact constant.  SymPy spreads
        5*(3 + 10**20*(log(2) + log(3) - log(6))) + x into 15 + 5*10**20*log(2) + … + x, and torch adding the
        terms one by one rounds their cancellation to 65536."""
        if not isinstance(node, sp.Add) or self.every_node:
            return node
        constant = [term for term in node.args if not self.has_variables(term)]
        if len(constant) < 2 or len(constant) == len(node.args):
            return node
        rest = [term for term in node.args if self.has_variables(term)]
        return sp.Add(sp.Add(*constant, evaluate=False), *rest, evaluate=False)

    def fraction(self, node: sp.Mul) -> tuple[list[sp.Basic], list[sp.Basic]]:
        """The product's stable factors, split into numerator and denominator once."""
        split = self.fractions.get(node)
        if split is None:
            numerator, denominator = _split_fraction([self.stable(arg) for arg in node.args])
            split = self.fractions[node] = ([self.stable(n) for n in numerator], [self.stable(d) for d in denominator])
        return split

    def run(self, root: sp.Basic) -> Program:
        """Order the subexpressions (post-order, iteratively, each once), then number the slots:
        inputs, constants, steps."""
        root = self.stable(root)
        leaves: dict[sp.Basic, tuple[str, Any]] = {}
        children: dict[sp.Basic, list[sp.Basic]] = {}  # each node's, as the walk found them
        ordered: list[sp.Basic] = []
        seen: set[sp.Basic] = set()
        stack: list[tuple[sp.Basic, bool]] = [(root, False)]
        while stack:
            node, children_done = stack.pop()
            if node in seen and not children_done:
                continue
            if children_done:
                ordered.append(node)
                continue
            seen.add(node)
            leaf = self.leaf(node)
            if leaf is not None:
                leaves[node] = leaf
                continue
            stack.append((node, True))
            children[node] = self.children(node)
            stack.extend((child, False) for child in reversed(children[node]) if child not in seen)
        constants: dict[Any, int] = {}
        program = Program(self.variables)
        for kind, value in leaves.values():
            if kind == "constant" and _constant_key(value) not in constants:
                constants[_constant_key(value)] = len(program.constants)
                program.constants.append(value)
        base = len(self.variables) + len(constants)
        slots: dict[sp.Basic, int] = {}
        for node, (kind, value) in leaves.items():
            slots[node] = value if kind == "input" else len(self.variables) + constants[_constant_key(value)]
        for position, node in enumerate(ordered):
            slots[node] = base + position
            arguments = tuple(slots[child] for child in children[node]) + self.extra_slots(node)
            program.steps.append((self.function(node), arguments))
            program.nodes.append(node)
        program.output = slots[root]
        return program

    def leaf(self, node: sp.Basic) -> tuple[str, Any] | None:
        if isinstance(node, sp.Symbol):
            if node.name not in self.variables:
                raise DerivcliError(f"no value for variable '{node.name}'", hint=f"pass --{node.name} VALUE")
            return ("input", self.variables.index(node.name))
        if node is sp.true or node is sp.false:
            return ("constant", bool(node))
        if isinstance(node, constant_tensor):
            return ("constant", _frozen(node.nested(to_float)))
        if node.is_Number or isinstance(node, sp.NumberSymbol) or node in (sp.zoo, sp.oo, -sp.oo, sp.nan):
            return ("constant", to_float(node))
        folded = None if self.has_variables(node) else _exact_constant(node)
        if folded is not None:
            return ("constant", folded)
        return None

    def children(self, node: sp.Basic) -> list[sp.Basic]:
        if isinstance(node, sp.Mul):
            numerator, denominator = self.fraction(node)
            return numerator + denominator
        if isinstance(node, sp.Pow):
            children = [node.base] if node.exp.is_Number else [node.base, node.exp]
        elif isinstance(node, sp.Piecewise):
            children = [pair.cond for pair in node.args]
        elif isinstance(node, index):
            children = [node.args[0]]
        elif isinstance(node, sp.Add) and not self.every_node:
            children = [negated if (negated := _negated(arg)) is not None else arg for arg in node.args]
        elif isinstance(node, TensorOp):
            children = list(node.operands)  # the settings (dim=1, …) go to the torch form as keywords
        else:
            children = list(node.args)
        return [self.stable(child) for child in children]

    def extra_slots(self, node: sp.Basic) -> tuple[int, ...]:
        """Piecewise branches run on masked copies of the inputs: pass every input along."""
        if isinstance(node, sp.Piecewise):
            return tuple(range(len(self.variables)))
        return ()

    def function(self, node: sp.Basic) -> Callable[..., torch.Tensor]:
        if isinstance(node, sp.Add):
            negative = tuple(not self.every_node and _is_negated(arg) for arg in node.args)
            return signed_sum(negative) if any(negative) else add
        if isinstance(node, sp.Mul):
            count = len(self.fraction(node)[0])
            return lambda *args: fraction(args[:count], args[count:])
        if isinstance(node, sp.Pow):
            return power(node.exp) if node.exp.is_Number else checked_pow
        if isinstance(node, sp.Piecewise):
            if self.nesting >= MAX_BRANCH_NESTING:  # refused at once: lowering 700 of them took seconds
                raise DerivcliError(f"the expression nests more than {MAX_BRANCH_NESTING} conditions (if/else) "
                                    "inside one another")
            branches = [_Lowering(self.variables, self.every_node, self.nesting + 1, self.has_variables).run(pair.expr)
                        for pair in node.args]
            return PiecewiseForm(branches)
        if isinstance(node, index):
            return indexer(node.items())
        several = len(node.args) > 1
        for kind, form in (*RELATIONS.items(), *LOGIC.items()):
            if isinstance(node, kind):
                return elementwise(form, kind.__name__) if several else form
        for cls in type(node).__mro__:
            if cls in self.forms:
                form = self.forms[cls]
                tensor = isinstance(node, TensorFunction)
                if isinstance(node, TensorOp) and node.settings:
                    return partial(form, **node.settings)
                return form if tensor or len(node.args) < 2 else elementwise(form, _name_of(node))
        raise DerivcliError(f"cannot evaluate {type(node).__name__} numerically: {shorten(node)}")


def _exact_constant(node: sp.Basic) -> float | None:
    """A constant (variable-free) subexpression's value, rounded once from 30 correct digits: `1 - erf(5)` computed in
    float64 keeps 4 of its digits, and `log(1 - erf(5))*x` would carry the loss into every answer.  None for
    what is not a finite real number to SymPy (held constants, 1/0, comparisons, tensors), and for what SymPy
    cannot get 30 digits of (see `symbolic.exact`): torch computes those as IEEE does."""
    if not isinstance(node, (sp.Add, sp.Mul, sp.Pow, sp.Function)) or isinstance(node, TensorFunction):
        return None
    value = evaluated(node)
    if value is None or not (value.is_Number and value.is_extended_real and value.is_finite):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _frozen(nested: Any) -> Any:
    """Nested lists as nested tuples: a constant the lowering can dedupe (and torch.tensor can read)."""
    return tuple(_frozen(item) for item in nested) if isinstance(nested, list) else nested


def _constant_key(value: float | bool | tuple[Any, ...]) -> tuple[type, Any]:
    """Constants dedupe by type and value (NaN != NaN, so it gets a key of its own)."""
    if isinstance(value, float) and math.isnan(value):
        return (float, "nan")
    return (type(value), value)


def _split_fraction(factors: Sequence[sp.Basic]) -> tuple[list[sp.Basic], list[sp.Basic]]:
    """x*y/z**2 -> ([x, y], [z**2]): divide once rather than multiply by reciprocals."""
    numerator: list[sp.Basic] = []
    denominator: list[sp.Basic] = []
    for factor in factors:
        if isinstance(factor, sp.Pow) and factor.exp.is_Number and factor.exp < 0:
            denominator.append(factor.base if factor.exp == -1 else sp.Pow(factor.base, -factor.exp))
        elif factor.is_Rational and factor.p == 1 and factor.q != 1:
            denominator.append(sp.Integer(factor.q))
        else:
            numerator.append(factor)
    return numerator, denominator


def _negated(term: sp.Basic) -> sp.Basic | None:
    """b for a sum's term -b (SymPy's (-1)*b), to be subtracted; None for any other term."""
    return sp.Mul(*term.args[1:]) if _is_negated(term) else None


def _is_negated(term: sp.Basic) -> bool:
    return isinstance(term, sp.Mul) and term.args[0] is sp.S.NegativeOne


def _name_of(node: sp.Basic) -> str:
    return getattr(node, "display_name", type(node).__name__.lower())
