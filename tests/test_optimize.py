"""Gradient descent: the tutorials' loop and its printed numbers, the optimizers on Rosenbrock, a matrix
variable, the hand-written update against torch.optim.SGD, tol, stalls, divergence, the JSON contract,
the views (whole tensors, one status word), and the progress bar on every way out."""

from __future__ import annotations

import io
import json
import math
import os
import re
import select
import signal
import subprocess
import sys
import time

import pytest

from derivcli.errors import DerivcliError
from derivcli.explore.optimize import STALL_STEPS, minimize
from derivcli.render import emit_minimize

ROSENBROCK = "(1-x)**2 + 100*(y-x**2)**2"
W = [[0.6904, 0.7417, 0.6027, 0.7612], [0.3263, 0.9509, 0.6202, 0.9371], [0.1982, 0.1809, 0.3788, 0.1230]]
RELU_LOSS = "sum((relu(W @ x) - t)**2)"
RELU_POINT = {"W": W, "x": [0, 1, 2, 3], "t": [1, 1.2, 1.4]}


# --------------------------------------------------------------------------- the tutorials' descent
def test_first_steps_match_the_tutorial():
    # x = 4; loss = (x - 1.5)**2; x -= 0.1 * x.grad: x 4 -> 3.5 -> 3.1 -> 2.78 -> 2.524.  The trace's step k
    # is the state after k updates, with the gradient there (the seed's "iteration 2: x 2.78, grad 3.2"
    # prints the gradient at 3.1 beside the x it produced).
    result = minimize("(x-1.5)**2", {"x": 4}, lr=0.1, steps=100, tol=0)
    xs = [entry.point["x"] for entry in result.trace[:5]]
    assert xs == pytest.approx([4.0, 3.5, 3.1, 2.78, 2.524], abs=1e-12)
    assert result.trace[2].grad_norm == pytest.approx(3.2)
    assert [entry.step for entry in result.trace] == list(range(101))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_descent_reaches_the_minimum(dtype):
    result = minimize("(x-1.5)**2", {"x": 4}, lr=0.1, steps=100, dtype=dtype, tol=0)
    assert result.point["x"] == pytest.approx(1.5, abs=1e-6)
    assert not result.diverged
    if dtype == "float64":
        assert result.steps == 100 and result.status == "max_steps"
    else:  # the seed prints loss 5.6843e-14 at the end: x sits 2 ulps above 1.5, where lr * grad rounds away
        assert result.value == pytest.approx(5.6843e-14, rel=1e-4)
        points = [entry.point["x"] for entry in result.trace]
        assert result.status == "stalled" and result.steps < 100
        assert points[-STALL_STEPS - 1:] == [result.point["x"]] * (STALL_STEPS + 1) != points[-STALL_STEPS - 2:-1]
        since = result.steps - STALL_STEPS
        assert result.stopped == f"stalled: the point and its value 5.68434e-14 are unchanged since step {since}"


def test_manual_loop_gives_the_sgd_trace_exactly():
    for dtype in ("float64", "float32"):
        sgd = minimize("(x-1.5)**2", {"x": 4}, lr=0.1, steps=100, dtype=dtype)
        manual = minimize("(x-1.5)**2", {"x": 4}, lr=0.1, steps=100, dtype=dtype, manual=True)
        assert manual.trace == sgd.trace
        assert manual.optimizer == "manual"


def test_manual_loop_on_a_matrix_agrees_to_the_last_bit():
    # torch.optim.SGD updates with add_(grad, alpha=-lr), whose vectorized CPU kernel fuses the multiply and
    # add (one rounding); `x -= lr * x.grad` rounds twice.  On tensors the two differ by about an ulp.
    sgd = minimize(RELU_LOSS, RELU_POINT, wrt=["W"], lr=0.01, steps=30)
    manual = minimize(RELU_LOSS, RELU_POINT, wrt=["W"], lr=0.01, steps=30, manual=True)
    for a, b in zip(sgd.trace, manual.trace):
        assert a.value == pytest.approx(b.value, rel=1e-12, abs=1e-15)
        for row_a, row_b in zip(a.point["W"], b.point["W"]):
            assert row_a == pytest.approx(row_b, abs=1e-14)


