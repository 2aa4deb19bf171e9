"""What a first hour finds (issue 13): options given to the wrong command, the `--` form in every
command, numbers printed in the working dtype, and the small wordings."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from derivcli.cli import app
from derivcli.render.numbers import number, short, working_dtype
from derivcli.results import derivative_key as plain_key


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(app, list(args), input=stdin)


def first_error(result) -> str:
    assert result.exit_code == 2 and "Traceback" not in result.stderr, (result.stdout, result.stderr)
    return result.stderr.splitlines()[0]


# --------------------------------------------------------------------------- options of other commands
@pytest.mark.parametrize("argv, owners", [
    (["hessian", "x**2*y", "--x", "1", "--y", "2", "--order", "2"], "diff, implicit, taylor"),
    (["grad", "x", "--x", "1", "--lr", "0.1"], "minimize"),
    (["plot", "x", "--x", "1", "--fd-steps", "0.1"], "grad"),
    (["taylor", "sin(x)", "--x", "0", "--check", "1"], "grad, hessian, jacobian"),
    (["diff", "x**2", "--wrt", "x", "--samples", "10"], "plot"),
])
def test_an_option_of_another_command_is_named_not_bound(argv, owners):
    line = first_error(run(*argv))
    assert f"{argv[0]} has no --" in line and owners in line, line


def test_an_option_name_that_is_a_variable_of_the_expression_is_still_bound():
    result = run("grad", "order*x", "--order", "2", "--x", "3")
    assert result.exit_code == 0 and result.stdout == "value\t6.0\nd/dorder\t3.0\nd/dx\t2.0\n"


@pytest.mark.parametrize("command", ["jacobian", "hessian"])
def test_check_and_fd_work_on_jacobian_and_hessian(command):
    expression = "softmax(a)" if command == "jacobian" else "sum(a**3)"
    data = json.loads(run(command, expression, "--a", "[0.5, 1.0, 1.5]", "--check", "--fd", "--json").stdout)
    assert data["check"]["agree"] is True and data["finite_differences"]["agree"] is True


# --------------------------------------------------------------------------- the `--` form
@pytest.mark.parametrize("argv, expected", [
    (["grad", "--", "-x**2", "--x", "3"], "d/dx\t-6.0"),
    (["grad", "--x", "3", "--", "-x**2"], "d/dx\t-6.0"),
    (["jacobian", "--", "-a", "--a", "[1, 2]"], "df[0]/da\t-1.0\t0.0"),
    (["hessian", "--", "-x**2", "--x", "3"], "hessian\tx\t-2.0"),
    (["diff", "--", "-x**3", "--wrt", "x"], "derivative\t-3*x**2"),
    (["taylor", "--", "-x**2", "--x", "1", "--order", "2"], "c1\t-2.0"),
    (["minimize", "--", "-exp(-(x-1)**2)", "--x", "0", "--steps", "3"], "step\t3"),
    (["graph", "--", "-x**2", "--x", "3"], "PowBackward0  value=9"),
])
def test_the_double_dash_form_works_in_every_command(argv, expected):
    result = run(*argv)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert expected in result.stdout, result.stdout


def test_an_option_after_double_dash_and_a_missing_value_are_clean_errors():
    assert "--fd-steps needs a value" in first_error(run("grad", "x", "--x", "1", "--fd-steps"))
    assert "unexpected extra argument" in first_error(run("grad", "--", "x", "y", "--x", "1"))


# --------------------------------------------------------------------------- numbers as text
@pytest.mark.parametrize("value, dtype, text", [
    (0.10000000149011612, "float32", "0.1"),
    (0.3333333432674408, "float32", "0.33333334"),
    (9.999999680285692e37, "float32", "1e+38"),
    (0.1, "float64", "0.1"),
    (-0.0, "float64", "0.0"),
    (-0.0, "float32", "0.0"),
    (float("inf"), "float32", "inf"),
])
def test_numbers_are_the_shortest_text_that_reads_back_in_the_working_dtype(value, dtype, text):
    with working_dtype(dtype):
        assert number(value) == text


def test_float32_results_print_with_float32_digits_and_zero_without_a_sign():
    result = run("grad", "x**2", "--x", "0.1", "--dtype", "float32")
    assert result.stdout == "value\t0.010000001\nd/dx\t0.2\n"
    assert run("grad", "-x", "--x", "0").stdout == "value\t0.0\nd/dx\t-1.0\n"
    assert short(-0.0) == "0.00e+00"


@pytest.mark.parametrize("wrt, key", [(["x"], "d/dx"), (["x", "x"], "d2/dx2"), (["x", "y", "y"], "d3/dxdy2"),
                                      (["y", "x"], "d2/dydx")])
def test_plain_keys_are_ascii_and_one_scheme(wrt, key):
    assert plain_key(wrt) == key


def test_diff_plain_output_uses_the_ascii_keys():
    result = run("diff", "x**2*y**3", "--wrt", "x,y,y", "--x", "1", "--y", "2")
    assert "d3/dxdy2\t24.0" in result.stdout and result.stdout.isascii()


# --------------------------------------------------------------------------- the small things
def test_one_backward_pass_is_singular():
    assert "method\tnested autograd (1 backward pass)\n" in run("diff", "x**3", "--wrt", "x", "--x", "1").stdout
    assert "(2 backward passes)" in run("diff", "x**3", "--wrt", "x", "--order", "2", "--x", "1").stdout


@pytest.mark.parametrize("argv, said", [
    (["grad", "x", "--x", "1e400"], "--x 1e400 overflows float64"),
    (["grad", "x", "--x", "-1e400"], "overflows float64"),
    (["grad", "x", "--x", "1e39", "--dtype", "float32"], "overflows float32"),
    (["grad", "x", "--x", "[1, 1e39]", "--dtype", "float32"], "overflows float32"),
])
def test_a_value_beyond_the_dtype_is_called_an_overflow(argv, said):
    assert said in first_error(run(*argv))


def test_infinity_written_as_inf_is_still_the_users_to_give():
    assert run("grad", "x", "--x", "inf").stdout == "value\tinf\nd/dx\t1.0\n"


def test_the_derivative_of_a_constant_is_zero():
    assert run("diff", "5").stdout == "derivative\t0\n"
    assert run("diff", "pi**2", "--wrt", "t", "--order", "2").stdout == "derivative\t0\n"
    assert "not a variable" in first_error(run("diff", "x**2", "--wrt", "y"))  # a typo is still caught


def test_did_you_mean_reads_as_one_clean_hint():
    assert first_error(run("gard", "x")) == "error: no such command 'gard'; did you mean 'grad'?"


def test_bad_option_values_are_said_in_words():
    assert first_error(run("diff", "x", "--order", "abc")) == "error: --order: expected a whole number; see " \
                                                             "'derivcli diff --help'"
    assert "--jobs: expected at least 1" in first_error(run("batch", "--jobs", "0"))


def test_the_hessian_view_shows_f_once_and_the_point():
    result = CliRunner().invoke(app, ["hessian", "x**2*y", "--x", "1", "--y", "2", "--format", "table"],
                                env={"COLUMNS": "80"})
    assert result.stdout.count("f = ") == 2  # the expression, and its value at the point
    assert "at x = 1.0, y = 2.0:  f = 2.0" in result.stdout


def test_ctrl_c_is_one_error_line_and_exit_130():
    import signal
    import subprocess
    import sys
    import time

    process = subprocess.Popen([sys.executable, "-m", "derivcli", "grad", "x**2", "--x", "-"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        process.stdin.write("2\n")
        process.stdin.flush()
        assert process.stdout.readline() == "2.0\t4.0\t4.0\n"  # running, waiting for the next line
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
        assert process.stderr.read() == "error: interrupted\n"
    finally:
        process.kill()


# --------------------------------------------------------------------------- --points from Parquet
def test_points_from_a_parquet_file(tmp_path):
    pyarrow = pytest.importorskip("pyarrow")
    import pyarrow.parquet as parquet

    path = tmp_path / "points.parquet"
    parquet.write_table(pyarrow.table({"x": [1.0, 2.0], "y": [3, 4]}), path)
    result = run("grad", "x*y", "--points", str(path))
    assert result.stdout == "x,y,f,d/dx,d/dy\n1.0,3.0,3.0,3.0,1.0\n2.0,4.0,8.0,4.0,2.0\n"


@pytest.mark.parametrize("content, said", [(b"not parquet", "not a readable Parquet file"),
                                           (None, "holds string, not numbers")])
def test_a_bad_parquet_file_is_one_error_naming_it(tmp_path, content, said):
    pyarrow = pytest.importorskip("pyarrow")
    import pyarrow.parquet as parquet

    path = tmp_path / "bad.parquet"
    if content is None:
        parquet.write_table(pyarrow.table({"x": ["a", "b"]}), path)
    else:
        path.write_bytes(content)
    line = first_error(run("grad", "x", "--points", str(path)))
    assert said in line and str(path) in line
