"""Many points at once: `derivcli.compile(expression)` parses and lowers once, then evaluates values and
per-point gradients over arrays of points in one vectorized pass per chunk.

Points are independent for an elementwise expression, so the gradient of the sum over points is the
per-point gradient.  With several torch threads, up to ONE_PASS points the gradient is one pass, as
hand-written torch would take it; beyond, and on one thread, work goes in chunks (CHUNK points): huge
intermediates page-fault and cost ~4x per point more than cache-sized ones (see docs/performance.md for the
measurements).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch

from ..differentiate.autograd import backward, unshared
from ..errors import DerivcliError

CHUNK = 65_536
# On a GPU a chunk's cost is its ~20 kernel launches, not page faults: 2**24 points (134 MB per float64
# intermediate) keep a 1e8-point gradient to 6 chunks and a few GB of GPU memory.  Not yet measured on a
# GPU (none has been lent to this project's sessions): see docs/performance.md.
GPU_CHUNK = 1 << 24
# With several torch threads, up to 2**20 points (8 MiB per float64 intermediate) the gradient is one pass on
# the caller's thread and torch's own threads, as hand-written torch takes it, so it keeps pace with torch:
# interleaved with the caller's torch work at 262,144 points, the one pass costs 1.0-1.2x hand-written
# torch, quiet or with a busy neighbour, where chunks on the pool cost 1.5-2.1x on a quiet machine (each
# side's threads slow the other's).  The pool alone is faster under load (3.0 against 5.5 ms), but torch
# itself is then as slow as the one pass (benchmarks/chunk_threads.py).  Beyond 2**20 points the pool's
# chunks bound the memory and are ahead (0.55-0.6x hand-written torch at 4e6 points, the one pass
# 0.73-0.77x: benchmarks/loaded.py).  On one thread nothing waits at a barrier: cache-sized chunks in order
# are ahead at any size (0.64-0.71x torch at 262,144 points, the one pass 1.13-1.16x: api_tensors.py --cpu).
ONE_PASS = 1 << 20


class Compiled:
    """An expression parsed and lowered once, evaluated on arrays of points.

    >>> f = Compiled("x**2 * y")
    >>> f(x=[1.0, 2.0, 3.0], y=2.0).tolist()
    [2.0, 8.0, 18.0]
    >>> {name: value.tolist() for name, value in f.grad(x=[1.0, 2.0, 3.0], y=2.0).items()}
    {'x': [4.0, 8.0, 12.0], 'y': [1.0, 4.0, 9.0]}
    """

    def __init__(self, expression: str, wrt: list[str] | None = None, dtype: str = "float64",
                 device: str = "cpu", torch_compile: bool = False, names: Sequence[str] = ()) -> None:
        """`names`: the variables the values will bind, when known, for reading the text as `grad` does
        (`e` bound is a variable, `xy` splits into bound x and y)."""
        from ..api import compile_text
        from ..differentiate.autograd import torch_device, torch_dtype
        from ..parsing import Context
        from ..table.sympy_forms import TensorFunction

        self.expression = expression
        context = Context(frozenset(names), frozenset(wrt or ()), letters=False)
        self.parsed, self.program = compile_text(expression, (), context)
        if any(isinstance(node, TensorFunction) for node in _nodes(self.parsed.expr)):
            raise DerivcliError("compile() vectorizes elementwise expressions over points; this one uses "
                                "tensor functions", hint="use derivcli.grad(...) point by point")
        self.variables = self.parsed.variables
        self.wrt = list(wrt) if wrt else list(self.variables)
        unknown = [name for name in self.wrt if name not in self.variables]
        if unknown:
            raise DerivcliError(f"wrt: {', '.join(unknown)} not in the expression",
                                hint=f"its variables are {', '.join(self.variables) or 'none'}")
        self.dtype, self.device = torch_dtype(dtype), torch_device(device)
        self.chunk = CHUNK if self.device.type == "cpu" else GPU_CHUNK
        self.one_pass = ONE_PASS  # (with several torch threads; any count up to one chunk is one pass)
        self._gradient: Callable[..., tuple[torch.Tensor, ...]] = self._chunk_gradient
        self.torch_compile = torch_compile
        if torch_compile:
            self._gradient = torch.compile(self._chunk_gradient, dynamic=False)  # type: ignore[assignment]

    def __call__(self, **values: Any) -> Any:
        """f at every point (arrays broadcast; scalars are held constant); dask arrays in, a lazy dask array out."""
        if _has_dask(values):
            return _lazy(self, values, gradient=False)
        inputs, kind, count = self._inputs(values)
        out = torch.empty(count, dtype=self.dtype, device=self.device)
        with torch.no_grad():
            for start in range(0, count, self.chunk):
                chunk = [_slice(value, start, self.chunk) for value in inputs]
                out[start:start + self.chunk] = self.program(chunk, dtype=self.dtype, device=self.device)
        return _as_kind(out, kind)

    def grad(self, progress: Callable[[int, int], None] | None = None, **values: Any) -> dict[str, Any]:
        """{variable: its derivative at every point}, for the differentiated variables (lazy dask arrays for
        dask arrays)."""
        if _has_dask(values):
            return _lazy(self, values, gradient=True)
        inputs, kind, count = self._inputs(values)

        def parts_of(start: int, length: int) -> tuple[torch.Tensor, ...]:
            # a scalar held at every point still gets one derivative per point: give it one leaf per point
            return self._gradient(*[_slice(value, start, length) if value.dim() else value.expand(length)
                                    for value in inputs])

        if count <= self.chunk or (count <= self.one_pass and torch.get_num_threads() > 1):
            # one pass: its gradients are the answer, not copied into another array
            parts = parts_of(0, count)
            if progress is not None:
                progress(count, count)
            # (contiguous: autograd gives the gradient of sum(x) as one 1 broadcast over x, a view)
            return {name: _as_kind(part.contiguous(), kind) for name, part in zip(self.wrt, parts)}
        grads = {name: torch.empty(count, dtype=self.dtype, device=self.device) for name in self.wrt}

        def one_chunk(start: int) -> int:
            length = min(self.chunk, count - start)
            for name, part in zip(self.wrt, parts_of(start, length)):
                grads[name][start:start + length] = part
            return start + length

        for done in _chunks_in_parallel(one_chunk, range(0, count, self.chunk), self.device.type == "cpu"
                                        and not self.torch_compile):
            if progress is not None:
                progress(done, count)
        return {name: _as_kind(value, kind) for name, value in grads.items()}

    def _chunk_gradient(self, *chunk: torch.Tensor) -> tuple[torch.Tensor, ...]:
        leaves = [value.detach().requires_grad_(name in self.wrt) for name, value in zip(self.variables, chunk)]
        value = self.program(leaves, dtype=self.dtype, device=self.device)
        targets = [leaves[self.variables.index(name)] for name in self.wrt]
        if not value.requires_grad:
            return tuple(torch.zeros_like(target) for target in targets)
        total = value.sum()
        del value  # the values at every point are not needed by the backward pass: free them before it
        return tuple(unshared(backward(total, targets)))

    def _inputs(self, values: Mapping[str, Any]) -> tuple[list[torch.Tensor], str, int]:
        missing = [name for name in self.variables if name not in values]
        if missing:
            raise DerivcliError(f"no values for {', '.join(missing)}")
        kind = next((_kind(v) for v in values.values() if _kind(v) != "scalar"), "torch")
        tensors = {name: torch.as_tensor(_plain(values[name]), dtype=self.dtype, device=self.device).reshape(-1)
                   if _kind(values[name]) != "scalar" else
                   torch.tensor(float(values[name]), dtype=self.dtype, device=self.device)
                   for name in self.variables}
        lengths = {value.shape[0] for value in tensors.values() if value.dim()}
        if len(lengths) > 1:
            raise DerivcliError(f"the arrays of points have different lengths: {sorted(lengths)}")
        count = lengths.pop() if lengths else 1
        return [tensors[name] for name in self.variables], kind, count


def _chunks_in_parallel(work: Callable[[int], int], starts: range, threaded: bool) -> Iterator[int]:
    """work(start) for every chunk, yielding each chunk's end in order.

    On the CPU, with several chunks and several torch threads, the chunks go to that many Python threads
    while torch runs each operation on one: torch's own intra-op threads meet at a barrier after every
    operation, and with a core busy with another process every barrier waits for a preempted thread
    (7.7x hand-written torch at 10**6 points, benchmarks/loaded.py); chunks on threads of their own never
    wait for each other."""
    threads = torch.get_num_threads()
    if not threaded or threads < 2 or len(starts) < 2:
        yield from map(work, starts)
        return
    yield from _pool(threads).map(work, starts)


_pools: dict[tuple[int, int], Any] = {}


def _pool(threads: int) -> Any:
    """The chunks' threads, one pool per process and thread count, kept between calls: threads made for
    each call start cold (their own allocator arena, torch's per-thread state), which cost 3-4x hand-written
    torch at 262,144 points on a quiet machine.  Keyed on the process too: a fork's child has none of its
    parent's threads.  Each runs torch on one thread."""
    from concurrent.futures import ThreadPoolExecutor

    key = (os.getpid(), threads)
    if key not in _pools:
        _pools[key] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="derivcli-chunks",
                                         initializer=torch.set_num_threads, initargs=(1,))
    return _pools[key]


def _has_dask(values: Mapping[str, Any]) -> bool:
    """Duck-typed, so that dask is imported only by those who pass its arrays."""
    return any(hasattr(value, "dask") and hasattr(value, "map_blocks") for value in values.values())


def _lazy(compiled: Compiled, values: Mapping[str, Any], gradient: bool) -> Any:
    from .dask_arrays import lazy

    return lazy(compiled, values, gradient)


def _nodes(expr: Any) -> Any:
    import sympy as sp

    return sp.preorder_traversal(expr)


def _kind(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return "torch" if value.dim() else "scalar"
    if hasattr(value, "__array__") or isinstance(value, (list, tuple)):
        return "numpy" if hasattr(value, "__array__") else "torch"
    return "scalar"


def _plain(value: Any) -> Any:
    return value.detach() if isinstance(value, torch.Tensor) else value


def _slice(value: torch.Tensor, start: int, size: int) -> torch.Tensor:
    return value[start:start + size] if value.dim() else value


def _as_kind(value: torch.Tensor, kind: str) -> Any:
    return value.cpu().numpy() if kind == "numpy" else value
