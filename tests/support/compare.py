"""Comparing our verdicts with the oracle's."""

from __future__ import annotations

import re
from typing import Any

from bridge.catalog.problems import DocumentReport
from tests.support.oracle import first_error

# Texts that come from the YAML/JSON libraries inside other errors (a placeholder's data)
# cannot be reproduced: compare such errors up to where the library's text starts.
_LIBRARY_TEXT = re.compile(r", (?:SyntaxError|YAMLParseError): .*", re.DOTALL)
# npm yaml's errors: "YAML error at <location>, YAMLParseError: <message> at line L, column C"
# and then, after ":", the lines around the error (not reproduced: compared up to there).
_YAML_ERROR = re.compile(r"(parse: YAML error at .*?, YAMLParseError: )(.*?)(?::\n.*)?", re.DOTALL)


def our_first_error(document: DocumentReport) -> str | None:
    """Our first error in the oracle's ``<stage>: <message>`` form."""
    errors = document.errors
    if not errors:
        return None
    first = errors[0]
    return f"{first.stage}: {first.backstage}"


def comparable(error: str | None, *, yaml_words: bool = True) -> str | None:
    """An error text reduced to what both sides can agree on exactly.

    A YAML syntax error is compared by npm yaml's message, line and column; with
    ``yaml_words`` False (the message is libyaml's, kept where npm yaml's wording is not
    reproduced) only as being a YAML error.
    """
    if error is None:
        return None
    yaml_error = _YAML_ERROR.fullmatch(error)
    if yaml_error is not None:
        return yaml_error[1] + yaml_error[2] if yaml_words else "parse: YAML error"
    return _LIBRARY_TEXT.sub("", error)


def _in_npm_words(document: DocumentReport) -> bool:
    """Whether our first error, if a YAML one, is in npm yaml's words (they are capitalized;
    libyaml's and our own, for what npm yaml has no message for, are not)."""
    errors = document.errors
    return not errors or errors[0].stage != "parse" or errors[0].message[:1].isupper()


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
    words = _in_npm_words(ours)
    if comparable(our_first_error(ours), yaml_words=words) != comparable(
        their_first, yaml_words=words
    ):
        return f"first error\n  ours:   {our_first_error(ours)}\n  oracle: {their_first}"
    return None
