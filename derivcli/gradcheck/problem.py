"""The user's callable bound to its point, for `derivcli check`: the checked names' values in the dtype
under test and the same values in float64, what stays fixed, the random projections, and the runs (with
autograd in either precision; without, in float64, one step of the differences)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from ..errors import DerivcliError
from .origin import tensors_in
from .usercode import Callee, user_error

SEED = 24  # the projections, directions and the user's own random numbers: the same on every run


class Problem:
    """The callable bound to its point: the checked names' values in the dtype under test and the same
    values in float64, the arguments and module state that stay fixed, the random projections."""

    def __init__(self, callee: Callee, values: dict[str, Any], wrt: list[str] | None, dtype: torch.dtype,
                 device: torch.device, order: int) -> None:
        self.callee, self.dtype, self.device, self.order = callee, dtype, device, order
        self.evaluations = 0
        self.failure: DerivcliError | None = None  # the first error of a run at a perturbed point
        self.generator = torch.Generator().manual_seed(SEED)
        module = callee.module
        if module is not None and device.type != "cpu":
            module.to(device)
        parameters = dict(module.named_parameters()) if module is not None else {}
        buffers = dict(module.named_buffers()) if module is not None else {}
        inputs = [name for name, value in values.items() if _numeric(value) and callee.number_type(name) is None]
        trainable = [name for name, parameter in parameters.items() if parameter.requires_grad]
        both = sorted(set(inputs) & set(parameters))
        if both:
            raise DerivcliError(f"{both[0]} is both an argument and a parameter of {callee.target}")
        unknown = [name for name in wrt or [] if name not in inputs and name not in trainable]
        if unknown:
            raise DerivcliError(f"--wrt {unknown[0]}: {callee.target} has no input or parameter of that name",
                                hint="choose from " + ", ".join([*inputs, *trainable][:12]))
        self.names = [name for name in [*inputs, *trainable] if wrt is None or name in wrt]
        frozen = len(parameters) - len(trainable)
        self.notes = [f"{frozen} parameter{'s' if frozen > 1 else ''} with requires_grad=False left out"
                      ] if frozen else []
        if not self.names:
            raise DerivcliError(f"{callee.target} has nothing to differentiate",
                                hint="give its inputs as --NAME VALUE (numbers or tensors)")
        self.kinds = {name: "input" if name in inputs else "parameter" for name in self.names}
        tested = {name: _as_dtype(values[name] if name in inputs else parameters[name], dtype, device).contiguous()
                  for name in self.names}
        self.point = {dtype: tested, torch.float64: {name: value.double() for name, value in tested.items()}}
        fixed = {name: value for name, value in values.items() if name not in self.names}
        state = {**{name: value for name, value in parameters.items() if name not in self.names}, **buffers}
        self.fixed = {precision: {name: _fixed(value, dtype, device, precision, callee.number_type(name))
                                  for name, value in fixed.items()} for precision in self.point}
        self.state = {precision: {name: _fixed(value, dtype, device, precision) for name, value in state.items()}
                      for precision in self.point}
        self.projections: dict[torch.dtype, list[torch.Tensor]] = {}
        self.second: dict[torch.dtype, dict[str, torch.Tensor]] = {}
        self.projected = False

    def elements(self) -> int:
        return sum(value.numel() for value in self.point[self.dtype].values())

    def shape(self, name: str) -> list[int]:
        return list(self.point[self.dtype][name].shape)

    def leaves(self, precision: torch.dtype) -> dict[str, torch.Tensor]:
        return {name: value.clone().requires_grad_() for name, value in self.point[precision].items()}

    def run(self, precision: torch.dtype, values: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """The user's callable at these values of the checked names, its floating outputs as a list."""
        arguments = {**self.fixed[precision], **{name: values[name] for name in self.names
                                                 if self.kinds[name] == "input"}}
        state = {**self.state[precision], **{name: values[name] for name in self.names
                                             if self.kinds[name] == "parameter"}}
        try:
            with _seeded(self.device):  # its own random numbers, the same at every step
                result = self.callee.invoke(arguments, state)
        except Exception as error:
            raise user_error(error, self.callee.target + ("" if precision == self.dtype else
                                                          " (run in float64 for the reference)")) from error
        outputs = [tensor for tensor in tensors_in(result) if tensor.is_floating_point()]
        if not outputs:
            raise DerivcliError(f"{self.callee.target} returned {type(result).__name__}, not a tensor",
                                hint="return the output (or the loss) as a floating-point tensor")
        return outputs

    def gradients(self, precision: torch.dtype) -> tuple[list[torch.Tensor], dict[str, torch.Tensor | None]]:
        """The outputs, and each name's gradient by autograd in this precision (None where there is none)."""
        leaves = self.leaves(precision)
        with torch.enable_grad():
            outputs = self.run(precision, leaves)
            return [output.detach() for output in outputs], self.backward(outputs, precision, leaves)

    def backward(self, outputs: list[torch.Tensor], precision: torch.dtype,
                 leaves: dict[str, torch.Tensor]) -> dict[str, torch.Tensor | None]:
        """Each leaf's gradient of sum(out * r) (order 2: of ⟨that gradient, u⟩)."""
        first = self._vjp(outputs, self._projections(outputs, precision), leaves, self.order == 2)
        if self.order == 1:
            return first
        second = self._second(precision)
        total = [(gradient * second[name]).sum() for name, gradient in first.items()
                 if gradient is not None and gradient.requires_grad]
        if not total:
            return dict.fromkeys(leaves)
        return self._vjp([torch.stack(total).sum()], [torch.ones((), dtype=precision, device=self.device)], leaves,
                         False)

    def _vjp(self, outputs: list[torch.Tensor], projections: list[torch.Tensor], leaves: dict[str, torch.Tensor],
             create_graph: bool) -> dict[str, torch.Tensor | None]:
        used = [(output, projection) for output, projection in zip(outputs, projections) if output.requires_grad]
        if not used:
            return dict.fromkeys(leaves)
        try:
            found = torch.autograd.grad([output for output, _ in used], list(leaves.values()),
                                        [projection for _, projection in used], allow_unused=True,
                                        create_graph=create_graph)
        except Exception as error:
            raise user_error(error, f"the backward of {self.callee.target}") from error
        return dict(zip(leaves, found))

    def _projections(self, outputs: list[torch.Tensor], precision: torch.dtype) -> list[torch.Tensor]:
        """r for each output, drawn once (from the dtype under test's run) and the same values in float64."""
        if self.dtype not in self.projections:
            self.projected = len(outputs) > 1 or outputs[0].numel() != 1
            self.projections[self.dtype] = [
                (torch.randn(output.shape, generator=self.generator, dtype=torch.float64) if self.projected
                 else torch.ones(output.shape, dtype=torch.float64)).to(self.device, output.dtype)
                for output in outputs]
        if precision not in self.projections:
            self.projections[precision] = [projection.double() for projection in self.projections[self.dtype]]
        if [list(output.shape) for output in outputs] != [list(r.shape) for r in self.projections[precision]]:
            raise DerivcliError(f"{self.callee.target} returns outputs of other shapes in float64",
                                hint="the reference re-runs it in float64: it must compute the same thing")
        return self.projections[precision]

    def _second(self, precision: torch.dtype) -> dict[str, torch.Tensor]:
        """u for --order 2: the vector each gradient is projected on, drawn once, the same in float64."""
        if self.dtype not in self.second:
            self.second[self.dtype] = {name: torch.randn(value.shape, generator=self.generator, dtype=torch.float64)
                                       .to(self.device, self.dtype) for name, value in self.point[self.dtype].items()}
        if precision not in self.second:
            self.second[precision] = {name: value.double() for name, value in self.second[self.dtype].items()}
        return self.second[precision]

    def value(self, name: str, replaced: torch.Tensor) -> float:
        """F (or G, for order 2) in float64 with `name` at `replaced`: one step of the differences; NaN
        where the user's code fails there (the first failure is kept, to report if nothing works)."""
        self.evaluations += 1
        values = {**self.point[torch.float64], name: replaced}
        try:
            if self.order == 1:
                with torch.no_grad():
                    outputs = self.run(torch.float64, values)
                    return _dot(outputs, self._projections(outputs, torch.float64))
            leaves = {key: value.detach().requires_grad_() for key, value in values.items()}
            with torch.enable_grad():
                first = self._vjp(self.run(torch.float64, leaves), self.projections[torch.float64], leaves, False)
            return float(sum(float((gradient * self._second(torch.float64)[key]).sum())
                             for key, gradient in first.items() if gradient is not None))
        except DerivcliError as error:
            self.failure = self.failure or error
            return math.nan


