"""A progress bar on stderr for long runs (minimize, --points past a million points, a cluster's partitions)."""

from __future__ import annotations

from typing import Any


def progress_bar() -> Any:
    """A transient bar on stderr, drawn until the work is done: call it with (done, total).  Used in a
    `with`, it is also cleared on every other way out (a run that stops early, an error, Ctrl-C), so no
    half-drawn bar is left above the output."""
    from rich.console import Console
    from rich.progress import Progress

    bar = Progress(console=Console(stderr=True), transient=True)
    task = bar.add_task("gradients", total=None)

    class Bar:
        def __call__(self, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)
            if done >= total:
                bar.stop()

        def __enter__(self) -> Bar:
            return self

        def __exit__(self, *error: object) -> None:
            bar.stop()

    bar.start()
    return Bar()
