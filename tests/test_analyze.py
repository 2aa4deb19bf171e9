"""`derivcli analyze` (issue 25.1): a table of textbook functions with their known answers, field by field;
the numbers checked independently with mpmath; numeric answers where SymPy gives none; claims that fail
autograd's check left out with a note; the tangent line; the views (golden terminal views at 80 columns,
plain lines, JSON); two real processes.

Regenerate the golden views after an intended change with
`DERIVCLI_GOLDEN=update .venv/bin/python -m pytest -q -p no:cacheprovider tests/test_analyze.py -k golden`.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import mpmath
import pytest
from typer.testing import CliRunner

from derivcli.analyze import symbolic as analysis_symbolic
from derivcli.analyze.report import analyze
from derivcli.cli import app

GOLDEN = Path(__file__).parent / "golden"
mpmath.mp.dps = 30


def cbrt(u):  # type: ignore[no-untyped-def]
    return mpmath.sign(u) * mpmath.cbrt(abs(u))


# f as mpmath computes it (independent of derivcli), and each field's known answer.  Critical points are
# (where, kind, f there exactly); extrema (f exactly, where); None: no global extremum on the interval.
TABLE = {
    "x^3 - 3x": dict(
        f=lambda x: x**3 - 3 * x, domain=["[-10, 10]"], zeros=["-sqrt(3)", "0", "sqrt(3)"],
        critical=[("-1", "maximum", "2"), ("1", "minimum", "-2")], unsmooth=[], inflection=["0"],
        increasing=["(-10, -1)", "(1, 10)"], decreasing=["(-1, 1)"], up=["(0, 10)"], down=["(-10, 0)"],
        asymptotes=[], maximum=("970", ["10"]), minimum=("-970", ["-10"])),
    "x^4 - 4x^3": dict(
        f=lambda x: x**4 - 4 * x**3, domain=["[-10, 10]"], zeros=["0", "4"],
        critical=[("0", "neither", "0"), ("3", "minimum", "-27")], unsmooth=[], inflection=["0", "2"],
        increasing=["(3, 10)"], decreasing=["(-10, 3)"], up=["(-10, 0)", "(2, 10)"], down=["(0, 2)"],
        asymptotes=[], maximum=("14000", ["-10"]), minimum=("-27", ["3"])),
    "x e^-x": dict(
        f=lambda x: x * mpmath.exp(-x), domain=["[-10, 10]"], zeros=["0"],
        critical=[("1", "maximum", "exp(-1)")], unsmooth=[], inflection=["2"],
        increasing=["(-10, 1)"], decreasing=["(1, 10)"], up=["(2, 10)"], down=["(-10, 2)"],
        asymptotes=["y = 0"], maximum=("exp(-1)", ["1"]), minimum=("-10*exp(10)", ["-10"])),
    "(x^2 - 1)/(x^2 - 4)": dict(
        f=lambda x: (x**2 - 1) / (x**2 - 4), domain=["[-10, -2)", "(-2, 2)", "(2, 10]"], zeros=["-1", "1"],
        critical=[("0", "maximum", "1/4")], unsmooth=[], inflection=[],
        increasing=["(-10, -2)", "(-2, 0)"], decreasing=["(0, 2)", "(2, 10)"], up=["(-10, -2)", "(2, 10)"],
        down=["(-2, 2)"], asymptotes=["x = -2", "x = 2", "y = 1"], maximum=None, minimum=None),
    "x^(2/3)": dict(  # as Python and torch compute it: real for x >= 0 only (a note says how to write ∛x²)
        f=lambda x: x ** (mpmath.mpf(2) / 3), domain=["[0, 10]"], zeros=["0"],
        critical=[], unsmooth=[("0", "vertical tangent")], inflection=[],
        increasing=["(0, 10)"], decreasing=[], up=[], down=["(0, 10)"],
        asymptotes=[], maximum=("10**(2/3)", ["10"]), minimum=("0", ["0"])),
    "cbrt(x)^2": dict(  # the textbook's x^(2/3): a cusp
        f=lambda x: cbrt(x) ** 2, domain=["[-10, 10]"], zeros=["0"],
        critical=[("0", "minimum", "0")], unsmooth=[("0", "cusp")], inflection=[],
        increasing=["(0, 10)"], decreasing=["(-10, 0)"], up=[], down=["(-10, 0)", "(0, 10)"],
        asymptotes=[], maximum=(None, ["-10", "10"]), minimum=("0", ["0"])),
    "|x^2 - 4|": dict(
        f=lambda x: abs(x**2 - 4), domain=["[-10, 10]"], zeros=["-2", "2"],
        critical=[("-2", "minimum", "0"), ("0", "maximum", "4"), ("2", "minimum", "0")],
        unsmooth=[("-2", "corner"), ("2", "corner")], inflection=["-2", "2"],
        increasing=["(-2, 0)", "(2, 10)"], decreasing=["(-10, -2)", "(0, 2)"], up=["(-10, -2)", "(2, 10)"],
        down=["(-2, 2)"], asymptotes=[], maximum=("96", ["-10", "10"]), minimum=("0", ["-2", "2"])),
    "sin x@0,2pi": dict(
        f=mpmath.sin, domain=["[0, 2*pi]"], zeros=["0", "pi", "2*pi"],
        critical=[("pi/2", "maximum", "1"), ("3*pi/2", "minimum", "-1")], unsmooth=[], inflection=["pi"],
        increasing=["(0, pi/2)", "(3*pi/2, 2*pi)"], decreasing=["(pi/2, 3*pi/2)"], up=["(pi, 2*pi)"],
        down=["(0, pi)"], asymptotes=[], maximum=("1", ["pi/2"]), minimum=("-1", ["3*pi/2"])),
    "x ln x": dict(
        f=lambda x: x * mpmath.log(x), domain=["(0, 10]"], zeros=["1"],
        critical=[("exp(-1)", "minimum", "-exp(-1)")], unsmooth=[], inflection=[],
        increasing=["(exp(-1), 10)"], decreasing=["(0, exp(-1))"], up=["(0, 10)"], down=[],
        asymptotes=[], maximum=("10*log(10)", ["10"]), minimum=("-exp(-1)", ["exp(-1)"])),
    "e^x/x": dict(
        f=lambda x: mpmath.exp(x) / x, domain=["[-10, 0)", "(0, 10]"], zeros=[],
        critical=[("1", "minimum", "E")], unsmooth=[], inflection=[],
        increasing=["(1, 10)"], decreasing=["(-10, 0)", "(0, 1)"], up=["(0, 10)"], down=["(-10, 0)"],
        asymptotes=["x = 0", "y = 0"], maximum=None, minimum=None),
    "∛x": dict(
        f=cbrt, domain=["[-10, 10]"], zeros=["0"],
        critical=[("0", "neither", "0")], unsmooth=[("0", "vertical tangent")], inflection=["0"],
        increasing=["(-10, 10)"], decreasing=[], up=["(-10, 0)"], down=["(0, 10)"],
        asymptotes=[], maximum=("cbrt(10)", ["10"]), minimum=("cbrt(-10)", ["-10"])),
    "(x^2 + 1)/(x - 1)@-5,5": dict(  # an oblique asymptote
        f=lambda x: (x**2 + 1) / (x - 1), domain=["[-5, 1)", "(1, 5]"], zeros=[],
        critical=[("1 - sqrt(2)", "maximum", "2 - 2*sqrt(2)"), ("1 + sqrt(2)", "minimum", "2 + 2*sqrt(2)")],
        unsmooth=[], inflection=[], increasing=["(-5, 1 - sqrt(2))", "(1 + sqrt(2), 5)"],
        decreasing=["(1 - sqrt(2), 1)", "(1, 1 + sqrt(2))"], up=["(1, 5)"], down=["(-5, 1)"],
        asymptotes=["x = 1", "y = x + 1"], maximum=None, minimum=None),
}


def run_case(case: str):  # type: ignore[no-untyped-def]
    expression, _, interval = case.partition("@")
    start, end = interval.split(",") if interval else (None, None)
    return analyze(expression, start, end)


@pytest.fixture(scope="module")
def results():  # type: ignore[no-untyped-def]
    return {}


def texts(spans) -> list[str]:  # type: ignore[no-untyped-def]
    return [span.text for span in spans]


@pytest.mark.parametrize("case", TABLE)
def test_textbook_functions_field_by_field(case, results):
    known, result = TABLE[case], run_case(case)
    results[case] = result
    assert texts(result.domain) == known["domain"] and result.domain_exact
    assert [zero.text for zero in result.zeros] == known["zeros"] and all(zero.exact for zero in result.zeros)
    assert [(point.at.text, point.kind, point.value.text) for point in result.critical_points] == known["critical"]
    assert all(point.at.exact for point in result.critical_points)
    assert [(point.at.text, point.kind) for point in result.nondifferentiable] == known["unsmooth"]
    assert [point.at.text for point in result.inflection_points] == known["inflection"]
    assert texts(result.increasing) == known["increasing"] and texts(result.decreasing) == known["decreasing"]
    assert texts(result.concave_up) == known["up"] and texts(result.concave_down) == known["down"]
    assert [asymptote.text for asymptote in result.asymptotes] == known["asymptotes"]
    for extreme, expected in ((result.maximum, known["maximum"]), (result.minimum, known["minimum"])):
        if expected is None:
            assert extreme.points == [] and extreme.why_not.startswith("no global")
        else:
            assert [point.text for point in extreme.points] == expected[1]
            assert expected[0] is None or extreme.value.text == expected[0]
    assert not [note for note in result.notes if "does not check" in note]


@pytest.mark.parametrize("case", TABLE)
def test_every_number_agrees_with_mpmath(case, results):
    """Each point's f value, each critical point's f′ = 0 (or its one-sided slopes), each kind by f's own
    values beside it, and each extremum against f on a fine grid, all computed by mpmath."""
    f, result = TABLE[case]["f"], results.get(case) or run_case(case)
    for point in result.critical_points:
        x = mpmath.mpf(point.at.x)
        assert float(f(x)) == pytest.approx(point.value.value, rel=1e-12, abs=1e-12)
        if point.derivative == "zero":
            assert abs(mpmath.diff(f, x)) < 1e-9 * max(1, abs(mpmath.diff(f, x + 1e-3)))
        h = mpmath.mpf(1e-4) * max(1, abs(x))
        left, here, right = f(x - h), f(x), f(x + h)
        expected = "maximum" if here > max(left, right) else "minimum" if here < min(left, right) else "neither"
        assert point.kind == expected
    for point in result.inflection_points:
        x, h = mpmath.mpf(point.at.x), mpmath.mpf(1e-3)
        second = [(f(t + h) - 2 * f(t) + f(t - h)) / h**2 for t in (x - 10 * h, x + 10 * h)]
        assert second[0] * second[1] < 0
    start, end = result.interval.start.x, result.interval.end.x
    grid = [start + (end - start) * k / 4000 for k in range(4001)]
    values = [float(f(mpmath.mpf(x))) for x in grid if _in(result, x)]
    for extreme, pick in ((result.maximum, max), (result.minimum, min)):
        if extreme.points:
            assert pick(values + [extreme.value.value]) == pytest.approx(extreme.value.value, rel=1e-9, abs=1e-12)


def _in(result, x: float) -> bool:  # type: ignore[no-untyped-def]
    return any((span.start.x < x < span.end.x) or (x == span.start.x and span.closed[0])
               or (x == span.end.x and span.closed[1]) for span in result.domain)


def test_x_to_the_two_thirds_says_how_torch_reads_it():
    result = analyze("x^(2/3)")
    assert any("computed for x >= 0 only" in note and "cbrt(x)**2" in note for note in result.notes)


def test_one_sided_slopes_at_a_corner_cusp_and_vertical_tangent():
    corner = analyze("|x^2 - 4|").nondifferentiable[1]
    assert (corner.left, corner.right) == (pytest.approx(-4, rel=1e-6), pytest.approx(4, rel=1e-6))
    assert analyze("cbrt(x)^2").nondifferentiable[0].left == -math.inf
    assert analyze("∛x").nondifferentiable[0].right == math.inf


# ------------------------------------------------------------------------------- without SymPy's answers
class _NoAnswer:
    """A SymPy child that ran out of time."""

    def __init__(self, *args: object) -> None:
        pass

    def __enter__(self) -> _NoAnswer:
        return self

    def __exit__(self, *args: object) -> None:
        pass

    def outcome(self) -> tuple[bool, None]:
        return False, None


def test_without_sympy_every_point_is_found_numerically(monkeypatch):
    monkeypatch.setattr(analysis_symbolic, "started", _NoAnswer)
    result = analyze("x^3 - 3x")
    assert [(round(point.at.x, 12), point.kind, point.at.exact) for point in result.critical_points] == [
        (-1.0, "maximum", False), (1.0, "minimum", False)]
    assert [zero.x for zero in result.zeros] == pytest.approx([-math.sqrt(3), 0, math.sqrt(3)], abs=1e-14)
    assert texts(result.increasing) == ["(-10, -1.0)", "(1.0, 10)"] and not result.domain_exact


def test_a_root_sympy_cannot_solve_is_found_by_newton_and_marked_numeric():
    result = analyze("sin(x) - x^2/2", "-3", "3")  # f′ = cos x − x: the Dottie number
    (point,) = result.critical_points
    dottie = float(mpmath.findroot(lambda t: mpmath.cos(t) - t, 0.7))
    assert point.at.x == pytest.approx(dottie, rel=1e-14) and not point.at.exact and point.kind == "maximum"


def test_a_wrong_exact_answer_is_left_out_with_a_note(monkeypatch):
    import sympy as sp

    real = analysis_symbolic.solve_zeros

    def wrong(expr, f, x, window, seconds):  # type: ignore[no-untyped-def]
        found = real(expr, f, x, window, seconds)
        return found + [analysis_symbolic.Exact(sp.Integer(5), "5", 5.0)] if expr == sp.diff(f, x) else found

    monkeypatch.setattr(analysis_symbolic, "solve_zeros", wrong)
    monkeypatch.setattr(analysis_symbolic, "started", _Here)
    result = analyze("x^3 - 3x")
    assert [point.at.text for point in result.critical_points] == ["-1", "1"]
    assert any("x = 5 (from SymPy) does not check with autograd" in note for note in result.notes)


class _Here:
    """A SymPy child run in this process (so a test's patch applies)."""

    def __init__(self, function, args, seconds) -> None:  # type: ignore[no-untyped-def]
        self.answer = function(*args)

    def __enter__(self) -> _Here:
        return self

    def __exit__(self, *args: object) -> None:
        pass

    def outcome(self) -> tuple[bool, object]:
        return True, self.answer


# ----------------------------------------------------------------------------------------- tangent
def test_tangent_normal_and_linear_approximation():
    tangent = analyze("x^3 - 3x", at="2").tangent
    assert (tangent.value, tangent.slope) == (2.0, 9.0)
    assert (tangent.tangent, tangent.normal) == ("y = 9*x - 16", "y = -x/9 + 20/9")
    assert tangent.actual == pytest.approx(2.1**3 - 6.3, rel=1e-15) and tangent.approximation == pytest.approx(2.9)
    assert tangent.error == pytest.approx(0.061, rel=1e-9)
    flat = analyze("x e^-x", at="1").tangent
    assert (flat.tangent, flat.normal) == ("y = exp(-1)", "x = 1")


def test_no_tangent_at_a_corner():
    result = analyze("|x^2 - 4|", at="2")
    assert result.tangent is None and any("f′ does not exist there" in note for note in result.notes)


# ------------------------------------------------------------------------------------------- views
def cli(*args: str, columns: int = 80):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["analyze", *args], env={"COLUMNS": str(columns), "NO_COLOR": "1"})


