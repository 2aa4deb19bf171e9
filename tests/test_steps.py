"""`derivcli steps` (issue 15.1-3): the derivation as a tree of rules, each step verified against
sympy.diff, every function of the table with its own rule, and at a point each step's numbers from
torch's autograd graph, the last of them grad's gradient.

Regenerate the golden derivations after an intended change with
`DERIVCLI_GOLDEN=update .venv/bin/pytest -q -p no:cacheprovider tests/test_steps.py`, and read the diff.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, reject, settings
from test_properties import EXAMPLE_SECONDS, _time_limit, _TooSlow, expressions
from test_schemas import validate as validate_as
from typer.testing import CliRunner

import derivcli
import derivcli.cli.learn  # noqa: F401  (registers `steps` until derivcli.cli imports it)
from derivcli.api import reading_context
from derivcli.cli import app
from derivcli.parsing import parse
from derivcli.render.steps import emit_steps
from derivcli.steps import steps
from derivcli.steps.tree import Step, derivation
from derivcli.steps.verify import check_step, verify
from derivcli.table.functions import FUNCTIONS

GOLDEN = Path(__file__).parent / "golden"
MISSION = "exp(-(x**2-x+1)/cos(log(x))**2)"
TENSOR_POINT = {"W": [[0.5, -1.0], [2.0, 0.25], [-0.5, 1.5]], "x": [1.0, 2.0]}


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env)


def validate(data: object) -> None:
    validate_as(data, "steps")


def rules(step: Step) -> list[str]:
    return [substep.rule for substep in step.substeps]


def equal_functions(a: sp.Expr, b: sp.Expr, x: sp.Symbol) -> bool:
    """Independently of derivcli's verification: simplify, else 12 points at 30 digits."""
    if sp.simplify(a - b) == 0:
        return True
    points = [sp.Rational(k, 7) for k in (-20, -9, -5, -2, 1, 3, 5, 8, 11, 13, 17, 25)]
    values = [(a.subs(x, p).evalf(30), b.subs(x, p).evalf(30)) for p in points]
    usable = [(u, v) for u, v in values if v.is_real and v.is_finite]
    return len(usable) >= 4 and all(abs(u - v) < 1e-20 * max(1, abs(v)) for u, v in usable)


# ---------------------------------------------------------------------- golden derivations
GOLDEN_CASES = {
    "x2-sin": ("x^2 sin(x)", {}, "product rule", ["power rule", "sin rule"]),
    "quotient": ("x/(1+x^2)", {}, "quotient rule", ["variable rule", "sum rule"]),
    "sqrt-1-sin": ("sqrt(1 + sin x)", {}, "chain rule", ["power rule", "sum rule"]),
    "exp-x-to-x": ("exp(x^x)", {}, "chain rule", ["exp rule", "logarithmic differentiation"]),
    "ln-abs": ("ln|x|", {}, "chain rule", ["log rule", "abs rule"]),
    "sin-squared": ("sin^2 x", {}, "chain rule", ["power rule", "sin rule"]),
    "three-factors": ("x e^x sin x", {}, "product rule", ["variable rule", "exp rule", "sin rule"]),
    "piecewise": ("x**2 if x > 0 else sin(x)", {}, "piecewise rule", ["power rule", "sin rule"]),
    "log-base": ("log(x^2 + 1, 2)", {}, "chain rule", ["logarithm to a base", "sum rule"]),
    "mission": (MISSION, {"x": 1}, "chain rule", ["exp rule", "quotient rule"]),
    "relu-matmul": ("sum(relu(W@x))", TENSOR_POINT, "tensor function", []),
}


def plain(result) -> str:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    emit_steps(result, "plain", out)
    return out.getvalue()


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_golden_derivation(name):
    expression, point, root_rule, substep_rules = GOLDEN_CASES[name]
    result = steps(expression, "x", point, simplify_seconds=60)
    shown = plain(result)
    golden = GOLDEN / f"steps-{name}.txt"
    if os.environ.get("DERIVCLI_GOLDEN") == "update":
        golden.write_text(shown, encoding="utf-8")
    assert shown == golden.read_text(encoding="utf-8"), f"{golden.name} differs (DERIVCLI_GOLDEN=update regenerates)"
    parsed = parse(expression, reading_context(list(point), ["x"]))
    x = parsed.symbols["x"]
    root = derivation(parsed.expr, x)
    assert root.rule == root_rule and rules(root) == substep_rules
    if root.rule != "tensor function":
        assert equal_functions(root.result, sp.diff(parsed.expr, x), x)
        assert result.verified is True


