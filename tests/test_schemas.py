"""The JSON contract: every command's --json, every --points --json line, stream and batch record, and
every error object validates against derivcli/schemas/derivcli.schema.json, which is built from the shapes
the modules declare beside their to_json (tests/schema_build.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from schema_build import SHIPPED, build, declarations, text
from typer.testing import CliRunner

from derivcli.cli import app

SCHEMA = json.loads(SHIPPED.read_text())
TESTS = Path(__file__).parent
MISSION = "exp(-(x**2-x+1)/cos(log(x))**2)"


def validate(data: object, definition: str) -> None:
    jsonschema.Draft202012Validator({"$ref": f"#/$defs/{definition}", "$defs": SCHEMA["$defs"]}).validate(data)


def lines_of(argv: list[str], stdin: str | None = None, code: int = 0) -> list[dict]:
    result = CliRunner().invoke(app, argv, input=stdin)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_the_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_the_shipped_schema_is_built_from_the_modules():
    """A shape changed or added beside its to_json reaches the file scripts read, or this fails."""
    assert SHIPPED.read_text() == text(build()), (
        "derivcli/schemas/derivcli.schema.json is stale: rebuild it with "
        "`.venv/bin/python tests/schema_build.py > derivcli/schemas/derivcli.schema.json`")


def test_every_whole_output_is_validated_by_a_test():
    """A command's JSON_OUTPUTS is checked against real output somewhere: a JSON_VIEWS row here, or
    `validate(data, "NAME")` in the command's own tests."""
    sources = "\n".join(path.read_text() for path in TESTS.glob("test_*.py"))
    outputs = [name for values in declarations().values() for name in values.get("JSON_OUTPUTS", ())]
    assert len(outputs) >= 19
    unchecked = [name for name in outputs
                 if not re.search(rf'(validate(_as)?\(.*"{name}"\)|^    \("{name}", \[)', sources, re.MULTILINE)]
    assert not unchecked, f"no test validates these outputs: {unchecked}"


JSON_VIEWS = [  # every command's --json, with the options that add keys (the warm server's tests reuse them)
    ("grad", ["grad", MISSION, "--x", "1", "--check", "--fd"]),
    ("grad", ["grad", "sum(W**2) + log(y)", "--W", "[[1, 2], [3, 4]]", "--y", "-1"]),
    ("grad", ["grad", "1/x", "--x", "0", "--explain-parse"]),
    ("grad", ["grad", "abs(x)", "--x", "0", "--check", "--fd"]),
    ("jacobian", ["jacobian", "softmax(a)", "--a", "[1, 2, 3]", "--check", "--fd"]),
    ("hessian", ["hessian", "sum(x**4) - dot(x, x) + y", "--x", "[0.5, -1]", "--y", "2", "--check"]),
    ("diff", ["diff", "x**3*sin(x)", "--wrt", "x", "--order", "2", "--x", "1"]),
    ("diff", ["diff", "5"]),
    ("diff", ["diff", "sin(x)**2", "--wrt", "x", "--forms"]),
    ("taylor", ["taylor", "sin(x)", "--x", "0", "--order", "5"]),
    ("taylor", ["taylor", "exp(x)", "--order", "3"]),
    ("taylor", ["taylor", "sin(x)/x", "--order", "4"]),
    ("taylor", ["taylor", "1/x", "--x", "0"]),
    ("grad", ["grad", "sin(x)", "--x", "pi/3", "--exact", "--expect", "0.6"]),
    ("diff", ["diff", "x**2*sin(x)", "--wrt", "x", "--expect", "2x sin(x)"]),
    ("diff", ["diff", "sin(x)", "--wrt", "x", "--x", "pi/4", "--exact", "--expect", "cos(x)"]),
    ("minimize", ["minimize", "(x-1)**2", "--x", "3", "--steps", "5"]),
    ("plot", ["plot", "abs(x - 1) + x^3/3 - x", "--analyze", "--from", "-3", "--to", "3", "--samples", "40"]),
    ("plot", ["plot", "log(x)", "--x", "2", "--from", "0.01", "--to", "5", "--samples", "50"]),
    ("graph", ["graph", "x**2 + sin(x)", "--x", "1"]),
    ("implicit", ["implicit", "x^2 + y^2 = 25", "--x", "3", "--y", "4"]),
    ("implicit", ["implicit", "x*y = 1", "--order", "2"]),
    ("functions", ["functions"]),
    ("steps", ["steps", "sin(x)**2", "--x", "pi/4", "--exact"]),
    ("propagate", ["propagate", "4*pi**2*L/T**2", "--L", "1.000±0.002", "--T", "2.007 +- 0.003", "--k", "2"]),
    ("propagate", ["propagate", "x*y", "--x", "2.0(1)", "--y", "3.0(2)", "--corr", "x,y=0.5", "--mc", "2000",
                   "--seed", "1"]),
    ("sensitivity", ["sensitivity", "x**2*y + sin(z)", "--x", "3", "--y", "2", "--z", "1"]),
    ("sensitivity", ["sensitivity", "x + 2*y", "--x", "0:1", "--y", "0:1", "--samples", "1000", "--seed", "1"]),
    ("emit", ["emit", "sigmoid(w*x + b)", "--wrt", "w,b", "--lang", "c", "--hessian"]),
    ("analyze", ["analyze", "x^3 - 3x", "--x", "2"]),
    ("analyze", ["analyze", "(x^2 - 1)/(x^2 - 4)", "--from", "-5", "--to", "5"]),
    ("steps_definition", ["steps", "x^2", "--definition", "--x", "3"]),
    ("steps", ["steps", "x^2 sin(x)"]),
    ("minimize", ["minimize", "(x-1.5)**2", "--x", "4"]),
]


