"""The views of `derivcli analyze`: a report on a terminal (a textbook's notation), plain `key<TAB>…` lines
in a pipe, JSON.  Everything printed was made by `derivcli.analyze`; nothing is computed here."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, TextIO

from ..wire import dumps
from .layout import console_for, print_reading, reading_lines
from .numbers import number

if TYPE_CHECKING:
    from ..analyze.result import Amount, AnalysisResult, Critical, Extreme, Span, Spot

SIDES = {"+inf": "as x → +∞", "-inf": "as x → −∞", "both": "as x → ±∞"}
PLAIN_SIDES = {"+inf": "x->+inf", "-inf": "x->-inf", "both": "x->+-inf"}


def emit_analysis(result: AnalysisResult, fmt: str, out: TextIO, explain_parse: bool = False) -> None:
    if fmt == "json":
        out.write(dumps(result.to_json(explain_parse)) + "\n")
    elif fmt == "plain":
        lines = reading_lines(result.parse, explain_parse) + plain_lines(result)
        out.write("".join(line + "\n" for line in lines))
    else:
        _report(result, out)


def interval_statement(result: AnalysisResult, pretty: bool) -> str:
    shown = result.interval.pretty if pretty else result.interval.text
    return f"{shown} (the default; --from and --to give another)" if result.default_interval else shown


def _spans(spans: list[Span], pretty: bool) -> str:
    if not spans:
        return "nowhere" if pretty else "none"
    return (" ∪ " if pretty else ", ").join(span.pretty if pretty else span.text for span in spans)


def _where(spot: Spot, pretty: bool) -> str:
    """A point's text, marked ≈ (numeric) where it is not exact."""
    if pretty:
        return spot.pretty if spot.exact else f"≈ {spot.pretty}"
    return spot.text


def _value(amount: Amount, pretty: bool) -> str:
    """Exact where SymPy gave it (on a terminal with its value beside it), else the float."""
    exact = amount.pretty if pretty else amount.text
    if exact is not None:
        plain_number = re.fullmatch(r"-?\d+", amount.text or "") is not None
        return f"{exact} ≈ {_float(amount.value)}" if pretty and not plain_number else exact
    return _float(amount.value) if pretty else number(amount.value)


def _float(value: float, digits: int = 10) -> str:
    """A number on the terminal: `digits` significant digits, with a minus sign."""
    return f"{value:.{digits}g}".replace("-", "−")


def _critical(point: Critical, pretty: bool) -> str:
    why = "f′ = 0" if point.derivative == "zero" else "f′ does not exist"
    if not pretty:
        why = "f'=0" if point.derivative == "zero" else "f' does not exist"
    left, right = (sign or "undefined" for sign in point.signs)
    test = f"f′ goes {left} to {right}".replace("-", "−") if pretty else f"f' {left} to {right}"
    if point.second_test is not None:
        second = "f″" if pretty else "f''"
        test += f"; {second} = {_float(point.second, 6) if pretty else number(point.second)}" \
            if point.second is not None else ""
        test += f" ({point.second_test})" if point.second_test == "inconclusive" else ""
    return f"{point.kind}, f = {_value(point.value, pretty)} ({why}; {test})"


def _extreme(extreme: Extreme, pretty: bool) -> str:
    if not extreme.points:
        return extreme.why_not or "none"
    where = ", ".join(_where(spot, pretty) for spot in extreme.points)
    assert extreme.value is not None
    return f"{_value(extreme.value, pretty)} at x = {where}"


def _slope(value: float | None) -> str:
    return "undefined" if value is None else "+inf" if value == math.inf else "-inf" if value == -math.inf else \
        number(value)


def plain_lines(result: AnalysisResult) -> list[str]:
    """One fact a line: `key<TAB>text`, points as SymPy writes them (exact) or as floats (numeric)."""
    lines = [f"interval\t{interval_statement(result, False)}", f"domain\t{_spans(result.domain, False)}",
             f"zeros\t{', '.join(spot.text for spot in result.zeros) or 'none'}"]
    if result.y_intercept is not None:
        lines.append(f"y-intercept\t{_value(result.y_intercept, False)}")
    lines += [f"critical\t{point.at.text}\t{'exact' if point.at.exact else 'numeric'}\t{_critical(point, False)}"
              for point in result.critical_points]
    lines += [f"not-differentiable\t{point.at.text}\t{point.kind}\tleft {_slope(point.left)}, right "
              f"{_slope(point.right)}" for point in result.nondifferentiable]
    lines += [f"inflection\t{point.at.text}\t{'exact' if point.at.exact else 'numeric'}\tf = "
              f"{_value(point.value, False)}" for point in result.inflection_points]
    lines += [f"sign {chart.of}\t{chart.line()}" for chart in result.charts]
    lines += [f"{name}\t{_spans(spans, False)}" for name, spans in (
        ("increasing", result.increasing), ("decreasing", result.decreasing), ("concave-up", result.concave_up),
        ("concave-down", result.concave_down))]
    lines += [f"asymptote\t{_asymptote(asymptote, False)}" for asymptote in result.asymptotes]
    lines += [f"maximum\t{_extreme(result.maximum, False)}", f"minimum\t{_extreme(result.minimum, False)}"]
    tangent = result.tangent
    if tangent is not None:
        lines += [f"tangent\t{tangent.tangent}", f"normal\t{tangent.normal}",
                  f"approximation\tL({number(tangent.near)}) = {number(tangent.approximation)}, "
                  f"f({number(tangent.near)}) = {number(tangent.actual)}, error {number(tangent.error)}"]
    return lines + [f"note\t{note}" for note in result.notes]