def test_the_chain_rule_names_its_inner_function():
    result = steps("exp(-(x**2-x+1))")
    assert result.root.rule == "chain rule" and result.root.lets == [("u", "-x**2 + x - 1")]
    assert result.root.statement == "d/dx f(u) = f'(u)*du/dx"
    assert (result.root.substeps[0].expression, result.root.substeps[0].wrt) == ("exp(u)", "u")


def test_nested_chains_name_each_inner_function_apart_from_the_user_s_variables():
    root = steps("sin(cos(u**2))", "u").root
    assert root.lets[0][0] != "u" and root.substeps[1].lets[0][0] not in ("u", root.lets[0][0])


def test_a_tensor_expression_stops_at_the_tensor_function_and_its_number_is_grad_s():
    result = steps("sum(relu(W@x))", "x", TENSOR_POINT)
    assert result.root.rule == "tensor function" and "autograd" in (result.root.note or "")
    assert result.root.check.method == "autograd"
    assert result.gradient == derivcli.grad("sum(relu(W@x))", TENSOR_POINT, wrt=["x"]).gradient["x"]


def test_logarithmic_differentiation_for_a_variable_power():
    root = steps("x^sin(x)").root
    assert root.rule == "logarithmic differentiation" and root.substeps[0].expression == "log(x)*sin(x)"
    assert root.statement.startswith("y = f**g, so ln(y) = g*ln(f)")


# ---------------------------------------------------------------------- numbers at a point
def test_at_a_point_the_chain_rule_multiplies_out_as_backpropagation_does():
    result = steps(MISSION, point={"x": 1})
    grad = derivcli.grad(MISSION, x=1)
    root = result.root
    assert result.gradient == grad.gradient["x"] == root.numbers.derivative  # the last number is grad's
    assert result.value == grad.value == root.numbers.value
    outer, inner = root.substeps
    assert (outer.wrt, outer.numbers.source) == ("u", "autograd")
    local = outer.numbers.derivative  # d exp(u)/du at u = -1
    assert local == pytest.approx(math.exp(-1.0), rel=1e-15)
    assert local * inner.numbers.derivative == pytest.approx(root.numbers.derivative, rel=1e-15)
    assert root.numbers.upstream == 1.0
    assert inner.numbers.upstream == pytest.approx(root.numbers.upstream * local, rel=1e-15)  # passed down


def test_steps_that_are_no_node_of_the_graph_are_evaluated_from_their_formulas():
    result = steps("x**2 if x > 0 else sin(x)", point={"x": 2})
    branch = result.root.substeps[1]
    assert branch.numbers.source == "formula" and branch.numbers.upstream is None
    assert branch.numbers.value == pytest.approx(math.sin(2.0)) and branch.numbers.derivative == pytest.approx(
        math.cos(2.0))
    assert result.gradient == 4.0


def test_a_point_outside_the_domain_is_computed_and_warned_about():
    result = run("steps", "log(x)", "--x", "-1")
    assert result.exit_code == 0 and "value\tnan" in result.stdout.splitlines()
    assert result.stderr.startswith("warning: the value is nan at this point")


# ---------------------------------------------------------------------- every function, verified
def _call(spec) -> str:  # type: ignore[no-untyped-def]
    """The function of an inner expression kept inside its test domain, so the chain rule is used."""
    low, high = spec.domain
    inner = f"({(low + high) / 2!r} + {0.4 * (high - low)!r}*sin(x))"
    if spec.name in ("min", "max"):
        return f"{spec.name}({inner}, x/3)"
    if spec.name == "polygamma":  # (its order comes first, a whole number)
        return f"polygamma(1, {inner})"
    if spec.arity[0] == 2:
        return f"{spec.name}({inner}, {'3' if spec.name == 'root' else 'x**2 + 1'})"
    return f"{spec.name}({inner})"


RULE_OF = {"sqrt": "power rule", "root": "power rule"}
SCALAR_FUNCTIONS = [spec for spec in FUNCTIONS if not spec.internal and not spec.tensor]


@pytest.mark.parametrize("spec", SCALAR_FUNCTIONS, ids=[spec.name for spec in SCALAR_FUNCTIONS])
def test_every_function_of_the_table_has_its_own_verified_rule(spec):
    parsed = parse(_call(spec))
    x = parsed.symbols["x"]
    root = derivation(parsed.expr, x)
    named = [step for step in root.walk() if step.rule == RULE_OF.get(spec.name, f"{spec.name} rule")]
    assert named, [step.rule for step in root.walk()]
    assert all(step.rule != "SymPy's derivative" for step in root.walk())
    assert verify(root) is True, [(step.rule, step.check) for step in root.walk() if not step.check.ok]
    own = named[0]
    assert own.result == sp.diff(own.expression, own.wrt)  # the rule is SymPy's derivative of f(u)