# --------------------------------------------------------------------------- optimizers
@pytest.mark.parametrize(("optimizer", "lr", "steps"), [("lbfgs", 1.0, 100), ("adam", 0.05, 3000)])
def test_rosenbrock_reaches_its_minimum(optimizer, lr, steps):
    result = minimize(ROSENBROCK, {"x": -1.2, "y": 1}, optimizer=optimizer, lr=lr, steps=steps, trace_every=500)
    assert result.point["x"] == pytest.approx(1.0, abs=1e-4)
    assert result.point["y"] == pytest.approx(1.0, abs=1e-4)
    assert result.value < 1e-8 and not result.diverged


def test_momentum_beats_plain_sgd_on_rosenbrock():
    plain = minimize(ROSENBROCK, {"x": -1.2, "y": 1}, lr=0.001, steps=2000, trace_every=1000)
    momentum = minimize(ROSENBROCK, {"x": -1.2, "y": 1}, optimizer="momentum", lr=0.001, steps=2000,
                        trace_every=1000)
    assert momentum.value < plain.value < 24.2


def test_descending_a_matrix():
    # the seed's relu(W @ x) regression: the loss falls from its start (33.657 for the seed's random W)
    result = minimize(RELU_LOSS, RELU_POINT, wrt=["W"], lr=0.01, steps=40)
    values = [entry.value for entry in result.trace]
    assert values[0] == pytest.approx(24.9057, abs=1e-3)
    assert all(b <= a for a, b in zip(values, values[1:]))
    assert result.value < 1e-6
    assert len(result.point["W"]) == 3 and len(result.point["W"][0]) == 4
    assert result.held == {"x": [0.0, 1.0, 2.0, 3.0], "t": [1.0, 1.2, 1.4]}


def test_variables_outside_wrt_stay_put():
    result = minimize("(x - a)**2", {"x": 0, "a": 3}, wrt=["x"], lr=0.1, steps=200)
    assert result.point == {"x": pytest.approx(3.0)} and result.held == {"a": 3.0}


# --------------------------------------------------------------------------- stopping
def test_tol_stops_early_and_converges():
    result = minimize("x**2", {"x": 1}, lr=0.1, steps=1000, tol=1e-6)
    assert result.converged and not result.diverged and result.status == "converged"
    assert result.steps < 100
    assert result.stopped.startswith("converged: ") and result.stopped.count("converged") == 1
    assert result.trace[-1].step == result.steps


def test_tol_on_a_zero_gradient():
    result = minimize("x**2", {"x": 0}, lr=0.1, steps=50, tol=1e-12)
    assert result.converged and result.steps == 0 and "gradient norm" in result.stopped


def test_tol_0_runs_every_step():
    result = minimize("x**2", {"x": 1}, lr=0.1, steps=10, tol=0)
    assert not result.converged and result.steps == 10 and result.stopped == "not converged: ran all 10 steps"
    assert result.status == "max_steps"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_without_tol_a_run_converges_once_the_gradient_is_as_small_as_round_off_allows(dtype):
    # x -> 0.8x from 4 on (x - 1.5)**2: the gradient norm is 5 * 0.8**k, the default tolerance √ε * 5
    eps = {"float64": 2.0**-52, "float32": 2.0**-23}[dtype]
    tol = math.sqrt(eps) * 5.0
    result = minimize("(x-1.5)**2", {"x": 4}, lr=0.1, steps=1000, dtype=dtype)
    expected = math.ceil(math.log(tol / 5.0) / math.log(0.8))  # the first step below it
    assert result.status == "converged" and result.steps in (expected - 1, expected, expected + 1)
    assert result.tol == pytest.approx(tol) and result.tol_default is True
    assert result.grad_norm < tol <= result.trace[-2].grad_norm
    assert result.stopped == (f"converged: the gradient norm {result.grad_norm:.3g} is below the default tolerance "
                              f"{tol:.3g} (sqrt(eps)*max(1, the gradient norm at the start))")
    assert result.to_json()["tol"] == result.tol and result.to_json()["tol_default"] is True


