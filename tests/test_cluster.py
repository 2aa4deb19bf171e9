"""derivcli on a real Dask cluster: a LocalCluster of two worker processes on 127.0.0.1, started once."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("distributed")
pytest.importorskip("dask.array")
np = pytest.importorskip("numpy")

import dask.array as da  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

import derivcli  # noqa: E402
from derivcli.cli import app  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def local_cluster() -> LocalCluster:
    """Two worker processes on 127.0.0.1; the dashboard on any free port (two test processes may each
    start one)."""
    return LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0")


@pytest.fixture(scope="module")
def client():
    with local_cluster() as cluster, Client(cluster) as client:
        yield client


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(app, list(args), input=stdin)


def assert_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: ") and "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in first, first


# --------------------------------------------------------------------------------------------- API
def test_dask_arrays_give_lazy_results_equal_to_in_process_ones(client):
    f = derivcli.compile("x**2*y + sin(x)")
    xs, ys = np.linspace(-2, 2, 1001), np.linspace(1, 3, 1001)
    dx, dy = da.from_array(xs, chunks=250), da.from_array(ys, chunks=250)
    values, grads = f(x=dx, y=dy), f.grad(x=dx, y=dy)
    assert isinstance(values, da.Array) and values.chunks == dx.chunks
    assert all(grads[name].chunks == dx.chunks for name in ("x", "y"))
    assert np.array_equal(values.compute(), f(x=xs, y=ys))
    expected = f.grad(x=xs, y=ys)
    assert all(np.array_equal(grads[name].compute(), expected[name]) for name in ("x", "y"))
    held = derivcli.compile("x**2*y", wrt=["x"]).grad(x=dx, y=2.0)  # a scalar held at every point
    assert list(held) == ["x"] and np.array_equal(held["x"].compute(), 4 * xs)
    # parsed and lowered once per worker process, however many blocks it evaluated
    module = __import__("importlib").import_module
    infos = client.run(lambda: module("derivcli.scale.dask_arrays")._on_worker.cache_info().misses)
    assert set(infos.values()) <= {1, 2}  # this expression, and the wrt=["x"] one


def test_mixed_shapes_are_refused_before_any_work(client):
    f = derivcli.compile("x*y")
    with pytest.raises(derivcli.DerivcliError, match="different shapes"):
        f(x=da.ones(4, chunks=2), y=np.ones(3))


# ------------------------------------------------------------------------------------------ --points
def _grid(folder: Path, kind: str) -> list[np.ndarray]:
    parts = [np.linspace(i, i + 1, 7) for i in range(3)]
    folder.mkdir()
    for i, xs in enumerate(parts):
        if kind == "npy":
            np.save(folder / f"part-{i}.npy", xs)
        elif kind == "parquet":
            pyarrow = pytest.importorskip("pyarrow")
            import pyarrow.parquet as parquet

            parquet.write_table(pyarrow.table({"x": xs, "y": np.full(7, 2.0)}), folder / f"part-{i}.parquet")
        else:
            (folder / f"part-{i}.csv").write_text("x,y\n" + "".join(f"{float(x)!r},2.0\n" for x in xs))
    return parts


def test_points_partitions_to_stdout_in_order(client, tmp_path):
    parts = _grid(tmp_path / "grid", "npy")
    result = run("grad", "x**3", "--points", str(tmp_path / "grid" / "part-*.npy"), "--scheduler",
                 client.scheduler.address)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "x,f,d/dx" and len(lines) == 1 + 21
    xs = np.concatenate(parts)
    table = np.array([[float(cell) for cell in line.split(",")] for line in lines[1:]])
    assert np.array_equal(table[:, 0], xs) and np.allclose(table[:, 2], 3 * xs**2, rtol=0, atol=1e-12)
    records = run("grad", "x**3", "--points", str(tmp_path / "grid" / "part-*.npy"), "--scheduler",
                  client.scheduler.address, "--json")
    assert [json.loads(line)["point"]["x"] for line in records.stdout.splitlines()] == xs.tolist()


@pytest.mark.parametrize("kind", ["csv", "npy", "parquet"])
def test_points_output_folder_has_one_file_per_partition(client, tmp_path, kind):
    parts = _grid(tmp_path / "grid", kind)
    out = tmp_path / "out"
    result = run("grad", "x**2*y", "--points", str(tmp_path / "grid" / f"part-*.{kind}"),
                 *(["--y", "2"] if kind == "npy" else []), "--scheduler", client.scheduler.address,
                 "--output", f"{out}/")
    assert result.exit_code == 0, result.stderr
    written = "csv" if kind == "csv" else "npy"  # a CSV partition gives CSV, the others .npy
    assert sorted(path.name for path in out.iterdir()) == [f"part-{i}.{written}" for i in range(3)]
    for i, xs in enumerate(parts):
        if kind == "npy":
            table = np.load(out / f"part-{i}.npy")
            assert np.array_equal(table[:, 0], xs) and np.array_equal(table[:, 2], 4 * xs)
        elif kind == "parquet":  # x, y, f, d/dx, d/dy
            table = np.load(out / f"part-{i}.npy")
            assert np.array_equal(table[:, 0], xs) and np.array_equal(table[:, 3], 4 * xs)
        else:
            lines = (out / f"part-{i}.csv").read_text().splitlines()
            assert lines[0] == "x,y,f,d/dx,d/dy" and len(lines) == 8
            assert [float(line.split(",")[3]) for line in lines[1:]] == (4 * xs).tolist()
    summary = result.stderr.splitlines()[-1].split("\t")
    assert summary[:2] == ["points", "21"] and summary[4] == "points/s"


def test_points_errors_name_the_files(client, tmp_path):
    address = client.scheduler.address
    grid = tmp_path / "grid"
    _grid(grid, "csv")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "odd.csv").write_text("x,z\n1,2\n")
    assert_error(run("grad", "x*y", "--points", str(tmp_path / "nothing-*.csv"), "--scheduler", address),
                 "no files match")
    assert_error(run("grad", "x*y", "--points", str(tmp_path / "missing.csv"), "--scheduler", address),
                 "no such file", "missing.csv")
    assert_error(run("grad", "x*y", "--points", str(tmp_path / "*" / "*.csv"), "--scheduler", address),
                 "odd.csv", "part-0.csv")  # grid/part-*.csv, then other/odd.csv
    (grid / "part-3.csv").write_text("x,y\n1,not a number\n")
    assert_error(run("grad", "x*y", "--points", str(grid / "part-*.csv"), "--scheduler", address),
                 "part-3.csv", "not a number")
    assert_error(run("grad", "x*y", "--points", str(grid / "part-*.csv"), "--scheduler", address, "--check"),
                 "--check")


# --------------------------------------------------------------------------------------------- batch
REQUESTS = [json.dumps({"expression": "x**2", "point": {"x": i}}) for i in range(40)]


def test_batch_answers_in_order_with_error_records_in_place(client, tmp_path, monkeypatch):
    monkeypatch.setattr("derivcli.scale.cluster.BLOCK_LINES", 7)
    lines = list(REQUESTS)
    lines[5], lines[23] = "not json", json.dumps({"expression": "sin(", "point": {"x": 1}})
    (tmp_path / "a.ndjson").write_text("\n".join(lines[:20]) + "\n")
    (tmp_path / "b.ndjson").write_text("\n".join(lines[20:]) + "\n")
    for args, stdin in ((["--input", str(tmp_path / "*.ndjson")], None), ([], "\n".join(lines) + "\n")):
        result = run("batch", "--scheduler", client.scheduler.address, *args, stdin=stdin)
        assert result.exit_code == 2, result.stderr
        answers = [json.loads(line) for line in result.stdout.splitlines()]
        assert len(answers) == 40
        assert answers[5]["line"] == 6 and answers[23]["line"] == 24 and "ends too early" in \
            answers[23]["error"]["message"]
        assert [a["value"] for i, a in enumerate(answers) if i not in (5, 23)] == \
            [float(i * i) for i in range(40) if i not in (5, 23)]


def test_options_that_do_not_go_with_a_cluster(client, tmp_path):
    address = client.scheduler.address
    assert_error(run("batch", "--input", str(tmp_path / "*.ndjson")), "--input goes with --scheduler")
    assert_error(run("batch", "--scheduler", address, "--jobs", "2", stdin=""), "--jobs")
    assert_error(run("grad", "x**2", "--x", "1", "--scheduler", address), "--scheduler works with --points")


def test_unreachable_scheduler_is_an_error_within_seconds(monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr("derivcli.scale.cluster.CONNECT_SECONDS", 1.0)  # (the default's 3 s: the test below)
    started = time.perf_counter()
    result = run("batch", "--scheduler", f"tcp://127.0.0.1:{port}", stdin=REQUESTS[0] + "\n")
    assert time.perf_counter() - started < 6
    assert_error(result, "no Dask scheduler answered within 1 s", f"127.0.0.1:{port}")


@contextmanager
def listener(echo: bool) -> Iterator[str]:
    """A TCP listener on 127.0.0.1 for the length of the `with`: it accepts and then says nothing, or
    (`echo`) sends back whatever it gets; every socket is closed on the way out."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop, connections = threading.Event(), []

    def answer(connection: socket.socket) -> None:
        connection.settimeout(0.1)
        while not stop.is_set():
            try:
                data = connection.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            if echo:
                connection.sendall(data)

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            connections.append(connection)
            threading.Thread(target=answer, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in [*connections, server]:
            connection.close()


def test_a_scheduler_that_accepts_and_says_nothing_is_an_error_within_its_seconds(tmp_path, monkeypatch):
    """Dask's client waited for ever for the handshake of a peer that accepts and never speaks."""
    (tmp_path / "p-1.csv").write_text("x\n1\n")
    with listener(echo=False) as address:
        started = time.perf_counter()
        assert_error(run("batch", "--scheduler", address, stdin=REQUESTS[0] + "\n"),
                     f"--scheduler {address}: no Dask scheduler answered within 3 s")
        assert time.perf_counter() - started < 20  # not a hang: a loaded machine takes seconds more
        monkeypatch.setattr("derivcli.scale.cluster.CONNECT_SECONDS", 1.0)
        started = time.perf_counter()
        assert_error(run("grad", "x**2", "--points", str(tmp_path / "p-*.csv"), "--scheduler", address),
                     "no Dask scheduler answered within 1 s")
        assert time.perf_counter() - started < 20


def test_a_peer_that_is_no_scheduler_is_an_error_not_an_internal_one():
    with listener(echo=True) as address:
        assert_error(run("batch", "--scheduler", address, stdin=REQUESTS[0] + "\n"),
                     "what answers there is not a Dask scheduler")


def test_a_scheduler_that_stops_answering_mid_run_is_an_error(monkeypatch):
    """While a task computes, the scheduler is asked every ANSWER_SECONDS whether it still answers."""
    from concurrent.futures import CancelledError
    from types import SimpleNamespace

    from derivcli.scale import cluster

    monkeypatch.setattr(cluster, "ANSWER_SECONDS", 0.05)
    asked = []

    class Silent:
        scheduler = SimpleNamespace(address="tcp://127.0.0.1:1", identity=object())

        def sync(self, call, *args, callback_timeout):
            asked.append((call, callback_timeout))
            raise TimeoutError

    class Computing:
        def __init__(self, error):
            self.error = error

        def result(self, timeout):
            time.sleep(timeout)
            raise self.error

    with pytest.raises(derivcli.DerivcliError, match="stopped answering .nothing for 0.05 s"):
        cluster._result(Silent(), Computing(TimeoutError()))
    assert asked == [(Silent.scheduler.identity, 0.05)]
    with pytest.raises(derivcli.DerivcliError, match="lost the connection to the Dask scheduler"):
        cluster._result(Silent(), Computing(CancelledError()))


def test_without_dask_scheduler_names_the_extra(tmp_path):
    code = ("import sys\nsys.modules['distributed'] = None\nfrom derivcli.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    for argv in (["grad", "x", "--points", "p.npy", "--scheduler", "local"], ["batch", "--scheduler", "local"]):
        result = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60,
                                cwd=tmp_path, stdin=subprocess.DEVNULL)
        assert result.returncode == 2
        assert result.stderr.splitlines()[0] == "error: --scheduler needs dask: pip install 'derivcli[dask]'"
        assert "Traceback" not in result.stderr


def test_every_request_kind_works_on_a_cluster_diff_included(client):
    """diff simplifies in a budgeted child, which a daemonic Dask worker could not start: every diff was
    an internal error (with exit code 2 in its record)."""
    lines = [json.dumps({"expression": "sin(x)*cos(x)", "point": {"x": 1}, "command": "diff"}),
             json.dumps({"expression": "x**2*y", "point": {"x": 3, "y": 2}, "command": "hessian"}),
             json.dumps({"expression": "v**2", "point": {"v": [1, 3]}, "command": "jacobian"}),
             json.dumps({"expression": "x**2", "point": {"x": 3}})]
    result = run("batch", "--scheduler", client.scheduler.address, stdin="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.stdout
    diff, hessian, jacobian, grad = (json.loads(line) for line in result.stdout.splitlines())
    assert diff["derivative"] == "cos(2*x)" and diff["notes"] == []  # simplified, within its budget
    assert diff["derivative_value"] == pytest.approx(np.cos(2.0), rel=1e-15)
    assert hessian["hessian"] == [[4.0, 6.0], [6.0, 0.0]]
    assert jacobian["jacobian"]["v"] == [[2.0, 0.0], [0.0, 6.0]] and grad["gradient"] == {"x": 6.0}


def test_a_block_that_keeps_killing_workers_says_so_with_exit_code_3():
    from derivcli.scale.cluster import _lost_block

    text, failed = _lost_block((10, ['{"expression": "x"}', "", '{"expression": "y"}'], None))
    records = [json.loads(line) for line in text.splitlines()]
    assert failed and [record["line"] for record in records] == [11, 13]
    assert all(record["error"]["exit_code"] == 3 and record["error"]["message"].startswith("internal error")
               for record in records)


def _install_dying_once(marker: str) -> None:
    """On each worker: the block holding x**7 makes its worker exit, the first time only (the marker
    file says it did)."""
    import os

    from derivcli.scale import streams

    answer_lines = streams.answer_lines

    def dying(first, lines):
        if any("x**7" in line for line in lines) and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)
        return answer_lines(first, lines)

    streams.answer_lines = dying


def test_a_worker_killed_mid_block_loses_no_line_and_answers_none_twice(tmp_path, monkeypatch):
    """Dask runs the dead worker's block again on a live one.  A cluster of its own, so that the worker the
    Nanny restarts cannot hold up the other tests' cluster; every wait is bounded, so that a hang fails this
    test (with what was printed) rather than ending the whole test process at the suite's timeout."""
    monkeypatch.setattr("derivcli.scale.cluster.BLOCK_LINES", 5)
    marker = tmp_path / "killed"
    lines = list(REQUESTS)
    lines[17] = json.dumps({"expression": "x**7", "point": {"x": 2}})
    cluster = local_cluster()
    try:
        with Client(cluster) as client:
            client.run(_install_dying_once, str(marker))
            results: list = []
            batch = threading.Thread(target=lambda: results.append(
                run("batch", "--scheduler", cluster.scheduler_address, stdin="\n".join(lines) + "\n")), daemon=True)
            batch.start()
            batch.join(timeout=120)
            assert results, "the batch was still waiting after 120 s"
    finally:
        with contextlib.suppress(Exception):
            cluster.close(timeout=30)
    result = results[0]
    assert result.exit_code == 0, result.stderr
    assert marker.exists()
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["value"] for a in answers] == [128.0 if i == 17 else float(i * i) for i in range(40)]


def test_the_memory_budget_holds_on_the_workers(client, tmp_path):
    """--max-memory is the client's, and a partition that needs more is refused on the worker too."""
    folder = tmp_path / "big"
    folder.mkdir()
    np.save(folder / "part-0.npy", np.linspace(0, 1, 150_000))  # 1.2 MB, its values and derivatives more
    pattern = str(folder / "part-*.npy")
    refused = run("--max-memory", "1MB", "grad", "x**2", "--points", pattern, "--scheduler", client.scheduler.address)
    assert refused.exit_code == 2 and "memory" in refused.stderr and str(folder / "part-0.npy") in refused.stderr
    allowed = run("grad", "x**2", "--points", pattern, "--scheduler", client.scheduler.address)
    assert allowed.exit_code == 0 and len(allowed.stdout.splitlines()) == 150_001
