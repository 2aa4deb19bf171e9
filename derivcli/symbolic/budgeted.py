"""Symbolic work under a hard time budget: SymPy's simplify and series can run for minutes.

`with_budget` runs a function in a forked child process and kills it when the budget is spent (a
signal cannot interrupt SymPy's C-level big-number work; a process can always be killed).  The child
does only SymPy work and sends back a small picklable result.  It is forked directly, not through
multiprocessing, which refuses children to a daemonic process (a Dask worker, a pool's worker), and it
dies with its parent however the parent ends, so no SymPy work outlives the command that wanted it.
"""

from __future__ import annotations

import os
import pickle
import select
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp

from .formula_text import formula, pretty_form

SIMPLIFY_SECONDS = 3.0
SERIES_SECONDS = 5.0


def with_budget(function: Callable[..., Any], args: tuple[Any, ...], seconds: float) -> tuple[bool, Any]:
    """(True, function(*args)) if it finishes within `seconds`, else (False, None).

    Without fork (Windows), runs in this process without a budget.
    """
    return Budgeted(function, args, seconds).outcome()


class Budgeted:
    """A function started now in a forked child, under a budget that starts now too: the caller does its
    own work meanwhile (torch's coefficients while SymPy's series runs) and reads the outcome after."""

    def __init__(self, function: Callable[..., Any], args: tuple[Any, ...], seconds: float) -> None:
        self.function, self.args = function, args
        self.deadline = time.monotonic() + seconds
        self.child: int | None = None  # None: no fork here, the function runs in this process
        self.running = False
        if not hasattr(os, "fork"):
            return
        self.reader, writer = os.pipe()
        parent = os.getpid()
        self.child = os.fork()
        if self.child == 0:
            os.close(self.reader)
            _child(writer, parent, function, args)
        os.close(writer)
        self.running = True

    def __enter__(self) -> Budgeted:
        return self

    def __exit__(self, *exc: object) -> None:
        """Whatever happened meanwhile, the child does not outlive its use."""
        self._end()

    def outcome(self) -> tuple[bool, Any]:
        """(True, the result) if the child finished by the deadline, else (False, None), the child killed."""
        if self.child is None:
            return True, self.function(*self.args)
        if not self.running:  # asked again after the child was ended
            return False, None
        chunks = []
        waiting = select.poll()
        waiting.register(self.reader, select.POLLIN)
        try:
            while waiting.poll(max(0.0, self.deadline - time.monotonic()) * 1000):
                chunk = os.read(self.reader, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
            else:  # the budget is spent
                return False, None
            ok, payload = pickle.loads(b"".join(chunks))
        except (EOFError, pickle.UnpicklingError, ValueError):  # the child died before its answer was whole
            return False, None
        finally:
            self._end()
        return ok, payload

    def _end(self) -> None:
        """Kill the child if it still runs, reap it, close the pipe (once)."""
        if not self.running or self.child is None:
            return
        import signal

        self.running = False
        try:
            os.kill(self.child, signal.SIGKILL)
            os.waitpid(self.child, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(self.reader)


def _child(writer: int, parent: int, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """In the forked child: the result, or (False, None) for the parent to fall back on, then exit
    without running the parent's clean-up (its buffered output and exit handlers are not the child's)."""
    try:
        from ..limits.processes import settle_helper

        settle_helper(parent)
        try:
            result = (True, function(*args))
        except Exception:  # the parent treats it like running out of time: fall back
            result = (False, None)
        try:
            data = pickle.dumps(result)
        except Exception:
            data = pickle.dumps((False, None))
        with os.fdopen(writer, "wb") as pipe:
            pipe.write(data)
    finally:
        os._exit(0)


MAX_DERIVATIVE_SIZE = 200_000  # nodes: past this SymPy takes minutes to build and print a derivative
FORMULA_SECONDS = 10.0  # SymPy's formula of a derivative (`diff` without a point): order 200 of exp(x**2) takes minutes
_IN_PROCESS_SIZE = 5_000  # a derivative estimated under this many nodes is built here: a fork costs ~20 ms
_IN_PROCESS_SECONDS = 0.5  # and once this much time is spent here, the rest goes to a budgeted child


def nth_derivative(expr: sp.Expr, symbols: list[sp.Symbol]) -> tuple[sp.Expr | None, str | None]:
    """d/ds1 d/ds2 … expr within FORMULA_SECONDS: (the formula, None), or (None, why it is not built):
    too large, too deeply nested, or not finished within the budget.

    Small derivatives are built here; the first one estimated large, or the order where the time here
    passes half a second, hands the rest to a forked child that is killed when the budget is spent.
    """
    started = time.monotonic()
    for done, symbol in enumerate(symbols):
        size = derivative_size(expr)
        if size > MAX_DERIVATIVE_SIZE:
            return None, _TOO_LARGE
        if size > _IN_PROCESS_SIZE or time.monotonic() - started > _IN_PROCESS_SECONDS:
            seconds = FORMULA_SECONDS - (time.monotonic() - started)
            finished, outcome = with_budget(_derivatives, (expr, symbols[done:]), seconds)
            if not finished:
                return None, f"SymPy's formula did not finish within its budget ({FORMULA_SECONDS:g} s)"
            return outcome  # type: ignore[no-any-return]
        expr, why = _derivatives(expr, [symbol])
        if expr is None:
            return None, why
    return expr, None


_TOO_LARGE = f"SymPy's formula would be too large to build (over {MAX_DERIVATIVE_SIZE:,} nodes)"


def _derivatives(expr: sp.Expr, symbols: list[sp.Symbol]) -> tuple[sp.Expr | None, str | None]:
    """The derivatives one after another, without a budget of their own (the caller's child has it)."""
    for symbol in symbols:
        if derivative_size(expr) > MAX_DERIVATIVE_SIZE:
            return None, _TOO_LARGE
        try:
            expr = sp.diff(expr, symbol)
        except RecursionError:
            return None, "the expression is too deeply nested to differentiate symbolically"
    return expr, None


@dataclass
class Presentation:
    """A formula as each view shows it: one line, LaTeX, and SymPy's 2-D Unicode form (None when the
    formula is too large for it or was not simplified in time)."""

    text: str
    latex: str
    note: str | None = None
    pretty: str | None = None


def presented(derivative: sp.Expr) -> Presentation:
    """The derivative simplified within SIMPLIFY_SECONDS, in every form the views need."""
    done, simplified = with_budget(_simplify, (derivative,), SIMPLIFY_SECONDS)
    if done and simplified is not None:
        return simplified
    replacements, (reduced,) = sp.cse(derivative)
    text = "; ".join(f"{name} = {formula(value)}" for name, value in replacements)
    one_line = f"{text}; {formula(reduced)}" if replacements else formula(reduced)
    latex = ", ".join(f"{sp.latex(name)} = {sp.latex(value)}" for name, value in replacements)
    latex = f"{latex}, \\quad {sp.latex(reduced)}" if replacements else sp.latex(reduced)
    return Presentation(one_line, latex, f"simplifying took longer than {SIMPLIFY_SECONDS:g} s: the formula is "
                                        "shown unsimplified, with common subexpressions named")


def _simplify(derivative: sp.Expr) -> Presentation:
    simplified = sp.simplify(derivative)
    if sp.count_ops(simplified) > sp.count_ops(derivative):
        simplified = derivative
    return Presentation(formula(simplified), sp.latex(simplified), None, pretty_form(simplified))


def derivative_size(expr: sp.Basic) -> float:
    """An estimate of the tree size of d(expr)/dx, from sizes alone (no differentiation).

    The product rule makes a k-factor product's derivative k products of k factors, and nested
    powers double at each level: sizes that would take SymPy minutes to build and print.
    """
    size: dict[sp.Basic, float] = {}
    dsize: dict[sp.Basic, float] = {}
    stack: list[tuple[sp.Basic, bool]] = [(expr, False)]
    while stack:
        node, children_done = stack.pop()
        if node in size:
            continue
        if not node.args:
            size[node] = dsize[node] = 1.0
            continue
        if not children_done:
            stack.append((node, True))
            stack.extend((arg, False) for arg in node.args if arg not in size)
            continue
        parts = [size[arg] for arg in node.args]
        dparts = [dsize[arg] for arg in node.args]
        size[node] = 1 + sum(parts)
        if isinstance(node, sp.Mul):
            dsize[node] = 1 + sum(dparts) + (len(parts) - 1) * sum(parts)
        elif isinstance(node, (sp.Max, sp.Min)):  # k Heaviside terms, each comparing k arguments pairwise
            dsize[node] = 1 + sum(dparts) + len(parts) ** 2 * sum(parts)
        else:  # sums add; powers and functions repeat their arguments in the outer derivative
            dsize[node] = 1 + sum(dparts) + (0 if isinstance(node, sp.Add) else 3 * sum(parts))
    return dsize[expr]
