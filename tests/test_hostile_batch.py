"""Hostile surroundings for batch, streams, bindings, files and the graph (issue 22).

One memory budget for the whole request (bindings and files held together, Parquet refused from its
footer), no process left behind by a signal, a killed worker's lines answered again, a reader that goes
away ending the batch at once, and SymPy's budgeted child working inside a daemonic process (a Dask
worker).  Real processes where the promise is about processes (signals, peak memory, pipes); the rest
in-process.
"""

from __future__ import annotations

import io
import json
import math
import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from types import SimpleNamespace

import pytest

from derivcli.cli import main
from derivcli.errors import DerivcliError
from derivcli.inputs import points
from derivcli.limits import memory

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")

ADDRESS_SPACE = 4 * 2**30  # RLIMIT_AS: torch alone maps 1-2 GiB of address space
MAX_RSS_KB = 1_500_000  # a refused input's peak resident memory (ru_maxrss is in KiB)
BATCH = [sys.executable, "-m", "derivcli", "batch"]


def run_main(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def one_error_line(err: str, *fragments: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def run_limited(argv: list[str], timeout: float = 60) -> tuple[int, str, int]:
    """argv in a real process under RLIMIT_AS: (exit code, stderr, its own peak RSS in KiB, from wait4)."""
    import tempfile

    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                   preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS,
                                                                         (ADDRESS_SPACE, ADDRESS_SPACE)))
        deadline = time.monotonic() + timeout
        while (reaped := os.wait4(process.pid, os.WNOHANG))[0] != process.pid:
            if time.monotonic() > deadline:
                process.kill()
                reaped = os.wait4(process.pid, 0)
                break
            time.sleep(0.02)
        process.returncode = os.waitstatus_to_exitcode(reaped[1])
        err.seek(0)
        return process.returncode, err.read().decode(), reaped[2].ru_maxrss


def state(pid: int) -> str | None:
    """A process's state letter, None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while state(pid) not in (None, "Z") and time.monotonic() < deadline:
        time.sleep(0.02)
    return state(pid) in (None, "Z")


# ----------------------------------------------------------------------- one budget for the request
def test_bindings_that_each_fit_are_refused_together_before_they_are_allocated():
    bindings = [item for k in range(25) for item in (f"--a{k}", "zeros(4000000)")]
    expression = "+".join(f"sum(a{k})" for k in range(25))
    code, err, peak = run_limited([sys.executable, "-m", "derivcli", "grad", expression, *bindings])
    assert code == 2
    one_error_line(err, "--a2 (4,000,000 elements", "beside the", "the limit is 1 GB (--max-memory)")
    assert peak < MAX_RSS_KB


def test_var_bindings_share_the_budget_as_the_repl_lets_do():
    """The REPL's `let` becomes --var NAME=VALUE: the same path, the same one budget."""
    code, out, err = run_main("--max-memory", "8MB", "grad", "sum(a) + sum(b)", "--var", "a=zeros(40000)",
                              "--var", "b=zeros(40000)")
    assert code == 2 and out == ""
    one_error_line(err, "--b (40,000 elements", "beside the 4.88 MB", "the limit is 8 MB")
    code, out, _ = run_main("--max-memory", "8MB", "grad", "sum(a) + sum(b)", "--var", "a=zeros(30000)",
                            "--var", "b=zeros(30000)", "--json")
    assert code == 0 and json.loads(out)["gradient"]["b"] == [1.0] * 30000


def test_each_streamed_line_and_batch_request_gets_the_budget_afresh():
    """Nested requests: a streamed line's value is held beside the command's bindings, then let go."""
    row = json.dumps([1.0] * 60_000)  # 60,000 elements: 7.3 MB held each, 16 MB in all
    stream_input = "\n".join([row] * 3) + "\n"
    out, err = io.StringIO(), io.StringIO()
    sys_stdin = sys.stdin
    try:
        sys.stdin = io.StringIO(stream_input)
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["--max-memory", "16MB", "grad", "sum(x*y)", "--x", "-", "--y", "2", "--json"])
    finally:
        sys.stdin = sys_stdin
    assert code == 0, err.getvalue()
    assert [json.loads(line)["value"] for line in out.getvalue().splitlines()] == [120_000.0] * 3

    from derivcli.scale.streams import batch

    memory.set_limit(16 * 2**20)
    try:
        with memory.request():  # as `derivcli batch` runs, inside its command's request
            answers = list(batch([json.dumps({"expression": "sum(x)", "point": {"x": [1.0] * 60_000}})] * 3))
    finally:
        memory.set_limit(None)
    assert [answer["value"] for answer in answers] == [60_000.0] * 3


def test_eye_counts_its_square():
    code, _, err = run_main("grad", "sum(a)", "--a", "eye(3000)")
    assert code == 2
    one_error_line(err, "--a: 9,000,000 elements")


