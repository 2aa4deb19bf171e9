"""Whether a SymPy node holds a variable, for walks that ask it of every node of a tree."""

from __future__ import annotations

from typing import Any


class HasVariables:
    """`bool(node.free_symbols)`, each node answered once from its arguments' answers.  SymPy gathers the
    sets afresh each time it is asked, so a walk asking it at every node (building a tree bottom-up,
    lowering one top-down) costs the square of the depth; here, the size of the tree, iteratively."""

    def __init__(self) -> None:
        self.known: dict[Any, bool] = {}

    def __call__(self, node: Any) -> bool:
        known = self.known
        answer = known.get(node)
        if answer is not None:  # (most questions: a walk asks each node, then its parent asks again)
            return answer
        stack = [node]
        while stack:
            top = stack[-1]
            if top in known:
                stack.pop()
            elif not top.args or not _gathers(type(top)):  # a symbol, or a class with a rule of its own
                known[top] = bool(top.free_symbols)
                stack.pop()
            else:
                waiting = [arg for arg in top.args if arg not in known]
                if waiting:
                    stack.extend(waiting)
                else:
                    known[top] = any(known[arg] for arg in top.args)
                    stack.pop()
        return known[node]


_GATHERS: dict[type, bool] = {}


def _gathers(cls: type) -> bool:
    """Whether the class's free symbols are Basic's: the union of its arguments' (looked up along the
    MRO: a SymPy function class's metaclass has a `free_symbols` of its own)."""
    known = _GATHERS.get(cls)
    if known is None:
        from sympy import Basic

        rule = next(klass.__dict__["free_symbols"] for klass in cls.__mro__ if "free_symbols" in klass.__dict__)
        known = _GATHERS[cls] = rule is Basic.__dict__["free_symbols"]
    return known
