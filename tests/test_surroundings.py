"""What surrounds the computation: files, the standard streams, the locale, the terminal.

Every case ends in an answer or in exit 2 with one `error:` line on stderr, never a traceback, an
"internal error" (exit 3) or a false "interrupted".  Where a closed descriptor, a pipe, the locale, memory
or time is involved the installed script runs in a real process (under an address-space limit).
"""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import time
import zipfile
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from derivcli.cli import main
from derivcli.inputs import files

SCRIPT = Path(sys.executable).with_name("derivcli")
if not SCRIPT.exists():  # pragma: no cover - the venv layout this project uses
    SCRIPT = Path("/work/main/.venv/bin/derivcli")
ADDRESS_SPACE = 4 * 2**30  # torch alone maps 1-2 GiB of address space


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"exit={self.code}\nstdout={self.out[:300]!r}\nstderr={self.err[:600]!r}"


def run_main(*argv: str) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return Outcome(code, out.getvalue(), err.getvalue())


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_shell(command: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120,
              warm: dict[str, str] | None = None) -> Outcome:
    """`command` in bash, with $D the installed script, under the address-space limit: cold (a fresh
    interpreter), or answered by the shared warm server when `warm` is its environment (conftest)."""
    environment = {k: v for k, v in os.environ.items() if k != "DERIVCLI_DEBUG"}
    environment.update(warm or {"DERIVCLI_NO_SERVER": "1"})
    environment.update(env or {}, D=str(SCRIPT))
    done = subprocess.run(["bash", "-c", command], cwd=cwd, env=environment, capture_output=True, timeout=timeout,
                          preexec_fn=_limit_address_space)
    return Outcome(done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace"))


def refused(outcome: Outcome, *fragments: str) -> None:
    """Exit 2, nothing on stdout, and exactly one `error:` line holding every fragment."""
    assert outcome.code == 2, outcome
    assert outcome.out == "", outcome
    lines = outcome.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), outcome
    assert "internal error" not in lines[0] and "Traceback" not in outcome.err, outcome
    for fragment in fragments:
        assert fragment in lines[0], outcome


@pytest.fixture(autouse=True)
def files_on(monkeypatch):
    monkeypatch.delenv("DERIVCLI_NO_FILES", raising=False)
    files.set_no_files(False)


# --------------------------------------------------------------------------- 1. @file bindings
def test_file_that_is_not_utf8(tmp_path):
    (tmp_path / "v.json").write_bytes(b"\xff\xfe[1, 2]")
    refused(run_main("grad", "sum(x)", "--x", f"@{tmp_path / 'v.json'}"), "not UTF-8")
    (tmp_path / "v.csv").write_bytes(b"1,2\n\xc3(\n")
    refused(run_main("grad", "sum(x)", "--x", f"@{tmp_path / 'v.csv'}"), "not UTF-8")


def test_unreadable_file_and_a_directory(tmp_path, monkeypatch):
    (tmp_path / "dir.json").mkdir()
    refused(run_main("grad", "sum(x)", "--x", f"@{tmp_path / 'dir.json'}"), "is a directory")
    secret = tmp_path / "secret.json"
    secret.write_text("[1, 2]")
    real_open = os.open

    def no_permission(path, *args, **kwargs):  # root reads everything: deny this one path by hand
        if str(path) == str(secret):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", no_permission)
    refused(run_main("grad", "sum(x)", "--x", f"@{secret}"), "permission denied", "secret.json")


def test_fifo_and_device_are_refused_without_blocking(tmp_path):
    fifo = tmp_path / "values.json"
    os.mkfifo(fifo)
    start = time.perf_counter()
    refused(run_main("grad", "sum(x)", "--x", f"@{fifo}"), "not a regular file")
    refused(run_main("grad", "x", "--points", str(fifo)), "not a regular file")
    refused(run_main("grad", "sum(x)", "--x", "@/dev/zero"), "not a regular file")
    assert time.perf_counter() - start < 10


def test_empty_npy_is_bad_input_not_an_interrupt(tmp_path):
    (tmp_path / "empty.npy").write_bytes(b"")
    refused(run_main("grad", "sum(x)", "--x", f"@{tmp_path / 'empty.npy'}"), "cannot read")
    (tmp_path / "empty.npz").write_bytes(b"")
    refused(run_main("grad", "x", "--points", str(tmp_path / "empty.npz")), "cannot read")