@contextmanager
def _seeded(device: torch.device) -> Iterator[None]:
    """The generators of the CPU (and of the GPU computing) seeded with SEED, and restored after: cheaper
    than fork_rng and manual_seed, which visit every device."""
    generators = [torch.default_generator] + ([torch.cuda.default_generators[device.index or 0]]
                                              if device.type == "cuda" else [])
    saved = [generator.get_state() for generator in generators]
    for generator in generators:
        generator.manual_seed(SEED)
    try:
        yield
    finally:
        for generator, state in zip(generators, saved):
            generator.set_state(state)


def _dot(outputs: list[torch.Tensor], projections: list[torch.Tensor]) -> float:
    return float(sum(float((output.double() * projection).sum()) for output, projection in zip(outputs, projections)))


def _numeric(value: Any) -> bool:
    return (isinstance(value, float) or (isinstance(value, torch.Tensor) and value.is_floating_point()))


def _as_dtype(value: Any, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(value.detach() if isinstance(value, torch.Tensor) else value,
                           dtype=torch.float64).to(device=device, dtype=dtype)


def _fixed(value: Any, dtype: torch.dtype, device: torch.device, precision: torch.dtype,
           number: type | None = None) -> Any:
    """A value that is not differentiated, in this precision: a floating tensor rounded to the dtype under
    test first; a number given to an argument that takes a Python number (`number`) as that number, any
    other number as a 0-d tensor."""
    if isinstance(value, float):
        if number is not None:
            return number(value) if number is float or value.is_integer() else value
        value = torch.tensor(value, dtype=torch.float64)
    if isinstance(value, torch.Tensor):
        value = value.detach().to(device)
        return value.to(dtype).to(precision) if value.is_floating_point() else value
    return value
