"""Gradient descent from a point: the tutorials' training loop, with torch.optim, on any expression.

`minimize` descends the differentiated variables (scalars, vectors or matrices) and records a trace of
value, point and gradient norm.  It never raises for a run that goes wrong numerically: a value or
gradient that becomes inf/NaN (or a value that grows 1e10-fold, the usual sign of too large a learning
rate) ends the run as `diverged`, with the reason in `stopped`, so the CLI can warn and still show the
trace that led there.  A run that cannot move any more (STALL_STEPS updates in a row that leave the
point exactly where it was) ends as `stalled` instead of spending its remaining steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import DerivcliError
from ..results import Number, ParseInfo, to_plain

if TYPE_CHECKING:
    import torch

OPTIMIZERS = ("sgd", "momentum", "adam", "lbfgs")
GROWTH_LIMIT = 1e10  # a value this many times larger than at the start (and than 1) counts as diverged
# This many updates in a row that leave the point exactly where it was: the run is stuck, so it stops.
# Under SGD that is a gradient of exactly 0 (dead ReLU units, a stationary point) or steps too small to
# change the point's floats, and either lasts for ever.  Not "a gradient of 0" alone: momentum and Adam
# still move on it, across a flat piece and out the other side.  Not a value that stays the same: that
# too happens while moving across a flat piece.
STALL_STEPS = 3
# How a run ended: `status` in the result and its JSON; `stopped` starts with the word for it.
STATUSES = {"converged": "converged", "stalled": "stalled", "diverged": "diverged", "max_steps": "not converged"}
# Without --tol a run converges once the gradient norm falls below √ε of the dtype (1.5e-8 in float64,
# 3.5e-4 in float32) times max(1, the gradient norm at the start): as small as round-off lets a gradient
# get relative to where the run began.  --tol 0 runs every step.  A gradient of exactly 0 is left to the
# stall test, which names its likely cause (dead ReLU units are no minimum; momentum crosses flat pieces).
DEFAULT_TOL_TEXT = "sqrt(eps)*max(1, the gradient norm at the start)"


@dataclass
class TraceStep:
    """The state after `step` updates: the value, the descended variables and the gradient norm there."""

    step: int
    value: float
    point: dict[str, Number]
    grad_norm: float

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "value": self.value, "point": dict(self.point),
                "grad_norm": self.grad_norm}


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
    status: str  # a key of STATUSES
    stopped: str  # why the run ended, in words, starting with STATUSES[status]
    trace: list[TraceStep]
    parse: ParseInfo
    warnings: list[str] = field(default_factory=list)
    tol: float | None = None  # the tolerance on the gradient norm the run used
    tol_default: bool = False  # … chosen by derivcli (no --tol given), see DEFAULT_TOL_TEXT

    @property
    def converged(self) -> bool:
        """A --tol test passed."""
        return self.status == "converged"

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

    def to_json(self, explain_parse: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "expression": self.expression,
            "optimizer": self.optimizer,
            "lr": self.lr,
            "dtype": self.dtype,
            "start": dict(self.start),
            "point": dict(self.point),
            "held": dict(self.held),
            "value": self.value,
            "grad_norm": self.grad_norm,
            "steps": self.steps,
            "converged": self.converged,
            "diverged": self.diverged,
            "status": self.status,
            "stopped": self.stopped,
            "trace": [entry.to_json() for entry in self.trace],
            "tol": self.tol,
            "tol_default": self.tol_default,
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
    the gradient norm or the size of an update falls below it; without, once the gradient norm falls
    below the default (DEFAULT_TOL_TEXT); `tol=0` runs every step.  It stops (stalled) when it cannot
    move any more.  The trace holds every `trace_every`-th state (step 0 is the start) and always the last.
    `progress(done, steps)` is called after each update.
    """
    import torch

    from ..api import prepare

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
    watch = _Watch(steps, tol, _zero_gradient_cause(setup.parsed.expr), math.sqrt(torch.finfo(setup.dtype).eps))
    last_step_size: float | None = None
    done = 0
    while True:
        value, grad_norm = run.evaluate()
        ending = watch.ending(value, grad_norm, done, last_step_size)
        if done % trace_every == 0 or ending:  # (a point is a nested list: only made when kept)
            trace.append(TraceStep(done, value, {name: to_plain(p) for name, p in zip(setup.wrt, params)},
                                   grad_norm))
        if ending is not None:
            status, reason = ending
            break
        before = [p.detach().clone() for p in params]
        with torch.no_grad():
            update()
            last_step_size = _norm([p - b for p, b in zip(params, before)])
        done += 1
        if progress is not None:
            progress(done, steps)

    stopped = f"{STATUSES[status]}: {reason}"
    warnings = list(setup.warnings)
    if status == "diverged":
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
        status=status,
        stopped=stopped,
        trace=trace,
        parse=setup.parse_info(),
        warnings=warnings,
        tol=watch.tol,
        tol_default=tol is None,
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
        raise DerivcliError(f"--lr (the learning rate) must be a positive number, got {lr!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise DerivcliError(f"--steps must be a whole number >= 0, got {steps!r}")
    if steps > MAX_STEPS:
        raise DerivcliError(f"--steps must be at most {MAX_STEPS:,}, got {steps:,}",
                            hint="a run that needs more is better restarted from where this one ends")
    if tol is not None and not (math.isfinite(tol) and tol >= 0):
        raise DerivcliError(f"--tol must be a number >= 0, got {tol!r}")
    if isinstance(trace_every, bool) or not isinstance(trace_every, int) or trace_every < 1:
        raise DerivcliError(f"--every (trace_every) must be a whole number >= 1, got {trace_every!r}")


class _Run:
    """Evaluates the program at the current point and leaves the gradient in each parameter's .grad."""

    def __init__(self, program: Any, inputs: list[torch.Tensor], params: list[torch.Tensor], dtype: torch.dtype,
                 device: torch.device) -> None:
        self.program, self.inputs, self.params, self.dtype, self.device = program, inputs, params, dtype, device

    def closure(self) -> torch.Tensor:
        import torch

        from ..differentiate.autograd import scalar_output

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


class _Watch:
    """Decides, state by state, whether the run ends here: (status, reason) or None to go on."""

    def __init__(self, steps: int, tol: float | None, zero_gradient_cause: str, root_eps: float) -> None:
        """`tol` None: the default, √ε (`root_eps`) times max(1, the first gradient norm)."""
        self.steps, self.zero_gradient_cause = steps, zero_gradient_cause
        self.given = tol is not None
        self.tol: float | None = tol
        self.root_eps = root_eps
        self.first_value: float | None = None
        self.still = 0  # updates in a row that left the point exactly where it was

    def ending(self, value: float, grad_norm: float, done: int, last_step_size: float | None
               ) -> tuple[str, str] | None:
        self.first_value = value if self.first_value is None else self.first_value
        self.still = self.still + 1 if last_step_size == 0 else 0
        diverged = _divergence(value, grad_norm, self.first_value, done)
        if diverged:
            return "diverged", diverged
        if self.tol is None:  # the first state: the default scales with its gradient
            self.tol = self.root_eps * max(1.0, grad_norm)
        tol = self.tol
        named = f"tol {tol:g}" if self.given else f"the default tolerance {tol:.3g} ({DEFAULT_TOL_TEXT})"
        if grad_norm < tol and (self.given or grad_norm > 0):  # (an exact 0 by default: see the stall below)
            return "converged", f"the gradient norm {grad_norm:.3g} is below {named}"
        if self.given and last_step_size is not None and last_step_size < tol:
            return "converged", f"the last step {last_step_size:.3g} is below {named}"
        if self.still >= STALL_STEPS and grad_norm == 0:
            return "stalled", f"the gradient is 0 ({self.zero_gradient_cause}) since step {done - STALL_STEPS}"
        if self.still >= STALL_STEPS:
            return "stalled", f"the point and its value {value:.6g} are unchanged since step {done - STALL_STEPS}"
        if done == self.steps:
            unreached = f" without reaching {named}" if tol > 0 else ""
            return "max_steps", f"ran all {self.steps} steps{unreached}"
        return None


def _zero_gradient_cause(expr: Any) -> str:
    """The likely reason for a gradient of exactly 0: ReLU units that are off for every input give one,
    as does a stationary point of any function."""
    import sympy as sp

    from ..table.sympy_forms import relu

    if any(isinstance(node, relu) for node in sp.preorder_traversal(expr)):
        return "dead ReLU units?"
    return "a stationary point, or a flat piece of the function"


def _divergence(value: float, grad_norm: float, first_value: float, step: int) -> str:
    """Why the run has diverged at this step, or '' while it has not."""
    where = "at the starting point" if step == 0 else f"at step {step}"
    if not math.isfinite(value):
        return f"the value became {value} {where}"
    if not math.isfinite(grad_norm):
        return f"the gradient became {grad_norm} {where}"
    limit = GROWTH_LIMIT * max(1.0, abs(first_value))
    if value - first_value > limit:
        return f"the value grew from {first_value:.6g} to {value:.6g} by step {step}"
    return ""


# The wire contract of this module's to_json: tests/schema_build.py gathers every module's into
# derivcli/schemas/derivcli.schema.json (its $defs; JSON_OUTPUTS also join its root).
JSON_SCHEMA = {
    "minimize": {
        "type": "object",
        "required": [
            "expression", "optimizer", "dtype", "start", "point", "value", "steps", "converged", "status", "stopped",
            "trace", "warnings",
        ],
        "properties": {
            "tol": {"$ref": "#/$defs/number"}, "tol_default": {"type": "boolean"}, "start": {"$ref": "#/$defs/by_name"},
            "point": {"$ref": "#/$defs/by_name"}, "held": {"$ref": "#/$defs/by_name"},
            "value": {"$ref": "#/$defs/number"}, "grad_norm": {"$ref": "#/$defs/number"}, "status": {"type": "string"},
            "trace": {
                "type": "array",
                "items": {
                    "type": "object", "required": ["step", "value", "point", "grad_norm"],
                    "properties": {"point": {"$ref": "#/$defs/by_name"}},
                },
            },
            "warnings": {"$ref": "#/$defs/warnings"},
        },
    },
}
JSON_OUTPUTS = ("minimize",)
