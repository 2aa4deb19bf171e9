"""`derivcli emit`: the code it writes is run (Python, numpy and torch here, C compiled with the system's
cc, JAX where it is installed) and its value, gradient and Hessian must be autograd's (derivcli.grad,
derivcli.hessian) to 1e-12 relative, on 200 random expressions over the functions table
(tests/differential.py) and on every function of the table.  A function a language cannot compute
exactly is refused by name, never written wrong."""

from __future__ import annotations

import math
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from servers import script

import derivcli
from derivcli.emit.code import emit
from derivcli.errors import DerivcliError
from derivcli.table.functions import FUNCTIONS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from differential import VARIABLES, random_tree, spell, variables_of  # noqa: E402

pytestmark = pytest.mark.usefixtures("warm_env")  # the real processes here run warm (conftest)

SEED = 2026
EXPRESSIONS = 200
LACKING = {"python": ("digamma", "polygamma"), "numpy": ("digamma", "polygamma"), "c": ("digamma", "polygamma"),
           "torch": ("polygamma",), "jax": ()}


def close(got: float, want: float, scale: float) -> bool:
    """Equal to 1e-12 relative (and 1e-13 of the problem's largest number, for results that cancel to 0)."""
    if not math.isfinite(want):
        return not math.isfinite(got) and (math.isnan(want) == math.isnan(got))
    return abs(got - want) <= 1e-12 * abs(want) + 1e-13 * scale


def matches(got: tuple[Any, ...], value: float, gradient: list[float], hessian: list[list[float]] | None) -> bool:
    scale = max(1.0, abs(value), *(abs(g) for g in gradient))
    if not close(float(got[0]), value, scale) or len(got[1]) != len(gradient):
        return False
    if not all(close(float(a), b, scale) for a, b in zip(got[1], gradient)):
        return False
    if hessian is None:
        return True
    scale = max(scale, *(abs(h) for row in hessian for h in row))
    size = range(len(hessian))
    return all(close(float(got[2][i][j]), hessian[i][j], scale) for i in size for j in size)


class Case:
    """An expression, its variables, and points where autograd's value and gradient are finite."""

    def __init__(self, text: str, names: list[str], points: list[dict[str, float]],
                 truths: list[tuple[float, list[float]]]):
        self.text, self.names, self.points, self.truths = text, names, points, truths


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    rng = random.Random(SEED)
    found: list[Case] = []
    while len(found) < EXPRESSIONS:
        tree = random_tree(rng, VARIABLES[:rng.randint(1, 3)], depth=rng.randint(1, 4))
        names = variables_of(tree)
        if not names:
            continue
        text = spell(tree, None)
        points, truths = [], []
        for _ in range(3):
            point = {name: round(rng.uniform(-3, 3), 3) for name in names}
            try:
                result = derivcli.grad(text, point)
            except DerivcliError:
                continue
            numbers = [result.value, *(result.gradient[name] for name in names)]
            if all(math.isfinite(number) for number in numbers):
                points.append(point)
                truths.append((result.value, [result.gradient[name] for name in names]))
        if points:
            found.append(Case(text, names, points, truths))
    return found


def refused_rightly(error: DerivcliError, language: str) -> bool:
    """A refusal names what the language lacks, or a constant that is not a finite real number."""
    return any(f"needs {name}" in error.message for name in LACKING[language]) or "not a finite real" in error.message


def run_python_family(language: str, cases: list[Case]) -> tuple[int, int, list[str]]:
    checked = raised = 0
    wrong = []
    for case in cases:
        try:
            emitted = emit(case.text, case.names, language)
        except DerivcliError as error:
            assert refused_rightly(error, language), (case.text, error.message)
            continue
        namespace: dict[str, Any] = {}
        exec(compile(emitted.code, f"<emitted {language}>", "exec"), namespace)  # our own output, under test
        for point, (value, gradient) in zip(case.points, case.truths):
            arguments = [point[name] for name in emitted.variables]
            try:
                got = namespace["f"](*arguments)
            except (OverflowError, ValueError, ZeroDivisionError):  # Python's math raises where IEEE overflows
                assert language == "python"
                raised += 1
                continue
            checked += 1
            if not matches(got, value, gradient, None):
                wrong.append(f"{case.text} at {point}: {got} != {value}, {gradient}")
    return checked, raised, wrong


@pytest.mark.parametrize("language", ["python", "numpy", "torch"])
def test_200_random_expressions_equal_autograd(cases, language):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's overflow warnings in branches not taken
        checked, raised, wrong = run_python_family(language, cases)
    assert not wrong, "\n".join(wrong[:5])
    assert checked > 400 and raised <= 3, (checked, raised)


