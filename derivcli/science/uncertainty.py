"""Measured values as people write them, and results as metrologists write them.

`9.81±0.02`, `9.81 +- 0.02`, `9.81+/-0.02`, `(9.81 ± 0.02)e3` and the concise `9.81(2)` (the digits in
parentheses are the uncertainty in the value's last digits: 0.02; `1.5(1.2)` with a decimal point in
them is ±1.2) are a value and its standard uncertainty.  Every text is read here without torch or SymPy,
so a mistake in it costs what `--help` costs, and each mistake is one error with its column.  The
propagation itself is `propagation.py`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from ..errors import DerivcliError
from ..inputs.tensor_values import clip

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_PLUS_MINUS = re.compile(r"\s*(?:±|\+/-|\+-)\s*")
_CONCISE = re.compile(r"([+-]?)(\d*)(?:\.(\d*))?\s*\(([^()]*)\)((?:[eE][+-]?\d+)?)")
_SCALED = re.compile(r"\((.*)\)([eE][+-]?\d+)")
DISTRIBUTIONS = {"normal": 1.0, "uniform": math.sqrt(3.0), "triangular": math.sqrt(6.0)}  # half-width / u


@dataclass(frozen=True)
class Measured:
    """A value with its standard uncertainty (one standard deviation)."""

    value: float
    uncertainty: float


def has_uncertainty(text: str) -> bool:
    """Whether a binding's text is written as a measurement (±, +-, +/-, or a number before '(');
    `log10(2)` is not one."""
    return bool(_PLUS_MINUS.search(text) or re.match(r"\s*[+-]?\.?\d[\d.]*\s*\(", text))


def read_measured(name: str, text: str) -> Measured:
    """`9.81±0.02`, `9.81 +- 0.02`, `(9.81 ± 0.02)e3` or `9.81(2)` as a value and its standard uncertainty.

    Errors name the column in `text`, shown under it with a caret."""
    stripped = text.strip()
    offset = len(text) - len(text.lstrip())
    if not stripped.isascii() and "±" not in stripped:
        raise _error(name, text, "write the numbers in ASCII digits", 0, len(text))
    scaled = _SCALED.fullmatch(stripped)
    if scaled and _PLUS_MINUS.search(scaled.group(1)):
        inner = _read_plus_minus(name, text, scaled.group(1), offset + 1)
        scale = Decimal(1).scaleb(int(scaled.group(2)[1:]))
        return _checked(name, text, inner[0] * scale, inner[1] * scale)
    if _PLUS_MINUS.search(stripped):
        value, uncertainty = _read_plus_minus(name, text, stripped, offset)
        return _checked(name, text, value, uncertainty)
    return _read_concise(name, text, stripped, offset)


def _read_plus_minus(name: str, text: str, part: str, offset: int) -> tuple[Decimal, Decimal]:
    signs = list(_PLUS_MINUS.finditer(part))
    if len(signs) > 1:
        second = signs[1]
        raise _error(name, text, "one ± only: a value and its uncertainty", offset + second.start(),
                     offset + second.end())
    sign = signs[0]
    left, right = part[:sign.start()], part[sign.end():]
    if not left.strip():
        raise _error(name, text, "the value before ± is missing", offset, offset + sign.end())
    if not right.strip():
        raise _error(name, text, "the uncertainty after ± is missing", offset + sign.start(),
                     offset + len(part) + 1)
    value = _number(name, text, left, offset)
    uncertainty = _number(name, text, right, offset + sign.end())
    if uncertainty < 0:
        raise _error(name, text, "an uncertainty cannot be negative", offset + sign.end(), offset + len(part))
    return value, uncertainty


def _read_concise(name: str, text: str, stripped: str, offset: int) -> Measured:
    """`9.81(2)`: the uncertainty in units of the value's last digit; `12.3(1.2)`: in the value's units."""
    opening = stripped.index("(")
    if ")" not in stripped[opening:]:
        raise _error(name, text, "the '(' of the uncertainty is not closed", offset + opening, offset + opening + 1)
    match = _CONCISE.fullmatch(stripped)
    if match is None:
        closing = stripped.index(")", opening)
        where = closing + 1 if closing + 1 < len(stripped) else 0
        raise _error(name, text, "cannot read it as a value with its uncertainty in parentheses "
                                 "(write 9.81(2), 9.81±0.02 or 9.81 +- 0.02)", offset + where, offset + len(stripped))
    sign, whole, fraction, digits, exponent = match.groups()
    if not (whole or fraction):
        raise _error(name, text, "the value before '(' is missing", offset, offset + opening + 1)
    start = offset + match.start(4)
    if not re.fullmatch(r"\d+(?:\.\d*)?|\.\d+", digits):
        raise _error(name, text, f"cannot read '{clip(digits)}' as the uncertainty's digits", start,
                     start + max(len(digits), 1))
    scale = Decimal(1).scaleb(int(exponent[1:]) if exponent else 0)
    value = Decimal(f"{sign}{whole or '0'}.{fraction or '0'}") * scale
    last_digit = Decimal(1).scaleb(-len(fraction or ""))
    uncertainty = Decimal(digits) * scale * (1 if "." in digits else last_digit)
    return _checked(name, text, value, uncertainty)


def _number(name: str, text: str, part: str, offset: int) -> Decimal:
    """One number of a ± text, with the column where it is not one."""
    lead = len(part) - len(part.lstrip())
    core = part.strip()
    if not re.fullmatch(_NUMBER, core):
        start = offset + lead
        raise _error(name, text, f"cannot read '{clip(core)}' as a number", start, start + len(core))
    return Decimal(core)


def _checked(name: str, text: str, value: Decimal, uncertainty: Decimal) -> Measured:
    measured = Measured(float(value), float(uncertainty))
    if not math.isfinite(measured.value):
        raise _error(name, text, "the value overflows float64 (largest: about 1.8e308)", 0, len(text))
    if not math.isfinite(measured.uncertainty):
        raise _error(name, text, "the uncertainty overflows float64 (largest: about 1.8e308)", 0, len(text))
    return measured


def _error(name: str, text: str, message: str, start: int, end: int) -> DerivcliError:
    return DerivcliError(f"--{name} {clip(text.strip())}: {message}", span=(start, max(end, start + 1)),
                         source=text, hint="a measurement is written 9.81±0.02, 9.81 +- 0.02 or 9.81(2)")


def read_correlation(text: str) -> tuple[str, str, float]:
    """`--corr g,t=0.3`: two names and their correlation coefficient, in [-1, 1]."""
    names, has_value, number = text.partition("=")
    parts = [part.strip() for part in names.split(",")]
    hint = "write --corr g,t=0.3 (two variables and their correlation coefficient)"
    if not has_value or len(parts) != 2 or not all(parts):
        raise DerivcliError(f"--corr {clip(text)}: expected NAME,NAME=COEFFICIENT", hint=hint)
    if parts[0] == parts[1]:
        raise DerivcliError(f"--corr {clip(text)}: a variable's correlation with itself is 1", hint=hint)
    try:
        coefficient = float(number.strip()) if number.strip().isascii() else math.nan
    except ValueError:
        coefficient = math.nan
    if not -1.0 <= coefficient <= 1.0:
        raise DerivcliError(f"--corr {clip(text)}: the coefficient must be a number from -1 to 1", hint=hint)
    return parts[0], parts[1], coefficient


def read_distribution(text: str) -> tuple[str, str]:
    """`--dist t=uniform`: a variable and the shape of its Monte Carlo distribution (same standard
    uncertainty whatever the shape)."""
    name, has_value, kind = text.partition("=")
    kind = kind.strip().lower()
    if not has_value or not name.strip() or kind not in DISTRIBUTIONS:
        raise DerivcliError(f"--dist {clip(text)}: expected NAME=" + "|".join(DISTRIBUTIONS),
                            hint="e.g. --dist t=uniform (a rectangular distribution with the same standard "
                                 "uncertainty)")
    return name.strip(), kind


FLOAT_DIGITS = 17  # a float64's significant decimal digits


def significant_places(uncertainty: float, digits: int = 2) -> int | None:
    """The decimal exponent of the last digit kept when `uncertainty` is written with `digits` significant
    digits (-3 for 0.0123 → 0.012); None for 0 or a non-finite uncertainty."""
    if not (math.isfinite(uncertainty) and uncertainty > 0):
        return None
    exact = Decimal(repr(uncertainty))
    place = exact.adjusted() - digits + 1
    rounded = exact.quantize(Decimal(1).scaleb(place), rounding=ROUND_HALF_EVEN)
    return place + 1 if rounded.adjusted() > exact.adjusted() else place


def rounded(value: float, uncertainty: float, digits: int = 2) -> str:
    """`value ± uncertainty` as a metrologist writes it: the uncertainty to `digits` significant digits and
    the value to the same decimal place (11.036 ± 0.045); a power of ten outside 1e-3 … 1e6 is factored
    out ((1.2346 ± 0.0012)e-05).  Full precision where the uncertainty is 0, not finite, or below the value's
    own 17 digits (1.0 ± 9.6e-91 would be 92 digits, past what a float holds and Decimal's 28)."""
    place = significant_places(uncertainty, digits)
    if place is None or not math.isfinite(value):
        return f"{value!r} ± {uncertainty!r}"
    magnitude = max(Decimal(repr(value)).adjusted() if value else place, place + digits - 1)
    if magnitude - place >= FLOAT_DIGITS:
        return f"{value!r} ± {uncertainty!r}"
    power = magnitude if magnitude >= 6 or magnitude < -3 else 0
    quantum = Decimal(1).scaleb(place - power)
    shown_value = Decimal(repr(value)).scaleb(-power).quantize(quantum, rounding=ROUND_HALF_EVEN)
    shown_u = Decimal(repr(uncertainty)).scaleb(-power).quantize(quantum, rounding=ROUND_HALF_EVEN)
    pair = f"{_fixed(shown_value)} ± {_fixed(shown_u)}"
    return pair if power == 0 else f"({pair})e{power:+03d}"


def _fixed(number: Decimal) -> str:
    text = format(number, "f")
    return text.lstrip("-") if not number else text  # no -0.00


def two_significant(value: float) -> str:
    """A number that is an uncertainty, or made of one (a contribution, a difference), to two significant
    digits, trailing zero kept (0.020, not 0.02)."""
    place = significant_places(abs(value))
    if place is None:
        return repr(value) if value else "0"
    if -6 <= place <= 3:
        return f"{value:.{max(0, -place)}f}"
    return f"{value:.1e}"
