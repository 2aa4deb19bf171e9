"""Fixtures shared by the test files."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

import pytest
from hypothesis import settings

# The ordinary suite draws the same property examples on every run and every machine, so a fresh clone's
# CI cannot fail on a draw nobody saw before (a property's new counterexample belongs in a test of its own,
# and the fuzzer's slow runs explore with seeds they name).  `--hypothesis-profile=explore` draws afresh.
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


def pytest_configure(config: pytest.Config) -> None:
    """A suite started in the background without job control (`(pytest &)` in a script) inherits Ctrl-C
    ignored, and so would every derivcli it starts, as Unix wants: the tests of Ctrl-C need the default a
    terminal gives, in this process and the xdist workers alike."""
    import signal

    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


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


@pytest.fixture(scope="session")
def warm_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment of a real warm server that this test process (an xdist worker) shares: the
    installed script run with it is answered by a forked child of the server, byte for byte as cold
    (test_serve holds that), in about 0.1 s instead of 2 s for a fresh interpreter.  For CLI cases that
    need a real process around them (pipes, closed descriptors) but not a fresh interpreter; cases about
    the interpreter itself (memory limits, start-up) run cold."""
    import servers

    with resident_server(tmp_path_factory) as env:
        servers.warm = env
        yield env
        servers.warm = None


@contextlib.contextmanager
def resident_server(tmp_path_factory: pytest.TempPathFactory, startup: dict[str, str] | None = None
                    ) -> Iterator[dict[str, str]]:
    """A warm server kept alive while the block runs; its environment, with `startup` (a locale, an
    encoding: what Python fixes as it starts, so that only a server started with it serves it)."""
    import shutil
    import tempfile
    from pathlib import Path

    from servers import SCRIPT, Server, snapshot_env

    if SCRIPT is None or not hasattr(os, "fork"):
        pytest.skip("the warm server needs the installed script and fork")
    runtime = Path(tempfile.mkdtemp(prefix="derivcli-warm-"))
    resident = None
    try:
        resident = Server({**snapshot_env(tmp_path_factory), **(startup or {})}, runtime)
        with resident.kept_alive():
            yield resident.env
        resident.stop()
    finally:
        if resident is not None:
            resident.close()
        shutil.rmtree(runtime, ignore_errors=True)
