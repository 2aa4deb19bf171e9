"""Gradient descent from a point: the tutorials' training loop, with torch.optim, on any expression.

`minimize` descends the differentiated variables (scalars, vectors or matrices) and records a trace of
value, point and gradient norm.  It never raises for a run that goes wrong numerically: a value or
gradient that becomes inf/NaN (or a value that grows 1e10-fold, the usual sign of too large a learning
rate) ends the run with `diverged` set and the reason in `stopped`, so the CLI can warn and still show
the trace that led there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import DerivcliError
from .results import Number, ParseInfo, json_number, json_numbers, to_plain

if TYPE_CHECKING:
    import torch

OPTIMIZERS = ("sgd", "momentum", "adam", "lbfgs")
GROWTH_LIMIT = 1e10  # a value this many times larger than at the start (and than 1) counts as diverged


@dataclass
class TraceStep:
    """The state after `step` updates: the value, the descended variables and the gradient norm there."""

    step: int
    value: float
    point: dict[str, Number]
    grad_norm: float

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "value": json_number(self.value), "point": json_numbers(self.point),
                "grad_norm": json_number(self.grad_norm)}


@dataclass
class MinimizeResult:
    expression: str
    optimizer: str  # one of OPTIMIZERS, or "manual" for the hand-written SGD update
    lr: float
    dtype: str
    device: str
    start: dict[str, Number]  # the descended variables where the run began
    point: dict[str, Number]  # … and where it ended
    held: dict[str, Number]  # variables held constant (not in wrt)
    value: float  # at `point`
    grad_norm: float  # at `point`
    steps: int  # updates made
    converged: bool  # a --tol test passed
    diverged: bool
    stopped: str  # why the run ended, in words
    trace: list[TraceStep]
    parse: ParseInfo
    warnings: list[str] = field(default_factory=list)

    def to_json(self, explain_parse: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "expression": self.expression,
            "optimizer": self.optimizer,
            "lr": self.lr,
            "dtype": self.dtype,
            "start": json_numbers(self.start),
            "point": json_numbers(self.point),
            "held": json_numbers(self.held),
            "value": json_number(self.value),
            "grad_norm": json_number(self.grad_norm),
            "steps": self.steps,
            "converged": self.converged,
            "diverged": self.diverged,
            "stopped": self.stopped,
            "trace": [entry.to_json() for entry in self.trace],
            "warnings": self.warnings,
        }
        if explain_parse:
            data["parse"] = self.parse.to_json()
        return data


def minimize(
    expression: str,
    point: Mapping[str, Any],
    *,
    wrt: Sequence[str] | None = None,
    optimizer: str = "sgd",
    lr: float = 0.1,
    steps: int = 100,
    tol: float | None = None,
    manual: bool = False,
    trace_every: int = 1,
    dtype: str = "float64",
    device: str = "cpu",
    progress: Callable[[int, int], None] | None = None,
) -> MinimizeResult:
    """Descend `expression` from `point` for up to `steps` updates.

    Variables not in `wrt` (default: all) are held constant.  `manual` runs the tutorials' hand-written
    update ``x -= lr * x.grad`` instead of torch.optim.SGD.  With `tol`, the run stops (converged) once
    the gradient norm or the size of an update falls below it.  The trace holds every `trace_every`-th
    state (step 0 is the start) and always the last.  `progress(done, steps)` is called after each update.
    """
    import torch

    from .api import prepare

    optimizer = optimizer.lower()
    _check_options(optimizer, lr, steps, tol, manual, trace_every)
    setup = prepare(expression, point, wrt, dtype, device)
    if not setup.wrt:
        raise DerivcliError("there is nothing to minimize over: the expression has no variables")
    params = [setup.inputs[i] for i in setup.wrt_indices]
    held = {name: to_plain(setup.values[name]) for name in setup.variables if name not in setup.wrt}
    run = _Run(setup.program, setup.inputs, params, setup.dtype, setup.device)
    update = _updater(optimizer, manual, params, lr, run)

    trace: list[TraceStep] = []
    start = {name: to_plain(p) for name, p in zip(setup.wrt, params)}
    first_value: float | None = None
    last_step_size: float | None = None
    done = 0
    converged = diverged = False
    while True:
        value, grad_norm = run.evaluate()
        first_value = value if first_value is None else first_value
        stopped = _divergence(value, grad_norm, first_value, done)
        if stopped:
            diverged = True
        elif tol is not None and grad_norm < tol:
            converged, stopped = True, f"converged: the gradient norm {grad_norm:.3g} is below tol {tol:g}"
        elif tol is not None and last_step_size is not None and last_step_size < tol:
            converged, stopped = True, f"converged: the last step {last_step_size:.3g} is below tol {tol:g}"
        elif done == steps:
            stopped = f"ran all {steps} steps" + ("" if tol is None else f" without reaching tol {tol:g}")
        if done % trace_every == 0 or stopped:  # (a point is a nested list: only made when kept)
            trace.append(TraceStep(done, value, {name: to_plain(p) for name, p in zip(setup.wrt, params)},
                                   grad_norm))
        if stopped:
            break
        before = [p.detach().clone() for p in params]
        with torch.no_grad():
            update()
            last_step_size = _norm([p - b for p, b in zip(params, before)])
        done += 1
        if progress is not None:
            progress(done, steps)

    warnings = list(setup.warnings)
    if diverged:
        warnings.append(f"{stopped}; try a smaller learning rate than {lr:g}")
    return MinimizeResult(
        expression=setup.parsed.canonical,
        optimizer="manual" if manual else optimizer,
        lr=lr,
        dtype=dtype,
        device=str(setup.device),
        start=start,
        point=trace[-1].point,
        held=held,
        value=trace[-1].value,
        grad_norm=trace[-1].grad_norm,
        steps=done,
        converged=converged,
        diverged=diverged,
        stopped=stopped,
        trace=trace,
        parse=setup.parse_info(),
        warnings=warnings,
    )


MAX_STEPS = 1_000_000


def _check_options(optimizer: str, lr: float, steps: int, tol: float | None, manual: bool, trace_every: int
                   ) -> None:
    if optimizer not in OPTIMIZERS:
        raise DerivcliError(f"unknown optimizer '{optimizer}'", hint=f"use one of {', '.join(OPTIMIZERS)}")
    if manual and optimizer != "sgd":
        raise DerivcliError(f"--manual is the hand-written SGD update; it cannot run {optimizer}",
                            hint="leave out --optimizer, or leave out --manual")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise DerivcliError(f"the learning rate must be a positive number, got {lr!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise DerivcliError(f"steps must be a whole number >= 0, got {steps!r}")
    if steps > MAX_STEPS:
        raise DerivcliError(f"steps must be at most {MAX_STEPS:,}, got {steps:,}",
                            hint="a run that needs more is better restarted from where this one ends")
    if tol is not None and not (math.isfinite(tol) and tol >= 0):
        raise DerivcliError(f"tol must be a number >= 0, got {tol!r}")
    if isinstance(trace_every, bool) or not isinstance(trace_every, int) or trace_every < 1:
        raise DerivcliError(f"trace_every must be a whole number >= 1, got {trace_every!r}")


class _Run:
    """Evaluates the program at the current point and leaves the gradient in each parameter's .grad."""

    def __init__(self, program: Any, inputs: list[torch.Tensor], params: list[torch.Tensor], dtype: torch.dtype,
                 device: torch.device) -> None:
        self.program, self.inputs, self.params, self.dtype, self.device = program, inputs, params, dtype, device

    def closure(self) -> torch.Tensor:
        import torch

        from .derivatives import scalar_output

        for param in self.params:
            param.grad = None
        value = scalar_output(self.program(self.inputs, dtype=self.dtype, device=self.device))
        if value.requires_grad:
            value.backward()
        for param in self.params:  # a variable the value does not depend on has gradient 0
            if param.grad is None:
                param.grad = torch.zeros_like(param)
        return value.detach()

    def evaluate(self) -> tuple[float, float]:
        value = float(self.closure())
        return value, _norm([p.grad for p in self.params if p.grad is not None])