def test_object_arrays_are_never_unpickled(tmp_path, monkeypatch):
    np = pytest.importorskip("numpy")
    import pickle

    np.savez(tmp_path / "obj.npz", a=np.array([{"a": 1}, None], dtype=object))
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)

    def never(*args, **kwargs):
        raise AssertionError("unpickled")

    monkeypatch.setattr(pickle, "load", never)
    monkeypatch.setattr(pickle, "loads", never)
    for path in ("obj.npz", "obj.npy"):
        refused(run_main("grad", "sum(x)", "--x", f"@{tmp_path / path}"), "never unpickles")
        refused(run_main("grad", "x", "--points", str(tmp_path / path)), "never unpickles")


def _npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    from numpy.lib import format as npy

    stream = io.BytesIO()
    npy.write_array_header_1_0(stream, {"descr": descr, "fortran_order": False, "shape": shape})
    return stream.getvalue()


def test_npy_over_the_cap_is_refused_from_its_header(tmp_path):
    pytest.importorskip("numpy")
    (tmp_path / "big.npy").write_bytes(_npy_header((10**8,)) + b"\0" * 4096)  # claims 800 MB
    refused(run_main("grad", "sum(x)", "--x", f"@{tmp_path / 'big.npy'}"), "100,000,000 numbers", "4,000,000")
    (tmp_path / "short.npy").write_bytes(_npy_header((1000,)) + b"\0" * 80)
    refused(run_main("grad", "sum(x)", "--x", f"@{tmp_path / 'short.npy'}"), "truncated")
    (tmp_path / "complex.npy").write_bytes(_npy_header((2,), "<c16") + b"\0" * 32)
    refused(run_main("grad", "sum(x)", "--x", f"@{tmp_path / 'complex.npy'}"), "not numbers")


def test_npy_and_npz_bindings_still_read(tmp_path):
    np = pytest.importorskip("numpy")
    np.save(tmp_path / "v.npy", np.array([[1, 2], [3, 4]], dtype=np.int32))
    outcome = run_main("grad", "sum(x*x)", "--x", f"@{tmp_path / 'v.npy'}")
    assert outcome.code == 0 and "value\t30.0" in outcome.out, outcome
    np.savez_compressed(tmp_path / "one.npz", v=np.asfortranarray(np.arange(6.0).reshape(2, 3)))
    outcome = run_main("grad", "x[1, 0]", "--x", f"@{tmp_path / 'one.npz'}")
    assert outcome.code == 0 and "value\t3.0" in outcome.out, outcome
    np.savez(tmp_path / "two.npz", a=np.ones(2), b=np.ones(2))
    refused(run_main("grad", "sum(x)", "--x", f"@{tmp_path / 'two.npz'}"), "2 arrays")


