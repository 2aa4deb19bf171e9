"""Messages that say the helpful thing (issue 28.6): each mistake a newcomer makes, and the line it gets."""

from __future__ import annotations

import pytest

from derivcli.errors import DerivcliError
from derivcli.parsing import parse


@pytest.mark.parametrize("text, fixed", [("sin[x]", "sin(x)"), ("exp[2*x + 1]", "exp(2*x + 1)")])
def test_square_brackets_after_a_function_say_to_use_parentheses(text, fixed):
    with pytest.raises(DerivcliError, match="square brackets make a tensor") as info:
        parse(text)
    assert info.value.hint == f"use parentheses: {fixed}"
    assert parse(fixed).canonical  # the hint's spelling reads


def test_a_constant_tensor_after_a_function_still_reads():
    assert parse("sum(exp[0, 0])").canonical == parse("sum(exp([0, 0]))").canonical