def test_without_tol_a_gradient_of_1e_9_is_converged_not_max_steps():
    # the complaint: every run without --tol ended "not converged", even at a gradient norm of 1e-9
    result = minimize(ROSENBROCK, {"x": -1.2, "y": 1}, optimizer="lbfgs", lr=1, steps=200)
    assert result.status == "converged" and result.grad_norm < 1e-8 * 233
    assert result.point == {"x": pytest.approx(1.0, abs=1e-6), "y": pytest.approx(1.0, abs=1e-6)}


def test_without_tol_a_run_that_has_not_converged_says_which_tolerance_it_missed():
    result = minimize("x**2", {"x": 1}, lr=0.1, steps=10)
    assert result.status == "max_steps" and result.stopped.startswith("not converged: ran all 10 steps without "
                                                                      "reaching the default tolerance 2.98e-08")


def test_dead_relu_units_stall_the_run():
    # the --help example with --seed 0: every unit of relu(W @ x) is off from step 3, so the gradient is 0
    # and plain SGD can never move again; it used to run all its steps and end "not converged"
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    result = minimize(RELU_LOSS, {"W": torch.rand(3, 4).tolist(), "x": [0, 1, 2, 3], "t": [1, 1.2, 1.4]}, wrt=["W"],
                      steps=20)
    norms = [entry.grad_norm for entry in result.trace]
    assert norms[3:] == [0.0] * (1 + STALL_STEPS) and all(norm > 0 for norm in norms[:3])
    assert result.status == "stalled" and result.steps == 3 + STALL_STEPS
    assert result.stopped == "stalled: the gradient is 0 (dead ReLU units?) since step 3"
    assert not result.converged and not result.diverged


def test_a_zero_gradient_without_relu_is_a_stationary_point():
    result = minimize("x**2 + y**2", {"x": 0, "y": 0}, steps=50)
    assert result.status == "stalled" and result.steps == STALL_STEPS
    assert result.stopped == ("stalled: the gradient is 0 (a stationary point, or a flat piece of the function) "
                              "since step 0")


def test_momentum_across_a_flat_piece_is_not_a_stall():
    # (relu(x) - 2)**2 + 10*relu(-x-3)**2 is flat on [-3, 0]: momentum from the wall at x = -4 coasts
    # across it with a gradient of exactly 0 for more than STALL_STEPS states, and on down to x = 2
    result = minimize("(relu(x) - 2)**2 + 10*relu(-x-3)**2", {"x": -4}, optimizer="momentum", lr=0.05, steps=200)
    zeros = [entry.step for entry in result.trace if entry.grad_norm == 0]
    assert len(zeros) > STALL_STEPS and zeros == list(range(zeros[0], zeros[0] + len(zeros)))
    assert result.status == "max_steps" and result.point["x"] == pytest.approx(2.0, abs=1e-3)


def test_too_large_a_learning_rate_diverges_with_a_reason():
    result = minimize("x**2", {"x": 1}, lr=1.5, steps=100)  # x -> -2x each step
    assert result.diverged and not result.converged
    assert result.stopped.startswith("diverged") and result.steps < 100
    assert any("smaller learning rate" in warning for warning in result.warnings)


def test_leaving_the_domain_diverges_at_that_step():
    result = minimize("log(x)", {"x": 1}, lr=2, steps=10)  # x = 1 - 2 = -1: log is NaN
    assert result.diverged and result.stopped == "diverged: the value became nan at step 1"
    assert result.status == "diverged" and math.isnan(result.trace[-1].value)


def test_non_finite_start():
    result = minimize("1/x", {"x": 0}, steps=10)
    assert result.diverged and "starting point" in result.stopped and result.steps == 0


