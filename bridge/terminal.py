"""What goes to the user's terminal besides results: configuration notes, whether to colour
or show progress, and the request log of ``--verbose``.

Kept free of heavy imports: ``doctor`` and ``sync`` both use it, and neither should pay for
the other's dependencies (the progress bar itself is in :mod:`bridge.progress`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TextIO

from bridge.secrets import redact

REQUEST_LOGGER = "bridge.azure"
"""The logger of the Azure DevOps client: one DEBUG line per request, one INFO per retry."""


def color_wanted(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Whether to write ANSI colours to ``stream``: only to a terminal, and never when
    ``NO_COLOR`` is set to anything (https://no-color.org) or ``TERM`` is ``dumb``."""
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    return stream.isatty()


def progress_wanted(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Whether a progress bar can be drawn on ``stream``: a terminal that moves its cursor."""
    return environ.get("TERM") != "dumb" and stream.isatty()


def write_notes(notes: Iterable[str], stream: TextIO) -> None:
    """The configuration's notes (a fallback token used, a setting ignored), one per line."""
    for note in notes:
        stream.write(f"note: {note}\n")


class _Redacting(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        # URLs are redacted where they are logged; this catches anything else.
        return redact(super().format(record))


@contextmanager
def request_log(stream: TextIO | None) -> Iterator[None]:
    """While active, log every Azure DevOps request (method, URL, status, milliseconds) and
    retry to ``stream`` (``--verbose``); ``None`` logs nothing. Tokens never appear."""
    if stream is None:
        yield
        return
    logger = logging.getLogger(REQUEST_LOGGER)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_Redacting("%(message)s"))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
