"""`--expect`: is the derivative a learner worked out by hand the right one?

Equivalent forms must pass (`2 sin x cos x` for the derivative of sin² x, `1/(x ln 10)` for lg x), and an
answer wrong only somewhere (`2x - 1` for the derivative of x² + |x - 5|, wrong for x > 5) must not.  So
SymPy first simplifies the difference within a budget (a 0 settles it); meanwhile, in a second child
process, both are compared at 30 digits at points over every scale and on both sides of every breakpoint
(`breakpoints.py`), which also finds a point to show when the answer is wrong: `your answer gives 99 at
x = 50, the derivative is 101`.  A number with a point (`grad "sin(x)" --x 1 --expect 0.5403`) is the
derivative's value there; a number without one is a formula like any other (3 is the derivative of 3x).

The answer may be written as an equation whose left side names the derivative (`dy/dx = …`, `y' = …`,
`f'(x) = …`, `d/dx(x^2) = …`, `∂f/∂x = …`, `d2y/dx2 = …`); a left side naming another derivative
(`dy/dt` where x is differentiated) is an error saying so.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from ..errors import DerivcliError
from ..parsing import Context, ParsedExpression, parse
from ..parsing.unicode import PARTIAL, SUPERSCRIPT_DIGITS
from ..results import derivative_key
from ..symbolic.budgeted import Budgeted, with_budget
from .breakpoints import DIGITS, Comparison, compare_at_points
from .breakpoints import value_at as _at  # (steps/verify.py evaluates its steps the same way)

__all__ = ["DIGITS", "ExpectVerdict", "_at", "_close", "check_answer", "check_expected", "check_expected_number",
           "is_number", "read_expected"]

SIMPLIFY_SECONDS = 3.0
POINTS_SECONDS = 8.0  # the comparison at points, in its own process (killed 4 s later if it hangs)
POINTS_FEW = 10  # agreeing at fewer points than this is said
SHOWN_BREAKPOINTS = 4
FORMS = "write dy/dx = …, y' = …, f'(x) = …, d/dx(…) = …, or the formula alone"


@dataclass
class ExpectVerdict:
    """The learner's formula (or number) against the derivative: agree, how it was decided (`symbolic`,
    `points`, `value at the point`), and where they differ when they do."""

    formula: str
    agree: bool
    method: str
    counterexample: dict[str, Any] | None = None  # {"point": {...}, "yours": v, "derivative": v}
    points: int | None = None  # with method `points`: how many were compared
    breakpoints: list[str] = field(default_factory=list)  # with method `points`: those surrounded
    note: str | None = None  # what was left out, for time

    def message(self) -> str:
        if not self.agree:
            if self.counterexample is None:
                return f"your answer {self.formula} is not the derivative"
            where = _point_text(self.counterexample["point"])
            yours, truth = _distinct_texts(self.counterexample["yours"], self.counterexample["derivative"])
            return f"your answer gives {yours}{where and ' at ' + where}, the derivative is {truth}"
        return f"your answer {self.formula} is right ({self.how()})"

    def how(self) -> str:
        """How it was decided, in words."""
        if self.method == "symbolic":
            return "SymPy simplifies the difference to 0"
        if self.method != "points":
            return self.method
        count = f"only {self.points} point{'s' if self.points != 1 else ''} where both are defined" \
            if (self.points or 0) < POINTS_FEW else f"{self.points} points"
        sides = ""
        if self.breakpoints:
            shown = ", ".join(self.breakpoints[:SHOWN_BREAKPOINTS])
            more = len(self.breakpoints) - SHOWN_BREAKPOINTS
            sides = f", on both sides of {shown}" + (f" and {more} more" if more > 0 else "")
        return f"equal to {DIGITS} digits at {count}{sides}" + (f"; {self.note}" if self.note else "")

    def to_json(self) -> dict[str, Any]:
        data = {"formula": self.formula, "agree": self.agree, "method": self.method,
                "counterexample": self.counterexample}
        if self.method == "points":
            data.update(points=self.points, breakpoints=list(self.breakpoints))
        if self.note:
            data["note"] = self.note
        return data


def check_answer(text: str, parsed: ParsedExpression, derivative: sp.Expr, sequence: Sequence[str], *,
                 value: float | None = None, truth: float | None = None, point: Mapping[str, Any] | None = None,
                 tolerance: tuple[float, float] = (1e-8, 1e-10)) -> ExpectVerdict:
    """--expect: a number at a point (`value`, autograd's; `truth`, the 30-digit one where known) against
    the derivative's value there; anything else against the derivative everywhere."""
    formula = answer_formula(text, parsed, sequence)
    if value is not None and is_number(formula):
        return check_expected_number(formula, value, truth, *tolerance, point=point, text=text)
    return _check_formula(text, formula, parsed, derivative)


def check_expected(text: str, parsed: ParsedExpression, derivative: sp.Expr, sequence: Sequence[str] | None = None,
                   seed: int = 0) -> ExpectVerdict:
    """Whether `text` is `derivative` (along `sequence`, by default f's one variable) in another form."""
    return _check_formula(text, answer_formula(text, parsed, sequence), parsed, derivative, seed)


def _check_formula(text: str, formula: str, parsed: ParsedExpression, derivative: sp.Expr, seed: int = 0
                   ) -> ExpectVerdict:
    """SymPy's simplify and the points side by side, each in its own process; simplify's 0 comes first."""
    answer = read_expected(formula, parsed)
    points = (derivative, answer, parsed.expr, POINTS_SECONDS, seed)
    with Budgeted(_simplified_difference, (derivative, answer), SIMPLIFY_SECONDS) as symbolic, \
            Budgeted(compare_at_points, points, POINTS_SECONDS + 4) as numeric:
        done, difference = symbolic.outcome()
        if done and difference == 0:
            return ExpectVerdict(text, True, "symbolic")
        done, comparison = numeric.outcome()
    if not done:
        raise DerivcliError(f"--expect: SymPy could not show your answer equal to the derivative within "
                            f"{SIMPLIFY_SECONDS:g} s, and comparing them at points did not finish",
                            hint="try a simpler form of your answer")
    return _points_verdict(text, comparison)


def _points_verdict(text: str, comparison: Comparison) -> ExpectVerdict:
    if comparison.compared == 0:
        raise DerivcliError("--expect: found no point where both your answer and the derivative are real numbers",
                            hint="check the answer's domain (a square root or logarithm of something negative?)")
    left_out = []
    if comparison.slow is not None:
        left_out.append(f"points of size {comparison.slow:.3g} and beyond took too long and were left out")
    if not comparison.complete:
        left_out.append(f"the last points were not reached within {POINTS_SECONDS:g} s")
    return ExpectVerdict(text, comparison.counterexample is None, "points", comparison.counterexample,
                         comparison.compared, comparison.breakpoints, "; ".join(left_out) or None)


def _simplified_difference(derivative: sp.Expr, answer: sp.Expr) -> sp.Expr:
    return sp.simplify(derivative - answer)


def _close(truth: sp.Float, yours: sp.Float) -> bool:
    """Equal to 22 of 30 digits, relative to the size of the truth (at least 1)."""
    return bool(abs(truth - yours) <= sp.Float(10) ** (-DIGITS + 8) * max(1, abs(truth)))


# ------------------------------------------------------------------------------------------------- reading
def read_expected(text: str, parsed: ParsedExpression) -> sp.Expr:
    """The learner's formula, read by the same safe parser with f's variables as the known names; a
    variable f does not have is an error (an answer in the wrong variable)."""
    names = frozenset(parsed.variables)
    try:
        answer = parse(text, Context(names, frozenset(), letters=not names))
    except DerivcliError as error:
        raise DerivcliError(f"--expect: {error.message}", hint=error.hint) from None
    if answer.wrt:
        raise DerivcliError(f"--expect: your answer asks for a derivative (d/d{answer.wrt[0]} …) instead of giving one",
                            hint="write the derivative you worked out, e.g. d/dx(x^2) = 2x or just 2x")
    strangers = [name for name in answer.variables if name not in parsed.symbols]
    if strangers:
        raise DerivcliError(f"--expect: your answer uses {', '.join(strangers)}, which f does not have",
                            hint=f"f's variables are {', '.join(parsed.variables) or 'none'}")
    symbols = {answer.symbols[name]: parsed.symbols[name] for name in answer.variables}
    return answer.expr.xreplace(symbols)


def answer_formula(text: str, parsed: ParsedExpression, sequence: Sequence[str] | None = None) -> str:
    """The formula of an answer written as an equation, once its left side is seen to name this derivative
    (of f along `sequence`); an answer without one as it is."""
    from .implicit import split_equation

    try:
        left, right, _ = split_equation(text)
    except DerivcliError:  # no single '=' (none, or ==, <=, …): the parser says what is wrong, if anything
        return text
    sequence = list(sequence or parsed.variables[:1])
    named = _named_derivative(left, parsed, sequence)
    if Counter(named) != Counter(sequence):
        written = " ".join(left.split())
        raise DerivcliError(f"--expect: the left side {written} is the derivative {derivative_key(named)}, but this "
                            f"one is {derivative_key(sequence)}",
                            hint=f"give --wrt {named[0]}" if set(named) <= set(parsed.variables) and
                            named[0] not in sequence else
                            f"write {derivative_key(sequence).replace('/', 'y/', 1)} = …, or the formula alone")
    return right


def _named_derivative(left: str, parsed: ParsedExpression, sequence: list[str]) -> list[str]:
    """The variables (one per order) of the derivative the left side names: `dy/dx` [x], `y''` [x, x],
    `∂²f/∂x∂y` [x, y]; an error where it names none, or the derivative of something other than f."""
    written = " ".join(left.split())
    compact = _normalized(left)
    names = sorted({*parsed.variables, *sequence}, key=len, reverse=True)
    variable = "|".join([*map(re.escape, names), "[A-Za-z]"])
    below = rf"(?:[d{PARTIAL}](?:{variable})(?:\^?\d+)?)+"
    prime = re.fullmatch(r"([A-Za-z_]\w*)('+)(?:\(([^()]*)\))?", compact)
    if prime:
        name, order, args = prime.group(1), len(prime.group(2)), prime.group(3)
        _check_function_name(name, written, parsed)
        if args:
            named = [arg for arg in args.split(",") if arg]
            if len(named) == 1 and not re.fullmatch(r"[A-Za-z_]\w*", named[0]):
                raise DerivcliError(f"--expect: {written} is a value at a point, not the derivative",
                                    hint=f"give the point (--{sequence[0]} {named[0]}) and the number alone")
            if len(named) != 1:
                raise DerivcliError(f"--expect: {written} does not say which variable it differentiates by",
                                    hint="write ∂f/∂x = … for a partial derivative")
            return named * order
        if len(set(sequence)) != 1 or len(parsed.variables) > 1:
            raise DerivcliError(f"--expect: {written} does not say which variable it differentiates by",
                                hint=f"f has {', '.join(parsed.variables)}: write ∂f/∂{sequence[0]} = …")
        return sequence[:1] * order
    leibniz = re.fullmatch(rf"[d{PARTIAL}](?:\^?(\d+))?([A-Za-z_]\w*?)(?:\([^()]*\))?/({below})", compact)
    if leibniz:
        _check_function_name(leibniz.group(2), written, parsed)
        return _below(leibniz.group(1), leibniz.group(3), variable, written)
    operator = re.fullmatch(rf"\(?[d{PARTIAL}](?:\^?(?P<order>\d+))?/(?P<under>{below})\)?(?P<of>.+)", compact) or \
        re.fullmatch(rf"[d{PARTIAL}](?:\^?(?P<order>\d+))?(?P<of>\(.+\))/(?P<under>{below})", compact)
    if operator:
        _check_differentiated(operator["of"], written, parsed)
        return _below(operator["order"], operator["under"], variable, written)
    if re.fullmatch(r"[A-Za-z_]\w*(?:\([^()]*\))?", compact):
        name = compact.split("(")[0]
        raise DerivcliError(f"--expect: the left side {written} names the function, not its derivative",
                            hint=f"write {name}' = … or d{name}/d{sequence[0]} = …, or the formula alone")
    raise DerivcliError(f"--expect: the left side {written} does not name the derivative", hint=FORMS)


def _normalized(text: str) -> str:
    """Without spaces, primes as apostrophes (′ ″ ’), superscript digits as powers (d²y/dx² is d^2y/dx^2)."""
    text = "".join(text.split())
    for char, plain in {"′": "'", "’": "'", "ʹ": "'", "″": "''", "‴": "'''"}.items():
        text = text.replace(char, plain)
    return re.sub(f"[{SUPERSCRIPT_DIGITS}]+", lambda m: "^" + "".join(str(SUPERSCRIPT_DIGITS.index(c))
                                                                      for c in m.group()), text)


def _below(order: str | None, under: str, variable: str, written: str) -> list[str]:
    """The variables of `dx^2`, `∂x∂y` (each as often as its power), checked against the order above."""
    named = [name for name, power in re.findall(rf"[d{PARTIAL}]({variable})(?:\^?(\d+))?", under)
             for _ in range(int(power or 1))]
    if len(named) != int(order or 1):
        raise DerivcliError(f"--expect: in {written}, the order above ({order or 1}) and below ({len(named)}) differ",
                            hint="write d^2y/dx^2 = … for the second derivative")
    return named


def _check_function_name(name: str, written: str, parsed: ParsedExpression) -> None:
    """The left side's function must not be one of f's variables (`dy/dx` where f has y is not f's)."""
    if name in parsed.variables:
        raise DerivcliError(f"--expect: in {written}, {name} is a variable of f, not f",
                            hint="name the function otherwise, e.g. df/dx = …")


def _check_differentiated(of: str, written: str, parsed: ParsedExpression) -> None:
    """What `d/dx(…)` differentiates must be f: its name (`d/dx f`, `d/dx y(x)`) or an expression equal to f."""
    inner = of[1:-1] if _enclosed(of) else of
    call = re.fullmatch(r"([A-Za-z_]\w*)(?:\([^()]*\))?", inner)
    if call and not _known_name(call.group(1), parsed):
        return
    expression = read_expected(inner, parsed)
    if expression == parsed.expr or sp.expand(expression - parsed.expr) == 0:
        return
    done, difference = with_budget(_simplified_difference, (parsed.expr, expression), 1.0)
    if not (done and difference == 0):
        raise DerivcliError(f"--expect: {written} differentiates {expression}, which is not f = {parsed.expr}",
                            hint=FORMS)


def _enclosed(text: str) -> bool:
    """Whether the whole text is one (…) or […] (not `(x+1)*(x-1)`)."""
    if text[:1] + text[-1:] not in ("()", "[]"):
        return False
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(char, 0)
        if depth == 0:
            return index == len(text) - 1
    return False


def _known_name(name: str, parsed: ParsedExpression) -> bool:
    """A name that is not a function's own name: f's variable, a function of the table, a constant."""
    from ..parsing.notation import CONSTANTS
    from ..table.functions import by_name

    return name in parsed.variables or name in by_name() or name in CONSTANTS


# ------------------------------------------------------------------------------------------------- numbers
def is_number(text: str) -> bool:
    """Whether an answer is a number (`0.5`, `sqrt(3)/2`) rather than a formula, by the syntax alone."""
    from ..parsing import CONSTANT_NAMES, check_syntax
    from ..parsing.notation import CONSTANTS

    try:
        return all(name in CONSTANTS or name in CONSTANT_NAMES for name in check_syntax(text).names())
    except DerivcliError:
        return False


def check_expected_number(formula: str, value: float, truth: float | None, rtol: float, atol: float,
                          point: Mapping[str, Any] | None = None, text: str | None = None) -> ExpectVerdict:
    """`grad --expect 0.5`: a number against the derivative at the point (its 30-digit value where known)."""
    from ..inputs.bindings import parse_value

    expected = parse_value("expect", formula)
    if not isinstance(expected, float):
        raise DerivcliError("--expect takes a formula or one number")
    reference = value if truth is None else truth
    typed = re.fullmatch(r"\s*[+-]?\d*\.(\d+)\s*", formula)  # 0.5403 means "to 4 decimals"
    rounding = 0.5 * 10.0 ** -len(typed.group(1)) if typed else 0.0
    agree = abs(expected - reference) <= max(atol, rtol * abs(reference), rounding)
    where = {name: number for name, number in (point or {}).items() if isinstance(number, (int, float))}
    return ExpectVerdict(text or formula, agree, "the value at the point",
                         None if agree else {"point": where, "yours": expected, "derivative": reference})


def _point_text(point: Mapping[str, Any]) -> str:
    return ", ".join(f"{name} = {_number_text(value)}" for name, value in point.items())


def _number_text(value: float | str) -> str:
    return value if isinstance(value, str) else f"{value:.6g}"


def _distinct_texts(yours: float | str, truth: float | str) -> tuple[str, str]:
    """The two values with 6 significant digits, or as many more as it takes to tell them apart."""
    if isinstance(yours, float) and isinstance(truth, float):
        for digits in range(6, 18):
            texts = f"{yours:.{digits}g}", f"{truth:.{digits}g}"
            if texts[0] != texts[1]:
                return texts
    return _number_text(yours), _number_text(truth)


# The wire contract of this module's to_json: tests/schema_build.py gathers every module's into
# derivcli/schemas/derivcli.schema.json (its $defs; JSON_OUTPUTS also join its root).
JSON_SCHEMA = {
    "expect": {
        "type": "object", "required": ["formula", "agree", "method", "counterexample"],
        "properties": {
            "formula": {"type": "string"}, "agree": {"type": "boolean"},
            "method": {"enum": ["symbolic", "points", "the value at the point"]},
            "counterexample": {
                "oneOf": [
                    {"type": "null"},
                    {
                        "type": "object", "required": ["point", "yours", "derivative"],
                        "properties": {
                            "point": {"type": "object", "additionalProperties": {"type": "number"}},
                            "yours": {"type": ["number", "string"]}, "derivative": {"type": ["number", "string"]},
                        },
                    },
                ],
            },
            "points": {"type": "integer", "minimum": 1}, "breakpoints": {"type": "array", "items": {"type": "string"}},
            "note": {"type": "string"},
        },
    },
}