@pytest.mark.parametrize("definition, argv", JSON_VIEWS)
def test_every_command_json_validates(definition, argv):
    result = CliRunner().invoke(app, [*argv, "--json"])
    assert result.exit_code in (0, 1), result.stderr  # (1: an --expect that is wrong, on purpose)
    [data] = [json.loads(line) for line in result.stdout.splitlines()]
    validate(data, definition)
    jsonschema.Draft202012Validator(SCHEMA).validate(data)  # the file as shipped, at its root


def test_the_root_of_the_schema_checks_something():
    """A script that validates against the file as shipped must be told when an output is wrong."""
    root = jsonschema.Draft202012Validator(SCHEMA)
    assert not root.is_valid({"expression": "x", "value": "one"})
    assert not root.is_valid({"anything": 1})
    assert root.is_valid({"error": {"message": "m", "column": None, "hint": None, "exit_code": 2}})


def test_non_finite_numbers_keep_their_identity():
    [data] = lines_of(["grad", "1/x + 0*log(y)", "--x", "0", "--y", "1", "--json"])
    assert data["value"] == "Infinity" and data["gradient"]["x"] == "-Infinity"
    [data] = lines_of(["grad", "log(x)", "--x", "-1", "--json"])
    assert data["value"] == "NaN"


def test_hessian_and_plot_give_gradient_and_point_by_name_like_grad():
    [hessian] = lines_of(["hessian", "x**2*y", "--x", "1", "--y", "2", "--json"])
    [grad] = lines_of(["grad", "x**2*y", "--x", "1", "--y", "2", "--json"])
    assert hessian["gradient"] == grad["gradient"] == {"x": 4.0, "y": 1.0}
    assert hessian["point"] == grad["point"] == {"x": 1.0, "y": 2.0}
    [plot] = lines_of(["plot", "x**2*y", "--x", "1", "--y", "2", "--wrt", "x", "--samples", "20", "--json"])
    assert plot["point"] == {"x": 1.0} and plot["held"] == {"y": 2.0}  # the x axis, and the rest held


@pytest.mark.parametrize("argv, column", [
    (["grad", "sin(x", "--x", "1", "--json"], 4),
    (["grad", "x", "--json"], None),
    (["grad", "x", "--x", "1", "--format", "json", "--order", "2"], None),
    (["nosuch", "--json"], None),
    (["diff", "x", "--order", "abc", "--json"], None),
])
def test_an_error_with_json_is_also_an_error_object_on_stdout(argv, column):
    [data] = lines_of(argv, code=2)
    validate(data, "error")
    assert data["error"]["exit_code"] == 2 and data["error"]["column"] == column


def test_points_json_is_one_grad_object_per_point(tmp_path):
    points = tmp_path / "points.csv"
    points.write_text("x,y\n1,2\n3,0\n")
    answers = lines_of(["grad", "x/y", "--points", str(points), "--json"])
    for answer in answers:
        validate(answer, "grad")
    assert [answer["point"] for answer in answers] == [{"x": 1.0, "y": 2.0}, {"x": 3.0, "y": 0.0}]
    assert answers[1]["gradient"] == {"x": "Infinity", "y": "-Infinity"}


def test_streamed_lines_and_their_errors_validate():
    answers = lines_of(["grad", "x**2", "--x", "-", "--json"], stdin="1\nabc\n3\n", code=2)
    validate(answers[0], "grad")
    validate(answers[1], "record_error")
    assert answers[1]["line"] == 2 and answers[2]["gradient"] == {"x": 6.0}


def test_every_batch_record_validates():
    requests = [{"expression": "x**2", "point": {"x": 3}},
                {"expression": "softmax(a)", "point": {"a": [1, 2]}, "command": "jacobian"},
                {"expression": "x*y", "point": {"x": 1, "y": 2}, "command": "hessian"},
                {"expression": "x**3", "point": {"x": 2}, "command": "diff", "wrt": ["x"], "order": 2},
                {"expression": "sin(x", "point": {"x": 1}}]
    stdin = "\n".join(json.dumps(request) for request in requests) + "\n{bad\n"
    answers = lines_of(["batch", "--jobs", "1"], stdin=stdin, code=2)
    for answer, definition in zip(answers, ["grad", "jacobian", "hessian", "diff", "record_error", "record_error"]):
        validate(answer, definition)
        validate(answer, "batch_record")
    assert answers[4]["error"]["column"] == 4 and answers[5]["line"] == 6