def _zip_bomb(path: Path, claimed: tuple[int, ...], zeros: int) -> None:
    """An .npz whose member claims `claimed` float64 numbers and holds `zeros` bytes of zeros (deflated)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("x.npy", "w", force_zip64=True) as member:
            member.write(_npy_header(claimed))
            chunk = b"\0" * (1 << 20)
            for _ in range(zeros >> 20):
                member.write(chunk)


def test_npz_bomb_is_refused_without_decompressing(tmp_path, monkeypatch):
    pytest.importorskip("numpy")
    _zip_bomb(tmp_path / "bomb.npz", (3 * 10**8,), 64 << 20)  # claims 2.4 GB, holds 64 MB in ~64 KB
    assert (tmp_path / "bomb.npz").stat().st_size < 1 << 20
    requested = []
    real_read = zipfile.ZipExtFile.read

    def counting_read(self, n=-1):
        data = real_read(self, n)
        requested.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    refused(run_main("grad", "x", "--points", str(tmp_path / "bomb.npz")), "300,000,000 numbers")
    refused(run_main("grad", "sum(x)", "--x", f"@{tmp_path / 'bomb.npz'}"), "300,000,000 numbers")
    assert sum(requested) < 1 << 16, "more than the header was decompressed"


def test_npz_bomb_in_a_real_process_stays_small_and_fast(tmp_path):
    pytest.importorskip("numpy")
    _zip_bomb(tmp_path / "bomb.npz", (2 * 10**9,), 16 << 20)
    start = time.perf_counter()
    outcome = run_shell('"$D" grad x --points bomb.npz', tmp_path)
    refused(outcome, "2,000,000,000 numbers")
    assert time.perf_counter() - start < 30


def test_npz_with_too_many_members(tmp_path):
    pytest.importorskip("numpy")
    with zipfile.ZipFile(tmp_path / "many.npz", "w") as archive:
        for k in range(files.MAX_ARCHIVE_MEMBERS + 1):
            archive.writestr(f"x{k}.npy", _npy_header((1,)) + b"\0" * 8)
    refused(run_main("grad", "x0", "--points", str(tmp_path / "many.npz")), "files; the most is")


def test_huge_integers_in_json_are_an_overflow_error(tmp_path):
    big = "1" + "0" * 400
    refused(run_main("grad", "sum(x)", "--x", f"[{big}, 1]"), "overflows float64")
    (tmp_path / "big.json").write_text(big)
    refused(run_main("grad", "x", "--x", f"@{tmp_path / 'big.json'}"), "overflows float64")


# --------------------------------------------------------------------------- 2. constructors
@pytest.mark.parametrize("value", ["zeros(inf)", "zeros(nan)", "ones(-1)", "zeros(2.5)", "full(2, inf, 1)",
                                   "full(nan, 1)", "eye(1e400)", "randn(1e30)", "linspace(0, 1, 1e400)",
                                   "linspace(0, 1, nan)", "linspace(0, inf, 3)", "arange(inf)", "arange(0, 1, 0)",
                                   "arange(1e9)", "linspace(0, 1, 1e9)"])
def test_constructor_sizes_must_be_finite_whole_numbers(value):
    refused(run_main("grad", "sum(x)", "--x", value), "--x")


def test_constructors_still_work():
    outcome = run_main("grad", "sum(x) + sum(y) + sum(z)", "--x", "full(2, 3, 0.5)", "--y", "linspace(0, 1, 5)",
                       "--z", "arange(1, 2, 0.25)")
    assert outcome.code == 0 and "value\t11.0" in outcome.out, outcome  # 3 + 2.5 + 5.5


# --------------------------------------------------------------------------- 3. --seed, --fd-steps
@pytest.mark.parametrize("seed", ["1e30", "1" + "0" * 30, "-" + "1" * 25, str(2**64)])
def test_seed_out_of_range(seed):
    refused(run_main("grad", "sum(x)", "--x", "rand(2)", f"--seed={seed}"), "--seed")


def test_seed_in_range_still_seeds():
    first = run_main("grad", "sum(x)", "--x", "rand(3)", "--seed", str(2**64 - 1))
    second = run_main("grad", "sum(x)", "--x", "rand(3)", "--seed", str(2**64 - 1))
    assert first.code == 0 and first.out == second.out


@pytest.mark.parametrize("steps", ["1e308:1e300", "1e400:1", "1e-1:1e-400", "1e200", "0.1,inf", "nan", "1e101"])
def test_fd_steps_out_of_range(steps):
    refused(run_main("grad", "x**2", "--x", "1", "--fd", "--fd-steps", steps), "--fd-steps")


def test_fd_steps_alone_asks_for_the_table():
    outcome = run_main("grad", "x**2", "--x", "1", "--fd-steps", "1e-1:1e-3")
    assert outcome.code == 0 and outcome.out.count("\nfd\tx\t") == 3, outcome


# --------------------------------------------------------------------------- 4. --points files
def test_points_duplicate_header(tmp_path):
    (tmp_path / "p.csv").write_text("x,y,x\n1,2,3\n")
    refused(run_main("grad", "x*y", "--points", str(tmp_path / "p.csv")), "'x' is named twice")
    (tmp_path / "greek.csv").write_text("theta,θ\n1,2\n")
    refused(run_main("grad", "theta", "--points", str(tmp_path / "greek.csv")), "'theta' is named twice")


def test_points_long_field_and_long_line(tmp_path):
    (tmp_path / "field.csv").write_text("x\n" + "1" * 200_000 + "\n")
    refused(run_main("grad", "x", "--points", str(tmp_path / "field.csv")), "line 2", "field limit")
    (tmp_path / "line.csv").write_text("x\n" + "1," * 600_000 + "\n")
    refused(run_main("grad", "x", "--points", str(tmp_path / "line.csv")), "line 2", "longer than")


def test_points_invalid_utf8_names_the_line(tmp_path):
    (tmp_path / "p.csv").write_bytes(b"x\n1\n2\n\xff\n")
    refused(run_main("grad", "x", "--points", str(tmp_path / "p.csv")), "line 4", "not UTF-8")


def test_points_with_a_byte_order_mark_and_greek_names(tmp_path):
    (tmp_path / "p.csv").write_bytes("\ufeffθ,y\n1,2\n".encode())
    outcome = run_main("grad", "theta*y", "--points", str(tmp_path / "p.csv"))
    assert outcome.code == 0 and outcome.out.splitlines() == ["theta,y,f,d/dtheta,d/dy", "1.0,2.0,2.0,2.0,1.0"]


def test_twenty_million_rows_are_refused_fast(tmp_path):
    with open(tmp_path / "rows.csv", "w") as handle:
        handle.write("x\n")
        handle.write("1\n" * 20_000_000)
    start = time.perf_counter()
    outcome = run_main("grad", "x", "--points", str(tmp_path / "rows.csv"))
    refused(outcome, "20,000,000 rows", "10,000,000")
    assert time.perf_counter() - start < 10


def test_points_respect_the_memory_budget(tmp_path):
    with open(tmp_path / "rows.csv", "w") as handle:
        handle.write("x,y\n")
        handle.write("1,2\n" * 200_000)
    refused(run_main("--max-memory", "1MB", "grad", "x*y", "--points", str(tmp_path / "rows.csv")), "--max-memory")


# --------------------------------------------------------------------------- 5. --output
@pytest.mark.parametrize("where", ["missing/out.csv", "folder.csv", "full.csv", "full.npy"])
def test_points_output_that_cannot_be_written(tmp_path, where):
    (tmp_path / "p.csv").write_text("x\n1\n2\n")
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "full.csv").symlink_to("/dev/full")
    (tmp_path / "full.npy").symlink_to("/dev/full")
    outcome = run_main("grad", "x**2", "--points", str(tmp_path / "p.csv"), "--output", str(tmp_path / where))
    refused(outcome, "--output", where)


def test_points_output_suffix_is_checked_before_the_work(tmp_path):
    (tmp_path / "p.csv").write_text("x\n1\n")
    refused(run_main("grad", "x**2", "--points", str(tmp_path / "p.csv"), "--output", "/dev/full"),
            ".csv, .npy or .npz")


def test_points_output_upper_case_npy_is_written_where_asked(tmp_path):
    np = pytest.importorskip("numpy")
    (tmp_path / "p.csv").write_text("x\n1\n2\n")
    outcome = run_main("grad", "x**2", "--points", str(tmp_path / "p.csv"), "--output", str(tmp_path / "o.NPY"))
    assert outcome.code == 0, outcome
    assert np.load(tmp_path / "o.NPY").tolist() == [[1.0, 1.0, 2.0], [2.0, 4.0, 4.0]]


@pytest.mark.parametrize("where", ["missing/plot.png", "folder.png", "full.png"])
def test_plot_output_that_cannot_be_written(tmp_path, where):
    pytest.importorskip("matplotlib")
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "full.png").symlink_to("/dev/full")
    outcome = run_main("plot", "sin(x)", "--x", "1", "--output", str(tmp_path / where))
    assert outcome.code == 2 and outcome.err.startswith("error: cannot write") and where in outcome.err, outcome
    assert len(outcome.err.splitlines()) == 1


# --------------------------------------------------------------------------- 6. plot at the ends of float64
@pytest.mark.parametrize("argv", [["x", "--from", "-1e308", "--to", "1e308"], ["x", "--x", "1e308"],
                                  ["x**2", "--x", "-1.7e308"], ["2*x", "--from", "-1e308", "--to", "1e308"],
                                  ["exp(x)", "--x", "1000"], ["exp(x)", "--from", "0", "--to", "1e308"],
                                  ["1/x", "--from", "-1e308", "--to", "1e308"]])
def test_plot_extremes_give_an_answer(argv):
    outcome = run_main("plot", *argv)
    assert outcome.code == 0 and "error" not in outcome.err, outcome
    assert "f(x)" in outcome.out.splitlines()[-1]
    data = json.loads(run_main("plot", *argv, "--json").out)
    assert all(abs(v) < float("inf") for v in [*data["interval"], *data["y_range"]])


def test_plot_extremes_as_a_figure_are_an_answer_or_one_line(tmp_path):
    pytest.importorskip("matplotlib")
    outcome = run_main("plot", "x", "--from", "-1e308", "--to", "1e308", "--output", str(tmp_path / "p.png"))
    assert outcome.code in (0, 2) and "Warning" not in outcome.err, outcome
    assert outcome.code == 0 or (outcome.err.startswith("error: ") and len(outcome.err.splitlines()) == 1)


def test_plot_in_a_narrow_terminal_falls_back_to_the_smallest_plot(monkeypatch):
    monkeypatch.setenv("COLUMNS", "10")
    monkeypatch.setenv("LINES", "5")
    outcome = run_main("plot", "sin(x)", "--x", "1")
    assert outcome.code == 0 and outcome.err == "", outcome
    assert len(outcome.out.splitlines()) == 12


# --------------------------------------------------------------------------- 7. closed and full streams
def test_closed_stdout(tmp_path):
    refused(run_shell('"$D" grad x --x 1 >&-', tmp_path), "stdout is closed")


def test_closed_stdin(tmp_path, warm_env):
    refused(run_shell('"$D" grad x --x - <&-', tmp_path), "stdin is closed")
    outcome = run_shell('"$D" batch <&-', tmp_path, warm=warm_env)  # batch speaks JSON: the error is also a record
    assert outcome.code == 2 and outcome.err.startswith("error: stdin is closed"), outcome
    assert json.loads(outcome.out)["error"]["message"].startswith("stdin is closed"), outcome
    outcome = run_shell('"$D" grad x --x 2 <&-', tmp_path, warm=warm_env)
    assert outcome.code == 0 and outcome.out == "value\t2.0\nd/dx\t1.0\n" and outcome.err == "", outcome


def test_closed_stderr_keeps_the_exit_code(tmp_path, warm_env):
    assert run_shell('"$D" grad x --x zz 2>&-', tmp_path).code == 2
    outcome = run_shell('"$D" grad x --x 2 2>&-', tmp_path, warm=warm_env)
    assert outcome.code == 0 and outcome.out == "value\t2.0\nd/dx\t1.0\n"


def test_a_closed_descriptor_is_not_reused_for_an_output_file(tmp_path):
    (tmp_path / "p.csv").write_text("x\n1\n")
    outcome = run_shell('"$D" grad x --points p.csv --output out.csv >&- 2>&-', tmp_path)
    assert outcome.code == 0
    assert (tmp_path / "out.csv").read_text() == "x,f,d/dx\n1.0,1.0,1.0\n"


def test_full_stdout(tmp_path, warm_env):
    refused(run_shell('"$D" grad x --x 1 >/dev/full', tmp_path), "stdout", "no space left")
    refused(run_shell('"$D" functions --format plain >/dev/full', tmp_path, warm=warm_env), "stdout", "no space left")


@pytest.mark.parametrize("command", ['seq 1 100000 | "$D" grad x --x -', '"$D" functions --format table',
                                     '"$D" --help',  # (the other two streams of answers: in CI's slow step)
                                     pytest.param('"$D" grad x --points rows.csv', marks=pytest.mark.slow),
                                     pytest.param('"$D" batch < requests.ndjson', marks=pytest.mark.slow)])
def test_a_reader_that_leaves_early_is_not_an_error(tmp_path, command, warm_env):
    (tmp_path / "rows.csv").write_text("x\n" + "".join(f"{k}\n" for k in range(300_000)))
    (tmp_path / "requests.ndjson").write_text((json.dumps({"expression": "x", "point": {"x": 1}}) + "\n") * 20_000)
    outcome = run_shell(f'{command} 2>err | head -c 20 >/dev/null; echo "${{PIPESTATUS[-2]}}"; cat err', tmp_path,
                        warm=warm_env)
    status, *stderr = outcome.out.splitlines()
    assert status in ("0", "141"), outcome  # 141: killed by SIGPIPE, also normal
    assert stderr == [], outcome


# --------------------------------------------------------------------------- 8. a narrow encoding
ASCII_ENV = {"LANG": "C", "LC_ALL": "C", "PYTHONIOENCODING": "ascii"}


@pytest.fixture(scope="module")
def ascii_warm_env(tmp_path_factory):
    """A warm server started in the ASCII locale: Python fixes its locale and encodings as it starts, so
    the shared server answers such a client cold, and only one started in it answers warm."""
    from conftest import resident_server

    with resident_server(tmp_path_factory, ASCII_ENV) as env:
        yield env


@pytest.mark.parametrize("command", ['"$D" grad x --x 1 --format table',
                                     '"$D" grad "x**2" --x 1 --fd --format table',
                                     '"$D" diff "x**3" --wrt x --order 2 --x 1 --format table',
                                     '"$D" hessian "x*y" --x 1 --y 2 --format table',
                                     'COLUMNS=60 "$D" plot "sin(x)" --x 1'])
def test_ascii_locale_gets_ascii_symbols(tmp_path, command, ascii_warm_env):
    outcome = run_shell(command, tmp_path, ASCII_ENV, warm=ascii_warm_env)
    assert outcome.code == 0 and outcome.err == "", outcome
    assert outcome.out.isascii() and outcome.out.strip()


def test_ascii_locale_spells_the_symbols(tmp_path, warm_env):
    outcome = run_shell('"$D" diff "x**3" --wrt x --order 2 --x 1 --format table', tmp_path, ASCII_ENV)
    assert "d2f/dx2" in outcome.out, outcome
    outcome = run_shell('"$D" grad "x*y" --x 1 --y 2 --format table', tmp_path, {**ASCII_ENV, "LANG": "",
                                                                                  "PYTHONIOENCODING": "latin-1"},
                        warm=warm_env)
    assert outcome.code == 0 and "df/dx" in outcome.out, outcome


def test_ascii_locale_with_non_ascii_input(tmp_path, ascii_warm_env):
    outcome = run_shell('printf "1\\n\\317\\200\\n" | "$D" grad x --x -', tmp_path, ASCII_ENV, warm=ascii_warm_env)
    assert outcome.code == 2 and outcome.out.splitlines()[0] == "1.0\t1.0\t1.0", outcome
    assert "Traceback" not in outcome.err and "internal" not in outcome.err


# --------------------------------------------------------------------------- 9. --x - and its options
def run_stream(argv: list[str], lines: str) -> Outcome:
    from typer.testing import CliRunner

    from derivcli.cli import app

    result = CliRunner().invoke(app, argv, input=lines)
    return Outcome(result.exit_code, result.stdout, result.stderr)


@pytest.mark.parametrize("option", [["--fd"], ["--fd-steps", "0.1,0.01"], ["--explain-parse"]])
def test_stream_options_without_json_are_errors(option):
    refused(run_stream(["grad", "x**2", "--x", "-", *option], "1\n"), option[0], "stdin")


def test_stream_table_format_is_an_error():
    refused(run_stream(["grad", "x**2", "--x", "-", "--format", "table"], "1\n"), "--format table", "stdin")


def test_stream_fd_and_explain_parse_per_line_in_json():
    outcome = run_stream(["grad", "2x^2", "--x", "-", "--fd-steps", "0.1,0.01", "--explain-parse", "--json"],
                         "1\n2\n")
    assert outcome.code == 0, outcome
    records = [json.loads(line) for line in outcome.out.splitlines()]
    assert [len(r["finite_differences"]["rows"]) for r in records] == [2, 2]
    assert all("parse" in r for r in records)


def test_stream_check_shows_the_verdict():
    outcome = run_stream(["grad", "x**2", "--x", "-", "--check"], "1\n3\n")
    assert outcome.code == 0 and outcome.out == "1.0\t1.0\t2.0\tagree\n3.0\t9.0\t6.0\tagree\n", outcome


def test_stream_echo_is_sanitized():
    hostile = "\x1b]0;pwned\x07\x1b[31mred\x1b[0m\x9b2J"
    outcome = run_stream(["grad", "x", "--x", "-"], f"1\n{hostile}\n")
    assert outcome.code == 2
    for stream in (outcome.out, outcome.err):
        assert not any(char in stream for char in "\x1b\x07\x9b"), stream
    assert outcome.out.splitlines()[1].startswith("?]0;pwned??[31mred")


# --------------------------------------------------------------------------- 10. files policy
def test_no_files_switch(tmp_path):
    np = pytest.importorskip("numpy")
    np.save(tmp_path / "v.npy", np.ones(2))
    (tmp_path / "p.csv").write_text("x\n1\n")
    refused(run_main("--no-files", "grad", "sum(x)", "--x", f"@{tmp_path / 'v.npy'}"), "files are turned off")
    refused(run_main("--no-files", "grad", "x", "--points", str(tmp_path / "p.csv")), "--points", "turned off")
    refused(run_main("--no-files", "grad", "x", "--x", "1", "--output", "o.csv"), "--output")
    refused(run_main("--no-files", "plot", "x", "--output", str(tmp_path / "o.png")), "--output", "turned off")
    assert not (tmp_path / "o.png").exists()
    assert run_main("grad", "sum(x)", "--x", f"@{tmp_path / 'v.npy'}").code == 0  # the switch is per run


@pytest.mark.parametrize("setting", ["1", "yes", "true"])
def test_no_files_environment(tmp_path, monkeypatch, setting):
    (tmp_path / "v.json").write_text("[1, 2]")
    (tmp_path / "p.csv").write_text("x\n1\n")
    monkeypatch.setenv("DERIVCLI_NO_FILES", setting)
    refused(run_main("grad", "sum(x)", "--x", f"@{tmp_path / 'v.json'}"), "DERIVCLI_NO_FILES")
    refused(run_main("grad", "x", "--points", str(tmp_path / "p.csv")), "--points")
    refused(run_main("grad", "x", "--points", str(tmp_path / "p.csv"), "--output", str(tmp_path / "o.csv")),
            "--output")
    assert not (tmp_path / "o.csv").exists()
    monkeypatch.setenv("DERIVCLI_NO_FILES", "0")
    assert run_main("grad", "sum(x)", "--x", f"@{tmp_path / 'v.json'}").code == 0


def test_no_files_environment_in_a_real_process(tmp_path):
    (tmp_path / "v.json").write_text("[1, 2]")
    refused(run_shell('"$D" grad "sum(x)" --x @v.json', tmp_path, {"DERIVCLI_NO_FILES": "1"}), "turned off")


def test_batch_requests_and_streamed_lines_never_read_files(tmp_path, monkeypatch):
    from derivcli.scale import streams

    (tmp_path / "v.json").write_text("[1, 2]")

    def never(*args, **kwargs):
        raise AssertionError("a file was read")

    monkeypatch.setattr(files, "read_value_file", never)
    monkeypatch.setattr(files, "open_regular", never)
    path = f"@{tmp_path / 'v.json'}"
    requests = [json.dumps({"expression": "sum(x)", "point": {"x": value}}) for value in (path, [path], " " + path)]
    answers = list(streams.batch(requests))
    assert len(answers) == 3 and all("error" in answer for answer in answers), answers
    outcome = run_stream(["grad", "sum(x)", "--x", "-"], f"{path}\n")
    assert outcome.code == 2 and "streamed line" in outcome.err


def test_an_eof_error_from_a_library_is_a_bug_not_an_interrupt(monkeypatch):
    from derivcli import api

    def eof(*args, **kwargs):
        raise EOFError("ran out of input")

    monkeypatch.setattr(api, "grad", eof)
    outcome = run_main("grad", "x", "--x", "1")
    assert outcome.code == 3 and outcome.err.startswith("error: internal error: EOFError: ran out of input"), outcome
    assert len(outcome.err.splitlines()) == 1


class _FailingStdin(io.TextIOBase):
    """A stdin whose reads fail as a terminal's do once it has gone away (EIO)."""

    def __iter__(self):
        raise OSError(5, "Input/output error")

    def read(self, size=-1):
        raise OSError(5, "Input/output error")

    def fileno(self):
        raise OSError(5, "Input/output error")


@pytest.mark.parametrize("argv", [["grad", "x", "--x", "-"], ["grad", "x", "--x", "1", "--y", "-"], ["batch"]])
def test_a_stdin_that_fails_to_read_is_one_error_line(monkeypatch, argv):
    monkeypatch.setattr(sys, "stdin", _FailingStdin())
    outcome = run_main(*argv)
    assert outcome.code == 2 and outcome.err == "error: cannot read stdin: input/output error; pipe the values in\n"
