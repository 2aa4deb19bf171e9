"""`derivcli check FILE.py:NAME`: the gradient of the user's own PyTorch code, on user files the tests write.

Every verdict is held to a truth computed here independently: torch's own float64 gradient of a correct
function, cos(x) for sin, the hand-known derivative of the wrong element, the left and right derivatives
of |x| at 0.  Most checks call the library or the CLI's main in this process; a few go through the real
`derivcli` console script."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

from derivcli.cli import app
from derivcli.errors import DerivcliError
from derivcli.gradcheck.checker import check
from derivcli.gradcheck.usercode import load

USER_CODE = (Path(__file__).parent / "data" / "check_user.py").read_text(encoding="utf-8")
RAISE_LINE = USER_CODE.splitlines().index('    raise ValueError("the user\'s own error")') + 1
LOG_LINE = USER_CODE.splitlines().index("        return torch.log(h - 10)") + 1
SQRT_LINE = USER_CODE.splitlines().index("    return torch.sqrt(x).sum()") + 1


@pytest.fixture
def user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's file, in the working directory as a user would have it."""
    (tmp_path / "user.py").write_text(USER_CODE)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "user.py"


def checked(name: str, dtype: str = "float64", **values: object):
    """The library's check of user.py:NAME (--input as `input`)."""
    given = values.pop("input", None)
    return check(load(f"user.py:{name}"), values, given, dtype=dtype)


def truth(name: str, **values: torch.Tensor) -> dict[str, Any]:
    """torch's own float64 gradient of a correct scalar function of the user file."""
    module = sys.modules["_derivcli_check_user"]
    leaves = {key: value.clone().requires_grad_() for key, value in values.items()}
    getattr(module, name)(**leaves).backward()
    return {key: leaf.grad for key, leaf in leaves.items()}


def at(values: torch.Tensor, index: list[int]) -> float:
    return float(values[tuple(index)])


# --------------------------------------------------------------------------- no false alarm
@pytest.mark.parametrize("dtype", ["float64", "float32", "bfloat16"])
@pytest.mark.parametrize("name", ["smooth", "layered"])
def test_correct_functions_agree_in_every_dtype(user, name, dtype):
    torch.manual_seed(1)
    x, w = torch.randn(4, 3, dtype=torch.float64), torch.randn(3, 2, dtype=torch.float64)
    result = checked(name, dtype, x=x, w=w)
    assert result.verdict == "agree", [(n.name, n.verdict, n.worst) for n in result.names]
    rounded = {key: value.to(getattr(torch, dtype)).double() for key, value in {"x": x, "w": w}.items()}
    expected = truth(name, **rounded)  # the reference is the truth at the values the dtype holds
    for named in result.names:
        true = at(expected[named.name], named.worst.index)
        assert named.worst.reference == pytest.approx(true, rel=1e-7, abs=1e-9)
        assert named.worst.abs_error <= named.worst.tolerance


def test_a_vector_output_is_reduced_by_a_fixed_random_projection(user):
    torch.manual_seed(2)
    x = torch.randn(5, dtype=torch.float64)
    first, again = checked("vector", "float32", x=x), checked("vector", "float32", x=x)
    assert first.verdict == "agree" and first.projected and first.outputs == [[5]]
    assert first.to_json() == again.to_json()  # the same r every run: reruns give the same numbers
    assert first.to_json()["projection"].startswith("sum(out * r)")


# --------------------------------------------------------------------------- wrong gradients, found and named
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_one_wrong_element_of_a_thousand_is_named(user, dtype):
    torch.manual_seed(3)
    x = torch.randn(1000, dtype=torch.float64)
    result = checked("WrongSin", dtype, x=x)
    [named] = result.names
    assert result.callable == "autograd.Function" and result.verdict == named.verdict == "DISAGREE"
    assert named.worst.index == [123]
    assert named.worst.autograd / named.worst.reference == pytest.approx(1.01, rel=1e-5)
    assert result.evaluations < 400  # projections and bisection, not 1,000 elements one by one
    scalar = checked("wrong_sin_sum", dtype, x=x)  # through a sum: the reference is cos(x[123]) itself
    worst = scalar.names[0].worst
    held = float(x.to(getattr(torch, dtype))[123])
    assert worst.index == [123] and worst.reference == pytest.approx(math.cos(held), rel=1e-9)
    assert worst.autograd == pytest.approx(1.01 * math.cos(held), rel=1e-6)


