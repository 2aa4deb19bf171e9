"""`derivcli check`: the gradient of the user's own PyTorch code against the truth.

The callable runs in the dtype under test and its output is reduced to one number F = sum(out * r), r a
fixed random tensor (1 for a scalar output), so autograd gives one vector-Jacobian product per input and
parameter.  The reference is float64 whatever that dtype: the same code re-run on the same values cast to
float64 (the module's parameters too), differentiated by central differences on the plateau of steps with
Richardson extrapolation (`gradcheck_reference`).  Two comparisons cover the gradient:

* the formula: autograd's float64 gradient g against the differences, first along DIRECTIONS directions v
  of random signs (⟨g, v⟩ against the derivative of F along v: a few runs whatever the size), and only
  where one disagrees, by bisection along the same signs: a block's projection is the sum of its halves',
  so one run of the left half gives both, down to single elements.  For an error vector e, ⟨e, v⟩ has
  deviation ‖e‖₂: rounding stays within SIGMAS deviations of its norm, while one wrong element in a million
  stands out of it;
* the dtype: the gradient in the dtype under test against the float64 one, element by element (both are
  at hand), with the dtype's own tolerance.

The worst element found is then checked alone against its own difference quotient: its verdict is the
input's.  `--order 2` does the same to G = ⟨∇F, u⟩ (u fixed and random): double backward against
differences of gradients, as gradgradcheck.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import DerivcliError
from ..results import SEVERITY
from .problem import Problem
from .reference import Derivative, directional
from .result import CheckResult, ElementCheck, NameCheck, Projection
from .usercode import Callee

DTYPES = {"float64": torch.float64, "float32": torch.float32, "bfloat16": torch.bfloat16}
# (rtol, atol) per dtype; atol is relative to the largest element of the whole gradient (all names)
TOLERANCES = {torch.float64: (1e-8, 1e-10), torch.float32: (1e-4, 1e-5), torch.bfloat16: (5e-2, 2e-2)}
# float64 rounding allowed per element in a projection: tight, so that the projection finds wrong elements as
# small as the reference can resolve; it only leads the search, the verdict is each element's own
SEARCH_TOLERANCE = (1e-12, 1e-13)
DIRECTIONS = 2  # random projections per input before it is called right
SIGMAS = 6.0  # a projection of in-tolerance errors passes 6 standard deviations out (false alarm: 2e-9)
MARGIN = 8.0  # times the reference's own error estimate
KEEP = 2  # failing blocks followed down at each level of the bisection
MAX_FULL = 4096  # --full: elements compared one by one, in all


def check(callee: Callee, bindings: dict[str, Any], input_value: Any = None, wrt: list[str] | None = None,
          dtype: str = "float32", device: str = "cpu", order: int = 1, full: bool = False) -> CheckResult:
    """Check the gradient (order 1) or the gradient's gradient (order 2) of each input and parameter."""
    if order not in (1, 2):
        raise DerivcliError(f"--order {order}: check compares first or second derivatives", hint="use 1 or 2")
    problem = Problem(callee, callee.bind(bindings, input_value), wrt, _dtype(dtype), _device(device), order)
    if full and problem.elements() > MAX_FULL:
        raise DerivcliError(f"--full compares every element: {problem.elements():,} here, at most {MAX_FULL:,}",
                            hint="leave out --full: random projections and blocks find the wrong elements")
    outputs, gradients = problem.gradients(problem.dtype)
    result = CheckResult(callee.target, callee.kind, dtype, str(problem.device), order,
                         [list(output.shape) for output in outputs], problem.projected, [],
                         notes=[*callee.notes, *problem.notes])
    if order == 2:
        result.notes.append("second derivatives: the gradient's own derivative, double backward against "
                            "differences of gradients (gradgradcheck); run without --order for the first")
    if any(not bool(torch.isfinite(output).all()) for output in outputs):
        from .origin import forward_origin

        result.origin = forward_origin(lambda: problem.run(problem.dtype, problem.point[problem.dtype]),
                                       callee.module)
        result.names = [NameCheck(name, problem.kinds[name], problem.shape(name), "non-finite", None,
                                  gradients[name] is None) for name in problem.names]
        return result
    gradients64 = gradients if problem.dtype == torch.float64 else problem.gradients(torch.float64)[1]
    checker = Checker(problem, gradients, gradients64)
    if math.isfinite(checker.base):
        result.names = [checker.check_name(name, full) for name in problem.names]
    else:  # order 2 of a gradient that is not finite itself: nothing to differentiate
        result.names = [NameCheck(name, problem.kinds[name], problem.shape(name), "non-finite", None,
                                  gradients[name] is None) for name in problem.names]
    if not math.isfinite(checker.base) or any(not bool(torch.isfinite(checker.autograd[name]).all())
                                              for name in problem.names):
        from .origin import backward_origin

        leaves = problem.leaves(problem.dtype)
        result.origin = backward_origin(lambda: problem.run(problem.dtype, leaves),
                                        lambda outputs: problem.backward(outputs, problem.dtype, leaves), callee.module)
    result.evaluations = problem.evaluations
    return result


