"""Pipelines: stdin streaming, NDJSON batches, --points files and the vectorized Python API."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from records import error_text
from typer.testing import CliRunner

import derivcli
from derivcli.cli import app

ROOT = Path(__file__).resolve().parent.parent
MISSION = "exp(-(x**2-x+1)/cos(log(x))**2)"


def derivcli_process(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "derivcli", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, bufsize=1)


def read_line(process: subprocess.Popen, timeout: float = 60) -> str:
    """The next line of the process's output, failing rather than hanging if none comes."""
    import threading

    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert lines, "no answer arrived"
    return lines[0]


# --------------------------------------------------------------------------- --x -
def test_stdin_values_plain():
    result = CliRunner().invoke(app, ["grad", "sin(x)*exp(-x)", "--x", "-"], input="0\n0.5\n1\n")
    assert result.exit_code == 0
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [float(line[0]) for line in lines] == [0.0, 0.5, 1.0]
    for x, value, derivative in ((float(a), float(b), float(c)) for a, b, c in lines):
        assert value == pytest.approx(math.sin(x) * math.exp(-x), rel=1e-15)
        assert derivative == pytest.approx((math.cos(x) - math.sin(x)) * math.exp(-x), rel=1e-14, abs=1e-16)


def test_stdin_values_ndjson_with_a_bad_line_in_place():
    result = CliRunner().invoke(app, ["grad", "x**2*y", "--x", "-", "--y", "3", "--json"], input="1\nabc\n[1,2]\n2\n")
    assert result.exit_code == 2
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[0]["gradient"] == {"x": 6.0, "y": 1.0}
    assert records[1]["line"] == 2 and "abc" in error_text(records[1])
    assert records[2]["line"] == 3 and "shape (2,)" in error_text(records[2])
    assert records[3]["gradient"] == {"x": 12.0, "y": 4.0}
    assert "error: line 2:" in result.stderr


def test_stdin_streams_first_answer_before_stdin_closes():
    process = derivcli_process("grad", "x**3", "--x", "-")
    try:
        process.stdin.write("2\n")
        process.stdin.flush()
        assert read_line(process) == "2.0\t8.0\t12.0\n"  # stdin is still open
        process.stdin.write("3\n")
        process.stdin.flush()
        assert read_line(process) == "3.0\t27.0\t27.0\n"
    finally:
        process.stdin.close()
        process.wait(timeout=60)
    assert process.returncode == 0


def test_only_grad_reads_stdin():
    result = CliRunner().invoke(app, ["jacobian", "x", "--x", "-"], input="1\n")
    assert result.exit_code == 2 and "stdin" in result.stderr


# --------------------------------------------------------------------------- batch
def requests(*items: object) -> str:
    return "".join((item if isinstance(item, str) else json.dumps(item)) + "\n" for item in items)


def test_batch_keeps_order_and_reports_bad_lines_in_place():
    text = requests({"expression": "u**2 + v**3 + u*v", "point": {"u": 2, "v": 4}},
                    "{not json",
                    {"expression": "sn(x)", "point": {"x": 1}},
                    {"expression": "x", "point": {"x": "abc"}},
                    {"expression": "softmax(a)", "point": {"a": [0, 0]}, "command": "jacobian"},
                    {"expression": "(1-x)**2 + 100*(y-x**2)**2", "point": {"x": 1, "y": 1}, "command": "hessian"},
                    {"expression": "x**3", "point": {"x": 2}, "command": "diff", "wrt": ["x"], "order": 2},
                    {"expression": "x", "point": {"x": 1}, "colour": "red"},
                    {"expression": "x**2", "point": {"x": 3}, "check": True})
    result = CliRunner().invoke(app, ["batch"], input=text)
    assert result.exit_code == 2
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == 9
    assert answers[0]["gradient"] == {"u": 8.0, "v": 50.0}
    assert answers[1]["line"] == 2 and "invalid JSON" in error_text(answers[1])
    assert answers[2]["line"] == 3 and "did you mean sin?" in error_text(answers[2])
    assert answers[3]["line"] == 4 and "number" in error_text(answers[3])
    assert answers[4]["jacobian"] == {"a": [[0.25, -0.25], [-0.25, 0.25]]}
    assert answers[5]["hessian"] == [[802.0, -400.0], [-400.0, 200.0]]
    assert answers[6]["derivative"] == "6*x" and answers[6]["derivative_value"] == 12.0
    assert answers[7]["line"] == 8 and "colour" in error_text(answers[7])
    assert answers[8]["check"]["agree"] is True


