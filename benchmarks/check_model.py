"""What `derivcli check` costs on a model with a million parameters, against torch.autograd.gradcheck's fast
mode on a smaller one, all in this one process (torch warmed up first): a 1,002,001-parameter MLP
(1000 → 1000 → tanh → 1, a batch of 32) checked in float32, right and with one weight's gradient 0.1% off
(found and named?), and a 10,201-parameter MLP (100 → 100 → 1) under both tools in float64, right and
wrong; float32 on a 16-wide one (gradcheck fails there, then builds the whole Jacobian to say so).
Prints each time and the ratios.  Usage: python benchmarks/check_model.py [width]
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch

from derivcli.gradcheck.checker import check
from derivcli.gradcheck.usercode import classify

WIDTH = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
SMALL = 100
BATCH = 32
TINY = 16  # gradcheck in float32 fails, and then builds the whole Jacobian to say so: a tiny model for that


def wrong_index(width: int) -> int:
    """The weight whose gradient the wrong model gets 0.1% off."""
    return 777_777 % (width * width)


class OffByOne(torch.autograd.Function):
    """The identity, whose backward is 0.1% off in one element."""

    @staticmethod
    def forward(ctx: Any, weight: torch.Tensor) -> torch.Tensor:
        ctx.width = weight.shape[1]
        return weight.clone()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        grad.view(-1)[wrong_index(ctx.width)] *= 1.001
        return grad


class MLP(torch.nn.Module):
    def __init__(self, width: int, wrong: bool = False) -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(width, width)
        self.fc2 = torch.nn.Linear(width, 1)
        self.wrong = wrong

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = OffByOne.apply(self.fc1.weight) if self.wrong else self.fc1.weight
        return self.fc2(torch.tanh(torch.nn.functional.linear(x, weight, self.fc1.bias)))


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    answer = call()
    return time.perf_counter() - start, answer


def derivcli_check(model: MLP, dtype: str) -> tuple[float, Any]:
    x = torch.randn(BATCH, model.fc1.in_features, dtype=torch.float64)
    return timed(lambda: check(classify("benchmark:MLP", model), {}, x, dtype=dtype))


def gradcheck_fast(model: MLP, dtype: torch.dtype) -> tuple[float, bool]:
    from torch.func import functional_call

    names = [name for name, _ in model.named_parameters()]
    inputs = tuple(parameter.detach().to(dtype).requires_grad_() for _, parameter in model.named_parameters())
    x = torch.randn(BATCH, model.fc1.in_features, dtype=dtype)

    def function(*parameters: torch.Tensor) -> torch.Tensor:
        return functional_call(model, dict(zip(names, parameters)), (x,))

    return timed(lambda: torch.autograd.gradcheck(function, inputs, fast_mode=True, raise_exception=False))


def main() -> None:
    torch.manual_seed(0)
    warnings.filterwarnings("ignore", "Input #", UserWarning)  # gradcheck's own advice to use float64
    derivcli_check(MLP(8), "float32")  # warm torch up
    gradcheck_fast(MLP(8), torch.float64)
    big = MLP(WIDTH)
    count = sum(parameter.numel() for parameter in big.parameters())
    seconds, result = derivcli_check(big, "float32")
    print(f"derivcli check, {count:,}-parameter MLP, float32: {seconds:.2f} s, {result.evaluations} float64 runs, "
          f"verdict {result.verdict}")
    wrong = MLP(WIDTH, wrong=True)
    wrong.load_state_dict(big.state_dict())
    wrong_seconds, found = derivcli_check(wrong, "float32")
    named = next(name for name in found.names if name.name == "fc1.weight")
    index = named.worst.index if named.worst is not None else None
    expected = [wrong_index(WIDTH) // WIDTH, wrong_index(WIDTH) % WIDTH]
    print(f"derivcli check, the same MLP with fc1.weight{expected}'s gradient 0.1% off: {wrong_seconds:.2f} s, "
          f"{found.evaluations} runs, verdict {found.verdict} at fc1.weight{index}"
          f" ({'found' if index == expected else 'NOT found'})")
    small = MLP(SMALL)
    small_count = sum(parameter.numel() for parameter in small.parameters())
    fast, passed = gradcheck_fast(small, torch.float64)
    ours, small_result = derivcli_check(small, "float64")
    print(f"gradcheck fast_mode, {small_count:,}-parameter MLP, float64: {fast:.3f} s, passed: {passed}")
    print(f"derivcli check, {small_count:,}-parameter MLP, float64: {ours:.3f} s, {small_result.evaluations} runs, "
          f"verdict {small_result.verdict}")
    tiny = MLP(TINY)
    fast32, passed32 = gradcheck_fast(tiny, torch.float32)
    ours32, tiny32 = derivcli_check(tiny, "float32")
    tiny_count = sum(parameter.numel() for parameter in tiny.parameters())
    print(f"a {tiny_count}-parameter MLP in float32: gradcheck fast_mode {fast32:.3f} s, passed: {passed32}; "
          f"derivcli check {ours32:.3f} s, verdict {tiny32.verdict}")
    small_wrong = MLP(SMALL, wrong=True)
    small_wrong.load_state_dict(small.state_dict())
    print(f"the {small_count:,}-parameter MLP with one gradient 0.1% off: gradcheck fast_mode passed: "
          f"{gradcheck_fast(small_wrong, torch.float64)[1]}; derivcli check: "
          f"{derivcli_check(small_wrong, 'float64')[1].verdict}")
    print(f"ratio derivcli {count:,} params / gradcheck fast_mode {small_count:,} params: {seconds / fast:.0f}")
    print(f"ratio derivcli / gradcheck fast_mode, both on {small_count:,} params in float64: {ours / fast:.1f}")
    print(f"time per parameter, derivcli on {count:,} against gradcheck fast_mode on {small_count:,}: "
          f"{(seconds / count) / (fast / small_count):.3f}")


if __name__ == "__main__":
    main()