# --------------------------------------------------------------------------- trace, progress, JSON
def test_trace_every_keeps_every_kth_step_and_the_last():
    result = minimize("(x-1.5)**2", {"x": 4}, lr=0.1, steps=25, trace_every=10)
    assert [entry.step for entry in result.trace] == [0, 10, 20, 25]


def test_progress_callback():
    calls = []
    minimize("x**2", {"x": 1}, steps=5, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]


def test_json_contract():
    data = json.loads(json.dumps(minimize(ROSENBROCK, {"x": -1.2, "y": 1}, optimizer="adam", lr=0.05,
                                          steps=10).to_json()))
    assert {"point", "value", "converged", "diverged", "steps", "trace", "optimizer", "stopped", "status"} <= set(data)
    assert data["status"] == "max_steps" and data["converged"] is False and data["diverged"] is False
    assert data["optimizer"] == "adam" and data["steps"] == 10
    assert set(data["trace"][0]) == {"step", "value", "point", "grad_norm"}
    assert data["trace"][0]["point"] == {"x": -1.2, "y": 1.0}
    assert math.isclose(data["trace"][0]["value"], 24.2)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"optimizer": "rmsprop"}, "unknown optimizer"),
    ({"optimizer": "adam", "manual": True}, "hand-written SGD"),
    ({"lr": 0}, "--lr"),
    ({"lr": math.nan}, "--lr"),
    ({"steps": -1}, "--steps"),
    ({"tol": -1.0}, "--tol"),
    ({"trace_every": 0}, "--every"),
])
def test_bad_options_are_clear_errors(kwargs, message):
    with pytest.raises(DerivcliError, match=message):
        minimize("x**2", {"x": 1}, **kwargs)


def test_nothing_to_minimize():
    with pytest.raises(DerivcliError, match="nothing to minimize"):
        minimize("3", {})
    with pytest.raises(DerivcliError, match="not a single number"):
        minimize("x**2", {"x": [1, 2]})


# --------------------------------------------------------------------------- the views
def table(result, columns: int | None = None, monkeypatch=None) -> str:
    """The table view as printed: to a terminal `columns` wide, else to a pipe (--format table)."""
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    if columns is not None:
        monkeypatch.setenv("COLUMNS", str(columns))
    out = Terminal() if columns is not None else io.StringIO()
    emit_minimize(result, "table", out)
    return re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())


