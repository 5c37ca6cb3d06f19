"""Comparing our verdicts with the oracle's."""

from __future__ import annotations

import re
from typing import Any

from bridge.catalog.problems import DocumentReport
from tests.support.oracle import first_error

# Texts that come from the YAML/JSON libraries themselves (npm yaml's and JSON.parse's wording
# cannot be reproduced): compare such errors up to where the library's text starts.
_LIBRARY_TEXT = re.compile(r", (?:SyntaxError|YAMLParseError): .*", re.DOTALL)


def our_first_error(document: DocumentReport) -> str | None:
    """Our first error in the oracle's ``<stage>: <message>`` form."""
    errors = document.errors
    if not errors:
        return None
    first = errors[0]
    return f"{first.stage}: {first.backstage}"


def comparable(error: str | None) -> str | None:
    """An error text reduced to what both sides can agree on exactly."""
    if error is None:
        return None
    if error.startswith("parse: YAML error"):
        return "parse: YAML error"
    return _LIBRARY_TEXT.sub("", error)


def mismatch(ours: DocumentReport | None, theirs: dict[str, Any]) -> str | None:
    """Why our report differs from the oracle's row, or None when they agree."""
    if ours is None:
        return "document missing from our report"
    # A recorded verdict keeps only the first error; a live oracle row has them all.
    their_first = theirs["first_error"] if "first_error" in theirs else first_error(theirs)
    if ours.ok != theirs["ok"]:
        return (
            f"verdict ours={ours.ok} oracle={theirs['ok']}: {their_first or our_first_error(ours)}"
        )
    if comparable(our_first_error(ours)) != comparable(their_first):
        return f"first error\n  ours:   {our_first_error(ours)}\n  oracle: {their_first}"
    return None