@pytest.mark.parametrize("name, argv", [
    ("analyze-cubic-80", ["x^3 - 3x", "--x", "2"]),
    ("analyze-oblique-80", ["(x^2 + 1)/(x - 1)", "--from", "-5", "--to", "5"]),
    ("analyze-cusp-80", ["cbrt(x)^2"]),
])
def test_golden_terminal_view(name, argv):
    shown = cli(*argv, "--format", "table")
    assert shown.exit_code == 0, shown.stderr
    golden = GOLDEN / f"{name}.txt"
    if os.environ.get("DERIVCLI_GOLDEN") == "update":
        golden.write_text(shown.stdout, encoding="utf-8")
    assert shown.stdout == golden.read_text(encoding="utf-8"), f"{golden.name} differs (DERIVCLI_GOLDEN=update)"
    assert max(len(line) for line in shown.stdout.splitlines()) <= 80


def test_plain_lines():
    shown = cli("x^3 - 3x", "--format", "plain")
    lines = shown.stdout.splitlines()
    assert lines[0] == "interval\t[-10, 10] (the default; --from and --to give another)"
    assert "critical\t-1\texact\tmaximum, f = 2 (f'=0; f' + to -; f'' = -6.0)" in lines
    assert "sign f'\t-10 +++ -1 --- 1 +++ 10" in lines and "sign f''\t-10 --- 0 +++ 10" in lines
    assert "increasing\t(-10, -1), (1, 10)" in lines and "maximum\t970 at x = 10" in lines


