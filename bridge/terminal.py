"""What goes to the user's terminal besides results: configuration notes, and whether to colour.

Kept free of heavy imports: ``doctor`` and ``sync`` both use it, and neither should pay for
the other's dependencies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TextIO


def color_wanted(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Whether to write ANSI colours to ``stream``: only to a terminal, and never when
    ``NO_COLOR`` is set to anything (https://no-color.org) or ``TERM`` is ``dumb``."""
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    return stream.isatty()


def write_notes(notes: Iterable[str], stream: TextIO) -> None:
    """The configuration's notes (a fallback token used, a setting ignored), one per line."""
    for note in notes:
        stream.write(f"note: {note}\n")