@pytest.mark.parametrize(("expression", "point", "options", "status"), [
    ("x**2", {"x": 1}, {"tol": 1e-6}, "converged"),
    ("x**2", {"x": 1}, {"lr": 0.1, "steps": 1, "tol": 1e-300}, "max_steps"),
    ("x**2", {"x": 0}, {}, "stalled"),
    ("x**2", {"x": 1}, {"lr": 1.5}, "diverged"),
])
def test_the_last_line_says_how_it_ended_in_one_word(expression, point, options, status, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # one line, whatever width the test runner's workers have
    result = minimize(expression, point, **options)
    last = table(result).splitlines()[-1]
    assert result.status == status and last == result.stopped
    word = {"max_steps": "not converged"}.get(status, status)
    assert last.startswith(word + ": ") and last.count(word) == 1 and last.count("converged") <= 1
    plain = io.StringIO()
    emit_minimize(result, "plain", plain)
    assert f"status\t{status}" in plain.getvalue().splitlines() and f"stopped\t{result.stopped}" in plain.getvalue()


def numbers_in(text: str) -> list[str]:
    return re.findall(r"-?\d+\.\d+(?:e[-+]\d+)?", text)


def significant(text: str) -> int:
    """The significant digits a number is written with (1.50033 has 6, 0.0012 has 2, 4.0 has 1)."""
    digits = text.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
    return len(digits.rstrip("0")) if "." in text else len(digits)


@pytest.mark.parametrize("columns", [None, 80, 60])
def test_a_tensor_point_is_printed_whole(columns, monkeypatch):
    """Every entry of the final point, none cut: to 6 significant digits, and whole with --digits full."""
    from derivcli.render.numbers import styled

    result = minimize(RELU_LOSS, RELU_POINT, wrt=["W"], lr=0.01, steps=3)
    with styled(digits=None):
        full = table(result, columns, monkeypatch)
    final = full[full.index("final point"):full.index(result.stopped.split()[0])]
    entries = [v for row in result.point["W"] for v in row]
    assert numbers_in(final)[1:] == [repr(v) for v in entries]  # (the first is the value)
    text = table(result, columns, monkeypatch)
    final = text[text.index("final point"):text.index(result.stopped.split()[0])]
    shown = numbers_in(final)[1:]
    assert [float(v) for v in shown] == pytest.approx(entries, rel=5e-6) and all(significant(v) <= 6 for v in shown)
    assert "…" not in text and all(len(line) <= (columns or 140) for line in text.splitlines())
    # at each step: in the table (to 6 digits) where its rows fit, or left to --format plain and --json
    assert ("┃ point" in text) == (columns != 60) != ("--format plain or --json" in text)
    if columns is None:  # the trace to 6 significant digits
        assert all(f"{v:.6g}" in text for entry in result.trace for row in entry.point["W"] for v in row)


def test_a_scalar_point_wraps_between_numbers_only(monkeypatch):
    point = {f"x{k}": 1 / 3 + k for k in range(8)}
    result = minimize(" + ".join(f"(x{k} - {k})**2" for k in range(8)), point, steps=2)
    text = table(result, 80, monkeypatch)
    cells = "".join(line.split("│")[3] for line in text.splitlines() if line.count("│") == 5)
    assert sorted(numbers_in(cells)) == sorted(f"{v:.6g}" for entry in result.trace for v in entry.point.values())


def test_the_trace_and_the_final_point_have_6_significant_digits_and_fit_80_columns(monkeypatch):
    result = minimize(ROSENBROCK, {"x": -1.2, "y": 1}, optimizer="lbfgs", lr=1, steps=30, tol=0)
    text = table(result, 80, monkeypatch)
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines)
    rows = [line for line in lines if line.count("│") == 5 and line.split("│")[1].strip().isdigit()]
    assert len(result.trace) == 31 and len(rows) == 24  # one line each: the first and last 12
    for line in rows:
        entry = result.trace[int(line.split("│")[1])]
        value, point = line.split("│")[2].strip(), line.split("│")[3].strip()
        assert float(value) == pytest.approx(entry.value, rel=5e-6) and significant(value) <= 6
        x, y = (part.split("=")[1] for part in point.split(", "))
        assert [float(x), float(y)] == pytest.approx([entry.point["x"], entry.point["y"]], rel=5e-6)
        assert significant(x) <= 6 and significant(y) <= 6
    final = next(line for line in lines if line.startswith("final point: "))
    x, y = (part.split("=")[1] for part in final.removeprefix("final point: ").split(", "))
    assert [float(x), float(y)] == pytest.approx([result.point["x"], result.point["y"]], rel=5e-6)
    value = next(line for line in lines if line.startswith("final value: ")).removeprefix("final value: ")
    assert float(value) == pytest.approx(result.value, rel=5e-6) and significant(value) <= 6