def test_json_fields():
    data = json.loads(cli("(x^2 - 1)/(x^2 - 4)", "--x", "0", "--json").stdout)
    assert {"domain", "zeros", "critical_points", "inflection_points", "increasing", "decreasing", "concave_up",
            "concave_down", "asymptotes", "extrema", "tangent", "sign_charts"} <= set(data)
    (point,) = data["critical_points"]
    assert {key: point[key] for key in ("x", "exact", "kind", "value", "text")} == {
        "x": 0.0, "exact": True, "kind": "maximum", "value": 0.25, "text": "0"}
    assert [asymptote["equation"] for asymptote in data["asymptotes"]] == ["x = -2", "x = 2", "y = 1"]
    assert data["asymptotes"][0]["left"] == "Infinity" and data["asymptotes"][0]["right"] == "-Infinity"
    assert data["extrema"]["maximum"]["why_not"] == "no global maximum: f grows without bound near x = -2"
    assert data["interval"]["default"] is True and data["tangent"]["tangent"] == "y = 1/4"


@pytest.mark.parametrize("argv, message", [
    (["x*y"], "error: analyze studies a function of one variable; say which with --wrt"),
    (["x^2", "--from", "3", "--to", "1"], "error: --from 3 must be less than --to 1"),
    (["x^2", "--from", "y"], "error: --from y: expected a finite real number"),
    (["sum(x)", "--x", "[1, 2]"], "error: analyze studies a function of one real variable"),
])
def test_mistakes_are_one_error_line(argv, message):
    shown = cli(*argv)
    assert shown.exit_code == 2 and shown.stderr.startswith(message) and shown.stderr.count("\n") <= 2


