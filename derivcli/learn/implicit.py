"""Implicit differentiation: dy/dx on a curve F(x, y) = 0 written as an equation (`x^2 + y^2 = 25`).

The equation's two sides are read by the same safe parser (the text is untrusted like any expression);
SymPy's `idiff` gives dy/dx and higher orders; at a point, the point is first checked to lie on the
curve, then the derivative and the tangent line are evaluated there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import DerivcliError
from ..symbolic.exact import evaluated

ON_CURVE_RTOL = 1e-9  # |F(point)| within this of the sides' size counts as on the curve


def split_equation(text: str) -> tuple[str, str, int]:
    """(left, right, where the right side starts) at the one `=` that is not part of ==, <=, >= or !=."""
    places = [i for i, char in enumerate(text) if char == "=" and text[i - 1:i] not in ("=", "<", ">", "!")
              and text[i + 1:i + 2] != "="]
    if not places:
        raise DerivcliError("an implicit curve is an equation with one '='", hint="e.g. 'x^2 + y^2 = 25'")
    if len(places) > 1:
        raise DerivcliError("the equation has more than one '='", span=(places[1], places[1] + 1), source=text,
                            hint="write one equation, e.g. 'x^2 + y^2 = 25'")
    where = places[0]
    for side, start in ((text[:where], 0), (text[where + 1:], where + 1)):
        if not side.strip():
            raise DerivcliError("a side of the equation is empty", span=(start, start + 1), source=text,
                                hint="e.g. 'x^2 + y^2 = 25'")
    return text[:where], text[where + 1:], where + 1


@dataclass
class ImplicitResult:
    equation: str
    curve: str  # F(x, y), with the curve F = 0
    wrt: str
    dependent: str
    order: int
    derivative: str | None
    latex: str | None
    notes: list[str] = field(default_factory=list)
    point: dict[str, float] | None = None
    residual: float | None = None
    value: float | None = None
    tangent: str | None = None
    warnings: list[str] = field(default_factory=list)
    pretty: str | None = None  # the derivative in SymPy's 2-D Unicode form, for a terminal (not in JSON)

    @property
    def key(self) -> str:
        """dy/dx, d2y/dx2: the plain output's key."""
        power = "" if self.order == 1 else str(self.order)
        return f"d{power}{self.dependent}/d{self.wrt}{power}"

    def to_json(self) -> dict[str, Any]:
        return {"equation": self.equation, "curve": self.curve, "wrt": self.wrt, "dependent": self.dependent,
                "order": self.order, "derivative": self.derivative, "latex": self.latex, "notes": self.notes,
                "point": self.point, "residual": self.residual, "value": self.value, "tangent": self.tangent,
                "warnings": self.warnings}


def implicit(equation: str, wrt: str = "x", dependent: str | None = None, order: int = 1,
             point: Mapping[str, float] | None = None) -> ImplicitResult:
    """d^n(dependent)/d(wrt)^n on the curve `equation`, and with a point on it the value and tangent there.

    >>> implicit("x^2 + y^2 = 25", point={"x": 3, "y": 4}).value
    -0.75
    """
    import sympy as sp

    from ..differentiate.higher import check_order
    from ..symbolic.budgeted import presented

    check_order(order)
    curve, x, y, notes = read_curve(equation, wrt, dependent, point)
    dependent = str(y)
    derivative = sp.idiff(curve, y, x, order)
    shown = presented(derivative)
    result = ImplicitResult(equation, str(curve), wrt, dependent, order, shown.text, shown.latex,
                            notes=notes + ([shown.note] if shown.note else []),
                            pretty=shown.pretty)
    if point:
        _at_point(result, curve, derivative, {str(symbol): symbol for symbol in curve.free_symbols}, point)
    return result