def test_a_backward_wrong_by_one_part_in_a_thousand_is_found_in_float32(user):
    torch.manual_seed(4)
    x = torch.randn(20, dtype=torch.float64)
    result = checked("SlightlyOff", "float32", x=x)
    worst = result.names[0].worst
    assert result.verdict == "DISAGREE" and result.failed
    assert worst.rel_error == pytest.approx(1e-3, rel=1e-3)
    assert worst.tolerance < 1e-3 * abs(worst.reference)


def test_a_backward_off_only_in_float32_is_inaccurate(user):
    torch.manual_seed(4)
    result = checked("OffInFloat32", "float32", x=torch.randn(20, dtype=torch.float64))
    worst = result.names[0].worst
    assert result.verdict == "inaccurate" and result.failed and worst.precision == "float32"
    assert worst.rel_error == pytest.approx(1e-3, rel=1e-2)
    assert checked("OffInFloat32", "float64", x=torch.randn(20, dtype=torch.float64)).verdict == "agree"


def test_a_module_parameter_with_a_wrong_or_missing_gradient(user):
    x = torch.tensor([1.0, 2.0, -3.0], dtype=torch.float64)
    result = checked("Params", "float32", input=x)
    verdicts = {named.name: named for named in result.names}
    assert result.callable == "module" and [named.kind for named in result.names] == ["input"] + ["parameter"] * 3
    assert verdicts["w"].verdict == "DISAGREE" and verdicts["w"].no_gradient  # detached: autograd says None
    w_index = verdicts["w"].worst.index[0]
    assert verdicts["w"].worst.autograd == 0 and verdicts["w"].worst.reference == pytest.approx(float(x[w_index]))
    v = verdicts["v"].worst  # d/dv of v * x**2 is x**2; the backward doubles it
    assert verdicts["v"].verdict == "DISAGREE" and v.reference == pytest.approx(float(x[v.index[0]]) ** 2)
    assert v.autograd == pytest.approx(2 * v.reference)
    assert verdicts["b"].verdict == "agree" and verdicts["b"].worst.reference == pytest.approx(1.0)
    assert verdicts["x"].verdict == "agree"  # the forward's argument, by its name


def test_a_model_from_a_factory_agrees_parameter_by_parameter(user):
    torch.manual_seed(5)
    result = checked("mlp", "float32", input=torch.randn(6, 4, dtype=torch.float64))
    assert result.verdict == "agree"
    assert [named.name for named in result.names] == ["input", "0.weight", "0.bias", "2.weight", "2.bias"]


# --------------------------------------------------------------------------- where the NaN came from
def test_a_nan_made_inside_a_module_is_named_with_its_line_shape_and_dtype(user):
    result = checked("NaNInside", "float32", input=torch.randn(2, 3, dtype=torch.float64))
    origin = result.origin
    assert result.verdict == "non-finite" and result.failed
    assert (origin.phase, origin.operation, origin.produced) == ("forward", "torch.log", "NaN")
    assert (origin.module, origin.module_type) == ("act", "Log")
    assert origin.where == f"user.py:{LOG_LINE}" and origin.inputs == [([2, 3], "float32")]


def test_an_infinite_gradient_is_traced_to_its_backward(user):
    result = checked("root", "float64", x=torch.tensor([0.0, 1.0, 4.0], dtype=torch.float64))
    named = result.names[0]
    assert named.verdict == "non-finite" and named.worst.index == [0] and named.worst.autograd == math.inf
    assert result.origin.phase == "backward" and result.origin.operation.startswith("SqrtBackward0")
    assert result.origin.produced == "inf" and result.origin.where == f"user.py:{SQRT_LINE}"