def test_other_variables_are_held_at_their_values():
    result = analyze("a*x^2 - x", values={"a": "1/2"})
    assert [(point.at.text, point.kind) for point in result.critical_points] == [("1", "minimum")]


# --------------------------------------------------------------------------------- real processes
def test_a_real_process_answers_in_json_and_in_plain(warm_env):
    """The installed script, answered by the shared warm server (byte for byte as cold: test_serve)."""
    from servers import script

    data = json.loads(script("analyze", "x e^-x", "--json").stdout)
    assert [(point["text"], point["kind"]) for point in data["critical_points"]] == [("1", "maximum")]
    shown = script("analyze", "sin x", "--from", "0", "--to", "2pi")
    assert shown.returncode == 0 and "inflection\tpi\texact\tf = 0" in shown.stdout.splitlines()


@pytest.mark.parametrize("expression, expected", [
    ("tan x", {"asymptotes": 6, "critical": 0, "inflection": 7}),  # no float beside π/2 counted as a point
    ("relu(x)", {"asymptotes": 1, "critical": 1, "inflection": 0}),
    ("x if x > 0 else -x^2", {"asymptotes": 0, "critical": 1, "inflection": 0}),
])
def test_poles_corners_and_flat_pieces(expression, expected):
    result = analyze(expression)
    assert (len(result.asymptotes), len(result.critical_points), len(result.inflection_points)) == (
        expected["asymptotes"], expected["critical"], expected["inflection"])
    assert result.domain_exact and not [note for note in result.notes if "does not check" in note]


