"""The progress bar of the long commands (``sync``, ``demo``), drawn with rich on a terminal.

Only those commands import this module: rich takes tens of milliseconds to import, which
``validate`` (the pre-commit hook) must not pay.
"""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


class ProgressBar:
    """Repositories synced out of those listed so far, on ``stream``; erased by :meth:`finish`.

    The total grows while organizations and projects are still being listed. Call the object
    with ``(done, listed)`` after each entity (the sync engine's ``progress`` callback).
    """

    def __init__(self, stream: TextIO) -> None:
        self._progress = Progress(
            TextColumn("syncing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("repositories listed so far"),
            TimeElapsedColumn(),
            # The caller decided that ``stream`` shows progress (a terminal, or --progress).
            console=Console(file=stream, force_terminal=True),
            transient=True,
            # Entities may go to standard output meanwhile: leave both streams alone.
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._task: TaskID | None = None

    def __call__(self, done: int, listed: int) -> None:
        if self._task is None:
            self._progress.start()
            self._task = self._progress.add_task("sync", total=listed)
        self._progress.update(self._task, completed=done, total=listed)

    def finish(self) -> None:
        """Stop refreshing and erase the bar (the summary follows)."""
        if self._task is not None:
            self._progress.stop()