# --------------------------------------------------------------------------- kinks, second order, --full
def test_abs_at_zero_is_a_kink_with_its_left_and_right_derivatives(user):
    result = checked("kink", "float64", x=torch.tensor([0.0, 1.0, -2.0], dtype=torch.float64))
    worst = result.names[0].worst
    assert result.verdict == "kink" and not result.failed
    assert worst.index == [0] and worst.one_sided == pytest.approx((-1.0, 1.0))


def test_an_element_at_the_edge_of_the_domain_gets_steps_of_its_own_size(user):
    result = checked("logs", "float64", x=torch.tensor([1e-12, 0.5, 2.0], dtype=torch.float64))
    worst = result.names[0].worst  # the largest gradient, 1/x at 1e-12: steps of 0.1 would cross 0
    assert result.verdict == "agree" and worst.index == [0] and worst.reference == pytest.approx(1e12, rel=1e-9)


def test_second_derivatives_as_gradgradcheck(user):
    torch.manual_seed(6)
    x, y = torch.randn(3, dtype=torch.float64), torch.randn(3, dtype=torch.float64)
    assert check(load("user.py:cube"), {"x": x, "y": y}, dtype="float64", order=2).verdict == "agree"
    wrong = check(load("user.py:WrongDouble"), {"x": x}, dtype="float64", order=2)
    assert wrong.verdict == "DISAGREE"
    worst = wrong.names[0].worst  # the double backward gives half of 6x·r·u: x is detached in one factor
    assert worst.autograd == pytest.approx(worst.reference / 2, rel=1e-6)
    assert check(load("user.py:WrongDouble"), {"x": x}, dtype="float64").verdict == "agree"  # order 1 is right


def test_full_compares_every_element_with_its_own_truth(user):
    torch.manual_seed(7)
    x, w = torch.randn(4, 3, dtype=torch.float64), torch.randn(3, 2, dtype=torch.float64)
    result = check(load("user.py:smooth"), {"x": x, "w": w}, dtype="float64", full=True)
    expected = truth("smooth", x=x, w=w)
    for named in result.names:
        assert len(named.elements) == expected[named.name].numel()
        for element in named.elements:
            assert element.verdict == "agree"
            assert element.reference == pytest.approx(at(expected[named.name], element.index), rel=1e-8, abs=1e-10)


def test_an_argument_that_takes_a_number_gets_the_number(user):
    x = torch.tensor([[0.5, 1.0], [-1.0, 2.0]], dtype=torch.float64)
    result = checked("pick", "float64", x=x, dim=1.0)
    assert [named.name for named in result.names] == ["x"] and result.verdict == "agree"
    assert result.names[0].worst.reference == pytest.approx(at(torch.softmax(x, 1), result.names[0].worst.index))


# --------------------------------------------------------------------------- the command line, in this process
def cli(monkeypatch: pytest.MonkeyPatch, *args: str, env: dict[str, str] | None = None):
    """The CLI in this process, with the command line as if typed (check runs code only from one)."""
    monkeypatch.setattr(sys, "argv", ["derivcli", *args])
    return CliRunner().invoke(app, list(args), env=env)


def test_the_cli_names_the_wrong_element_in_json_plain_and_table(user, monkeypatch):
    args = ["check", "user.py:WrongSin", "--x", "randn(1000)", "--seed", "3", "--dtype", "float64"]
    data = json.loads(cli(monkeypatch, *args, "--json").stdout)
    assert data["verdict"] == "DISAGREE" and data["names"]["x"]["worst_index"] == [123]
    assert {"verdict", "worst_index", "autograd", "reference", "abs_error", "rel_error", "tolerance"} <= \
        set(data["names"]["x"])
    plain = cli(monkeypatch, *args)
    assert plain.exit_code == 1 and "verdict\tDISAGREE\n" in plain.stdout
    assert plain.stdout.splitlines()[2].startswith("check\tx\tDISAGREE\t[123]\t")
    table = cli(monkeypatch, *args, "--format", "table", env={"COLUMNS": "160"})
    assert table.exit_code == 1 and "DISAGREE" in table.stdout and "[123]" in table.stdout


