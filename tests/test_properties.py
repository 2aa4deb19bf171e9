"""Property-based tests: random expressions from the functions table, and fuzzed command lines.

1. Random compositions of the table's functions with + - * / and small integer powers, over x and y:
   wherever autograd's value and gradient are finite, SymPy's derivative (`--check`) agrees with it.
   Each function's argument is kept inside the function's test domain (the table's `domain`) by
   squashing the inner expression into that interval with a bounded function (tanh, sin, erf, ...),
   unless the function is tame on the whole real line; denominators are bounded away from zero.
2. Fuzzing `derivcli grad TEXT --x 1`: any text gives exit code 0, 1 or 2, never a traceback, and
   exit code 2 comes with a one-line `error: ...` on stderr.
"""

from __future__ import annotations

import contextlib
import io
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import derivcli
from derivcli.cli import main
from derivcli.functions import FUNCTIONS

# ----------------------------------------------------------------------------------- the expressions
UNARY = [spec for spec in FUNCTIONS if not spec.internal and spec.arity[0] <= 1]
# Functions that are defined and tame (at most linear growth, no poles) on the whole real line: they take
# any inner expression as it is.  Every other function gets its argument squashed into its domain.
ANYWHERE = {"sin", "cos", "tanh", "atan", "erf", "erfc", "sigmoid", "asinh", "abs", "sign", "floor",
            "ceiling", "relu", "softplus", "heaviside", "min", "max"}
# Bounded functions with values in [-1, 1], used to squash an expression into an interval.
SQUASH = ["tanh({})", "sin({})", "cos({})", "erf({})", "(2*sigmoid({}) - 1)", "(0.6*atan({}))"]

LEAVES = ["x", "y", "x", "y", "x", "y", "2", "0.5", "3", "pi"]
KINDS = ["unary"] * 6 + ["+", "-", "*"] * 2 + ["/", "power", "negative power", "min/max", "atan2", "log", "root"]
MAX_DEPTH = 4


def _number(value: float) -> str:
    return repr(round(value, 6))


@st.composite
def expressions(draw: st.DrawFn, depth: int = MAX_DEPTH) -> str:
    """A random expression over x and y whose every function argument lies in the function's domain."""
    if depth == 0 or draw(st.integers(0, 4)) == 0:
        return draw(st.sampled_from(LEAVES))
    inner = expressions(depth - 1)
    kind = draw(st.sampled_from(KINDS))
    if kind == "unary":
        spec = draw(st.sampled_from(UNARY))
        argument = draw(inner)
        if spec.name in ANYWHERE and draw(st.booleans()):
            return f"{spec.name}({argument})"
        low, high = spec.domain
        middle, radius = (low + high) / 2, 0.9 * (high - low) / 2
        squash = draw(st.sampled_from(SQUASH)).format(argument)
        return f"{spec.name}({_number(middle)} + {_number(radius)}*{squash})"
    if kind in ("+", "-", "*"):
        return f"({draw(inner)} {kind} {draw(inner)})"
    if kind == "power":
        return f"({draw(inner)})**{draw(st.sampled_from([2, 3]))}"
    if kind == "min/max":
        return f"{draw(st.sampled_from(['min', 'max']))}({draw(inner)}, {draw(inner)})"
    # the rest divide by, or take a root or log of, a positive expression (at least about 0.37)
    positive = draw(st.sampled_from(["(2 + tanh({}))", "(1 + ({})**2)", "exp(tanh({}))", "cosh(tanh({}))"]))
    positive = positive.format(draw(inner))
    if kind == "/":
        return f"({draw(inner)} / {positive})"
    if kind == "negative power":
        return f"{positive}**{draw(st.sampled_from([-1, -2, -3]))}"
    if kind == "atan2":
        return f"atan2({draw(inner)}, {positive})"
    if kind == "log":
        return f"log({positive}, {draw(st.sampled_from([2, 3, 10]))})"
    assert kind == "root"
    return f"root({positive}, {draw(st.sampled_from([2, 3]))})"


COORDINATE = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression=expressions(), x=COORDINATE, y=COORDINATE)
def test_autograd_agrees_with_sympy(expression: str, x: float, y: float) -> None:
    result = derivcli.grad(expression, {"x": x, "y": y}, check=True)
    finite = math.isfinite(result.value) and all(math.isfinite(g) for g in result.gradient.values())
    if finite:
        assert result.check is not None
        assert result.check.agree, (
            f"{expression} at x={x!r}, y={y!r}: autograd {result.gradient}, SymPy {result.check.gradient} "
            f"({result.check.derivatives})"
        )


def test_every_unary_entry_can_be_generated() -> None:
    """The strategy draws from the table itself, so new unary entries join the property test."""
    names = {spec.name for spec in UNARY}
    assert names == {spec.name for spec in FUNCTIONS if not spec.internal and spec.arity[0] <= 1}
    assert "sin" in names and "gamma" in names


# --------------------------------------------------------------------------------------- the fuzzing
ALPHABET = "0123456789xyzeEpisncoqrtlgamhbfd_" + "+-*/^%@()[],.<>=! " + "**"
TOKENS = st.sampled_from([
    "x", "y", "1", "2.5", "1e3", "1e400", ".5", "0", "pi", "e", "+", "-", "*", "/", "**", "^", "//", "%",
    "(", ")", "[", "]", ",", ".", " ", "<", "==", "if", "else", "and", "not", "sin(", "log(", "max(",
    "factorial(", "gamma(", "sqrt(", "atan2(", "heaviside(", "floor(", "root(", "relu(", "softplus(",
    "999", "-", "--", "--x", "@", "x.T", "x[0]", "1/0", "0**-1", "ln(", "psi(",
])
FUZZ_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=ALPHABET, max_size=40),
    st.lists(TOKENS, max_size=16).map("".join),
)


def _run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=FUZZ_TEXT)
def test_cli_never_crashes(text: str) -> None:
    code, _, err = _run_cli(["grad", text, "--x", "1"])
    assert isinstance(code, int)
    assert code in (0, 1, 2), f"exit code {code} for {text!r}: {err}"
    assert "Traceback" not in err
    if code == 2:
        assert err.startswith("error: "), f"{text!r}: stderr {err!r}"


def test_cli_smoke() -> None:
    """The fuzz harness itself: a good expression exits 0, a bad one 2 with an error line."""
    assert _run_cli(["grad", "x**2", "--x", "1"])[0] == 0
    code, _, err = _run_cli(["grad", "x**", "--x", "1"])
    assert code == 2 and err.startswith("error: ")
