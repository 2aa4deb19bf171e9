"""The faster batch paths of issue 27 answer exactly as the batch path did before them: every record of a
fixed corpus (simple shapes, Rubi-like expressions, a vectorized run, other commands, errors), saved from
the code before that work (tests/data/make_batch_records.py), compared as JSON text, bit for bit on a
machine whose torch rounds as the one that saved them did (its fingerprint is in the file), and elsewhere
with every text the same and every number within 1e-6, relative (torch's transcendental functions differ
in the last place between CPUs)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from derivcli.scale.streams import batch_groups

DATA = Path(__file__).parent / "data"
SAVED = json.loads((DATA / "batch_records.json").read_text())
RECORDS = SAVED["records"]
LAST_PLACES = 1e-6  # on another machine: how far a number may move with torch's last bits (relative)


def test_batch_answers_match_the_saved_records() -> None:
    from derivcli.differentiate.setup import compile_text

    compile_text.cache_clear()  # every text parsed afresh here, not found in the cache of an earlier test
    lines = [record["request"] for record in RECORDS]
    groups = [lines[i:i + 100] for i in range(0, len(lines), 100)]
    answers = [json.dumps(answer, sort_keys=True) for answer in batch_groups(groups, 1)]
    assert len(answers) == len(RECORDS)
    differing = [(record["request"], answer) for record, answer in zip(RECORDS, answers) if answer != record["answer"]]
    if SAVED["machine"] == _fingerprint():
        assert not differing, differing[:3]
    else:
        saved = {record["request"]: json.loads(record["answer"]) for record in RECORDS}
        moved = [(request, answer) for request, answer in differing
                 if not _within_last_places(json.loads(answer), saved[request])]
        assert not moved, moved[:3]
        assert len(differing) <= len(RECORDS) // 10, f"{len(differing)} answers moved in their last places"


def _fingerprint() -> str:
    sys.path.insert(0, str(DATA))
    try:
        from make_batch_records import machine_fingerprint
    finally:
        sys.path.remove(str(DATA))
    return machine_fingerprint()


def _within_last_places(answer: Any, saved: Any) -> bool:
    """The same JSON but for numbers that differ by at most LAST_PLACES, relative."""
    if isinstance(answer, float) and isinstance(saved, float):
        return math.isclose(answer, saved, rel_tol=LAST_PLACES, abs_tol=1e-300)
    if isinstance(answer, dict) and isinstance(saved, dict):
        return answer.keys() == saved.keys() and all(_within_last_places(answer[k], saved[k]) for k in answer)
    if isinstance(answer, list) and isinstance(saved, list):
        return len(answer) == len(saved) and all(map(_within_last_places, answer, saved))
    return bool(answer == saved)


def _corpus_trees() -> list[object]:
    """The SymPy trees (as simplified, and as written) of the corpus's expressions that parse."""
    from derivcli.errors import DerivcliError
    from derivcli.parsing import parse

    trees = []
    for record in RECORDS[::3]:
        try:
            parsed = parse(json.loads(record["request"])["expression"])
        except DerivcliError:
            continue
        trees += [parsed.expr] + ([parsed.written] if parsed.written is not None else [])
    return trees


def test_the_printers_sort_keys_and_term_orders_are_sympys() -> None:
    from sympy import Add, preorder_traversal

    from derivcli.symbolic.formula_text import FormulaPrinter

    for tree in _corpus_trees():
        printer = FormulaPrinter()
        for node in preorder_traversal(tree):
            assert printer.sort_key(node) == node.sort_key(), node
            if isinstance(node, Add):
                assert printer._terms(node) == node.as_ordered_terms(), node


def test_the_variable_test_of_building_and_lowering_is_free_symbols() -> None:
    from sympy import preorder_traversal

    from derivcli.symbolic.variables import HasVariables

    for tree in _corpus_trees():
        has_variables = HasVariables()
        for node in preorder_traversal(tree):
            assert has_variables(node) == bool(node.free_symbols), node


def test_on_another_machine_only_the_last_places_of_numbers_may_move() -> None:
    """The comparison used where the saved records come from a CPU that rounds otherwise."""
    saved = {"expression": "tanh(16*x - y)**2", "gradient": {"x": 2.9116236513030813e-08}, "value": 0.9999999990901176,
             "warnings": []}
    assert _within_last_places({**saved, "gradient": {"x": 2.911624361845816e-08}, "value": 0.9999999990901174}, saved)
    assert not _within_last_places({**saved, "gradient": {"x": 2.9117e-08}}, saved)  # 3e-5: not a last place
    assert not _within_last_places({**saved, "expression": "tanh(16*x - y)^2"}, saved)  # texts are exact
    assert not _within_last_places({**saved, "warnings": ["w"]}, saved)
    assert not _within_last_places({key: value for key, value in saved.items() if key != "warnings"}, saved)
