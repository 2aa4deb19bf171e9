"""Where a NaN or an infinity came from, for `derivcli check`: the first operation that made one out of
finite inputs.

Forward: the user's function runs once more under a TorchFunctionMode that looks at every operation's
output, while module forward hooks keep the stack of modules running, so the culprit is named with its
module, the user's line and its inputs' shapes and dtypes.  Backward: the same run records which operation
made each autograd node; hooks on every node of the graph then see the gradients flow, and the first
node that returns a non-finite gradient from finite ones is the culprit.  Run only once something is
found not finite: looking at every operation is slow.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from .result import Origin
from .usercode import is_user_file, shown_path


def forward_origin(forward: Callable[[], Any], root: torch.nn.Module | None) -> Origin | None:
    """The first operation of the forward pass whose output is not finite while its inputs are."""
    with _watching(root) as watch:
        forward()
    return watch.found


def backward_origin(forward: Callable[[], list[torch.Tensor]], backward: Callable[[list[torch.Tensor]], Any],
                    root: torch.nn.Module | None) -> Origin | None:
    """The first autograd node that returns a non-finite gradient from finite incoming gradients."""
    with _watching(root) as watch:
        outputs = forward()
    found: list[Origin] = []

    def hook(node: Any, grad_inputs: tuple[Any, ...], grad_outputs: tuple[Any, ...]) -> None:
        bad = next((grad for grad in grad_inputs if _not_finite(grad)), None)
        if found or bad is None or any(_not_finite(grad) for grad in grad_outputs):
            return
        incoming = [grad for grad in grad_outputs if isinstance(grad, torch.Tensor)]
        made = watch.made.get(id(node))
        if made is not None:
            origin = made[1]
            found.append(Origin("backward", f"{node.name()} (the backward of {origin.operation})", _produced(bad),
                                origin.inputs, origin.module, origin.module_type, origin.where))
            return
        function = getattr(node, "_forward_cls", None)  # a custom autograd.Function's node
        where = None
        if function is not None:
            where = _definition(function.backward)
        found.append(Origin("backward", f"{function.__name__}.backward" if function is not None else node.name(),
                            _produced(bad), [_described(grad) for grad in incoming], where=where))

    handles = [node.register_hook(functools.partial(hook, node)) for node in _nodes(outputs)]
    try:
        backward(outputs)
    finally:
        for handle in handles:
            handle.remove()
    return found[0] if found else None


class _Watch(TorchFunctionMode):
    """Looks at every torch operation's output (and, with `made`, which operation made each autograd node)."""

    def __init__(self, paths: dict[int, str]) -> None:
        super().__init__()
        self.paths = paths
        self.stack: list[torch.nn.Module] = []
        self.found: Origin | None = None
        self.made: dict[int, tuple[Any, Origin]] = {}  # id(node) -> (the node, kept alive; what made it)

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        outputs = [tensor for tensor in tensors_in(result) if tensor.is_floating_point()]
        if not outputs:
            return result
        inputs = [tensor for tensor in tensors_in((args, kwargs)) if tensor.is_floating_point()]
        origin = None
        bad = next((tensor for tensor in outputs if _not_finite(tensor)), None)
        if self.found is None and bad is not None and not any(_not_finite(tensor) for tensor in inputs):
            origin = self.found = self._origin(func, inputs, _produced(bad))
        for tensor in outputs:
            if tensor.grad_fn is not None and id(tensor.grad_fn) not in self.made:
                self.made[id(tensor.grad_fn)] = (tensor.grad_fn, origin or self._origin(func, inputs, ""))
        return result

    def _origin(self, func: Any, inputs: list[torch.Tensor], produced: str) -> Origin:
        module = self.stack[-1] if self.stack else None
        path = None if module is None else self.paths[id(module)]
        return Origin("forward", _operation_name(func), produced, [_described(tensor) for tensor in inputs],
                      path, None if module is None else type(module).__name__, _user_line())


@contextmanager
def _watching(root: torch.nn.Module | None) -> Iterator[_Watch]:
    from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook

    paths = {id(module): name for name, module in root.named_modules()} if root is not None else {}
    watch = _Watch(paths)

    def enter(module: torch.nn.Module, args: Any) -> None:
        if id(module) in paths:
            watch.stack.append(module)

    def leave(module: torch.nn.Module, args: Any, output: Any) -> None:
        if watch.stack and watch.stack[-1] is module:
            watch.stack.pop()

    handles = [register_module_forward_pre_hook(enter), register_module_forward_hook(leave)]
    try:
        with watch:
            yield watch
    finally:
        for handle in handles:
            handle.remove()


def _nodes(outputs: list[torch.Tensor]) -> list[Any]:
    """Every node of the autograd graph behind the outputs."""
    seen: dict[int, Any] = {}
    todo: list[Any] = [tensor.grad_fn for tensor in outputs]
    while todo:
        node = todo.pop()
        if node is None or id(node) in seen:
            continue
        seen[id(node)] = node
        todo.extend(following for following, _ in node.next_functions)
    return list(seen.values())


def tensors_in(value: Any) -> Iterator[torch.Tensor]:
    """The tensors in a value, in lists, tuples and dicts (a model's outputs) too."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from tensors_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from tensors_in(item)


def _not_finite(value: Any) -> bool:
    return isinstance(value, torch.Tensor) and value.is_floating_point() and not bool(torch.isfinite(value).all())


def _produced(tensor: torch.Tensor) -> str:
    if bool(torch.isnan(tensor).any()):
        return "NaN"
    return "inf" if bool((tensor == float("inf")).any()) else "-inf"


def _described(tensor: torch.Tensor) -> tuple[list[int], str]:
    return list(tensor.shape), str(tensor.dtype).removeprefix("torch.")


def _operation_name(func: Any) -> str:
    """torch.log, Tensor.exp, torch.nn.functional.linear."""
    name = getattr(func, "__name__", None) or repr(func)
    qualified = getattr(func, "__qualname__", name)
    if "." in qualified and qualified.split(".")[0] in ("TensorBase", "Tensor"):
        return "Tensor." + qualified.split(".")[-1]
    module = getattr(func, "__module__", None) or ""
    if module.startswith("torch._C._nn") or module.startswith("torch.nn.functional"):
        return f"torch.nn.functional.{name}"
    if module.startswith("torch._C._linalg") or module.startswith("torch.linalg"):
        return f"torch.linalg.{name}"
    return f"torch.{name}"


def _user_line() -> str | None:
    """FILE:LINE of the innermost frame of the user's code on the stack."""
    frame = sys._getframe(1)
    while frame is not None:
        if is_user_file(frame.f_code.co_filename):
            return f"{shown_path(frame.f_code.co_filename)}:{frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return None


def _definition(function: Any) -> str | None:
    try:
        return f"{shown_path(inspect.getsourcefile(function) or '')}:{inspect.getsourcelines(function)[1]}"
    except (OSError, TypeError):
        return None