def test_a_wrong_step_fails_its_check_with_a_point_and_both_values():
    x = sp.Symbol("x", real=True)
    wrong = Step("sin rule", sp.sin(x), sp.sin(x), x, None, None)
    check = check_step(wrong)
    assert check.method == "FAILED" and check.ok is False and "SymPy's derivative" in check.detail


def test_steps_under_a_sign_are_verified():
    """Found by the property below: each step's derivative held a DiracDelta SymPy could not sign at the
    random points, so no point settled any step and the 10 s budget ran out with every step unchecked."""
    parsed = parse("sin(2.7*tanh(sign(2.7*(2*sigmoid(tan(1.26*tanh(x / (2 + tanh(x))))) - 1))))")
    root = derivation(parsed.expr, parsed.symbols["x"])
    assert verify(root) is True
    assert {step.check.method for step in root.walk()} <= {"identical", "numeric", "simplified"}


def every_step_is_verified(expression: str) -> None:
    try:
        with _time_limit(EXAMPLE_SECONDS):
            parsed = parse(expression)
    except _TooSlow:
        reject()  # SymPy's slow automatic evaluation (see test_properties.test_known_slow_parse)
    x = parsed.symbols.get("x", sp.Symbol("x", real=True))
    root = derivation(parsed.expr, x)
    assert verify(root) is not False, [(step.rule, str(step.expression), step.check) for step in root.walk()
                                       if step.check.ok is False]
    assert all(step.check.method != "unchecked" or "no point" in step.check.detail for step in root.walk())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression=expressions())
def test_every_step_of_random_expressions_is_verified(expression):
    every_step_is_verified(expression)


@pytest.mark.slow  # (CI's slow step: eight times the ordinary suite's examples)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression=expressions())
def test_every_step_of_many_random_expressions_is_verified(expression):
    every_step_is_verified(expression)


# ---------------------------------------------------------------------- views
def test_plain_view_is_numbered_and_indented():
    result = run("steps", "x^2 sin(x)", "--wrt", "x", "--format", "plain")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "1. product rule: (f*g)' = f'*g + f*g', with f = x**2, g = sin(x)"
    assert lines[2] == "   put together: f'*g + f*g' = (2*x)*sin(x) + x**2*cos(x)"  # the parts put in
    assert "   1.1. f': power rule: d/du u**n = n*u**(n - 1)" in lines and "   1.2. g': sin rule" in lines
    assert "        d/dx sin(x) = cos(x)" in lines
    assert lines[-3:-1] == ["derivative\tx*(x*cos(x) + 2*sin(x))", "as-built\tx**2*cos(x) + 2*x*sin(x)"]
    assert lines[-1] == "verified\t3 steps: each result equals sympy.diff of its expression"


def test_plain_view_at_a_point_shows_each_step_s_numbers():
    result = run("steps", MISSION, "--x", "1", "--format", "plain")
    assert result.exit_code == 0, result.stderr
    assert "   value 0.36787944117144233, d/dx -0.36787944117144233 = 0.36787944117144233 (d/du) × -1.0 (du/dx), " \
           "gradient from above 1.0" in result.stdout.splitlines()
    assert "d/dx\t-0.36787944117144233" in result.stdout.splitlines()