# ------------------------------------------------------------------------------------------- Parquet
@pytest.fixture
def parquet():
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    return pa, pq


def test_parquet_columns_that_are_not_numbers_are_refused_from_the_footer(tmp_path, parquet):
    pa, pq = parquet
    import numpy as np

    # 2,000 rows of one 1 MB string: a 500-byte file that pyarrow would inflate to 2 GB
    strings = pa.DictionaryArray.from_arrays(pa.array(np.zeros(2000, dtype=np.int32)), pa.array(["a" * 2**20]))
    pq.write_table(pa.table({"x": strings}), tmp_path / "strings.parquet", compression="zstd")
    assert (tmp_path / "strings.parquet").stat().st_size < 10_000
    lists = pa.ListArray.from_arrays(pa.array([0, 3]), pa.array([1.0, 2.0, 3.0]))
    pq.write_table(pa.table({"y": np.arange(1.0, 2.0), "x": lists}), tmp_path / "lists.parquet")
    with pytest.raises(DerivcliError, match=r"the column 'x' of .*strings.parquet holds dictionary<values=string"):
        points.read_points(str(tmp_path / "strings.parquet"))
    with pytest.raises(DerivcliError, match=r"the column 'x' of .*lists.parquet holds list<element: double>"):
        points.read_points(str(tmp_path / "lists.parquet"))
    # and through a real process under an address-space limit: one line, small peak (it aborted at 2.3 GB)
    code, err, peak = run_limited([sys.executable, "-m", "derivcli", "grad", "x", "--points",
                                   str(tmp_path / "strings.parquet")])
    assert code == 2 and peak < MAX_RSS_KB
    one_error_line(err, "holds dictionary<values=string")


def test_parquet_numbers_are_held_against_the_budget_and_read_exactly(tmp_path, parquet):
    pa, pq = parquet
    import numpy as np

    xs, ys = np.linspace(-1, 1, 50_000), np.arange(50_000, dtype=np.int32)
    pq.write_table(pa.table({"x": xs, "y": ys}), tmp_path / "points.parquet")
    columns = points.read_points(str(tmp_path / "points.parquet"))
    assert np.array_equal(columns["x"].numpy(), xs) and np.array_equal(columns["y"].numpy(), ys.astype(float))
    code, _, err = run_main("--max-memory", "1MB", "grad", "x*y", "--points", str(tmp_path / "points.parquet"))
    assert code == 2
    one_error_line(err, "--points (", "50,000 rows of 2 columns", "the limit is 1 MB")


def test_a_footer_that_declares_more_than_its_rows_hold_is_refused(parquet):
    pa, _ = parquet
    chunk = SimpleNamespace(num_values=10, total_uncompressed_size=2**31)  # 2 GB for 10 rows of numbers
    group = SimpleNamespace(num_rows=10, num_columns=1, column=lambda index: chunk)
    table_file = SimpleNamespace(schema_arrow=pa.schema([("x", pa.float64())]),
                                 metadata=SimpleNamespace(num_row_groups=1, row_group=lambda index: group,
                                                          num_rows=10, num_columns=1))
    with pytest.raises(DerivcliError, match="declares 10 values in 2,147,483,648 bytes for 10 rows"):
        points._hold_parquet("p.parquet", table_file)
    chunk.total_uncompressed_size, chunk.num_values = 80, 11  # more values than rows
    with pytest.raises(DerivcliError, match="declares 11 values"):
        points._hold_parquet("p.parquet", table_file)


# --------------------------------------------------------------------------------- SymPy's children
def _simplify_in_a_daemon(queue):
    import sympy as sp

    from derivcli.symbolic.budgeted import with_budget

    x = sp.Symbol("x")
    queue.put(with_budget(sp.simplify, (sp.cos(x) ** 2 - sp.sin(x) ** 2,), 10))


def test_the_budgeted_child_runs_inside_a_daemonic_process():
    """Dask's workers (and a nanny's) are daemonic: multiprocessing refused them children, and every diff
    in `batch --scheduler` was an internal error."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    daemon = context.Process(target=_simplify_in_a_daemon, args=(queue,), daemon=True)
    daemon.start()
    done, simplified = queue.get(timeout=30)
    daemon.join(10)
    assert done and str(simplified) == "cos(2*x)"


def test_the_budgeted_child_dies_with_its_parent():
    reading, writing = os.pipe()
    parent = os.fork()
    if parent == 0:  # the parent of a budgeted child, killed below while the child works
        try:
            from derivcli.symbolic.budgeted import Budgeted

            budgeted = Budgeted(time.sleep, (60,), 60)
            os.write(writing, str(budgeted.child).encode())
            time.sleep(60)
        finally:
            os._exit(0)
    os.close(writing)
    child = int(os.read(reading, 32))
    os.close(reading)
    assert state(child) not in (None, "Z")
    os.kill(parent, signal.SIGKILL)
    os.waitpid(parent, 0)
    assert gone_within(child, 5), "SymPy's child outlived its parent"


# -------------------------------------------------------------------- signals, killed workers, readers
def slow_diff(k: int) -> str:
    """A diff whose simplification runs its whole budget (3 s) in a budgeted child."""
    return json.dumps({"expression": f"exp(sin(x)**{k % 5 + 2})*log(x + {k})/(1 + x**2)", "point": {"x": 1},
                       "command": "diff", "order": 3})


HARNESS = r"""
import ctypes, json, os, signal, subprocess, sys, time
from pathlib import Path
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans come to this process