def _asymptote(asymptote: Any, pretty: bool) -> str:
    line = asymptote.pretty if pretty else asymptote.text
    if asymptote.kind != "vertical":
        return f"{asymptote.kind}\t{line}\t{PLAIN_SIDES[asymptote.side]}" if not pretty else \
            f"{line} ({asymptote.kind}, {SIDES[asymptote.side]})"
    sides = [f"f → {_infinity(limit, pretty)} from the {name}" if pretty else f"{name} {_slope(limit)}"
             for name, limit in zip(("left", "right"), asymptote.limits or (None, None)) if limit is not None]
    return f"vertical\t{line}\t{', '.join(sides)}" if not pretty else f"{line} (vertical: {', '.join(sides)})"


def _pretty_slope(value: float | None) -> str:
    return "undefined" if value is None else _infinity(value, True)


def _infinity(limit: float, pretty: bool) -> str:
    return ("+∞" if limit > 0 else "−∞") if math.isinf(limit) else _float(limit)


def _report(result: AnalysisResult, out: TextIO) -> None:
    from rich.table import Table
    from rich.text import Text

    console = console_for(out)
    console.print(Text.assemble(("analyze ", "bold"), (result.pretty, "cyan"),
                                f"   on {interval_statement(result, True)}"), overflow="fold")
    print_reading(console, result.parse, result.expression)
    rows: list[tuple[str, str]] = [("domain", _spans(result.domain, True)),
                                   ("zeros", ", ".join(_where(spot, True) for spot in result.zeros) or "none")]
    if result.y_intercept is not None:
        rows.append(("y-intercept", f"f(0) = {_value(result.y_intercept, True)}"))
    rows += [("critical point" if index == 0 else "", f"x = {_where(point.at, True)}: {_critical(point, True)}")
             for index, point in enumerate(result.critical_points)] or [("critical points", "none")]
    rows += [("f′ does not exist" if index == 0 else "", f"x = {_where(point.at, True)}: {point.kind} (slope "
              f"{_pretty_slope(point.left)} on the left, {_pretty_slope(point.right)} on the right)")
             for index, point in enumerate(result.nondifferentiable)]
    rows += [("inflection point" if index == 0 else "", f"x = {_where(point.at, True)}, f = "
              f"{_value(point.value, True)}") for index, point in enumerate(result.inflection_points)]
    rows += [(f"sign of {chart.of.replace(chr(39) * 2, '″').replace(chr(39), '′')}", chart.line(pretty=True))
             for chart in result.charts]
    rows += [(name, _spans(spans, True)) for name, spans in (
        ("increasing", result.increasing), ("decreasing", result.decreasing), ("concave up", result.concave_up),
        ("concave down", result.concave_down))]
    rows += [("asymptote" if index == 0 else "", _asymptote(asymptote, True))
             for index, asymptote in enumerate(result.asymptotes)] or [("asymptotes", "none")]
    rows += [("global maximum", _extreme(result.maximum, True)), ("global minimum", _extreme(result.minimum, True))]
    tangent = result.tangent
    if tangent is not None:
        near = _float(tangent.near)
        rows += [(f"at x = {tangent.at.pretty}", f"f = {_float(tangent.value)}, f′ = {_float(tangent.slope)}"),
                 ("tangent line", tangent.tangent_pretty), ("normal line", tangent.normal_pretty),
                 ("linear approx.", f"L({near}) = {_float(tangent.approximation)}; f({near}) = "
                                    f"{_float(tangent.actual)}; error {_float(tangent.error, 3)}")]
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for label, text in rows:
        table.add_row(label, text)
    console.print(table)
    for note in result.notes:
        console.print(Text(f"note: {note}", style="yellow"), overflow="fold")
