"""The finite-difference check of an autograd gradient: forward and central differences over a table of
steps, each row's regime (truncation or round-off), and the verdict on the plateau where the theory's error
estimate says the differences are to be trusted."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from ..errors import DerivcliError
from ..results import DifferenceRow, DifferenceTable, FdVerdict, to_plain

if TYPE_CHECKING:
    from ..differentiate.setup import Setup

DEFAULT_STEPS = tuple(float(f"1e-{k}") for k in range(1, 11))
MAX_STEP = 1e100  # h**2 and h**3 in the error estimates must stay finite
STEPS_RULE = "--fd-steps: give 1 to 40 step sizes, each above 0 and at most 1e100"


def parse_steps(text: str) -> tuple[float, ...]:
    """`--fd-steps`: a comma list (0.1,0.01) or a decade range (1e-1:1e-12), each step in (0, 1e100]."""
    try:
        if ":" in text:
            start, end = (float(part) for part in text.split(":"))
            if not (0 < end <= start):
                raise ValueError
            if start > MAX_STEP:
                raise DerivcliError(STEPS_RULE)
            first, last = round(math.log10(start)), round(math.log10(end))
            steps = tuple(float(f"1e{k}") for k in range(first, max(last, first - 40) - 1, -1))
        else:
            steps = tuple(float(part) for part in text.split(","))
    except (ValueError, OverflowError):
        raise DerivcliError(f"--fd-steps: cannot read '{text[:40]}'",
                            hint="give a range like 1e-1:1e-10 or a list like 0.1,0.01,0.001") from None
    if not steps or len(steps) > 40 or not all(0 < h <= MAX_STEP for h in steps):
        raise DerivcliError(STEPS_RULE)
    return steps


def finite_differences(setup: Setup, autograd: dict[str, torch.Tensor], value: float,
                       steps: Sequence[float], kinks: Sequence[str] = (), non_smooth: bool = False) -> DifferenceTable:
    """Forward and central differences at each step h, against autograd, with the regime of each row.

    A scalar variable moves along its axis; a tensor variable along a fixed random unit direction v
    (seeded, so runs repeat), comparing (f(x + hv) - f(x))/h with autograd's gradient·v.  The regime
    compares estimates of the two errors: truncation |f''|h/2 (forward) or |f'''|h²/6 (central) against
    round-off ε(2δ + |x||f'|)/h, with f'' and f''' from nested autograd along the same direction, and δ
    the rounding that f's steps carry to it (`carried_rounding`: not |f|, which is 0 where f is, though
    f(x ± h) is computed through steps of size 1).
    """
    from ..differentiate.autograd import along

    dtype, device = setup.dtype, setup.device
    epsilon = torch.finfo(dtype).eps
    plain = [value_.detach() for value_ in setup.inputs]
    forward: dict[float, dict[str, float]] = {h: {} for h in steps}
    backward: dict[float, dict[str, float]] = {h: {} for h in steps}
    central: dict[float, dict[str, float]] = {h: {} for h in steps}
    expected: dict[float, dict[str, float]] = {h: {} for h in steps}  # the theory's central error at h
    gap: dict[float, dict[str, float]] = {h: {} for h in steps}  # what forward - backward may be, if smooth
    regime: dict[float, dict[str, dict[str, str]]] = {h: {"forward": {}, "central": {}} for h in steps}
    theoretical: dict[str, dict[str, float]] = {"forward": {}, "central": {}}
    reference: dict[str, float] = {}
    directions: dict[str, Any] = {}
    generator = torch.Generator().manual_seed(0)
    carried = carried_rounding(setup, value)
    for name in setup.wrt:
        index = setup.variables.index(name)
        x = plain[index]
        if x.dim() == 0:
            direction = torch.ones((), dtype=dtype, device=device)
        else:
            direction = torch.randn(x.shape, generator=generator, dtype=torch.float64).to(dtype=dtype, device=device)
            direction /= torch.linalg.vector_norm(direction)
            directions[name] = to_plain(direction)
        reference[name] = float((autograd[name].detach() * direction).sum())

        def at(shifted: torch.Tensor, index: int = index) -> float:
            values = list(plain)
            values[index] = shifted
            with torch.no_grad():
                return float(setup.program(values, dtype=dtype, device=device).reshape(()))

        f_x = at(x)
        _, second, third = along(setup.program, plain, index, direction, dtype, device)
        size = float(x.abs().max())
        theoretical["forward"][name] = math.sqrt(epsilon) * max(size, 1.0)
        theoretical["central"][name] = epsilon ** (1 / 3) * max(size, 1.0)
        roundoff = epsilon * (2 * carried + size * abs(reference[name]))
        for step in steps:
            h = torch.tensor(step, dtype=dtype, device=device)
            f_plus, f_minus = at(x + h * direction), at(x - h * direction)
            forward[step][name] = float((torch.tensor(f_plus, dtype=dtype) - f_x) / h.cpu())
            backward[step][name] = float((f_x - torch.tensor(f_minus, dtype=dtype)) / h.cpu())
            central[step][name] = float((torch.tensor(f_plus, dtype=dtype) - f_minus) / (2 * h.cpu()))
            expected[step][name] = abs(third) * step**2 / 6 + roundoff / (2 * step)
            gap[step][name] = abs(second) * step + 2 * roundoff / step
            regime[step]["forward"][name] = _regime(abs(second) * step / 2, roundoff / step)
            regime[step]["central"][name] = _regime(abs(third) * step**2 / 6, roundoff / (2 * step))
    rows = [
        DifferenceRow(
            h=step,
            forward=forward[step],
            central=central[step],
            forward_error={n: abs(forward[step][n] - reference[n]) for n in setup.wrt},
            central_error={n: abs(central[step][n] - reference[n]) for n in setup.wrt},
            regime=regime[step],
            backward=backward[step],
            backward_error={n: abs(backward[step][n] - reference[n]) for n in setup.wrt},
        )
        for step in steps
    ]
    best = {scheme: {n: _best_step(rows, scheme, n) for n in setup.wrt} for scheme in ("forward", "central")}
    # a tensor variable's kink (found from the expression, `non_smooth`) is confirmed along its direction
    kinked = set(kinks) | {name for name in setup.wrt
                           if non_smooth and _one_sided_disagree(rows, name, gap, reference[name])}
    verdicts = {name: _verdict(rows, name, expected, epsilon, reference[name], kinked) for name in setup.wrt}
    return DifferenceTable(rows, best, theoretical, epsilon, reference, directions, verdicts)


def carried_rounding(setup: Setup, value: float) -> float:
    """Σ √n·|v·∂f/∂v| over every value v that f's steps compute from n arguments: each step rounds its
    value by about ε·|v| (a sum of n terms by about √n times that), which reaches f multiplied by ∂f/∂v
    (first-order rounding-error analysis; autograd gives every ∂f/∂v in one backward pass).  At least |f|."""
    leaves = [tensor.detach().requires_grad_(tensor.is_floating_point()) for tensor in setup.inputs]
    with torch.enable_grad():
        slots = setup.program.slots(leaves, setup.dtype, setup.device)
        base = len(setup.program.variables) + len(setup.program.constants)
        steps = [(slot, math.sqrt(max(1, len(arguments)))) for slot, (_, arguments)
                 in zip(slots[base:], setup.program.steps) if slot.requires_grad]
        output = slots[setup.program.output]
        if not steps or not output.requires_grad:
            return abs(value)
        adjoints = torch.autograd.grad(output.sum(), [step for step, _ in steps], allow_unused=True)
    terms = [weight * (step.detach() * adjoint).abs().sum()
             for (step, weight), adjoint in zip(steps, adjoints) if adjoint is not None]
    total = float(sum((term for term in terms if bool(torch.isfinite(term))), torch.zeros((), dtype=torch.float64)))
    return max(total, abs(value)) if math.isfinite(value) else total


FD_SLACK = 10.0  # how far past the theory's error estimate the best difference may be and still agree


def _one_sided_disagree(rows: Sequence[DifferenceRow], name: str, gap: dict[float, dict[str, float]],
                        reference: float) -> bool:
    """A kink seen in the table itself (also along a tensor variable's direction): forward and backward
    quotients stay apart at every step where a smooth function would bring them together."""
    apart = [abs(row.forward[name] - row.backward[name]) > 100 * gap[row.h][name] + 1e-6 * max(1.0, abs(reference))
             for row in rows if math.isfinite(row.forward[name]) and math.isfinite(row.backward[name])
             and gap[row.h][name] < 1e-3 * max(1.0, abs(reference))]
    return bool(apart) and all(apart)


def _verdict(rows: Sequence[DifferenceRow], name: str, expected: dict[float, dict[str, float]], epsilon: float,
             reference: float, kinks: set[str]) -> FdVerdict:
    """Whether the differences agree with autograd, judged where they agree with each other.

    The plateau is the widest run of consecutive steps whose central differences agree within what the
    theory allows each (truncation plus round-off, with slack): there the differences are what the
    theory says they are.  On it, the step the theory trusts most is judged, by Richardson's
    extrapolation with the next larger step where truncation dominates there, against the theory's
    allowance plus how far its neighbours on the plateau lie.  Never the step closest to autograd: a
    lucky step whose truncation cancels a wrong derivative would pass it."""
    if name in kinks:
        return FdVerdict(None, math.nan, math.nan, math.nan, "kink")
    ordered = sorted((row for row in rows if math.isfinite(row.central[name])), key=lambda row: -row.h)
    if not ordered:
        return FdVerdict(None, math.nan, math.nan, math.nan, "not finite")
    central = [row.central[name] for row in ordered]
    allowed = [FD_SLACK * expected[row.h][name] + 100 * epsilon * max(1.0, abs(value))
               for row, value in zip(ordered, central)]
    together = [abs(central[k] - central[k + 1]) <= allowed[k] + allowed[k + 1] for k in range(len(ordered) - 1)]
    run = _widest_run(together)
    first, last = run if run is not None else (0, len(ordered) - 1)
    plateau = None if run is None else (ordered[first].h, ordered[last].h)
    k = min(range(first, last + 1), key=lambda i: (expected[ordered[i].h][name], i))
    estimate, method = central[k], "central"
    if k > first and ordered[k].regime["central"][name] == "truncation":
        q = (ordered[k - 1].h / ordered[k].h) ** 2
        estimate, method = central[k] + (central[k] - central[k - 1]) / (q - 1), "richardson"
    if not math.isfinite(reference):
        verdict = "non-finite" if plateau is not None else "not finite"
        return FdVerdict(False if plateau is not None else None, ordered[k].h, math.inf, expected[ordered[k].h][name],
                         verdict, plateau, estimate, method)
    error = abs(estimate - reference)
    # what the data itself says of the judged step: how far its neighbours lie.  The theory's allowance
    # assumes f smooth to third order; where it is not (softsign at 0, min(x, 2x)·x at 0) the differences
    # converge as h, and one that does is off by about its distance to the next
    spread = max((abs(central[j] - central[k]) for j in (k - 1, k + 1) if first <= j <= last), default=0.0)
    agree = error <= allowed[k] + 2 * spread
    return FdVerdict(agree, ordered[k].h, error, expected[ordered[k].h][name], "agree" if agree else "DISAGREE",
                     plateau, estimate, method)


def _widest_run(together: Sequence[bool]) -> tuple[int, int] | None:
    """The first and last step of the widest run of steps whose neighbours agree (the first, where
    several are as wide; None where no two neighbours do)."""
    best: tuple[int, int] | None = None
    start = None
    for position, agrees in enumerate([*together, False]):
        if agrees and start is None:
            start = position
        elif not agrees and start is not None:
            if best is None or position - start > best[1] - best[0]:
                best = (start, position)
            start = None
    return best


def _regime(truncation: float, roundoff: float) -> str:
    return "truncation" if truncation >= roundoff else "round-off"


def _best_step(rows: Sequence[DifferenceRow], scheme: str, name: str) -> float:
    errors = [(getattr(row, f"{scheme}_error")[name], row.h) for row in rows]
    finite = [(error, h) for error, h in errors if math.isfinite(error)]
    return min(finite)[1] if finite else math.nan