def test_help_lists_the_optimizers_and_the_default_tolerance():
    from typer.testing import CliRunner

    from derivcli.cli import app

    shown = CliRunner().invoke(app, ["minimize", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"}).stdout
    assert "--optimizer" in shown and "sgd|momentum|adam|lbfgs" in shown
    assert "Default: the gradient norm below 1.5e-8 x max(1, its norm at the start)" in shown


def test_a_large_tensor_is_summarised_as_torch_prints_it():
    result = minimize("sum(x**2)", {"x": [[float(i * 40 + j) for j in range(40)] for i in range(40)]}, steps=1,
                      lr=0.25)
    final = table(result).split("final point")[1]
    rows = final.split("\n")[1:]
    assert rows[0] == "x=[[0.0, 0.5, 1.0, …, 18.5, 19.0, 19.5],"  # first and last three, every number whole
    def row(a: float) -> str:
        return f"   [{a}, {a + 0.5}, {a + 1}, …, {a + 18.5}, {a + 19}, {a + 19.5}]"

    assert rows[1:7] == [row(20.0) + ",", row(40.0) + ",", "   …,", row(740.0) + ",", row(760.0) + ",",
                         row(780.0) + "]"]
    assert "--format plain and --json give every one" in final
    assert len(result.to_json()["point"]["x"]) == 40


# --------------------------------------------------------------------------- the progress bar
def screen(raw: str, width: int) -> list[str]:
    """What a terminal `width` columns wide shows after `raw`: as much of a VT100 as Rich's live display
    uses (text, carriage return, line feed, cursor up, erase line; colours and the cursor's visibility
    are ignored)."""
    lines: list[list[str]] = [[]]
    row = column = 0
    for token in re.findall(r"\x1b\[[0-9;?]*[A-Za-z]|.", raw, re.S):
        if token == "\r":
            column = 0
        elif token == "\n":
            row += 1
        elif token.startswith("\x1b["):
            if token[-1] == "A":
                row = max(0, row - int(token[2:-1] or 1))
            elif token[-1] == "K":
                lines[row] = [] if token == "\x1b[2K" else lines[row][:column]
        else:
            if column == width:
                row, column = row + 1, 0
            while len(lines) <= row:
                lines.append([])
            lines[row] += [" "] * (column + 1 - len(lines[row]))
            lines[row][column] = token
            column += 1
        while len(lines) <= row:
            lines.append([])
    return ["".join(line).rstrip() for line in lines]


def in_a_terminal(*args: str, interrupt: bool = False) -> tuple[int, str, list[str]]:
    """derivcli with stdout and stderr on a pseudo-terminal 100 columns wide: the exit status, what it
    wrote, and the screen it left (with `interrupt`, Ctrl-C as soon as the bar shows)."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    environment = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "LINES", "NO_COLOR")}
    process = subprocess.Popen([sys.executable, "-m", "derivcli", *args], stdin=subprocess.DEVNULL, stdout=slave,
                               stderr=slave, env={**environment, "TERM": "xterm-256color"})
    os.close(slave)
    raw = b""
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if select.select([master], [], [], 1)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the other end is closed: the process has exited
                    break
                if not chunk:
                    break
                raw += chunk
                if interrupt and b"%" in raw:  # the bar is drawn and counting
                    process.send_signal(signal.SIGINT)
                    interrupt = False
        os.close(master)
        code = process.wait(timeout=60)
    finally:  # a failure here must not leave a million steps running beside the rest of the suite
        process.kill()
    text = raw.decode("utf-8", "replace")
    return code, text, screen(text, 100)


needs_a_pty = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a pseudo-terminal as on Linux")


@needs_a_pty
@pytest.mark.parametrize(("args", "last"), [
    (["x**2 + y**2", "--x", "0", "--y", "0"], "stalled: the gradient is 0"),  # an early stop
    # (the other ways a run ends: a terminal each, in CI's slow step)
    pytest.param(["x**2", "--x", "1", "--lr", "1.5"], "diverged: the value grew", marks=pytest.mark.slow),
    pytest.param(["3", "--x", "1"], "error: ", marks=pytest.mark.slow),  # an error after the bar started
])
def test_the_progress_bar_leaves_nothing_behind(args, last):
    code, raw, shown = in_a_terminal("minimize", *args, "--steps", "1000000")
    assert "gradients" in raw  # it was drawn, then cleared
    shown = [line for line in shown if line]
    assert not any("gradients" in line for line in shown), shown
    assert shown[0].startswith("error: " if last == "error: " else "minimize "), shown  # nothing above the output
    assert any(line.startswith(last) for line in shown), shown


@needs_a_pty
def test_the_progress_bar_is_cleared_by_ctrl_c():
    code, raw, shown = in_a_terminal("minimize", "(x-1.5)**2", "--x", "4", "--lr", "1e-9", "--steps", "1000000",
                                     "--every", "100000", interrupt=True)
    assert code == 130 and "%" in raw
    assert not any("gradients" in line for line in shown), shown
