"""Regenerate old_readings.json: random expressions in the syntax the parser read before the notation
rules of issue 11, each with the SymPy tree (srepr) that parser built.

The file was written once by the parser as it stood before those rules (commit 7d6f7e8), so
test_notation.test_old_inputs_keep_their_meaning holds the new reading to the old one.  Rerunning this
script with today's parser only reproduces the file while nothing old has changed meaning.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import sympy

from derivcli.errors import DerivcliError
from derivcli.parsing import parse

VARIABLES = ["x", "y", "z", "t", "k", "w"]
FUNCTIONS = ["sin", "cos", "tan", "exp", "log", "ln", "sqrt", "abs", "atan", "sinh", "tanh", "erf", "sigmoid",
             "relu", "softplus", "cbrt", "log1p", "asin", "floor", "sign", "arcsin"]
NUMBERS = ["1", "2", "3", "0.5", "10", "1e-3", "2.5", "7", "1.5e2", ".25"]


def expression(rng: random.Random, depth: int) -> str:
    """One random expression in the old syntax (explicit calls, `^`, `2x`, `3(x+1)`, `(a)(b)`, if/else)."""
    if depth <= 0 or rng.random() < 0.25:
        return rng.choice(VARIABLES + NUMBERS + ["pi", "e", "E"])
    kind = rng.randrange(11)
    a = expression(rng, depth - 1)
    b = expression(rng, depth - 1)
    if kind == 0:
        return f"{a} {rng.choice(['+', '-'])} {b}"
    if kind == 1:
        return f"{a}{rng.choice(['*', '/', ' * ', ' / '])}{b}"
    if kind == 2:
        return f"({a}){rng.choice(['**', '^'])}{rng.choice(['2', '3', '-1', '0.5', '(' + b + ')'])}"
    if kind == 3:
        return f"{rng.choice(FUNCTIONS)}({a})"
    if kind == 4:
        return f"{rng.choice(['2', '3', '0.5', '10'])}{rng.choice(VARIABLES)}"
    if kind == 5:
        return f"{rng.choice(['2', '3'])}({a})"
    if kind == 6:
        return f"({a})({b})"
    if kind == 7:
        return f"-({a})"
    if kind == 8:
        return f"({a} if {rng.choice(VARIABLES)} {rng.choice(['>', '<=', '!='])} {b} else {b})"
    if kind == 9:
        return f"{rng.choice(['max', 'min', 'atan2', 'log'])}({a}, {b})"
    return f"({a}){rng.choice(['//', '%'])}{rng.choice(['2', '3'])}"


def main() -> None:
    rng = random.Random(11)
    readings: dict[str, str] = {}
    while len(readings) < 1500:
        text = expression(rng, rng.randrange(1, 5))
        try:
            readings[text] = sympy.srepr(parse(text).expr)
        except DerivcliError:
            continue
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("old_readings.json"))
    out.write_text(json.dumps(readings, indent=0, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
