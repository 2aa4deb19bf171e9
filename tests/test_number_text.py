"""`wire.number_text`, the one full-precision text of a number (render's views and analyze's points both
use it): held to numpy's own shortest round-trip digits of a float32 and to Python's repr of a float64."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from derivcli.analyze.problem import spot
from derivcli.wire import number_text


def digits(text: str) -> int:
    """Significant digits of a decimal text (1.5e-07 and 0.00012 alike)."""
    mantissa = text.lower().split("e")[0].replace("-", "").replace(".", "").strip("0")
    return len(mantissa)


def samples(count: int) -> list[float]:
    generator = random.Random(7)
    return [generator.uniform(-1, 1) * 10 ** generator.randint(-44, 38) for _ in range(count)]


def test_a_float32_is_numpys_shortest_text_that_reads_back():
    for value in samples(2000) + [0.1, 1 / 3, 3.4028235e38, 1e-45]:
        single = np.float32(value)
        text = number_text(value, "float32")
        assert np.float32(float(text)) == single, value
        assert digits(text) == digits(np.format_float_scientific(single, unique=True)), (value, text)


def test_a_float64_is_pythons_repr_and_zero_has_no_sign():
    for value in samples(2000):
        assert number_text(value) == repr(value)
    assert number_text(-0.0) == number_text(0.0) == "0.0"
    assert number_text(-0.0, "float32") == "0.0"
    assert [number_text(value, "float32") for value in (math.inf, -math.inf)] == ["inf", "-inf"]


@pytest.mark.parametrize("value", [0.1 + 0.2, -0.0, 2.0 ** 0.5, -1e-300])
def test_an_analyzed_points_text_reads_back_as_the_point(value):
    text = spot(value).text
    assert float(text) == value and not text.startswith("-0")