@dataclass
class BlockTest:
    """A projection of a gradient onto a direction of random signs on elements start..stop: autograd's
    ⟨g, v⟩ against the derivative of F along v."""

    start: int
    stop: int
    derivative: Derivative
    autograd: float
    tolerance: float

    @property
    def failed(self) -> bool:
        return self.excess > 1

    @property
    def excess(self) -> float:
        """How far past its tolerance the difference is (infinite where F has no derivative to compare)."""
        derivative = self.derivative
        if not (derivative.finite and math.isfinite(derivative.error)) or derivative.one_sided is not None:
            return math.inf
        difference = abs(self.autograd - derivative.value)
        return difference / self.tolerance if self.tolerance > 0 else math.inf if difference else 0.0


class Checker:
    """Each name's verdict from its gradients in the dtype under test and in float64."""

    def __init__(self, problem: Problem, gradients: dict[str, torch.Tensor | None],
                 gradients64: dict[str, torch.Tensor | None]) -> None:
        self.problem = problem
        self.missing = {name for name, gradient in gradients.items() if gradient is None}
        self.autograd = {name: _flat(gradients[name], problem.point[torch.float64][name]) for name in problem.names}
        self.autograd64 = {name: _flat(gradients64[name], problem.point[torch.float64][name])
                           for name in problem.names}
        self.near: float | None = None  # a step that worked: searched around first, the whole range if that fails
        self.largest: dict[str, float] = {}
        # the absolute tolerances' scale: rounding in one element comes from terms as large as the whole
        # gradient's (a bias's gradient is a sum that cancels), not from the element's own tensor alone
        self.scale = max(self._largest(name) for name in problem.names)
        self.work: dict[str, torch.Tensor] = {}  # a float64 copy of each tensor, moved a block at a time
        self.base = problem.value(problem.names[0], problem.point[torch.float64][problem.names[0]])
        if problem.failure is not None:  # it runs in the dtype under test, not in float64
            raise problem.failure

    def check_name(self, name: str, full: bool) -> NameCheck:
        autograd = self.autograd[name]
        check = NameCheck(name, self.problem.kinds[name], self.problem.shape(name), "agree", None,
                          name in self.missing)
        if full:
            check.elements = [self._element(name, index) for index in range(autograd.numel())]
            check.worst = _worst(check.elements)
            check.verdict = check.worst.verdict
            return check
        finite = torch.isfinite(autograd)
        if not bool(finite.all()):
            check.worst = self._element(name, int((~finite).nonzero()[0]))
            check.verdict = check.worst.verdict
            return check
        failed = self._projections(name) if autograd.numel() > 1 else None  # one element: checked alone below
        candidates = self._localize(name, *failed) if failed is not None else []
        candidates.append(self._candidate(name))
        check.worst = _worst([self._element(name, index) for index in dict.fromkeys(candidates)])
        check.verdict = check.worst.verdict
        test = failed[0] if failed is not None else None
        if test is not None and check.verdict == "agree" and test.derivative.one_sided is not None:
            check.verdict, check.worst = "kink", None  # no element to name: the projection's numbers
            check.projection = Projection(test.autograd, test.derivative.value, test.tolerance)
        return check

    def _projections(self, name: str) -> tuple[BlockTest, torch.Tensor] | None:
        """The first of DIRECTIONS random projections that fails (with its signs), else None."""
        for direction in range(DIRECTIONS):
            signs = (torch.randint(0, 2, (self.autograd[name].numel(),), generator=self.problem.generator,
                                   dtype=torch.float64) * 2 - 1).to(self.problem.device)
            searched = self.near is not None
            test = self._block(name, signs, 0, len(signs), "search" if direction == 0 else "fixed")
            if test.failed and searched:  # a failure is never a step's fault: search them all
                test = self._block(name, signs, 0, len(signs), "scan")
            if test.failed:
                return test, signs
        return None

    def _localize(self, name: str, test: BlockTest, signs: torch.Tensor) -> list[int]:
        """Bisection along the failing direction's own signs: a block's projection is the sum of its halves'
        (autograd's and the derivative's alike), so one run of the left half gives the right one too, and
        a failing block has a failing half.  The KEEP worst failing blocks of each level go on, down to
        single elements."""
        frontier = [test]
        found: list[int] = []
        while frontier:
            failing: list[BlockTest] = []
            for parent in frontier:
                if parent.stop - parent.start == 1:
                    found.append(parent.start)
                    continue
                left = self._block(name, signs, parent.start, (parent.start + parent.stop) // 2, "fixed")
                failing += [half for half in (left, self._rest(name, parent, left)) if half.failed]
            frontier = sorted(failing, key=lambda half: -half.excess)[:KEEP]
        return found

    def _block(self, name: str, signs: torch.Tensor, start: int, stop: int, search: str) -> BlockTest:
        """The projection on signs[start:stop]; search is `scan` (every step), `search` (from the step that
        worked last) or `fixed` (at that step alone)."""
        x = self.problem.point[torch.float64][name]
        scale = max(1.0, float(x.reshape(-1)[start:stop].abs().max()))
        derivative = directional(self._along(name, start, stop, signs[start:stop]), self.base, scale,
                                 None if search == "scan" else self.near, search == "fixed")
        if derivative.finite and math.isfinite(derivative.error):
            self.near = derivative.step
        return self._test(name, start, stop, float(self.autograd64[name][start:stop] @ signs[start:stop]),
                          derivative)

    def _rest(self, name: str, parent: BlockTest, left: BlockTest) -> BlockTest:
        """The right half's projection: the parent's minus the left half's."""
        one_sided = parent.derivative.one_sided if left.derivative.one_sided is None else None
        derivative = Derivative(parent.derivative.value - left.derivative.value,
                                parent.derivative.error + left.derivative.error, left.derivative.step, one_sided)
        return self._test(name, left.stop, parent.stop, parent.autograd - left.autograd, derivative)

    def _test(self, name: str, start: int, stop: int, autograd: float, derivative: Derivative) -> BlockTest:
        """The tolerance of a projection: float64 rounding within SEARCH_TOLERANCE of each element, summed
        along random signs (a deviation of their norm, SIGMAS of them), and the reference's error."""
        rtol, atol = SEARCH_TOLERANCE
        gradient = self.autograd64[name][start:stop]
        spread = rtol * float(gradient.norm()) + atol * self._largest(name) * math.sqrt(stop - start)
        margin = MARGIN * derivative.error if math.isfinite(derivative.error) else math.inf
        return BlockTest(start, stop, derivative, autograd, SIGMAS * spread + margin)

    def _candidate(self, name: str) -> int:
        """The element to check alone: the one farthest from the float64 gradient for its tolerance, or in
        float64 the largest."""
        autograd, autograd64 = self.autograd[name], self.autograd64[name]
        if self.problem.dtype == torch.float64:
            return int(autograd64.abs().argmax())
        rtol, atol = TOLERANCES[self.problem.dtype]
        allowed = rtol * autograd64.abs() + atol * self.scale + torch.finfo(torch.float64).tiny
        return int(((autograd - autograd64).abs() / allowed).argmax())

    def _element(self, name: str, index: int) -> ElementCheck:
        """One element against the derivative along it: around the step that worked, and over the whole
        range of steps wherever that does not agree."""
        x = self.problem.point[torch.float64][name]
        value = abs(float(x.reshape(-1)[index]))
        moved = self._along(name, index, index + 1, torch.ones(1, dtype=torch.float64, device=x.device))
        element = self._judge(name, index, directional(moved, self.base, max(1.0, value), self.near))
        if element.verdict != "agree" and self.near is not None:
            element = self._judge(name, index, directional(moved, self.base, max(1.0, value)))
        if element.verdict in ("non-finite", "kink") and 0 < value < 1:  # near the edge of f's domain (log x
            small = self._judge(name, index, directional(moved, self.base, value))  # at 1e-12): steps of its size
            element = small if small.verdict == "agree" else element
        return element

    def _judge(self, name: str, index: int, derivative: Derivative) -> ElementCheck:
        """non-finite where autograd's number or the reference is not finite; kink where f has a left and a
        right derivative and autograd gives one of them or a value between (or where no two steps agree:
        no derivative at all); DISAGREE where the same code run in float64 is off the reference by more
        than float64's tolerance (the backward computes the wrong thing, whatever the dtype); inaccurate
        where only the dtype under test is off, by more than its own tolerance; else agree."""
        dtype = self.problem.dtype
        autograd = float(self.autograd[name][index])
        autograd64 = float(self.autograd64[name][index])
        reference = derivative.value
        margin = MARGIN * derivative.error if math.isfinite(derivative.error) else 0.0

        def allowed(precision: torch.dtype) -> float:
            rtol, atol = TOLERANCES[precision]
            return rtol * abs(reference) + atol * self.scale + margin

        shown, tolerance, precision = autograd, allowed(dtype), str(dtype).removeprefix("torch.")
        sides = derivative.one_sided
        if not math.isfinite(autograd) or not derivative.finite:
            verdict = "non-finite"
        elif sides is not None and min(sides) - tolerance <= autograd <= max(sides) + tolerance:
            verdict = "kink"
        elif not math.isfinite(derivative.error):  # no two step sizes agree: f has no derivative here
            verdict = "kink"
        elif sides is not None:  # outside the left and right derivatives
            verdict = "DISAGREE"
        elif abs(autograd64 - reference) > allowed(torch.float64):
            verdict = "DISAGREE"
            if abs(autograd - reference) <= tolerance:  # right within the dtype's precision: show float64's
                shown, tolerance, precision = autograd64, allowed(torch.float64), "float64"
        elif abs(autograd - reference) > tolerance:
            verdict = "inaccurate"
        else:
            verdict = "agree"
        return ElementCheck(shown, reference, tolerance, _unravel(index, self.problem.shape(name)), verdict,
                            sides, precision)

    def _largest(self, name: str) -> float:
        """The largest element of a name's float64 gradient."""
        if name not in self.largest:
            largest = self.autograd64[name].abs().max()
            self.largest[name] = float(largest) if bool(torch.isfinite(largest)) else 0.0
        return self.largest[name]

    def _along(self, name: str, start: int, stop: int, direction: torch.Tensor) -> Callable[[float], float]:
        """h -> F with elements start..stop of `name` moved by h·direction.  Only that slice of a working
        copy is written, and put back after each run: a block of a big tensor costs its own size."""
        if name not in self.work:
            self.work[name] = self.problem.point[torch.float64][name].clone()
        work = self.work[name].view(-1)
        original = self.problem.point[torch.float64][name].reshape(-1)[start:stop]

        def moved(h: float) -> float:
            work[start:stop] = original + h * direction
            try:
                return self.problem.value(name, self.work[name])
            finally:
                work[start:stop] = original

        return moved


def _worst(elements: list[ElementCheck]) -> ElementCheck:
    return max(elements, key=lambda element: (SEVERITY.index(element.verdict), element.excess))


def _flat(gradient: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """A gradient as flat float64 (None, autograd's 'no gradient', as zeros)."""
    if gradient is None:
        return torch.zeros(like.numel(), dtype=torch.float64, device=like.device)
    return gradient.detach().double().reshape(-1)


def _unravel(index: int, shape: list[int]) -> list[int]:
    where = []
    for size in reversed(shape):
        where.append(index % size)
        index //= size
    return where[::-1]


def _dtype(name: str) -> torch.dtype:
    if name not in DTYPES:
        raise DerivcliError(f"--dtype {str(name)[:40]}: check runs float32, float64 or bfloat16",
                            hint="use --dtype float32, float64 or bfloat16")
    return DTYPES[name]


def _device(name: str) -> torch.device:
    if name == "cpu":
        return torch.device("cpu")
    from ..differentiate.autograd import torch_device

    return torch_device(name)

