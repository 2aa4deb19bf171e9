"""The command line through Typer's CliRunner: every option and every error path."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from derivcli.cli import app

MISSION = "exp(-(x**2-x+1)/cos(log(x))**2)"


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env)


def run_json(command: str, *args: str) -> dict:
    result = run(command, "--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def assert_error(result, *fragments: str) -> None:
    """Exit 2, nothing on stdout, one `error:` line first on stderr, no traceback."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    for fragment in fragments:
        assert fragment in first, first


# --------------------------------------------------------------------------- the main job
def test_mission_plain_output_when_piped():
    result = run("grad", MISSION, "--x", "1")
    assert result.exit_code == 0
    assert result.stdout == "value\t0.36787944117144233\nd/dx\t-0.36787944117144233\n"
    assert result.stderr == ""


def test_mission_json_contract():
    data = run_json("grad", MISSION, "--x", "1")
    assert set(data) == {"expression", "point", "dtype", "value", "gradient", "warnings"}
    assert data["value"] == 0.36787944117144233
    assert data["gradient"] == {"x": -0.36787944117144233}
    assert data["point"] == {"x": 1.0}
    assert data["dtype"] == "float64"
    assert data["warnings"] == []
    assert data["expression"] == "exp((-x**2 + x - 1)/cos(log(x))**2)"


def test_table_format_shows_value_derivative_and_how_the_input_was_read():
    result = run("grad", "2x^2", "--x", "3", "--format", "table")
    assert result.exit_code == 0
    assert "12.0" in result.stdout and "18.0" in result.stdout
    assert "∂f/∂x" in result.stdout
    assert "read '2x^2' as 2*x**2" in result.stdout


def test_format_json_equals_json_flag():
    assert run("grad", "x**2", "--x", "3", "--format", "json").stdout == run("grad", "x**2", "--x", "3",
                                                                             "--json").stdout


# --------------------------------------------------------------------------- bindings
@pytest.mark.parametrize("binding", [["--x", "3"], ["--x=3"], ["--var", "x=3"], ["--x", "9/3"],
                                     ["--x", "sqrt(9)"]])
def test_binding_forms(binding):
    assert run_json("grad", "x**2", *binding)["gradient"] == {"x": 6.0}


def test_constant_expression_binding():
    data = run_json("grad", "sin(x)", "--x", "pi/2")
    assert data["point"]["x"] == math.pi / 2
    assert data["value"] == 1.0


def test_negative_value_and_expression_starting_with_minus():
    assert run_json("grad", "-x**2", "--x", "-1")["gradient"] == {"x": 2.0}
    assert run_json("grad", "--x", "-1", "--", "-x**3")["gradient"] == {"x": -3.0}


def test_variable_named_like_an_option_goes_through_var():
    data = run_json("grad", "check*x", "--var", "check=2", "--x", "5", "--check")
    assert data["gradient"] == {"check": 5.0, "x": 2.0}
    assert data["check"]["agree"] is True


def test_options_before_the_expression():
    assert run_json("grad", "--x", "2", "x**3")["gradient"] == {"x": 12.0}


def test_wrt_comma_list_and_repeated():
    both = run_json("grad", "x*y*z", "--x", "1", "--y", "2", "--z", "3", "--wrt", "x,z")
    assert both["gradient"] == {"x": 6.0, "z": 2.0}
    repeated = run_json("grad", "x*y*z", "--x", "1", "--y", "2", "--z", "3", "--wrt", "y", "--wrt", "z")
    assert repeated["gradient"] == {"y": 3.0, "z": 2.0}


def test_constant_expression_has_zero_gradient_for_bound_variable():
    data = run_json("grad", "sin(2) + 3", "--x", "1", "--wrt", "x")
    assert data["gradient"] == {"x": 0.0}
    assert data["value"] == pytest.approx(math.sin(2) + 3)


def test_unused_binding_is_a_warning_not_an_error():
    result = run("grad", "x**2", "--x", "1", "--y", "2")
    assert result.exit_code == 0
    assert "warning: --y is given but 'y' is not in the expression" in result.stderr


# --------------------------------------------------------------------------- --check
def test_check_agrees_and_shows_the_formula():
    data = run_json("grad", "u**2 + v**3 + u*v", "--u", "2", "--v", "4", "--check")
    check = data["check"]
    assert check["agree"] is True
    assert check["derivatives"] == {"u": "2*u + v", "v": "u + 3*v**2"}
    assert check["gradient"] == {"u": 8.0, "v": 50.0}
    assert check["max_abs_error"] == 0.0


def test_check_disagreement_exits_1(wrong_sin):
    """A wrong torch form swapped into a copy of the functions table: a real disagreement."""
    wrong_sin(0.25)
    result = run("grad", "sin(x)", "--x", "1", "--check")
    data = json.loads(run("grad", "sin(x)", "--x", "1", "--check", "--json").stdout)
    assert result.exit_code == 1
    assert "DISAGREE" in result.stdout
    assert data["check"]["agree"] is False and data["check"]["verdicts"] == {"x": "DISAGREE"}


