"""Fuzzing everything else a user hands derivcli: binding values, constructors, options and files.

Whatever the input, the CLI ends with exit code 0, 1 or 2; exit code 2 comes with one `error:` line on
stderr; nothing is an internal error or a traceback.  (Expressions are fuzzed in test_properties.)
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derivcli.cli import main

VALUE_PIECES = st.sampled_from([
    "1", "-2.5", "1e400", "-1e400", "inf", "nan", "0", "1e-400", "pi/4", "π", "৪", "١", "１", "2x", "x", "[", "]",
    "[1, 2]", "[[1], [2, 3]]", "[]", "[[]]", "[1, [2]]", '["a"]', "[true]", "[1e999]", "zeros(", "ones(",
    "full(", "eye(", "arange(", "linspace(", "rand(", "randn(", ")", ",", "inf", "nan", "-1", "3", "1e9", "0.5",
    "@", "@/dev/null", "@/nonexistent.npy", "@.", "-", " ", "--", "\x1b[2J", "sqrt(2)", "1/0", "0/0",
])
VALUES = st.lists(VALUE_PIECES, min_size=1, max_size=8).map("".join)
OPTIONS = st.sampled_from([
    [], ["--check"], ["--fd"], ["--fd-steps", "1e-1:1e-3"], ["--fd-steps", "1e308:1e300"], ["--fd-steps", "0"],
    ["--fd-steps", "nan"], ["--fd-steps", "1,2,x"], ["--seed", "1"], ["--seed", "1e30"], ["--seed", "-5"],
    ["--dtype", "float32"], ["--dtype", "int8"], ["--dtype", "[1]"], ["--device", "tpu"], ["--wrt", "x"],
    ["--wrt", "q"], ["--wrt", ","], ["--json"], ["--format", "table"], ["--format", "xml"], ["--explain-parse"],
    ["--var", "x=1"], ["--var", "x"], ["--var", "=1"], ["--var", "θ=2"],
])
EXPRESSIONS = st.sampled_from(["x", "sum(x)", "x**2 + y", "sin x", "dot(x, x)", "x @ x", "max(x)", "x[0]",
                               "cross_entropy(x, 0)", "|x|", "e*x"])


def run(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue()


def assert_clean(argv: list[str]) -> None:
    code, err = run(argv)
    assert code in (0, 1, 2), f"exit {code} for {argv!r}: {err}"
    assert "Traceback" not in err and "internal error" not in err, f"{argv!r}: {err}"
    if code == 2:
        assert err.startswith("error: "), f"{argv!r}: {err!r}"


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression=EXPRESSIONS, x=VALUES, y=VALUES, options=OPTIONS)
def test_binding_values_and_options_never_crash(expression, x, y, options):
    assert_clean(["grad", expression, "--x", x, "--y", y, *options])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command=st.sampled_from(["jacobian", "hessian", "diff", "taylor", "graph"]), x=VALUES, options=OPTIONS)
def test_every_command_takes_any_binding_cleanly(command, x, options):
    assert_clean([command, "x**2", "--x", x, *[option for option in options if option not in ("--check", "--fd")]])


FILE_BYTES = st.one_of(
    st.binary(max_size=200),
    st.lists(st.sampled_from([b"x", b",", b"y", b"\n", b"1", b"2.5", b"nan", b"\xff", b'"', b"x,x", b"[1, 2]",
                              b"\x93NUMPY", b"PK\x03\x04"]), max_size=30).map(b"".join),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=FILE_BYTES, suffix=st.sampled_from([".json", ".csv", ".npy", ".npz", ".txt", ""]),
       use=st.sampled_from(["binding", "points"]))
def test_any_file_is_read_or_refused_cleanly(tmp_path_factory, content, suffix, use):
    path = Path(tmp_path_factory.mktemp("fuzz")) / f"input{suffix}"
    path.write_bytes(content)
    if use == "binding":
        assert_clean(["grad", "sum(x)", "--x", f"@{path}"])
    else:
        assert_clean(["grad", "x + y", "--points", str(path)])