def read_curve(equation: str, wrt: str, dependent: str | None, point: Mapping[str, float] | None
               ) -> tuple[Any, Any, Any, list[str]]:
    """(F as SymPy, the wrt symbol, the dependent symbol, the parser's notes) of the curve F = 0."""
    from ..parsing import Context, parse

    left, right, offset = split_equation(equation)
    # Read as diff reads it: without a point every single letter is a variable, so that run-together
    # letters split alike (`6xy` is 6*x*y, `sin(xy)` is sin(x*y)); with one, the point's names are.
    context = Context(frozenset(point or ()) | {wrt} | ({dependent} if dependent else set()), frozenset({wrt}),
                      letters=not point)
    sides = [_side(parse, text, context, start, equation) for text, start in ((left, 0), (right, offset))]
    symbols = {**sides[0].symbols, **sides[1].symbols}
    curve = sides[0].expr.xreplace({sides[0].symbols[n]: symbols[n] for n in sides[0].symbols}) - \
        sides[1].expr.xreplace({sides[1].symbols[n]: symbols[n] for n in sides[1].symbols})
    names = sorted(symbols)
    if wrt not in symbols:
        raise DerivcliError(f"--wrt {wrt}: the equation has no {wrt}", hint=f"its variables are {', '.join(names)}")
    others = [name for name in names if name != wrt]
    dependent = dependent or (others[0] if len(others) == 1 else None)
    if dependent is None or dependent not in symbols:
        raise DerivcliError(f"say which variable depends on {wrt} with --dependent",
                            hint=f"the equation's variables are {', '.join(names)}")
    return curve, symbols[wrt], symbols[dependent], [*sides[0].notes, *sides[1].notes]


def _side(parse: Any, text: str, context: Any, start: int, equation: str) -> Any:
    """One side, read with errors pointing into the whole equation."""
    try:
        return parse(text, context)
    except DerivcliError as error:
        span = None if error.span is None else (error.span[0] + start, error.span[1] + start)
        raise DerivcliError(error.message, span=span, source=equation, hint=error.hint) from None


def _at_point(result: ImplicitResult, curve: Any, derivative: Any, symbols: Mapping[str, Any],
              point: Mapping[str, float]) -> None:
    import sympy as sp

    missing = [name for name in sorted(symbols) if name not in point]
    if missing:
        raise DerivcliError(f"no value for {', '.join(missing)}",
                            hint="give the point with " + " ".join(f"--{name} VALUE" for name in missing))
    substitution = {symbols[name]: sp.Float(point[name], 30) for name in symbols}
    residual = float(curve.xreplace(substitution).evalf(30))
    scale = max([1.0, *(abs(float(term.xreplace(substitution).evalf(30))) for term in sp.Add.make_args(curve))])
    at = ", ".join(f"{name} = {point[name]:g}" for name in sorted(symbols))
    if not math.isfinite(residual) or abs(residual) > ON_CURVE_RTOL * scale:
        raise DerivcliError(f"the point {at} is not on the curve: {result.equation} is off by {residual:.6g} there",
                            hint=f"F = {result.curve} must be 0")
    result.point = {name: float(point[name]) for name in sorted(symbols)}
    result.residual = residual
    value = evaluated(derivative.xreplace(substitution))
    if value is None:
        raise DerivcliError(f"SymPy cannot get the digits of the slope at {at}", hint="try a point near it")
    if not value.is_finite or not value.is_real:
        result.notes.append(f"the tangent is vertical at {at}: ∂F/∂{result.dependent} is 0 there")
        return
    result.value = float(value)
    if result.order == 1:
        x0, y0, slope = float(point[result.wrt]), float(point[result.dependent]), result.value
        sign = "-" if slope < 0 else "+"
        result.tangent = f"{result.dependent} = {y0!r} {sign} {abs(slope)!r}*({result.wrt} - {x0!r})"


# The wire contract of this module's to_json: tests/schema_build.py gathers every module's into
# derivcli/schemas/derivcli.schema.json (its $defs; JSON_OUTPUTS also join its root).
JSON_SCHEMA = {
    "implicit": {
        "type": "object",
        "required": [
            "equation", "curve", "wrt", "dependent", "order", "derivative", "latex", "notes", "point", "residual",
            "value", "tangent", "warnings",
        ],
        "properties": {
            "point": {"oneOf": [{"$ref": "#/$defs/by_name"}, {"type": "null"}]},
            "value": {"oneOf": [{"$ref": "#/$defs/number"}, {"type": "null"}]}, "tangent": {"type": ["string", "null"]},
            "warnings": {"$ref": "#/$defs/warnings"},
        },
    },
}
JSON_OUTPUTS = ("implicit",)
