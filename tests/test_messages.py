"""Messages that say the helpful thing (issue 28.6): each mistake a newcomer makes, and the line it gets."""

from __future__ import annotations

import contextlib
import io

import pytest

from derivcli.cli import main
from derivcli.errors import DerivcliError
from derivcli.parsing import parse


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("text, fixed", [("sin[x]", "sin(x)"), ("exp[2*x + 1]", "exp(2*x + 1)")])
def test_square_brackets_after_a_function_say_to_use_parentheses(text, fixed):
    with pytest.raises(DerivcliError, match="square brackets make a tensor") as info:
        parse(text)
    assert info.value.hint == f"use parentheses: {fixed}"
    assert parse(fixed).canonical  # the hint's spelling reads


def test_a_constant_tensor_after_a_function_still_reads():
    assert parse("sum(exp[0, 0])").canonical == parse("sum(exp([0, 0]))").canonical


def test_a_glob_of_points_without_a_scheduler_says_what_reads_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p1.csv").write_text("x\n1\n")
    code, _, err = run(["grad", "x^2", "--points", "p*.csv"])
    assert code == 2 and "a pattern of many files is read with --scheduler" in err and "no such file" not in err


@pytest.mark.parametrize("option, content, said", [
    ("--points", "x,y\n1,2\n3,abc\n", "line 3 of {path}, column y: 'abc' is not a number"),
    ("--v", "1,2\n3,zz\n", "line 2 of {path}, column 2: 'zz' is not a number"),
])
def test_a_bad_csv_cell_is_named_by_its_line_and_column(tmp_path, option, content, said):
    path = tmp_path / "values.csv"
    path.write_text(content)
    argv = ["grad", "x*y", "--points", str(path)] if option == "--points" else ["grad", "sum(v)", "--v", f"@{path}"]
    code, _, err = run(argv)
    assert code == 2 and said.format(path=path) in err, err


def test_points_write_an_npz_of_named_columns_that_reads_back(tmp_path):
    import numpy as np

    (tmp_path / "q.csv").write_text("x,y\n1,2\n3,4\n")
    code, _, err = run(["grad", "x^2*y", "--points", str(tmp_path / "q.csv"), "--output", str(tmp_path / "o.npz")])
    assert code == 0, err
    with np.load(tmp_path / "o.npz") as saved:
        table = {name: saved[name].tolist() for name in saved.files}
    assert table == {"x": [1.0, 3.0], "y": [2.0, 4.0], "f": [2.0, 36.0], "d/dx": [4.0, 24.0], "d/dy": [1.0, 9.0]}


def table(argv: list[str], monkeypatch: pytest.MonkeyPatch, width: int = 80) -> str:
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setenv("NO_COLOR", "1")
    code, out, err = run([*argv, "--format", "table"])
    assert code == 0, err
    return out


def test_a_reading_is_said_once_and_a_caret_not_at_all(monkeypatch):
    shown = table(["diff", "sin^2 x + x^2", "--x", "1"], monkeypatch)
    assert shown.count("'sin^2 x' read as sin(x)**2: a power of the function's value") == 1
    assert "(power)" not in shown
    whole = table(["diff", "sin^2 x", "--x", "1"], monkeypatch)
    assert "read 'sin^2 x' as sin(x)**2: a power of the function's value" in whole
    assert whole.count("sin(x)**2: a power") == 1


def test_the_tangent_line_has_one_equals_sign(monkeypatch):
    shown = table(["implicit", "x^2 + y^2 = 25", "--x", "3", "--y", "4"], monkeypatch)
    assert "tangent line: y = 4.0 - 0.75*(x - 3.0)" in shown and "= y =" not in shown


@pytest.mark.parametrize("text", ["dy/dx of x^3", "dy/dx x^3", "df/dx (x^3)", "d/dx of x^3"])
def test_leibniz_notation_with_of_reads_as_the_derivative(text):
    import derivcli

    assert derivcli.diff(text).derivative == "3*x**2"
    assert parse(text).wrt == ("x",)


def test_dy_over_dx_alone_stays_a_quotient_of_two_variables():
    import derivcli

    result = derivcli.grad("dy/dx", {"dy": 1.0, "dx": 2.0})
    assert result.value == 0.5 and result.gradient == {"dy": 0.5, "dx": -0.25}


def test_plain_jacobian_names_the_columns_of_a_matrix_variable():
    """d(W @ x)_i / dW_jk = δ_ij x_k: each row's numbers under the W[j, k] that the `columns` line names."""
    code, out, err = run(["jacobian", "W @ x", "--W", "[[1, 2, 3], [4, 5, 6]]", "--x", "[7, 8, 9]", "--wrt", "W",
                          "--format", "plain"])
    assert code == 0, err
    lines = [line.split("\t") for line in out.splitlines()]
    columns = next(line[1:] for line in lines if line[0] == "columns")
    assert columns == ["W[0, 0]", "W[0, 1]", "W[0, 2]", "W[1, 0]", "W[1, 1]", "W[1, 2]"]
    x = [7.0, 8.0, 9.0]
    for i in range(2):
        row = next(line[1:] for line in lines if line[0] == f"df[{i}]/dW")
        assert [float(v) for v in row] == [x[int(c[5])] if int(c[2]) == i else 0.0 for c in columns]