def c_program(functions: list[tuple[str, Any, list[dict[str, float]]]]) -> str:
    """One C file: every emitted function, and a main that prints each one's results at its points."""
    parts = ["#include <stdio.h>"]
    calls = ["int main(void)", "{", "    double value, gradient[3], hessian[9];"]
    for name, emitted, points in functions:
        parts.append(emitted.code)
        count = len(emitted.wrt)
        for point in points:
            arguments = ", ".join(repr(point[variable]) for variable in emitted.variables)
            calls.append(f"    {name}({arguments}, &value, gradient{', hessian' if emitted.hessian else ''});")
            calls.append('    printf("%.17g\\n", value);')
            calls += [f'    printf("%.17g\\n", gradient[{i}]);' for i in range(count)]
            if emitted.hessian:
                calls += [f'    printf("%.17g\\n", hessian[{i}]);' for i in range(count * count)]
    return "\n".join(parts + calls + ["    return 0;", "}"]) + "\n"


def compile_and_run(source: str, directory: Path) -> list[float]:
    compiler = shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler")
    (directory / "emitted.c").write_text(source)
    subprocess.run([compiler, "-O2", "-std=c99", "-Wall", "-Werror", "-o", str(directory / "emitted"),
                    str(directory / "emitted.c"), "-lm"], check=True, capture_output=True, timeout=120)
    output = subprocess.run([str(directory / "emitted")], check=True, capture_output=True, text=True, timeout=60)
    return [float(line) for line in output.stdout.split()]


def test_c_compiled_once_equals_autograd_with_the_hessian(cases, tmp_path):
    """30 of the expressions, each with its Hessian, as 30 functions of one C file: one compile."""
    chosen = []
    for case in cases:
        try:
            emitted = emit(case.text, case.names, "c", hessian=True, name=f"f{len(chosen)}")
        except DerivcliError as error:
            assert refused_rightly(error, "c"), (case.text, error.message)
            continue
        chosen.append((emitted.name, emitted, case))
        if len(chosen) == 30:
            break
    numbers = iter(compile_and_run(c_program([(name, emitted, case.points) for name, emitted, case in chosen]),
                                   tmp_path))
    wrong = []
    for _, emitted, case in chosen:
        count = len(emitted.wrt)
        for point in case.points:
            value = next(numbers)
            gradient = [next(numbers) for _ in range(count)]
            flat = [next(numbers) for _ in range(count * count)]
            matrix = derivcli.hessian(case.text, point, wrt=emitted.wrt).hessian
            got = (value, gradient, [flat[i * count:(i + 1) * count] for i in range(count)])
            truth = derivcli.grad(case.text, point)
            if not matches(got, truth.value, [truth.gradient[name] for name in emitted.wrt], matrix):
                wrong.append(f"{case.text} at {point}: {got} != {truth.value}, {truth.gradient}, {matrix}")
    assert not wrong, "\n".join(wrong[:5])


def test_jax_where_installed(cases):
    pytest.importorskip("jax")
    checked, _, wrong = run_python_family("jax", cases[:60])
    assert not wrong, "\n".join(wrong[:5])
    assert checked > 100


# ----------------------------------------------------------------------- every function of the table
def table_expressions() -> list[tuple[str, dict[str, float]]]:
    """Each scalar function of the table applied to an expression of x and y, at a point inside its
    domain (the table's own test interval)."""
    special = {"atan2": "atan2(y, x)", "log": "log(x*y, 3)", "root": "root(x*y, 3)", "min": "min(x, y, 0.7)",
               "max": "max(x, y)", "elu": "elu(x - y, 1.5)", "leaky_relu": "leaky_relu(x - y, 0.2)",
               "hardtanh": "hardtanh(x*y, -0.5, 2)", "heaviside": "heaviside(x - y)*x", "clamp": "clamp(x*y, -0.5, 2)",
               "polygamma": "polygamma(1, x*y)*y + x"}
    found = []
    for spec in FUNCTIONS:
        if spec.internal or spec.tensor:
            continue
        low, high = spec.domain
        middle = low + (high - low) * 0.37
        text = special.get(spec.name, f"{spec.name}(x*y)*y + x")
        point = {"x": middle / 1.3 if spec.name not in special else middle, "y": 1.3 if spec.name not in special
                 else low + (high - low) * 0.71}
        found.append((text, point))
    return found