def descendants(root):
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                table.setdefault(int(fields[1]), []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        for child in table.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found

lines = "".join(line + "\n" for line in json.loads(sys.argv[1]))
batches = {}
for sent in (signal.SIGINT, signal.SIGTERM):
    batch = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    batch.stdin.write(lines.encode())
    batch.stdin.flush()
    batches[sent] = batch
deadline = time.monotonic() + 60
while time.monotonic() < deadline and not all(len(descendants(b.pid)) > 2 for b in batches.values()):
    time.sleep(0.05)  # workers, and SymPy's children under them
seen = {sent: len(descendants(b.pid)) for sent, b in batches.items()}
for sent, batch in batches.items():
    batch.send_signal(sent)
codes = {sent: batch.wait(30) for sent, batch in batches.items()}
time.sleep(0.5)
left = descendants(os.getpid())
for pid in left:
    os.kill(pid, signal.SIGKILL)
print(json.dumps({"seen": list(seen.values()), "codes": list(codes.values()), "left": len(left)}))
"""


def test_a_signal_leaves_no_process_behind_not_even_sympys_children():
    """SIGINT and SIGTERM to `batch --jobs 2` while its workers' budgeted SymPy children run: nothing is
    left (the children were orphans that ran on; a subreaper harness counts every descendant)."""
    lines = [slow_diff(k) for k in range(80)]  # one group past PARALLEL_MIN_LINES: shared by two workers
    done = subprocess.run([sys.executable, "-c", HARNESS, json.dumps(lines), *BATCH, "--jobs", "2"],
                          capture_output=True, text=True, timeout=120)
    report = json.loads(done.stdout)
    assert all(seen > 2 for seen in report["seen"]), report  # the grandchildren were there
    assert report["codes"] == [130, 143] and report["left"] == 0, report


def worker_pids(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def test_a_worker_killed_mid_batch_costs_time_not_lines():
    lines = [json.dumps({"expression": f"x**2 + {k}*y", "point": {"x": 1, "y": 2}}) for k in range(200)]
    batch = subprocess.Popen([*BATCH, "--jobs", "2"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert batch.stdin is not None
    batch.stdin.write("".join(line + "\n" for line in lines))
    batch.stdin.flush()  # and left open until communicate(): the workers answer while it is
    deadline = time.monotonic() + 60
    while len(worker_pids(batch.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(worker_pids(batch.pid)[0], signal.SIGKILL)
    killed = time.monotonic()
    out, err = batch.communicate(timeout=60)
    assert time.monotonic() - killed < 10
    answers = [json.loads(line) for line in out.splitlines()]
    assert batch.returncode == 0 and err == ""
    assert [answer["value"] for answer in answers] == [1.0 + 2 * k for k in range(200)]


def test_a_worker_that_dies_once_costs_no_line(monkeypatch, tmp_path):
    """A worker killed from outside (here: it exits the first time it meets a marked line) breaks the
    pool and every piece in flight; each is answered again whole, none gets an error record."""
    from derivcli.scale import streams

    real_answer = streams.answer
    marker = tmp_path / "died"

    def answer(request):
        if request.get("expression") == "x*7" and not marker.exists():
            marker.touch()
            os._exit(9)
        return real_answer(request)

    monkeypatch.setattr(streams, "answer", answer)
    lines = [json.dumps({"expression": f"x*{k}", "point": {"x": 1}}) for k in range(150)]
    answers = list(streams.batch_groups([lines], jobs=2))
    assert marker.exists()
    assert [a["gradient"]["x"] for a in answers] == [float(k) for k in range(150)]


def test_a_reader_that_goes_away_ends_the_batch_at_once():
    """`… | derivcli batch | head -1` with input still coming: the batch ends when head does, exit 0,
    quietly, though no answer is due (the next line simplifies for 3 s; stdin stays open)."""
    batch = subprocess.Popen(BATCH, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert batch.stdin is not None and batch.stdout is not None
    batch.stdin.write((json.dumps({"expression": "x**2", "point": {"x": 3}}) + "\n" + slow_diff(1) + "\n").encode())
    batch.stdin.flush()
    assert json.loads(batch.stdout.readline())["value"] == 9.0
    batch.stdout.close()
    left = time.monotonic()
    assert batch.wait(timeout=30) == 0
    assert time.monotonic() - left < 2.5
    assert batch.stderr is not None and batch.stderr.read() == b""
    batch.stdin.close()


# ------------------------------------------------------------------------------ options that clash
def test_a_value_from_stdin_with_points_is_one_error_line(tmp_path):
    (tmp_path / "p.csv").write_text("x\n1\n2\n")
    code, out, err = run_main("grad", "x*y", "--y", "-", "--points", str(tmp_path / "p.csv"))
    assert code == 2 and out == ""
    one_error_line(err, "--y -: values from stdin are read one point at a time")


# --------------------------------------------------------------------------------- graph and plot
def test_graph_refuses_what_it_cannot_show_before_the_work():
    started = time.monotonic()
    code, out, err = run_main("graph", "sum(W@W@W@W)", "--W", "rand(2000,2000)")
    assert code == 2 and out == ""
    one_error_line(err, "at most 1,000,000 numbers", "8,000,000 in the variables")
    code, out, err = run_main("graph", "sum(W@W@W@W)", "--W", "rand(400,400)")  # stops at the third product
    assert code == 2
    one_error_line(err, "1,280,000 in the variables and the nodes computed so far")
    assert time.monotonic() - started < 10
    code, out, _ = run_main("graph", "sum(W@W)", "--W", "[[1, 2], [3, 4]]", "--json")
    root = json.loads(out)["root"]
    assert code == 0 and root["name"] == "SumBackward0" and root["value"] == 54.0  # 7+10+15+22


def test_plot_over_the_whole_float64_line_is_answered_promptly():
    run_main("plot", "sin(x)", "--x", "1")  # imports and the first plot's set-up, outside the timing
    started = time.monotonic()
    code, out, err = run_main("plot", "sin(x)", "--x", "1", "--from", "-1e308", "--to", "1e308", "--json")
    assert time.monotonic() - started < 2
    data = json.loads(out)
    assert code == 0 and data["interval"] == [-1e308, 1e308] and len(data["x"]) == 400


def test_the_formula_of_diff_honours_its_budget(monkeypatch):
    """Order 200 of exp(x**2) took SymPy 84 s: the formula is built within its stated budget, a point
    still gets torch's value with the reason in a note, and without a point the reason is the error."""
    from derivcli import api
    from derivcli.symbolic import budgeted

    monkeypatch.setattr(budgeted, "FORMULA_SECONDS", 1.0)
    with pytest.raises(DerivcliError, match=r"did not finish within its budget \(1 s\)"):
        api.diff("exp(x**2)", "x", 200)
    result = api.diff("exp(x**2)", "x", 200, formula=True, x=0)
    assert result.derivative is None and "did not finish within its budget (1 s)" in " ".join(result.notes)
    assert result.derivative_value == pytest.approx(math.factorial(200) / math.factorial(100))  # H_200(0) terms


def test_small_formulas_are_built_in_process_and_large_ones_in_the_child(monkeypatch):
    """The same formula either way; the child only where the work may be long."""
    import sympy as sp

    from derivcli.symbolic import budgeted

    x = sp.Symbol("x")
    expr = sp.sin(x) * sp.exp(x**2)
    assert budgeted.nth_derivative(expr, [x, x]) == (sp.diff(sp.diff(expr, x), x), None)
    monkeypatch.setattr(budgeted, "_IN_PROCESS_SIZE", 0)  # every derivative goes to the child
    assert budgeted.nth_derivative(expr, [x, x]) == (sp.diff(sp.diff(expr, x), x), None)


def test_a_chain_of_products_is_held_together_against_the_budget():
    """W@W@…@W: each product fits alone, autograd keeps all of them for the backward pass."""
    chain = "@".join(["W"] * 30)  # 29 products of 0.72 MB kept, beside W held at about 11 MB
    code, out, err = run_main("--max-memory", "24MB", "grad", f"sum({chain})", "--W", "ones(300, 300)")
    assert code == 2 and out == ""
    one_error_line(err, "beside the", "intermediate values", "the limit is 24 MB")
    code, out, err = run_main("--max-memory", "24MB", "grad", "sum(W@W@W)", "--W", "ones(300, 300)", "--json")
    assert code == 0, err
    assert json.loads(out)["value"] == 300.0**4  # every entry of W@W@W is 300**2


def test_repeated_evaluations_do_not_add_up():
    """The intermediates of one evaluation are let go when it ends: the FD table evaluates many times."""
    code, out, err = run_main("--max-memory", "8MB", "grad", "sum(exp(W)*W)", "--W", "ones(200, 200)", "--fd",
                              "--json")
    assert code == 0, err
