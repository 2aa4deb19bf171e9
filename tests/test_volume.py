"""A process settled for volume (a batch, a Dask worker): the pipeline loaded, what is loaded frozen out of
the garbage collector's sweeps, and the youngest generation collected less often."""

from __future__ import annotations

import json
import subprocess
import sys


def test_settling_freezes_the_loaded_objects_and_raises_the_first_threshold():
    """In a child process: the settings are process-wide, and the test process keeps its own."""
    code = ("import gc, json, sys\n"
            "before = gc.get_threshold()\n"
            "from derivcli.scale.volume import GEN0_ALLOCATIONS, settle_for_volume\n"
            "settle_for_volume()\n"
            "print(json.dumps({'before': before, 'after': gc.get_threshold(), 'frozen': gc.get_freeze_count(),\n"
            "                  'gen0': GEN0_ALLOCATIONS, 'loaded': 'derivcli.lowering.program' in sys.modules}))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    seen = json.loads(done.stdout)
    assert seen["loaded"] and seen["frozen"] > 50_000  # torch's and SymPy's modules, out of every sweep
    assert seen["after"] == [seen["gen0"], *seen["before"][1:]] and seen["gen0"] > seen["before"][0]