def _updater(optimizer: str, manual: bool, params: list[torch.Tensor], lr: float, run: _Run) -> Callable[[], None]:
    """One update from the gradients that `run.evaluate` left in .grad (L-BFGS evaluates its own)."""
    import torch

    if manual:
        def hand_written() -> None:
            for x in params:  # the tutorials' loop, verbatim
                assert x.grad is not None
                x -= lr * x.grad
                x.grad.zero_()

        return hand_written
    chosen: torch.optim.Optimizer
    if optimizer == "sgd":
        chosen = torch.optim.SGD(params, lr=lr)
    elif optimizer == "momentum":
        chosen = torch.optim.SGD(params, lr=lr, momentum=0.9)
    elif optimizer == "adam":
        chosen = torch.optim.Adam(params, lr=lr)
    else:
        # One L-BFGS iteration per step, so steps mean the same for every optimizer.  max_eval must be
        # given: its default (max_iter * 5 // 4 = 1) leaves the line search no evaluations, and no step.
        # Its own tolerances (1e-7, 1e-9) would freeze it near 1e-5 of a minimum: stopping is our `tol`'s job.
        lbfgs = torch.optim.LBFGS(params, lr=lr, max_iter=1, max_eval=26, line_search_fn="strong_wolfe",
                                  tolerance_grad=0.0, tolerance_change=torch.finfo(params[0].dtype).eps)

        def lbfgs_step() -> None:
            with torch.enable_grad():
                lbfgs.step(run.closure)

        return lbfgs_step

    def step() -> None:
        chosen.step()

    return step


def _norm(tensors: Sequence[torch.Tensor]) -> float:
    import torch

    if not tensors:
        return 0.0
    return float(torch.linalg.vector_norm(torch.cat([t.detach().reshape(-1) for t in tensors])))


def _divergence(value: float, grad_norm: float, first_value: float, step: int) -> str:
    """Why the run has diverged at this step, or '' while it has not."""
    where = "at the starting point" if step == 0 else f"at step {step}"
    if not math.isfinite(value):
        return f"diverged: the value became {value} {where}"
    if not math.isfinite(grad_norm):
        return f"diverged: the gradient became {grad_norm} {where}"
    limit = GROWTH_LIMIT * max(1.0, abs(first_value))
    if value - first_value > limit:
        return f"diverged: the value grew from {first_value:.6g} to {value:.6g} by step {step}"
    return ""
