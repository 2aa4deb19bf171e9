"""`batch` never loses a line and never leaves a process behind, whatever the other lines hold.

Signals and the worker count are checked on real processes (children found through /proc); the
one-record-per-line promise by a property test over random mixes of good and hostile lines.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from records import error_text

from derivcli.scale.streams import MAX_LINE, batch_groups
from derivcli.scale.workers import available_cpus

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")


def good(index: int) -> str:
    return json.dumps({"expression": f"x**2 + {index}", "point": {"x": 0}})


def children(pid: int) -> set[int]:
    """Live (not zombie) processes whose parent is `pid`."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def alive(pids: set[int]) -> set[int]:
    living = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            living.add(pid)
    return living


def answered_batch(jobs: int) -> subprocess.Popen[str]:
    """A batch process whose first 300 lines have been answered (by workers), its stdin still open."""
    process = subprocess.Popen([sys.executable, "-m", "derivcli", "batch", "--jobs", str(jobs)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("".join(good(i) + "\n" for i in range(300)))
    process.stdin.flush()
    answered: list[str] = []

    def read() -> None:
        while len(answered) < 300 and (line := process.stdout.readline()):
            answered.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(60)  # a batch that stops answering fails the test instead of hanging the suite
    if len(answered) < 300:
        process.kill()
        pytest.fail(f"the batch answered {len(answered)} of 300 lines within 60 s")
    return process


def batch_with_workers() -> tuple[subprocess.Popen[str], set[int]]:
    process = answered_batch(2)
    workers = children(process.pid)
    assert workers, "the batch started no workers"
    return process, workers


def wait_gone(pids: set[int], seconds: float = 10.0) -> set[int]:
    deadline = time.monotonic() + seconds
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive(pids)


@pytest.mark.skipif(available_cpus() < 2, reason="workers need two CPUs")
@pytest.mark.parametrize(("sent", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGKILL, -9)],
                         ids=["SIGTERM", "SIGINT", "SIGKILL"])
def test_a_signal_to_the_batch_ends_its_workers_too(sent, code):
    process, workers = batch_with_workers()
    process.send_signal(sent)
    assert process.wait(timeout=30) == code
    assert wait_gone(workers) == set(), "workers outlived their parent"
    if sent != signal.SIGKILL:  # no traceback: SIGTERM ends quietly, Ctrl-C says so in one line
        assert process.stderr is not None
        assert process.stderr.read() == ("error: interrupted\n" if sent == signal.SIGINT else "")


def test_the_worker_count_is_capped_by_the_cpus():
    process = answered_batch(200)
    assert len(children(process.pid)) <= available_cpus()
    assert process.stdin is not None
    process.stdin.close()
    assert process.wait(timeout=60) == 0


def test_a_huge_line_gets_its_record_and_the_lines_after_it_their_answers(tmp_path):
    path = tmp_path / "requests.ndjson"
    with path.open("w") as handle:
        handle.write(good(1) + "\n")
        handle.write('{"expression": "' + "x+" * (MAX_LINE // 2 + 10) + 'x", "point": {"x": 1}}\n')
        handle.write(good(3) + "\n")
    start = time.monotonic()
    with path.open() as handle:
        done = subprocess.run([sys.executable, "-m", "derivcli", "batch"], stdin=handle, capture_output=True,
                              text=True, timeout=120)
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [answer.get("value") for answer in answers] == [1.0, None, 3.0]
    assert answers[1]["line"] == 2 and "longer than" in error_text(answers[1])
    assert time.monotonic() - start < 60


# ----------------------------------------------------------------------- one record per line, in order
HOSTILE = [
    "{not json", "[]", "null", "42", '"text"', '{"expression": 1, "point": {}}', '{"expression": "x"}',
    '{"expression": "x", "point": {"x": "abc"}}', '{"expression": "x", "point": {"x": 1' + "0" * 5000 + "}}",
    '{"expression": "x", "point": {"x": 1}, "dtype": [1]}',
    '{"expression": "x", "point": {"x": 1}, "dtype": {}}', '{"expression": "x", "point": {"x": 1}, "wrt": "x"}',
    '{"expression": "9**9**9", "point": {"x": 1}}', '{"expression": "x", "point": [1]}',
    '{"expression": "|x", "point": {"x": 1}}', '{"expression": "x", "point": {"x": 1}, "command": "nope"}',
    '{"expression": "x", "point": {"x": 1}, "order": "2", "command": "diff"}', "[" * 5000,
    '{"expression": "sin^x y", "point": {"x": 1, "y": 2}}', '{"expression": "x", "point": {"x": 1}, "colour": 1}',
    '{"expression": "x", "point": {"x": 10' + "0" * 400 + "}}",
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.integers(0, 999).map(good), st.sampled_from(HOSTILE)), min_size=1, max_size=30))
def test_every_line_gets_exactly_one_record_in_order(lines):
    answers = list(batch_groups([lines]))
    assert len(answers) == len(lines)
    for number, (line, answer) in enumerate(zip(lines, answers), start=1):
        if line in HOSTILE:
            assert answer.get("line") == number and "error" in answer, (line, answer)
            assert "internal error" not in error_text(answer), (line, answer)
        else:
            assert answer["value"] == float(json.loads(line)["expression"].split("+ ")[1]), (line, answer)


def test_the_property_holds_across_workers_and_groups():
    lines = [good(i) if i % 7 else HOSTILE[i % len(HOSTILE)] for i in range(400)]
    groups = [lines[:150], lines[150:]]
    answers = list(batch_groups(groups, jobs=2))
    assert len(answers) == 400
    for number, (line, answer) in enumerate(zip(lines, answers), start=1):
        if line in HOSTILE:
            assert answer.get("line") == number, (line, answer)
        else:
            assert "value" in answer, (line, answer)


def test_no_batch_request_reads_a_file(tmp_path):
    secret = tmp_path / "secret.json"
    secret.write_text("[1, 2]")
    answers = list(batch_groups([[json.dumps({"expression": "sum(x)", "point": {"x": f"@{secret}"}})]]))
    assert "error" in answers[0] and "1" not in json.dumps(answers[0].get("value", ""))
    assert os.path.exists(secret)


def test_batch_points_take_ascii_digits_only():
    answers = list(batch_groups([[json.dumps({"expression": "x", "point": {"x": "৪"}}),
                                  json.dumps({"expression": "x", "point": {"x": "4"}})]]))
    assert "ASCII digits" in error_text(answers[0]) and answers[1]["value"] == 4.0
