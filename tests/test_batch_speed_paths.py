"""The faster batch paths of issue 27 answer exactly as the batch path did before them: every record of a
fixed corpus (simple shapes, Rubi-like expressions, a vectorized run, other commands, errors), saved from
the code before that work (tests/data/make_batch_records.py), compared as JSON text, bit for bit."""

from __future__ import annotations

import json
from pathlib import Path

from derivcli.scale.streams import batch_groups

RECORDS = json.loads((Path(__file__).parent / "data" / "batch_records.json").read_text())


def test_batch_answers_match_the_saved_records() -> None:
    from derivcli.differentiate.setup import compile_text

    compile_text.cache_clear()  # every text parsed afresh here, not found in the cache of an earlier test
    lines = [record["request"] for record in RECORDS]
    groups = [lines[i:i + 100] for i in range(0, len(lines), 100)]
    answers = [json.dumps(answer, sort_keys=True) for answer in batch_groups(groups, 1)]
    assert len(answers) == len(RECORDS)
    differing = [(record["request"], answer) for record, answer in zip(RECORDS, answers) if answer != record["answer"]]
    assert not differing, differing[:3]