def test_vectorized_runs_give_the_answers_of_one_by_one():
    from derivcli.scale.streams import batch, batch_groups
    from derivcli.wire import dumps  # the wire form: NaN is 'NaN' there, and NaN != NaN here

    lines = [json.dumps({"expression": "x**2 + 3*sin(x)*y", "point": {"x": k / 7, "y": 2}}) for k in range(50)]
    lines[20] = json.dumps({"expression": "log(x)", "point": {"x": -1}})  # breaks the run, warns
    lines[30] = "{bad"
    one_by_one = list(batch(lines))
    assert [dumps(answer) for answer in batch_groups([lines])] == [dumps(answer) for answer in one_by_one]
    assert one_by_one[20]["warnings"] and one_by_one[30]["line"] == 31


def test_batch_answers_a_line_while_stdin_stays_open():
    process = derivcli_process("batch")
    try:
        process.stdin.write(json.dumps({"expression": "x**2", "point": {"x": 3}}) + "\n")
        process.stdin.flush()
        assert json.loads(read_line(process))["gradient"] == {"x": 6.0}
    finally:
        process.stdin.close()
        process.wait(timeout=60)


def test_batch_of_good_lines_exits_0_and_empty_input_prints_nothing():
    assert CliRunner().invoke(app, ["batch"], input=requests({"expression": "x", "point": {"x": 1}})).exit_code == 0
    empty = CliRunner().invoke(app, ["batch"], input="")
    assert empty.exit_code == 0 and empty.stdout == ""
    blank = CliRunner().invoke(app, ["batch"], input="\n\n")
    assert blank.exit_code == 0 and blank.stdout == ""


def test_large_batch_streams_in_constant_memory():
    """100,000 requests through a real process: answers keep flowing and memory stays flat."""
    import threading

    lines = 100_000
    process = derivcli_process("batch")
    request = json.dumps({"expression": "x**2 + 3*sin(x)", "point": {"x": 0.5}}) + "\n"

    def feed() -> None:
        for _ in range(lines):
            process.stdin.write(request)
        process.stdin.close()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    expected = 2 * 0.5 + 3 * math.cos(0.5)
    answered = 0
    resident_kb: list[int] = []
    try:
        for line in process.stdout:
            answered += 1
            if answered % 10_000 == 0:
                assert json.loads(line)["gradient"]["x"] == pytest.approx(expected)
                with open(f"/proc/{process.pid}/status") as status:
                    resident_kb.append(next(int(row.split()[1]) for row in status if row.startswith("VmRSS")))
    finally:
        process.wait(timeout=600)
        feeder.join(timeout=60)
    assert answered == lines and process.returncode == 0
    # resident size after 20k requests and at the end: no growth with the number of lines
    assert max(resident_kb[-3:]) < resident_kb[1] + 50_000, resident_kb