@pytest.mark.parametrize("argv", [
    ["x^2 sin(x)"],
    [MISSION, "--x", "1", "--latex", "--explain-parse"],
    ["sum(relu(W@x))", "--wrt", "x", "--W", json.dumps(TENSOR_POINT["W"]), "--x", json.dumps(TENSOR_POINT["x"])],
    ["x**2 if x > 0 else sin(x)", "--x", "-1"],
])
def test_json_validates_against_the_schema(argv):
    result = run("steps", *argv, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    validate(data)
    assert {"expression", "wrt", "warnings", "steps", "derivative"} <= set(data)


def test_json_is_a_tree_of_rule_expression_result_substeps():
    data = json.loads(run("steps", "sqrt(1 + sin x)", "--json").stdout)
    root = data["steps"]
    assert (root["rule"], root["expression"], root["let"]) == ("chain rule", "sqrt(sin(x) + 1)", {"u": "sin(x) + 1"})
    assert [step["rule"] for step in root["substeps"]] == ["power rule", "sum rule"]
    assert root["substeps"][1]["substeps"][0]["result"] == "cos(x)"
    assert data["verified"] is True and data["wrt"] == "x"


def test_the_schema_refuses_a_step_without_its_substeps():
    data = json.loads(run("steps", "x^2", "--json").stdout)
    del data["steps"]["substeps"]
    with pytest.raises(jsonschema.ValidationError):
        validate(data)


def test_latex_view():
    result = run("steps", "x^2 sin(x)", "--latex", "--format", "plain")
    assert result.exit_code == 0, result.stderr
    assert r"\frac{d}{dx}\left(x^{2} \sin{\left(x \right)}\right) = x^{2} \cos{\left(x \right)} + 2 x \sin{\left(x " \
           r"\right)}" in result.stdout
    assert "1. product rule: (f g)' = f' g + f g', with f = x^{2}, g = \\sin{\\left(x \\right)}" in result.stdout
    assert "derivative\tx \\left(x \\cos{\\left(x \\right)} + 2 \\sin{\\left(x \\right)}\\right)" in result.stdout


def _shown(text: str) -> str:
    """The table's text without tree guides, line breaks or spaces: what wrapping may move but not cut."""
    return re.sub(r"[\s│├└─]", "", text)


@pytest.mark.parametrize("argv, tree", [([MISSION, "--x", "1"], True), (["sin(" * 16 + "x^2" + ")" * 16], False)])
def test_table_view_at_80_columns_cuts_nothing(argv, tree):
    """A Rich tree, or numbered lines where the tree's guides would leave too little room."""
    result = run("steps", *argv, "--format", "table", env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.stderr
    assert ("├── " in result.stdout) == tree
    assert max(len(line) for line in result.stdout.splitlines()) <= 80 and "…" not in result.stdout
    point = {"x": float(argv[2])} if len(argv) > 2 else {}
    shown = _shown(result.stdout)
    stack = [steps(argv[0], "x", point).root]
    while stack:  # every text of every step, in a textbook's notation on the terminal
        step = stack.pop()
        for text in (step.rule, step.pretty["expression"], step.pretty["result"], *step.pretty["let"].values()):
            assert _shown(text) in shown, text
        stack.extend(step.substeps)


def test_on_a_terminal_steps_read_as_a_textbook_writes_them():
    result = run("steps", "tan(x)^2 + x^2 e^x + ln(sqrt(x))", "--format", "table",
                 env={"COLUMNS": "120", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.stderr
    for text in ("d/dx tan(x) = sec²(x)", "x²·eˣ", "d/du ln(u) = 1/u", "√x", "(f·g)′ = f′·g + f·g′", "f = x², g = eˣ",
                 "put together: f′·g + f·g′ = (2x)·eˣ + x²·eˣ"):
        assert text in result.stdout, text
    tree = result.stdout[result.stdout.index("sum rule"):]
    assert "**" not in tree and "exp(" not in tree and "log(" not in tree


def test_quotient_rule_names_f_and_g_and_shows_the_parts_put_together_and_the_simplified_result():
    result = steps("(x^2 + 1)/(x - 1)")
    root = result.root
    assert root.names == [("f", "x**2 + 1"), ("g", "x - 1")]
    assert root.assembled.text == "((2*x)*(x - 1) - (x**2 + 1)*1)/(x - 1)**2"
    assert [step.role for step in root.substeps] == ["f", "g"]
    assert result.unsimplified == root.result and result.derivative != root.result
    assert sp.simplify(parse(result.derivative).expr - parse(result.unsimplified).expr) == 0
    assert sp.simplify(parse(root.assembled.text).expr - parse(root.result).expr) == 0  # the same function


def test_logarithmic_differentiation_for_a_product_of_many_factors():
    result = steps("x^2 (x + 1)^3 (x - 2)/(x^2 + 1)")
    root = result.root
    assert root.rule == "logarithmic differentiation" and root.substeps[0].rule.startswith("sum")
    assert root.substeps[0].expression == "2*log(x) + log(x - 2) + 3*log(x + 1) - log(x**2 + 1)"
    assert result.verified is True
    assert steps("x e^x sin x").root.rule == "product rule"  # three factors, no quotient: the product rule


# ---------------------------------------------------------------------- errors and weight
@pytest.mark.parametrize("argv, message", [
    (["x*y"], "error: say which variable to differentiate with --wrt"),
    (["sin(x"], "error: "),
    (["x*y", "--wrt", "z"], "error: --wrt z: 'z' is not a variable of the expression"),
    (["x*y", "--wrt", "x,y"], "error: steps differentiates by one variable at a time"),
])
def test_a_mistake_is_one_error_line_and_exit_2(argv, message):
    result = run("steps", *argv)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(message) and result.stderr.count("error:") == 1 and "Traceback" not in result.stderr


def test_the_command_module_loads_neither_torch_nor_sympy():
    code = "import sys, derivcli.cli.learn; print('torch' in sys.modules, 'sympy' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.split() == ["False", "False"]