def test_a_constant_piece_is_said():
    assert any(note.startswith("f is constant on (-10, 0)") for note in analyze("relu(x)").notes)
    corner = analyze("x if x > 0 else -x^2").nondifferentiable[0]
    assert (corner.kind, corner.left, corner.right) == ("corner", 0.0, 1.0)  # Aitken's limit, not 2e-08


# ------------------------------------------------------------------ poles the grid misses, and its charts
def test_poles_no_grid_point_hits_split_the_domain():
    """lgamma(2x) has a pole at every half-integer below 0; the grid hit only those at its own points
    (-1.5), so the domain, the chart and 'increasing on (-2.83, -1.5)' ran across -2.5 and -2."""
    result = analyze("loggamma(2x)", "-3", "0")
    edges = sorted({round(end, 9) for span in result.domain for end in (span.start.x, span.end.x)})
    assert all(any(abs(edge - pole) < 1e-9 for edge in edges) for pole in (-2.5, -2.0, -1.5, -1.0, -0.5)), edges
    assert not [note for note in result.notes if "may miss" in note], result.notes
    rising = [(span.start.x, span.end.x) for span in result.increasing]
    assert not any(a < pole < b for a, b in rising for pole in (-2.5, -2.0, -1.5, -1.0, -0.5)), rising
    # the grid meets -1.5 and both ends: the poles there are open edges, not a "maximum" or a "jump" beside them
    assert [span.closed for span in result.domain] == [(False, False)] * 6, result.domain
    assert [point.kind for point in result.critical_points] == ["minimum"] * 6 and not result.nondifferentiable