def test_a_tie_is_a_kink_not_a_disagreement():
    """At the three-way tie of max(x, 1, 2-x) torch splits the gradient pairwise (-0.25) and SymPy's
    Heaviside convention gives 0: neither is a derivative, since there is none; exit 0."""
    result = run("grad", "max(x, 1, 2-x)", "--x", "1", "--check")
    assert result.exit_code == 0
    assert "check\tx\tkink" in result.stdout
    assert "left derivative -1, right derivative 1" in result.stderr


def test_check_table_view():
    result = run("grad", MISSION, "--x", "1", "--check", "--format", "table")
    assert result.exit_code == 0
    assert "agree" in result.stdout and "∂f/∂x = " in result.stdout


# --------------------------------------------------------------------------- --fd
def test_fd_json_contract_and_best_step():
    data = run_json("grad", "3*x**2 - 4*x", "--x", "1", "--fd")
    table = data["finite_differences"]
    assert [row["h"] for row in table["rows"]] == [10.0 ** -k for k in range(1, 11)]
    first = table["rows"][0]
    assert set(first) == {"h", "forward", "backward", "central", "forward_error", "backward_error", "central_error",
                          "regime"}
    assert table["agree"] is True and table["verdicts"]["x"]["verdict"] == "agree"
    assert first["forward"]["x"] == pytest.approx(2.3)
    assert table["best_h"]["forward"]["x"] == 1e-8
    assert table["theoretical_h"]["forward"]["x"] == pytest.approx(2**-26)


def test_fd_steps_list_and_range():
    rows = run_json("grad", "x**3", "--x", "1", "--fd", "--fd-steps", "0.5,0.25")["finite_differences"]["rows"]
    assert [row["h"] for row in rows] == [0.5, 0.25]
    assert rows[0]["central"]["x"] == pytest.approx(3.25)
    rows = run_json("grad", "x**3", "--x", "1", "--fd", "--fd-steps", "1e-2:1e-4")["finite_differences"]["rows"]
    assert [row["h"] for row in rows] == [1e-2, 1e-3, 1e-4]


def test_fd_table_view_marks_best_and_theory():
    result = run("grad", "3*x**2 - 4*x", "--x", "1", "--fd", "--format", "table")
    assert result.exit_code == 0
    assert "★" in result.stdout and "truncation" in result.stdout and "round-off" in result.stdout
    assert "theory" in result.stdout


def test_bad_fd_steps():
    assert_error(run("grad", "x", "--x", "1", "--fd", "--fd-steps", "banana"), "--fd-steps")


# --------------------------------------------------------------------------- dtype, device, format
def test_float32():
    data = run_json("grad", "tan(1 + x**2)", "--x", "1", "--dtype", "float32")
    assert data["dtype"] == "float32"
    assert round(data["gradient"]["x"], 4) == 11.5488
    assert data["gradient"]["x"] != pytest.approx(11.548798408083835, abs=1e-9)


def test_bad_dtype_device_and_format():
    assert_error(run("grad", "x", "--x", "1", "--dtype", "float16"), "unknown dtype")
    assert_error(run("grad", "x", "--x", "1", "--device", "tpu"), "unknown device")
    assert_error(run("grad", "x", "--x", "1", "--format", "yaml"), "unknown format")


def test_cuda_unavailable_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        assert run_json("grad", "x**2", "--x", "3", "--device", "cuda")["gradient"] == {"x": 6.0}
    else:
        assert_error(run("grad", "x", "--x", "1", "--device", "cuda"), "no CUDA device")


def test_explain_parse():
    result = run("grad", "2x^2 + e", "--x", "1", "--explain-parse")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "read-as\t2*x**2 + E"
    assert any("2*x" in line for line in lines if line.startswith("note"))
    assert any("Euler" in line for line in lines if line.startswith("note"))
    data = run_json("grad", "2x", "--x", "1", "--explain-parse")
    assert data["parse"]["read_as"] == "2*x" and data["parse"]["input"] == "2x"