def mixed_requests(count: int) -> list[str]:
    """Distinct and repeated expressions, other commands, and bad lines, in one input."""
    lines = []
    for k in range(count):
        kind = k % 7
        if kind == 0:
            lines.append("{bad json")
        elif kind == 1:
            lines.append(json.dumps({"expression": f"sn(x) + {k}", "point": {"x": 1}}))
        elif kind == 2:
            lines.append(json.dumps({"expression": "x**2 + 3*sin(x)*y", "point": {"x": k / 10, "y": 2}}))
        elif kind == 3:
            lines.append("")
        elif kind == 4:
            lines.append(json.dumps({"expression": f"(1-x)**2 + {k}*(y-x**2)**2", "point": {"x": 1, "y": 2},
                                     "command": "hessian"}))
        else:
            lines.append(json.dumps({"expression": f"exp(-x/{k})*cos(y)", "point": {"x": 0.5, "y": k}}))
    return lines


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")
def test_workers_give_the_answers_of_one_process_in_order():
    from derivcli.scale.streams import batch_groups
    from derivcli.scale.workers import PARALLEL_MIN_LINES

    lines = mixed_requests(300)
    groups = [lines[:5], lines[5:5 + PARALLEL_MIN_LINES], lines[5 + PARALLEL_MIN_LINES:]]  # small, then big
    alone = list(batch_groups(groups, jobs=1))
    shared = list(batch_groups(groups, jobs=3))
    assert shared == alone
    assert len(alone) == sum(1 for line in lines if line.strip())
    assert [a["line"] for a in alone if "error" in a] == [k + 1 for k in range(300) if k % 7 in (0, 1)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")
def test_a_worker_that_dies_costs_only_its_line(monkeypatch):
    from derivcli.scale import streams

    real_answer = streams.answer

    def answer(request):
        if request.get("expression") == "kill(x)":
            os._exit(9)  # as if the kernel killed the worker for memory
        return real_answer(request)

    monkeypatch.setattr(streams, "answer", answer)  # the forked workers inherit it
    lines = [json.dumps({"expression": f"x*{k + 1}", "point": {"x": 1}}) for k in range(100)]
    lines[40] = json.dumps({"expression": "kill(x)", "point": {"x": 1}})
    answers = list(streams.batch_groups([lines], jobs=2))
    assert len(answers) == 100
    assert answers[40] == {"line": 41, "error": {"message": "internal error: the worker answering this line stopped "
                                                           "(out of memory?)", "column": None, "hint": None,
                                                "exit_code": 3}}  # derivcli's fault, not the line's
    assert [a["gradient"]["x"] for k, a in enumerate(answers) if k != 40] == [k + 1.0 for k in range(100) if k != 40]


def test_batch_jobs_through_a_real_process(tmp_path):
    """`--jobs 2` and `--jobs 1` write the same lines, the same exit code, and nothing on stderr."""
    source = tmp_path / "requests.ndjson"
    lines = mixed_requests(400)
    source.write_text("\n".join(lines) + "\n")
    runs = {}
    for jobs in ("1", "2"):
        with source.open() as stdin:
            runs[jobs] = subprocess.run([sys.executable, "-m", "derivcli", "batch", "--jobs", jobs], stdin=stdin,
                                        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert runs["1"].returncode == runs["2"].returncode == 2
    assert runs["2"].stdout == runs["1"].stdout and runs["2"].stdout.count("\n") == sum(1 for line in lines if line)
    assert runs["2"].stderr == runs["1"].stderr == ""


def test_answers_from_workers_arrive_while_stdin_stays_open():
    """A burst big enough for the workers, then silence: its answers must not wait for the next line."""
    process = derivcli_process("batch", "--jobs", "2")
    burst = 200
    try:
        process.stdin.write("".join(json.dumps({"expression": f"x**2 + {k}*x", "point": {"x": 1}}) + "\n"
                                    for k in range(burst)))
        process.stdin.flush()
        answers = [json.loads(read_line(process)) for _ in range(burst)]
        assert [a["gradient"]["x"] for a in answers] == [2.0 + k for k in range(burst)]
    finally:
        process.stdin.close()
        process.wait(timeout=60)
    assert process.returncode == 0


# --------------------------------------------------------------------------- --points and the API
def test_points_csv_and_npy_round_trip(tmp_path):
    np = pytest.importorskip("numpy")
    (tmp_path / "p.csv").write_text("x,y\n1,2\n2,3\n0.5,1\n")
    result = CliRunner().invoke(app, ["grad", "x**2*y", "--points", str(tmp_path / "p.csv")])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["x,y,f,d/dx,d/dy", "1.0,2.0,2.0,4.0,1.0", "2.0,3.0,12.0,12.0,4.0",
                                          "0.5,1.0,0.25,1.0,0.25"]
    out = tmp_path / "out.npy"
    assert CliRunner().invoke(app, ["grad", "x**2*y", "--points", str(tmp_path / "p.csv"), "--wrt", "x",
                                    "--output", str(out)]).exit_code == 0
    assert np.load(out).tolist() == [[1.0, 2.0, 2.0, 4.0], [2.0, 3.0, 12.0, 12.0], [0.5, 1.0, 0.25, 1.0]]
    np.save(tmp_path / "xs.npy", np.array([1.0, 2.0]))
    result = CliRunner().invoke(app, ["grad", "x**2*y", "--points", str(tmp_path / "xs.npy"), "--y", "10"])
    assert result.stdout.splitlines()[1:] == ["1.0,10.0,20.0,1.0", "2.0,40.0,40.0,4.0"]
    np.savez(tmp_path / "p.npz", x=np.array([1.0]), y=np.array([5.0]))
    result = CliRunner().invoke(app, ["grad", "x*y", "--points", str(tmp_path / "p.npz")])
    assert result.stdout.splitlines()[1] == "1.0,5.0,5.0,5.0,1.0"


def test_points_errors(tmp_path):
    (tmp_path / "bad.csv").write_text("x\n1\nzz\n")
    result = CliRunner().invoke(app, ["grad", "x", "--points", str(tmp_path / "bad.csv")])
    assert result.exit_code == 2 and "line 3" in result.stderr
    (tmp_path / "p.csv").write_text("x\n1\n")
    result = CliRunner().invoke(app, ["grad", "x", "--points", str(tmp_path / "p.csv"), "--x", "2"])
    assert result.exit_code == 2 and "both" in result.stderr


def test_compiled_vectorized_results_equal_per_point_results():
    np = pytest.importorskip("numpy")
    f = derivcli.compile(MISSION)
    xs = np.linspace(0.6, 1.8, 25)
    values, grads = f(x=xs), f.grad(x=xs)["x"]
    assert isinstance(values, np.ndarray) and isinstance(grads, np.ndarray)
    for x, value, derivative in zip(xs, values, grads):
        single = derivcli.grad(MISSION, x=float(x))
        assert value == single.value and derivative == single.gradient["x"]


def test_compiled_accepts_tensors_and_chunks_long_arrays():
    from derivcli.scale import vectorized

    f = derivcli.compile("x*y + sin(x)", wrt=["x"])
    xs = torch.linspace(0, 1, vectorized.CHUNK * 2 + 7, dtype=torch.float64)
    grads = f.grad(x=xs, y=2.0)["x"]
    assert isinstance(grads, torch.Tensor) and grads.shape == xs.shape
    assert torch.allclose(grads, 2 + torch.cos(xs), rtol=1e-15)


def test_compile_errors():
    with pytest.raises(derivcli.DerivcliError, match="tensor functions"):
        derivcli.compile("sum(x)")
    with pytest.raises(derivcli.DerivcliError, match="different lengths"):
        derivcli.compile("x*y")(x=[1.0, 2.0], y=[1.0, 2.0, 3.0])


@pytest.mark.skipif(os.environ.get("DERIVCLI_SLOW") is None, reason="torch.compile takes seconds; DERIVCLI_SLOW=1")
def test_torch_compile_path_gives_the_same_gradients():
    xs = torch.linspace(0.6, 1.8, 1000, dtype=torch.float64)
    eager = derivcli.compile(MISSION).grad(x=xs)["x"]
    start = time.perf_counter()
    compiled = derivcli.compile(MISSION, torch_compile=True).grad(x=xs)["x"]
    assert time.perf_counter() - start < 120
    assert torch.allclose(compiled, eager, rtol=1e-12)


def test_batch_lines_with_huge_integers_or_wrong_types_keep_their_neighbours():
    """An integer of 5,000 digits made json.loads raise ValueError and lost the whole group; one too
    large for a float was an internal error; "dtype": [1] was unhashable."""
    good = {"expression": "x**2", "point": {"x": 3}}
    text = requests(good, '{"expression": "x", "point": {"x": 1' + "0" * 5000 + "}}", good,
                    {"expression": "x", "point": {"x": 10**400}}, good,
                    {"expression": "x", "point": {"x": 1}, "dtype": [1]},
                    {"expression": "x", "point": {"x": 1}, "dtype": {}}, good)
    result = CliRunner().invoke(app, ["batch", "--jobs", "1"], input=text)
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == 8
    assert [answer.get("value") for answer in answers[0::2]] == [9.0, 9.0, 9.0, None]
    assert "too long to read" in error_text(answers[1])
    assert "overflows float64" in error_text(answers[3])
    assert "unknown dtype" in error_text(answers[5]) and "unknown dtype" in error_text(answers[6])
    assert answers[7]["value"] == 9.0
    assert all("internal error" not in error_text(answer) for answer in answers)


def test_batch_reads_notation_with_the_request_point_alike_in_runs_and_alone():
    """A run of same-shaped requests is answered together; the text must read as it does alone."""
    run = [{"expression": "e*x + xy", "point": {"e": 3, "x": float(i), "y": 2}} for i in range(3)]
    output = CliRunner().invoke(app, ["batch"], input=requests(*run)).stdout
    together = [json.loads(line) for line in output.splitlines()]
    alone = [json.loads(CliRunner().invoke(app, ["batch"], input=requests(item)).stdout) for item in run]
    assert together == alone
    assert [answer["value"] for answer in together] == [0.0, 5.0, 10.0]
    assert together[1]["gradient"] == {"e": 1.0, "x": 5.0, "y": 1.0}