@pytest.mark.slow  # (SymPy's budget for gamma's questions runs out: 6 s)
def test_beside_a_pole_small_is_not_zero():
    """Between the poles of gamma(1.5 - 5/x), f′ is tiny against its size near them: the chart said 0 and
    a note called f constant there."""
    result = analyze("gamma(1.5 - 5/x)", "0.6", "1.2")
    assert not [note for note in result.notes if note.startswith("f is constant")], result.notes
    poles = [5 / (1.5 + n) for n in range(3, 7)]  # 1.11, 0.91, 0.77, 0.67
    edges = [end for span in result.domain for end in (span.start.x, span.end.x)]
    assert all(any(abs(edge - pole) < 1e-6 for edge in edges) for pole in poles), edges


def test_a_root_where_the_text_as_written_is_nan():
    """(acos(x)/(2x))**-2 is 0/0 at 0 as written, so autograd's f′(0) is NaN; f′ tends to 0 from both sides
    and changes sign there: a minimum, which the chart missed ('+++' from -0.94 to 1)."""
    result = analyze("(acos(x)/(x + x))**(-2)", "-3", "3")
    assert ("0", "minimum") in [(point.at.text, point.kind) for point in result.critical_points]


def test_degenerate_derivatives_are_no_internal_error():
    """f⁗ of |x²| is torch's efficient zero tensor (no storage to read); beside the poles of
    gamma(1.5 - 5/x) Aitken's step squared a difference of 1e300 with a float's **, which raises."""
    from derivcli.analyze import numeric

    assert analyze("abs(x*x)", "-3", "3").domain
    assert numeric._aitken([0.0, 1e300, -1e300]) == -1e300


def _chart_failures(seed: int, count: int, shard: int = 0, shards: int = 1) -> list[str]:
    """Random functions of x (tests/differential.py's trees, built into SymPy without derivcli's parser): on
    every segment of the f′ chart, f′ by mpmath at three points has the chart's sign; every zero and every
    critical point is one to the oracle.  Of the `count` functions, those numbered `shard` modulo `shards`
    (the functions themselves do not depend on the sharding)."""
    import random
    import sys

    import sympy as sp

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from differential import _number, random_tree, spell, sympy_of, variables_of

    rng, x, found, done = random.Random(seed), sp.Symbol("x", real=True), [], 0
    while done < count:
        tree = random_tree(rng, ["x"], depth=rng.randint(1, 3))
        if not variables_of(tree):
            continue
        try:
            f = sympy_of(tree)
        except (TypeError, ValueError):
            continue
        text, done = spell(tree, None), done + 1
        if (done - 1) % shards != shard:
            continue
        result = analyze(text, "-3", "3")
        slope = sp.diff(f, x)

        def at(expr, point):
            return _number(expr, {x: sp.Float(mpmath.mpf(point), 60)})

        chart = result.charts[0] if result.charts else None
        spots = [spot.x for spot in chart.points] if chart else []
        for (a, b), sign in zip(zip(spots, spots[1:]), chart.signs if chart else []):
            for share in (0.25, 0.5, 0.75) if sign in ("+", "-") else ():
                value = at(slope, a + (b - a) * share)
                if value is not None and abs(value) > 1e-9 and (value > 0) != (sign == "+"):
                    if not any("may miss" in note for note in result.notes):
                        found.append(f"{text}: f′ = {value:.4g} at {a + (b - a) * share:.6g}, chart {sign}")
                    break
        for point in result.critical_points:
            if point.derivative == "zero":
                value, bend = at(slope, point.at.x), at(sp.diff(slope, x), point.at.x)
                if value is not None and abs(value) > 1e-8 * max(1.0, abs(bend or 0.0)):
                    found.append(f"{text}: critical point {point.at.x} has f′ = {value:.4g}")
    return found


@pytest.mark.slow
@pytest.mark.parametrize("shard", range(3))
def test_sign_charts_are_the_truth_or_say_they_may_miss(shard):
    """The same 24 functions in three shards (every third one each), so the test processes share them out."""
    assert not _chart_failures(1717, 24, shard=shard, shards=3)
