"""The stream of requests (batch) and the list of functions: commands without an expression."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from ..errors import Exit
from .app import app
from .commands import PlainCommand
from .options import INPUT, SCHEDULER, output_format

HELP_RANK = 80  # its place among the commands in `derivcli --help`

BATCH_EPILOG = ("""[bold]Examples[/]

  derivcli batch < requests.ndjson > results.ndjson
  echo '{"expression": "x**2", "point": {"x": 3}}' | derivcli batch

"""
                "A request: {\"expression\": \"...\", \"point\": {...}, \"wrt\": [...], "
                "\"command\": \"grad|jacobian|hessian|diff|propagate\", \"order\": n, \"check\": bool, \"fd\": bool}; "
                "only expression and point are required; propagate's point holds measurements as texts "
                "(\"9.81±0.02\", \"9.81(2)\") beside \"corr\": [\"a,b=0.3\"] and \"k\". Each answer is that "
                "command's --json object, in order; a bad line gets "
                "{\"line\": n, \"error\": {\"message\", \"column\", \"hint\", \"exit_code\"}} and the rest go on. "
                "Exit 2 if any line failed. Big inputs are shared among --jobs worker processes (default: one per "
                "CPU, at most 8).")


@app.command(cls=PlainCommand, epilog=BATCH_EPILOG)
def batch(
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", min=1, show_default=False,
                                       help="Worker processes for big inputs; 1 answers every line in this one."),
    scheduler: SCHEDULER = None,
    inputs: INPUT = None,
) -> int:
    """Answer NDJSON requests from stdin, one JSON line each, as they arrive."""
    from ..scale.streams import ending_when_reader_leaves

    with ending_when_reader_leaves(sys.stdout):
        if scheduler is not None or inputs is not None:
            from ..scale.cluster import batch_on_cluster

            return batch_on_cluster(scheduler, inputs, jobs)
        return _answer_stdin(jobs)


def _answer_stdin(jobs: Optional[int]) -> int:
    from ..scale.streams import available_lines, batch_groups
    from ..scale.volume import settle_for_volume
    from ..scale.workers import default_jobs
    from ..wire import dumps

    settle_for_volume()
    failed = False
    for answer in batch_groups(available_lines(sys.stdin), jobs or default_jobs()):
        failed = failed or "error" in answer and "line" in answer
        sys.stdout.write(dumps(answer) + "\n")
        sys.stdout.flush()
    return Exit.BAD_INPUT if failed else 0



@app.command(cls=PlainCommand, epilog="[bold]Example[/]\n\n  derivcli functions --format plain | grep log")
def functions(
    json_output: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
    fmt: Annotated[Optional[str], typer.Option("--format", help="table, plain or json.",
                                               show_default=False)] = None,
) -> None:
    """List the supported functions, with their SymPy and torch forms."""
    from ..render import emit_functions
    from ..table.functions import FUNCTIONS

    emit_functions([spec for spec in FUNCTIONS if not spec.internal], output_format(json_output, fmt),
                   sys.stdout)