def test_an_autograd_functions_apply_is_the_function_itself(user, monkeypatch):
    result = cli(monkeypatch, "check", "user.py:WrongSin.apply", "--x", "randn(1000)", "--seed", "3", "--json")
    assert result.exit_code == 1 and json.loads(result.stdout)["names"]["x"]["worst_index"] == [123]


def test_full_shows_every_element_in_the_table(user, monkeypatch):
    result = cli(monkeypatch, "check", "user.py:kink", "--x", "[0, 1, -2]", "--full", "--format", "table",
                 env={"COLUMNS": "120"})
    assert result.exit_code == 0 and "x: every element" in result.stdout
    assert [line.split("│")[1].strip() for line in result.stdout.splitlines()
            if line.startswith("│ [")][-3:] == ["[0]", "[1]", "[2]"]


def test_the_cli_exits_0_on_agree_and_on_a_kink(user, monkeypatch):
    assert cli(monkeypatch, "check", "user.py:smooth", "--x", "randn(4, 3)", "--w", "randn(3, 2)").exit_code == 0
    kinked = cli(monkeypatch, "check", "user.py:kink", "--x", "[0, 1, -2]")
    assert kinked.exit_code == 0 and "kink\tx\t[0]\t-1.0" in kinked.stdout


def test_what_the_users_code_prints_stays_out_of_the_json(user, monkeypatch):
    result = cli(monkeypatch, "check", "user.py:prints", "--x", "[1, 2]", "--json")
    assert json.loads(result.stdout)["verdict"] == "agree" and "hello" in result.stderr