@pytest.mark.parametrize("language", ["python", "numpy", "torch", "c", "jax"])
def test_every_function_of_the_table_with_its_hessian(language, tmp_path):
    if language == "jax":
        pytest.importorskip("jax")
    written, refused = [], []
    for number, (text, point) in enumerate(table_expressions()):
        try:
            emitted = emit(text, ["x", "y"], language, hessian=True, name=f"g{number}")
        except DerivcliError as error:
            assert refused_rightly(error, language), (text, error.message)
            refused.append(text)
            continue
        written.append((emitted, text, point))
    assert len(written) + len(refused) == len(table_expressions())
    assert len(refused) <= 7, refused  # gamma, loggamma, factorial, digamma, polygamma, and their derivatives
    if language == "c":
        numbers = iter(compile_and_run(c_program([(e.name, e, [p]) for e, _, p in written]), tmp_path))
        results = [(next(numbers), [next(numbers) for _ in range(2)], [[next(numbers) for _ in range(2)]
                                                                       for _ in range(2)]) for _ in written]
    else:
        results = []
        for emitted, _, point in written:
            namespace: dict[str, Any] = {}
            exec(compile(emitted.code, "<emitted>", "exec"), namespace)
            results.append(namespace[emitted.name](*[point[name] for name in emitted.variables]))
    for (emitted, text, point), got in zip(written, results):
        truth = derivcli.hessian(text, point, wrt=emitted.wrt)
        assert matches(got, truth.value, truth.gradient, truth.hessian), (text, point, got, truth)


# ----------------------------------------------------------------------------------- what it writes
def test_common_subexpressions_are_computed_once():
    body = emit("sin(x)**2*cos(x) + sin(x)*cos(x)**2", ["x"], "c").code.split("void f")[1]
    assert body.count("sin(x)") == 1 and body.count("cos(x)") == 1, body


def test_the_expression_as_written_keeps_where_it_is_undefined():
    import numpy

    namespace: dict[str, Any] = {}
    exec(emit("x/x + y", language="numpy").code, namespace)
    with numpy.errstate(divide="ignore", invalid="ignore"):
        value, _ = namespace["f"](numpy.float64(0.0), 2.0)
    assert math.isnan(value)  # as torch computes x/x, not SymPy's 1 + y
    assert math.isnan(derivcli.grad("x/x + y", x=0, y=2).value)


def test_the_header_says_what_it_computes():
    code = emit("a*exp(-b*t)", ["a", "b"], "python", hessian=True).code
    assert code.startswith(f"# Generated by derivcli {derivcli.__version__} (derivcli emit --lang python): f, "
                           "its gradient and its Hessian.")
    assert "# f = a*exp(-b*t)" in code and "with x = (a, b)" in code
    c = emit("a*exp(-b*t)", ["a", "b"], "c").code
    assert c.startswith("/*\n * Generated by derivcli") and "void f(double a, double b, double t, double *value, " \
                                                            "double gradient[2])" in c


def test_names_that_are_keywords_are_renamed_and_helpers_written_once():
    code = emit("sigmoid(lambda_) + sigmoid(2*lambda_)", ["lambda_"], "python").code
    assert code.count("def _sigmoid") == 1
    c = emit("double + value", ["double", "value"], "c").code
    assert "void f(double double_, double value_, double *value, double gradient[2])" in c


def test_a_rubi_sized_expression_takes_seconds_and_stays_small():
    text = ("(a + b*x)**3*sqrt(c + d*x)/(e + f*x)**2 + log((a + b*x)/(c + d*x))*atan(sqrt(c + d*x)/sqrt(a + b*x))"
            "/(b*c - a*d) - x**2*exp(-(a*x**2 + b*x + c))*cos(d*x + e)**2/(1 + f*x**2)**(5/2) + "
            "asinh(b*x/sqrt(a))*(e*x + f)**4/(a + b*x**2)**(3/2) + tan(a + b*x)**3*sec(c + d*x)**2/"
            "(e - f*log(1 + x**2)) + sqrt(a*x**4 + b*x**2 + c)*atanh(d*x/(1 + e*x**2))")
    assert len(text) > 300
    emitted = emit(text, language="c", hessian=True)
    assert emitted.seconds < 20 and len(emitted.code) < 60_000, (emitted.seconds, len(emitted.code))


def test_refusals_are_one_line_errors():
    for args, fragment in ((("sum(x)", None, "python"), "tensor operation"), (("2 + 3", None, "c"), "no variables"),
                           (("x", None, "fortran"), "unknown language"), (("x", None, "c"), "not a usable")):
        with pytest.raises(DerivcliError, match=fragment):
            emit(*args, name="int" if fragment == "not a usable" else "f")


def test_a_real_process_writes_c_that_compiles_and_agrees(tmp_path):

    done = script("emit", "sigmoid(w*x + b) - log1p(w**2)", "--wrt", "w,b", "--lang", "c", "--hessian", "--name",
                  "model")
    assert done.returncode == 0 and done.stderr == "", done.stderr

    class Printed:
        code, variables, wrt, hessian = done.stdout, ["w", "x", "b"], ["w", "b"], True

    point = {"w": 0.7, "x": -1.3, "b": 0.2}
    numbers = compile_and_run(c_program([("model", Printed, [point])]), tmp_path)
    truth = derivcli.hessian("sigmoid(w*x + b) - log1p(w**2)", point, wrt=["w", "b"])
    got = (numbers[0], numbers[1:3], [numbers[3:5], numbers[5:7]])
    assert matches(got, truth.value, truth.gradient, truth.hessian), (got, truth)
