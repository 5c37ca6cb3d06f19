"""Text for people: the dry run's diffs, pull request titles and descriptions, outcome lines."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from bridge.propose.plan import ADD, Proposal

DOCS_URL = "https://backstage.io/docs/features/software-catalog/descriptor-format"
DESCRIPTION_LIMIT = 4000  # Azure DevOps refuses longer pull request descriptions


def diff(proposal: Proposal) -> str:
    """The unified diff of the change, ``/dev/null`` as the old side of a new file."""
    old = (proposal.original or "").splitlines(keepends=True)
    new = proposal.text.splitlines(keepends=True)
    before = "/dev/null" if proposal.original is None else f"a{proposal.path}"
    lines = difflib.unified_diff(old, new, fromfile=before, tofile=f"b{proposal.path}")
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def title(proposal: Proposal) -> str:
    """The pull request's title."""
    name = proposal.path.lstrip("/")
    if proposal.kind == ADD:
        return f"Add the Backstage catalog file {name}"
    return f"Fix the Backstage catalog file {name}"


def commit_message(proposal: Proposal) -> str:
    """The commit's message."""
    return f"{title(proposal)} (catalog-bridge)"


def description(proposal: Proposal) -> str:
    """The pull request's description (Markdown): what the file is, the inferred values and
    their sources (or the fixes), and where to read more; at most 4000 characters."""
    name = proposal.path.lstrip("/")
    if proposal.kind == ADD:
        head = [
            f"This pull request adds `{name}`, the file Backstage reads to list this "
            f"repository in its software catalog"
            + (f" as `{proposal.entity_ref}`." if proposal.entity_ref else "."),
            "",
            "catalog-bridge generated it"
            + (f" from the template `{proposal.template}`" if proposal.template else "")
            + " and validated it as Backstage does. Please check the inferred values below "
            "(the owner above all) before merging; edit the file on this branch if one is "
            "wrong.",
            "",
            "| Field | Value | Source |",
            "| --- | --- | --- |",
        ]
        rows = [
            f"| {_cell(v.name)} | {_cell(v.value if v.value is not None else '(none)')} "
            f"| {_cell(v.source)} |"
            for v in proposal.values
        ]
    else:
        head = [
            f"This pull request fixes `{name}` with changes catalog-bridge knows to be safe; "
            "every other line of the file is left as it was:",
            "",
        ]
        rows = [f"- {fix}" for fix in proposal.fixes]
    tail = [
        "",
        f"Backstage's descriptor format: {DOCS_URL}",
        "About these pull requests: the section *Proposing catalog files as pull requests* "
        "of catalog-bridge's README.",
    ]
    return _fit(head, rows, tail)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _fit(head: list[str], rows: list[str], tail: list[str]) -> str:
    """Head, as many rows as fit in the limit (saying how many were left out), and tail."""
    fixed = len("\n".join(head + tail)) + 2
    kept: list[str] = []
    used = fixed
    for index, row in enumerate(rows):
        left = len(rows) - index - 1
        reserve = 0 if left == 0 else 40  # room for the "… more" line
        if used + len(row) + 1 + reserve > DESCRIPTION_LIMIT:
            kept.append(f"… and {len(rows) - index} more (see the file)")
            break
        kept.append(row)
        used += len(row) + 1
    return "\n".join(head + kept + tail)


def summary_line(counts: Iterable[tuple[str, int]]) -> str:
    """``3 opened, 1 updated, 2 unchanged`` (zero counts left out)."""
    parts = [f"{count} {label}" for label, count in counts if count]
    return ", ".join(parts) if parts else "nothing to do"