# --------------------------------------------------------------------------- non-finite results
def test_log_of_negative_is_computed_flagged_and_exits_0():
    result = run("grad", "log(x)", "--x", "-1", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["value"] == "NaN"  # JSON has no NaN token: the Protocol Buffers convention names it
    assert data["gradient"] == {"x": -1.0}
    assert data["warnings"] and "nan" in data["warnings"][0]
    assert "warning:" in result.stderr


def test_pole_is_infinite_and_flagged():
    result = run("grad", "1/x", "--x", "0")
    assert result.exit_code == 0
    assert "value\tinf" in result.stdout
    assert "warning:" in result.stderr


# --------------------------------------------------------------------------- errors
def test_unknown_function_has_caret_and_suggestion():
    result = run("grad", "sn(x) + 1", "--x", "1")
    assert_error(result, "unknown function 'sn'", "column 1", "did you mean sin?")
    assert result.stderr.splitlines()[1:] == ["  sn(x) + 1", "  ^^"]


def test_missing_binding():
    assert_error(run("grad", "x*y", "--x", "1"), "no value for variable y", "--y VALUE")


def test_bad_binding_values_and_names():
    assert_error(run("grad", "x", "--x", "abc"), "--x expects a number")
    assert_error(run("grad", "x", "--x", "y+1"), "--x expects a number")
    assert_error(run("grad", "x", "--1x", "2"), "not a valid variable name")
    assert_error(run("grad", "x", "--x", "1", "--x", "2"), "given twice")
    assert_error(run("grad", "x", "--var", "x"), "--var expects NAME=VALUE")
    assert_error(run("grad", "x", "--x"), "--x needs a value")


def test_mistyped_option_is_suggested():
    assert_error(run("grad", "x", "--x", "1", "--chek"), "no such option: --chek", "did you mean --check?")


def test_wrt_unknown_variable():
    assert_error(run("grad", "x**2", "--x", "1", "--wrt", "q"), "--wrt q")


def test_usage_errors_are_one_line():
    assert_error(run("nope"), "no such command 'nope'")
    assert_error(run("grad"), "missing argument")
    assert_error(run("grad", "", "--x", "1"), "empty expression")


def test_no_traceback_on_internal_surprises(monkeypatch):
    import derivcli.api

    def boom(*args, **kwargs):
        raise ZeroDivisionError("surprise")

    monkeypatch.setattr(derivcli.api, "grad", boom)
    result = run("grad", "x", "--x", "1")
    assert result.exit_code == 3
    assert result.stderr.startswith("error: internal error: ZeroDivisionError: surprise")
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- help, version, functions
def test_version():
    from derivcli import __version__

    result = run("--version")
    assert result.exit_code == 0 and result.stdout == f"derivcli {__version__}\n"


@pytest.mark.parametrize("command", [[], ["grad"], ["functions"]])
def test_every_help_has_a_worked_example(command):
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout and "derivcli " in result.stdout


@pytest.mark.parametrize("args", [["--help"], ["-h"], []])
@pytest.mark.parametrize("columns", ["40", "80", "200"])
def test_the_help_listing_built_without_parameters_is_the_whole_groups(args, columns, monkeypatch, capsys):
    """`derivcli --help` is shown from a group whose commands carry no parameters (app.listing): it must
    print what the whole group prints, at every width, colours included."""
    # typer.rich_utils first: at import it fixes FORCE_TERMINAL from FORCE_COLOR for the whole process, and
    # the help of every later test in this process came out in colour and 144 columns wide
    import typer.rich_utils  # noqa: F401

    from derivcli.cli.app import command, listing, main
    from derivcli.cli.outcome import PROG

    monkeypatch.setenv("COLUMNS", columns)
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    code = main(args)
    listed = capsys.readouterr()
    assert code == int(command().main(args=args, prog_name=PROG, standalone_mode=False))
    assert listed == capsys.readouterr() and "grad" in listed.out and "\x1b[" in listed.out
    assert not any(cmd.params for cmd in listing().commands.values())
    assert command().commands["grad"].params and listing().commands.keys() == command().commands.keys()


def test_functions_listing_json():
    data = json.loads(run("functions", "--json").stdout)
    names = {entry["name"] for entry in data}
    assert {"sin", "log", "sigmoid", "softplus", "heaviside"} <= names
    assert all(set(entry) == {"name", "aliases", "arity", "description", "sympy", "torch"} for entry in data)


def test_no_color_table_has_no_escape_codes():
    result = run("grad", "x**2", "--x", "1", "--format", "table", env={"NO_COLOR": "1"})
    assert "\x1b[" not in result.stdout


def test_check_is_skipped_with_a_reason_when_the_derivative_would_be_huge():
    product = "*".join(f"sin({k}x)" for k in range(1, 700))
    result = run("grad", product, "--x", "0.1", "--check", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["check"]["agree"] is None
    assert "nodes" in data["check"]["skipped"]


# ------------------------------------------------------------------------- values are what they look like
@pytest.mark.parametrize(("value", "digit"), [("৪", "4"), ("٣", "3"), ("１", "1")])
def test_digits_of_other_scripts_are_refused_with_the_ascii_digit(value, digit):
    """float() reads '৪' (Bengali four, which looks like 8) as 4: a binding takes ASCII digits only."""
    assert_error(run("grad", "x", "--x", value), "--x expects a number", f"did you mean '{digit}'?")


def test_a_name_bound_twice_with_var_is_an_error():
    assert_error(run("grad", "x", "--var", "x=1", "--var", "x=2"), "'x' is given twice")
    assert_error(run("grad", "θ", "--var", "θ=1", "--var", "theta=2"), "'theta' is given twice")


def test_unicode_math_in_a_value():
    result = run("grad", "x", "--x", "π/4")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"value\t{math.pi / 4!r}"


def test_the_jacobian_of_a_scalar_expression_at_a_scalar_point():
    result = run("jacobian", "x**2", "--x", "3")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["value\t9.0", "df/dx\t6.0"]
