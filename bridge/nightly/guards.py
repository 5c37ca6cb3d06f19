"""Last-known-good entities, the shrink guard and ``--fail-on``.

**synced_at.** Every entity carries ``synced_at``: the start of the run that read its current
content. An entity read again and found unchanged keeps the previous value, so the output of
an unchanged estate stays byte-identical from run to run; a changed one gets this run's start.
**stale.** When an organization or project fails, the previous run's entities there are
published again with ``stale: true`` and their old ``synced_at``: a flaky night does not make
repositories vanish downstream.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bridge.errors import ShrinkError, UsageError
from bridge.nightly.previous import Entity, entity_key
from bridge.nightly.report import FailedScope, Report

_VOLATILE = ("stale", "synced_at")


def timestamp(moment: datetime) -> str:
    """``moment`` as the entities write times: UTC, seconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _content(entity: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entity.items() if key not in _VOLATILE}


def stamp(entity: Entity, before: Entity | None, started: str) -> Entity:
    """``entity`` (read this run) with ``stale: false`` and its ``synced_at``: that of
    ``before`` (its previous entity) when its content did not change, else ``started``."""
    synced_at = started
    if before is not None and before.get("synced_at") and _content(before) == entity:
        synced_at = before["synced_at"]
    entity["stale"] = False
    entity["synced_at"] = synced_at
    return entity


def carry_stale(
    previous: Mapping[str, Entity], read: set[str], failed: Sequence[FailedScope]
) -> tuple[list[Entity], list[FailedScope]]:
    """The previous entities in failed organizations and projects that this run did not
    read, marked stale (their ``synced_at`` kept); and ``failed`` with how many each kept
    (added to what a scope already counts: a shard's, when merging)."""
    kept: list[Entity] = []
    counted = []
    for scope in failed:
        unread = (previous[key] for key in previous if key not in read)
        mine = [entity for entity in unread if scope.covers(entity)]
        for entity in mine:
            read.add(entity_key(entity))  # a project failure inside a failed organization
            kept.append({**_content(entity), "stale": True, "synced_at": entity.get("synced_at")})
        counted.append(replace(scope, stale=scope.stale + len(mine)))
    return kept, counted


_SHARE = re.compile(r"(\d+(?:\.\d+)?)(%?)")


def parse_share(text: str) -> float:
    """``10%`` or ``0.1`` as a fraction between 0 and 1."""
    match = _SHARE.fullmatch(text.strip())
    value = float(match[1]) / (100 if match[2] else 1) if match else -1.0
    if not 0 <= value <= 1:
        raise UsageError(f"--max-shrink {text!r}: expected a share such as 10% or 0.1")
    return value


def check_shrink(
    previous: int, published: int, max_shrink: float | None, *, accept: bool, where: str
) -> None:
    """Raise :class:`~bridge.errors.ShrinkError` when ``published`` entities are fewer than
    ``previous`` by more than ``max_shrink`` (a fraction), unless ``accept``."""
    if max_shrink is None or accept or previous == 0:
        return
    lost = (previous - published) / previous
    if lost > max_shrink:
        raise ShrinkError(
            f"{where} not replaced: the new output has {published:,} entities, "
            f"{lost:.1%} fewer than the previous run's {previous:,} (more than --max-shrink "
            f"{max_shrink:.0%}); the previous output is kept. If the estate really shrank, run "
            "again with --accept-shrink"
        )


FAIL_ON: dict[str, str] = {
    "org-failed": "an organization or project could not be synced (its entities kept stale)",
    "unreadable": "a catalog file or a field (commit, languages, developers) could not be read",
    "new-invalid": "a catalog file became invalid (or a new repository's is)",
    "new-problems": "a catalog check found an error or warning the previous run did not",
    "owner-removed": "a repository's catalog no longer gives an owner it gave before",
    "context-changed": "any application context attribute changed",
    "removed": "a repository was removed",
}
"""``--fail-on`` conditions and what each means; ``none`` names none of them."""

DEFAULT_FAIL_ON = frozenset({"org-failed", "unreadable"})
"""What fails a sync when ``--fail-on`` is not given (exit 1), as before the change report."""


def parse_fail_on(text: str) -> frozenset[str]:
    """A comma-separated list of :data:`FAIL_ON` names (or ``none``)."""
    names = {name.strip() for name in text.split(",") if name.strip()}
    if names == {"none"}:
        return frozenset()
    unknown = sorted(names - FAIL_ON.keys())
    if unknown or not names:
        raise UsageError(
            f"--fail-on {text!r}: unknown {', '.join(unknown) or 'empty list'}; choose from "
            f"{', '.join(FAIL_ON)} (comma-separated), or none"
        )
    return frozenset(names)


def _owner_removed(report: Report) -> bool:
    return any(
        change.field.split(" ")[0] == "owner" and change.old is not None and change.new is None
        for change in report.context_changes
    )


def fail_on_matches(report: Report, conditions: Iterable[str]) -> list[str]:
    """The conditions of ``conditions`` that ``report`` meets, in :data:`FAIL_ON` order."""
    met = {
        "org-failed": bool(report.failed),
        "unreadable": bool(report.unreadable),
        "new-invalid": any(change.new == "invalid" for change in report.status_changes)
        or bool(report.has_previous and report.added and _added_invalid(report)),
        "new-problems": bool(report.new_problems),
        "owner-removed": _owner_removed(report),
        "context-changed": bool(report.context_changes),
        "removed": bool(report.removed),
    }
    wanted = set(conditions)
    return [name for name in FAIL_ON if name in wanted and met[name]]


def _added_invalid(report: Report) -> bool:
    added = set(report.added)
    return any(
        problem.severity == "error" and problem.repository in added
        for problem in report.new_problems
    )
