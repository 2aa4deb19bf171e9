"""Whole-process timings for the benchmarks: commands run alternately in one loop (the machine's load
affects them alike), each one's median; the machine's state to print beside them; and the minimal Typer
app that derivcli's own start-up (help, Tab) is compared with."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

MINIMAL_APP = '''"""The least a Typer command line costs: two commands, one option."""
import typer

app = typer.Typer()


@app.command()
def hello(name: str) -> None:
    """Say hello."""
    print(f"hello {name}")


@app.command()
def bye(name: str, loud: bool = False) -> None:
    """Say goodbye."""
    print(f"bye {name}")


app(prog_name="minimal")
'''


def seconds(command: list[str], check: bool = False) -> float:
    start = time.perf_counter()
    subprocess.run(command, capture_output=True, check=check)
    return time.perf_counter() - start


def interleaved_medians(commands: dict[str, list[str]], runs: int, check: bool = False) -> dict[str, float]:
    """`check`: every command must succeed (a benchmark of a parse error cannot ask it)."""
    timings: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            timings[name].append(seconds(command, check))
    return {name: statistics.median(values) for name, values in timings.items()}


def machine() -> str:
    """The state the numbers were measured in: cores and load average (other processes' work)."""
    one, five, fifteen = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {one:.2f} {five:.2f} {fifteen:.2f}"


def cache_bytecode(directory: str) -> None:
    """Let every process started from here cache its bytecode (in `directory`, outside the tree), even where
    PYTHONDONTWRITEBYTECODE is set: an installed derivcli runs from bytecode, and without it each process
    would compile derivcli's modules from source (~10 ms for the warm client alone)."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = os.path.join(directory, "pycache")


def minimal_app(directory: str) -> list[str]:
    """The command that runs the minimal Typer app (written into `directory`) with this interpreter."""
    path = Path(directory, "minimal.py")
    path.write_text(MINIMAL_APP)
    return [sys.executable, str(path)]
