"""steps on a terminal draws fractions as fractions (issue 25.3) at every step where a quotient appears:
the step line, the quotient rule's put-together line and the final derivative in SymPy's 2-D form, where
it fits the width (else the one-line text); plain and JSON keep one line; --latex uses \\frac everywhere.

Regenerate the golden terminal views after an intended change with
`DERIVCLI_GOLDEN=update .venv/bin/python -m pytest -q -p no:cacheprovider tests/test_steps_blocks.py`, and
read the diff.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
import sympy as sp

from derivcli.render.steps import emit_steps
from derivcli.steps import steps
from derivcli.steps.blocks import has_quotient

GOLDEN = Path(__file__).parent / "golden"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
MISSION = "exp(-(x**2-x+1)/cos(log(x))**2)"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def terminal(expression: str, columns: int, monkeypatch: pytest.MonkeyPatch, latex: bool = False) -> str:
    """The table view as a terminal of `columns` shows it, without its colours."""
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setenv("NO_COLOR", "1")
    out = _Terminal()
    emit_steps(steps(expression, "x", simplify_seconds=60), "table", out, latex=latex)
    return ANSI.sub("", out.getvalue())


@pytest.mark.parametrize("name, expression", [("quotient", "x/(1+x^2)"), ("sqrt-1-sin", "sqrt(1 + sin x)"),
                                              ("mission", MISSION)])
def test_golden_terminal_view_at_80_columns(name, expression, monkeypatch):
    shown = terminal(expression, 80, monkeypatch)
    golden = GOLDEN / f"steps-{name}-terminal-80.txt"
    if os.environ.get("DERIVCLI_GOLDEN") == "update":
        golden.write_text(shown, encoding="utf-8")
    assert shown == golden.read_text(encoding="utf-8"), f"{golden.name} differs (DERIVCLI_GOLDEN=update regenerates)"
    assert max(len(line) for line in shown.splitlines()) <= 80


def test_every_quotient_step_is_drawn_in_two_dimensions(monkeypatch):
    shown = terminal("x/(1+x^2)", 80, monkeypatch)
    lines = shown.splitlines()
    assert "d  ⎛  x   ⎞    1 - x" in lines and "── ⎜──────⎟ = ─────────" in lines  # the step, d over dx
    bar = next(line for line in lines if line.startswith("put together: "))
    assert bar == "put together: ─────────── = ────────────────"  # the rule and the parts, on one fraction bar
    assert "              f′⋅g - f⋅g′   x  + 1 - x⋅(2⋅x)" in lines
    assert "d/dx x = 1" in shown  # no quotient: one line, as before
    assert "d/dx = ─────────" in lines  # the final derivative too


def test_a_fraction_that_does_not_fit_falls_back_to_one_line(monkeypatch):
    shown = terminal("x/(1+x^2)", 40, monkeypatch)
    assert "put together: (f′·g − f·g′)/g² = (x² + 1" in shown  # 44 columns wide in 2-D: one line
    assert "── ⎜──────⎟ = ─────────" in shown  # the step line still fits
    assert max(len(line) for line in shown.splitlines()) <= 40


def test_inner_steps_of_a_deep_derivation_get_their_fractions(monkeypatch):
    shown = terminal(MISSION, 80, monkeypatch)
    assert "── ln(x) = ─" in shown and "── cos(ln(x)) = ────────────" in shown


def test_latex_uses_frac_everywhere():
    out = io.StringIO()
    emit_steps(steps("x/(1+x^2)", "x", latex=True), "plain", out, latex=True)
    lines = [line for line in out.getvalue().splitlines() if not line.startswith("verified")]
    assert not [line for line in lines if "/" in line]
    assert r"put together: \frac{f' g - f g'}{g^2} = \frac{x^{2} + 1 - x \cdot \left(2 x\right)}" in out.getvalue()


def test_plain_and_json_keep_one_line():
    result = steps("x/(1+x^2)", "x")
    out = io.StringIO()
    emit_steps(result, "plain", out)
    assert "   d/dx x/(x**2 + 1) = (1 - x**2)/(x**2 + 1)**2" in out.getvalue().splitlines()
    assert not any(char in out.getvalue() for char in "─⎛⎝")
    out = io.StringIO()
    emit_steps(result, "json", out)
    assert not any(char in out.getvalue() for char in "─⎛⎝") and "\\n" not in out.getvalue()


@pytest.mark.parametrize("text, expected", [("x/y", True), ("1/x", True), ("x**-2", True), ("x/2", True),
                                            ("sqrt(x)", False), ("1/sqrt(x)", True), ("x**(3/2)", False),
                                            ("sin(x)**2 + exp(x)", False), ("exp(1/x)", True)])
def test_which_expressions_have_a_fraction_bar(text, expected):
    expr = sp.sympify(text)
    assert has_quotient(expr) is expected
    drawn = sp.pretty(expr, use_unicode=True)  # SymPy's own drawing: a bar of ─ is a fraction (√ uses ╲╱ and _)
    assert ("─" in drawn) is expected
