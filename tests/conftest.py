"""Fixtures shared by the test files."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest


@pytest.fixture
def wrong_sin(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[float], None]]:
    """Swap a wrong torch form for sin into a copy of the functions table: its values are right, its
    derivative is the given constant slope.  A real disagreement, which every check must catch."""
    import torch

    from derivcli import api
    from derivcli.table import functions

    def install(slope: float) -> None:
        forms = dict(functions.torch_form_by_sympy_class())
        wrong = {cls: (lambda x: torch.sin(x.detach()) + slope * x) if cls.__name__ == "sin" else form
                 for cls, form in forms.items()}
        monkeypatch.setattr("derivcli.lowering.program.torch_form_by_sympy_class", lambda: wrong)
        api.compile_text.cache_clear()

    yield install
    api.compile_text.cache_clear()