def assert_error(result, *fragments: str) -> None:
    """Exit 2, nothing on stdout, one `error:` line on stderr, no traceback."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == "" and result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


@pytest.mark.parametrize("args, fragments", [
    (["check", "missing.py:f", "--x", "1"], ["no such file: missing.py"]),
    (["check", "user.py:nope", "--x", "1"], ["user.py has no nope"]),
    (["check", "user.py:smoth", "--x", "1"], ["did you mean smooth?"]),
    (["check", "user.py:NOT_CALLABLE"], ["user.py:NOT_CALLABLE is an int, not a function"]),
    (["check", "user.py", "--x", "1"], ["names no callable"]),
    (["check", "user.py:raises", "--x", "1"], ["user.py:raises raised ValueError: the user's own error",
                                                f"(at user.py:{RAISE_LINE})"]),
    (["check", "user.py:cube", "--x", "1"], ["needs its argument y", "--y VALUE"]),
    (["check", "user.py:cube", "--x", "1", "--y", "2", "--z", "3"], ["has no argument named z"]),
    (["check", "user.py:cube", "--x", "1", "--y", "2", "--ful"], ["no such option: --ful", "--full"]),
    (["check", "user.py:cube", "--x", "1", "--y", "2", "--dtype", "float16"], ["float32, float64 or bfloat16"]),
    (["check", "user.py:cube", "--x", "1", "--y", "2", "--wrt", "q"], ["no input or parameter of that name"]),
    (["check", "no_such_package.module:f"], ["no module named no_such_package.module"]),
    (["--no-files", "check", "user.py:cube", "--x", "1", "--y", "2"], ["files are turned off"]),
])
def test_every_mistake_is_one_error_line(user, monkeypatch, args, fragments):
    assert_error(cli(monkeypatch, *args), *fragments)


def test_a_syntax_error_names_its_line(user, monkeypatch):
    Path("broken.py").write_text("def f(x):\n    return (x\n")
    assert_error(cli(monkeypatch, "check", "broken.py:f", "--x", "1"), "broken.py:2: syntax error")


def test_a_package_module_target(user, monkeypatch):
    Path("pkg").mkdir()
    Path("pkg/__init__.py").write_text("")
    Path("pkg/losses.py").write_text(textwrap.dedent("""
        import torch
        def loss(x):
            return torch.tanh(x).sum()
    """))
    result = cli(monkeypatch, "check", "pkg.losses:loss", "--x", "[0.5]", "--dtype", "float64", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["names"]["x"]["reference"] == pytest.approx(1 - math.tanh(0.5) ** 2, rel=1e-9)


def test_no_files_in_the_environment_refuses_before_importing(user, monkeypatch):
    Path("loud.py").write_text("raise SystemExit('imported')\n")
    result = cli(monkeypatch, "check", "loud.py:f", "--json", env={"DERIVCLI_NO_FILES": "1"})
    assert result.exit_code == 2 and json.loads(result.stdout)["error"]["message"].startswith("check imports")


def test_only_a_command_line_typed_runs_code_not_the_repl_or_batch(user, monkeypatch, capsys):
    from derivcli.cli import main

    Path("loud.py").write_text("import sys\nsys.stderr.write('IMPORTED')\ndef f(x):\n    return x.sum()\n")
    monkeypatch.setattr(sys, "argv", ["derivcli", "repl"])  # a REPL line, or a program calling main([...])
    assert main(["check", "loud.py:f", "--x", "1"]) == 2
    refused = capsys.readouterr().err
    assert refused.startswith("error: check runs your code only from a command line you type") and \
        "IMPORTED" not in refused
    batch = CliRunner().invoke(app, ["batch"], input='{"command": "check", "expression": "loud.py:f"}\n')
    assert batch.exit_code == 2 and "unknown command" in batch.stdout
    assert "IMPORTED" not in batch.stderr


def test_load_refuses_what_is_not_a_target(user):
    with pytest.raises(DerivcliError, match="not a Python name"):
        load("user.py:1x")


# --------------------------------------------------------------------------- the real console script
SCRIPT = shutil.which("derivcli", path=str(Path(sys.executable).parent)) or shutil.which("derivcli")


@pytest.mark.skipif(SCRIPT is None, reason="the derivcli console script is not installed")
def test_the_console_script_names_the_wrong_element_and_the_nan(user):
    environment = {"DERIVCLI_NO_SERVER": "1", "PATH": "/usr/bin:/bin", "HOME": str(user.parent)}
    wrong = subprocess.run([SCRIPT, "check", "user.py:WrongSin", "--x", "randn(1000)", "--seed", "3", "--json"],
                           capture_output=True, text=True, timeout=120, cwd=user.parent, env=environment)
    assert wrong.returncode == 1, wrong.stderr
    assert json.loads(wrong.stdout)["names"]["x"]["worst_index"] == [123]
    nan = subprocess.run([SCRIPT, "check", "user.py:NaNInside", "--input", "randn(2, 3)"], capture_output=True,
                         text=True, timeout=120, cwd=user.parent, env=environment)
    assert nan.returncode == 1 and nan.stderr == ""
    assert f"origin\tthe first NaN of the forward pass came from torch.log in module act (Log) at user.py:{LOG_LINE}" \
        in nan.stdout


# --------------------------------------------------------------------------- the JSON contract
JSON_VIEWS = [
    ["check", "user.py:smooth", "--x", "randn(4, 3)", "--w", "randn(3, 2)"],
    ["check", "user.py:WrongSin", "--x", "randn(1000)", "--dtype", "bfloat16"],
    ["check", "user.py:Params", "--input", "[1, 2, -3]", "--full"],
    ["check", "user.py:NaNInside", "--input", "randn(2, 3)"],
    ["check", "user.py:root", "--x", "[0, 1]", "--order", "2", "--dtype", "float64"],
    ["check", "user.py:kink", "--x", "[0, 1, -2]"],
]


@pytest.mark.parametrize("argv", JSON_VIEWS, ids=lambda argv: argv[1])
def test_every_check_json_validates_against_the_schema(user, monkeypatch, argv):
    from test_schemas import validate

    result = cli(monkeypatch, *argv, "--json")
    assert result.exit_code in (0, 1), result.stderr
    validate(json.loads(result.stdout), "check_command")
