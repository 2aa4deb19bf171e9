"""The data of a plot: f, f' and the tangent over an interval, sampled in one batched autograd pass."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...errors import DerivcliError
from ...inputs.names import check_wrt
from ...results import ParseInfo
from .ranges import LARGEST, Clip, shape_for_drawing

if TYPE_CHECKING:
    import torch

    from ...analyze.result import AnalysisResult
    from ...api import Setup
    from ...checks.kinks import Kink

MAX_SAMPLES = 100_000
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


@dataclass
class PlotData:
    expression: str
    variable: str  # the x axis
    point: float  # where the tangent touches
    value: float  # f(point)
    slope: float  # f'(point)
    held: dict[str, float]  # the other variables, at their given values
    start: float
    end: float
    x: list[float]
    f: list[float]  # NaN where f is undefined, infinite, or cut at a pole
    df: list[float]  # f' by autograd, NaN likewise
    y_range: tuple[float, float]  # the y range of f's panel (with the tangent, and f' unless df_range)
    df_range: tuple[float, float] | None  # f' in a panel of its own, with this y range
    clipped: list[Clip]  # where a curve goes beyond its panel's y range
    no_tangent: str  # why there is no tangent line ('' when there is one)
    nondifferentiable: list[Kink]  # at the point
    dtype: str
    parse: ParseInfo
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    analysis: AnalysisResult | None = None  # plot --analyze: what analyze found on the interval, to mark

    @property
    def has_tangent(self) -> bool:
        return not self.no_tangent

    def tangent(self, x: float) -> float:
        return self.value + self.slope * (x - self.point)

    def to_json(self, explain_parse: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "expression": self.expression,
            "variable": self.variable,
            "point": {self.variable: self.point},
            "value": self.value,
            "slope": self.slope,
            "tangent": {"value": self.value, "slope": self.slope} if self.has_tangent else None,
            "no_tangent": self.no_tangent or None,
            "nondifferentiable": [kink.to_json() for kink in self.nondifferentiable],
            "held": dict(self.held),
            "interval": [self.start, self.end],
            "x": self.x,
            "f": self.f,
            "df": self.df,
            "y_range": list(self.y_range),
            "df_range": None if self.df_range is None else list(self.df_range),
            "clipped": [{"curve": clip.curve, "x": clip.x, "value": clip.value} for clip in self.clipped],
            "dtype": self.dtype,
            "notes": self.notes,
            "warnings": self.warnings,
        }
        if self.analysis is not None:
            data["analysis"] = self.analysis.to_json(explain_parse)
        if explain_parse:
            data["parse"] = self.parse.to_json()
        return data


def plot_data(
    expression: str,
    point: Mapping[str, Any],
    *,
    wrt: str | None = None,
    start: float | None = None,
    end: float | None = None,
    samples: int = 400,
    dtype: str = "float64",
) -> PlotData:
    """f and f' at `samples` points of [start, end] (default: the point ± max(2, |point|)), and the
    tangent at the point.

    The x axis is `wrt`, else the one variable without a value in `point` (its point defaults to the
    interval's middle, or 0), else the expression's only variable.  Other variables are held at their values.
    """
    from ...api import prepare, reading_context
    from ...checks.kinks import find_kinks
    from ...differentiate.autograd import gradient
    from ...parsing import parse

    parsed = parse(expression, reading_context(list(point), [wrt] if wrt else None))
    values = dict(point)
    variable = _axis_variable(parsed.variables, values, wrt)
    if variable not in values:  # no point given: the middle of the interval, or 0
        values[variable] = 0.0
        if start is not None and end is not None:
            values[variable] = _finite("--from", start) / 2 + _finite("--to", end) / 2  # no overflow at ±1e308
    setup = prepare(expression, values, [variable], dtype, "cpu")
    for name, value in setup.values.items():
        if not isinstance(value, float):
            raise DerivcliError(f"plot draws scalar functions of one number; {name} is a tensor",
                                hint="use 'derivcli grad' or 'derivcli jacobian' for tensor variables")
    center = setup.values[variable]
    if not math.isfinite(center):
        raise DerivcliError(f"the point {variable} = {center} is not a finite number")
    start, end = _interval(center, start, end)
    if isinstance(samples, bool) or not isinstance(samples, int) or not 2 <= samples <= MAX_SAMPLES:
        raise DerivcliError(f"--samples must be a whole number from 2 to {MAX_SAMPLES:,}, got {samples!r}")

    value_tensor, (slope_tensor,) = gradient(setup.program, setup.inputs, setup.wrt_indices, setup.dtype,
                                             setup.device)
    value, slope = float(value_tensor.detach()), float(slope_tensor)
    kinks = find_kinks(setup, {variable: slope_tensor})
    if kinks:
        no_tangent = kinks[0].message()
    elif not (math.isfinite(value) and math.isfinite(slope)):
        no_tangent = f"f({variable}) = {value} and f'({variable}) = {slope} at {variable} = {center:g}"
    else:
        no_tangent = ""
    xs, f, df = _sample(setup, variable, start, end, samples)
    notes: list[str] = []
    tangent = [] if no_tangent else [value + slope * (x - center) for x in (start, end)]
    f, df, y_range, df_range, clipped = shape_for_drawing(xs, f, df, tangent, variable, notes)
    if no_tangent:
        notes.append(f"no tangent: {no_tangent}")
    if not start <= center <= end:
        notes.append(f"the point {variable} = {center:g} is outside the interval [{start:g}, {end:g}]")
    return PlotData(
        expression=setup.parsed.canonical, variable=variable, point=center, value=value, slope=slope,
        held={name: v for name, v in setup.values.items() if name != variable},
        start=start, end=end, x=xs, f=f, df=df, y_range=y_range, df_range=df_range, clipped=clipped,
        no_tangent=no_tangent, nondifferentiable=kinks, dtype=dtype, parse=setup.parse_info(),
        notes=notes, warnings=list(setup.warnings),
    )


def _axis_variable(variables: Sequence[str], values: Mapping[str, Any], wrt: str | None) -> str:
    if wrt is not None:
        check_wrt(wrt, variables)
        return wrt
    unbound = [name for name in variables if name not in values]
    if len(unbound) == 1:
        return unbound[0]
    if len(unbound) > 1:
        raise DerivcliError(f"plot draws functions of one variable, and {', '.join(unbound)} have no values",
                            hint="bind all but one with --NAME VALUE: " + " ".join(f"--{n} VALUE" for n in unbound[1:]))
    if len(variables) == 1:
        return variables[0]
    if not variables:
        return "x"
    raise DerivcliError(f"plot draws functions of one variable; say which of {', '.join(variables)} is the "
                        "x axis with --wrt NAME", hint="the others are held at their values")


def _finite(option: str, value: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DerivcliError(f"{option} must be a number, got {value!r:.40}") from None
    if not math.isfinite(number):
        raise DerivcliError(f"{option} must be a finite number, got {value}")
    return number


def _interval(center: float, start: float | None, end: float | None) -> tuple[float, float]:
    """The given ends, or the point ± max(2, |point|), kept finite (a point at 1e308 still gets an interval)."""
    half = max(2.0, abs(center))
    low = max(center - half, -LARGEST) if start is None else _finite("--from", start)
    high = min(center + half, LARGEST) if end is None else _finite("--to", end)
    if start is None and end is not None and low >= high:
        low = max(high - 2 * half, -LARGEST)
    if end is None and start is not None and high <= low:
        high = min(low + 2 * half, LARGEST)
    if not low < high:
        raise DerivcliError(f"--from must be below --to, got the interval [{low:g}, {high:g}]")
    return low, high


def _sample(setup: Setup, variable: str, start: float, end: float, samples: int
            ) -> tuple[list[float], list[float], list[float]]:
    """f and f' on the grid: one batched pass where every step is elementwise (the Program broadcasts),
    point by point where a whole-tensor operation (sum, dot, …) would mix the batch."""
    import torch

    from ...differentiate.autograd import gradient

    index = setup.variables.index(variable)
    if math.isfinite(end - start):
        grid = torch.linspace(start, end, samples, dtype=setup.dtype)
    else:  # wider than float64 holds (-1e308 to 1e308): weigh the ends instead of stepping by inf
        weights = torch.linspace(0, 1, samples, dtype=torch.float64)
        grid = (start * (1 - weights) + end * weights).to(setup.dtype)
    fixed = [value.detach() for value in setup.inputs]
    if not _has_tensor_functions(setup.parsed.expr):
        xs = grid.clone().requires_grad_(True)
        inputs = fixed[:index] + [xs] + fixed[index + 1:]
        ys = setup.program(inputs, dtype=setup.dtype, device=setup.device)
        if ys.shape == xs.shape or ys.dim() == 0:
            ys = ys.expand(samples)
            if ys.requires_grad:
                (dys,) = torch.autograd.grad(ys, xs, torch.ones_like(ys), allow_unused=True, materialize_grads=True)
            else:
                dys = torch.zeros_like(grid)
            return grid.tolist(), _finite_or_nan(ys), _finite_or_nan(dys)
    f: list[float] = []
    df: list[float] = []
    for x in grid:
        inputs = fixed[:index] + [x.clone().requires_grad_(True)] + fixed[index + 1:]
        value, (slope,) = gradient(setup.program, inputs, [index], setup.dtype, setup.device)
        f.append(float(value.detach()))
        df.append(float(slope))
    return grid.tolist(), _nan_for_inf(f), _nan_for_inf(df)


def _has_tensor_functions(expr: Any) -> bool:
    import sympy as sp

    from ...table.sympy_forms import TensorFunction

    return any(isinstance(node, TensorFunction) for node in sp.preorder_traversal(expr))


def _finite_or_nan(values: torch.Tensor) -> list[float]:
    return _nan_for_inf(values.detach().tolist())


def _nan_for_inf(values: list[float]) -> list[float]:
    return [v if math.isfinite(v) else math.nan for v in values]


# The wire contract of this module's to_json: tests/schema_build.py gathers every module's into
# derivcli/schemas/derivcli.schema.json (its $defs; JSON_OUTPUTS also join its root).
JSON_SCHEMA = {
    "plot": {
        "type": "object",
        "required": ["expression", "variable", "point", "value", "slope", "interval", "x", "f", "df", "warnings"],
        "properties": {
            "point": {"$ref": "#/$defs/by_name"}, "value": {"$ref": "#/$defs/number"},
            "x": {"type": "array", "items": {"$ref": "#/$defs/number"}},
            "f": {"type": "array", "items": {"$ref": "#/$defs/number"}},
            "df": {"type": "array", "items": {"$ref": "#/$defs/number"}}, "analysis": {"$ref": "#/$defs/analyze"},
            "warnings": {"$ref": "#/$defs/warnings"},
        },
    },
}
JSON_OUTPUTS = ("plot",)
