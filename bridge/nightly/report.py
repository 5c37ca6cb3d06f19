"""The change report: what a run changed compared with the previous one.

:func:`compute_report` compares two sets of entities and knows nothing of formats;
:func:`render_markdown`, :func:`render_json` and :func:`render_oneline` present a
:class:`Report` (Markdown for the pipeline's summary tab, JSON for machines, one line for a
log). Repositories are matched by :func:`~bridge.nightly.previous.entity_key`, so a renamed
or moved repository is one repository, not one removed and one added.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bridge.nightly.previous import Entity, entity_key

_CONTEXT_ATTRIBUTES = ("catalog_name", "title", "category", "lifecycle", "owner", "application")
# Rows of one kind listed in the Markdown report; the JSON report lists every one.
_MARKDOWN_ROWS = 50


def place(entity: Mapping[str, Any]) -> str:
    """``organization/project/repository``, as people name a repository."""
    return f"{entity['organization']}/{entity['project']}/{entity['name']}"


@dataclass(frozen=True, slots=True)
class FailedScope:
    """An organization or project that could not be synced (``None``: all of it)."""

    profile: str
    organization: str | None
    project: str | None
    reason: str
    stale: int = 0  # previous entities kept, marked stale

    @property
    def where(self) -> str:
        """``profile: organization/project`` as far as known."""
        parts = "/".join(part for part in (self.organization, self.project) if part)
        return f"{self.profile}: {parts}" if parts else self.profile

    def covers(self, entity: Mapping[str, Any]) -> bool:
        """Whether ``entity`` lies in what failed."""
        return (
            entity["profile"] == self.profile
            and self.organization in (None, entity["organization"])
            and self.project in (None, entity["project"])
        )


@dataclass(frozen=True, slots=True)
class ValueChange:
    """One value of one repository, old → new (``None``: not set)."""

    repository: str
    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True, slots=True)
class Move:
    """A repository found under another name or project (same repository id)."""

    old: str
    new: str


@dataclass(frozen=True, slots=True)
class Problem:
    """A catalog problem of one repository, without its line (which moves with edits)."""

    repository: str
    severity: str
    rule: str
    message: str
    line: int | None = None
    column: int | None = None
    path: str | None = None


@dataclass(slots=True)
class Report:
    """What changed between the previous run and this one."""

    previous: int = 0  # entities of the previous run within this run's scope
    current: int = 0  # entities published (stale ones included)
    has_previous: bool = False
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    renamed: list[Move] = field(default_factory=list)
    moved: list[Move] = field(default_factory=list)
    status_changes: list[ValueChange] = field(default_factory=list)
    context_changes: list[ValueChange] = field(default_factory=list)
    freshness_changes: list[ValueChange] = field(default_factory=list)
    new_problems: list[Problem] = field(default_factory=list)
    fixed_problems: list[Problem] = field(default_factory=list)
    failed: list[FailedScope] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # catalog file or fields not read
    # backstage.catalog: each catalog repository's outcome (MonorepoOutcome.as_json): its
    # unmapped and ambiguous Components, or why it could not be read.
    catalogs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def stale(self) -> int:
        """Entities kept from the previous run because their organization or project failed."""
        return sum(scope.stale for scope in self.failed)

    def as_json(self) -> dict[str, Any]:
        """The report as JSON values (the ``--report-format json`` document)."""
        data = asdict(self)
        data["stale"] = self.stale
        data["failed"] = [{**asdict(scope), "where": scope.where} for scope in self.failed]
        return data


def _context_values(entity: Mapping[str, Any]) -> dict[str, str]:
    """attribute → value, per Component (``owner``, or ``owner (name)`` when the file
    describes several)."""
    entries = entity.get("context") or []
    values = {}
    for index, entry in enumerate(entries):
        suffix = ""
        if len(entries) > 1:
            suffix = f" ({entry.get('catalog_name') or f'component {index + 1}'})"
        for attribute in _CONTEXT_ATTRIBUTES:
            if attribute in entry:
                values[attribute + suffix] = entry[attribute]
    return values


def _problems(entity: Mapping[str, Any]) -> dict[tuple[Any, ...], Problem]:
    catalog = entity.get("catalog") or {}
    out: dict[tuple[Any, ...], Problem] = {}
    for problem in catalog.get("problems") or []:
        key = (problem["document"], problem["severity"], problem["rule"], problem["message"])
        out.setdefault(
            key,
            Problem(
                place(entity),
                problem["severity"],
                problem["rule"],
                problem["message"],
                problem["line"],
                problem["column"],
                catalog.get("path"),
            ),
        )
    return out


def _status(entity: Mapping[str, Any]) -> str:
    return str((entity.get("catalog") or {}).get("status"))


def compute_report(
    previous: Mapping[str, Entity],
    current: Iterable[Entity],
    failed: Sequence[FailedScope] = (),
) -> Report:
    """Compare ``current`` (what is published, stale entities included) with ``previous``
    (the previous run's entities within this run's scope, by entity key)."""
    comparison = Comparison(previous)
    for entity in current:
        comparison.add(entity, previous.get(entity_key(entity)))
    return comparison.finish(failed)


class Comparison:
    """:func:`compute_report` one entity at a time, so that the entities need not be kept."""

    def __init__(self, previous: Mapping[str, Entity]) -> None:
        self.previous = previous
        self.report = Report(previous=len(previous), has_previous=bool(previous))
        self.seen: set[str] = set()  # the keys of the entities added

    def add(self, entity: Entity, before: Entity | None) -> None:
        """Compare one entity of ``current`` with ``before``, its previous one (None: new)."""
        report = self.report
        report.current += 1
        self.seen.add(entity_key(entity))
        if entity.get("stale"):
            return  # not read this run: nothing about it is news
        where = place(entity)
        if _status(entity) == "unreadable" or entity.get("unavailable"):
            report.unreadable.append(where)
        if before is None:
            # A first run adds everything: that is no news.
            if report.has_previous:
                report.added.append(where)
                report.new_problems += _problems(entity).values()
            return
        if before["project"] != entity["project"]:
            report.moved.append(Move(place(before), where))
        elif before["name"] != entity["name"]:
            report.renamed.append(Move(place(before), where))
        if _status(before) != _status(entity):
            report.status_changes.append(
                ValueChange(where, "catalog.status", _status(before), _status(entity))
            )
        old, new = _context_values(before), _context_values(entity)
        for attribute in sorted(old.keys() | new.keys()):
            if old.get(attribute) != new.get(attribute):
                report.context_changes.append(
                    ValueChange(where, attribute, old.get(attribute), new.get(attribute))
                )
        if before.get("freshness") != entity.get("freshness"):
            report.freshness_changes.append(
                ValueChange(where, "freshness", before.get("freshness"), entity.get("freshness"))
            )
        old_problems, new_problems = _problems(before), _problems(entity)
        report.new_problems += [p for k, p in new_problems.items() if k not in old_problems]
        report.fixed_problems += [p for k, p in old_problems.items() if k not in new_problems]

    def finish(self, failed: Sequence[FailedScope] = ()) -> Report:
        """The report, once every entity was added: with what is gone, and ``failed``."""
        report = self.report
        report.failed = list(failed)
        gone = (self.previous[key] for key in self.previous if key not in self.seen)
        report.removed = sorted((place(entity) for entity in gone), key=str.casefold)
        return report


# --- Rendering ---------------------------------------------------------------------------


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count:,} {singular if count == 1 else plural or singular + 's'}"


def render_oneline(report: Report) -> str:
    """One line for a log: counts of every kind of change (no trailing newline)."""
    parts = [f"{_plural(report.current, 'repository', 'repositories')}"]
    if not report.has_previous:
        parts.append("no previous run to compare with")
    counts = (
        (len(report.added), "added"),
        (len(report.removed), "removed"),
        (len(report.renamed), "renamed"),
        (len(report.moved), "moved"),
        (len(report.status_changes), "catalog status changes"),
        (len(report.context_changes), "context changes"),
        (len(report.freshness_changes), "freshness changes"),
        (len(report.new_problems), "new problems"),
        (len(report.fixed_problems), "fixed problems"),
        (report.stale, "stale"),
        (len(report.failed), "failed"),
    )
    parts += [f"{count:,} {what}" for count, what in counts if count]
    return "change report: " + ", ".join(parts)


def _cell(value: object) -> str:
    # A value read from someone's catalog file must not break the table.
    text = "-" if value is None else " ".join(str(value).split())
    return text.replace("|", "\\|")


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += [
        "| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows[:_MARKDOWN_ROWS]
    ]
    if len(rows) > _MARKDOWN_ROWS:
        lines.append(f"\n… and {len(rows) - _MARKDOWN_ROWS:,} more (see the JSON report).")
    return [*lines, ""]


def render_markdown(report: Report) -> str:
    """The report as Markdown (for ``##vso[task.uploadsummary]``): a headline, then one
    section per kind of change that happened."""
    lines = ["# catalog-bridge: what changed", "", render_oneline(report) + ".", ""]
    if report.failed:
        lines += ["## Organizations and projects that failed", ""]
        lines.append(
            "Their entities of the previous run are kept, marked `stale: true` with the "
            "`synced_at` of their last successful read."
        )
        lines.append("")
        failed: list[tuple[object, ...]] = [
            (scope.where, scope.reason, scope.stale) for scope in report.failed
        ]
        lines += _table(("Where", "Why", "Stale entities kept"), failed)
    sections: list[tuple[str, Sequence[str], list[tuple[object, ...]]]] = [
        ("Added", ("Repository",), [(name,) for name in report.added]),
        ("Removed", ("Repository",), [(name,) for name in report.removed]),
        ("Renamed", ("Was", "Now"), [(m.old, m.new) for m in report.renamed]),
        ("Moved", ("Was", "Now"), [(m.old, m.new) for m in report.moved]),
    ]
    for title, changes in (
        ("Catalog status changes", report.status_changes),
        ("Application context changes", report.context_changes),
        ("Freshness changes", report.freshness_changes),
    ):
        values: list[tuple[object, ...]] = [(c.repository, c.field, c.old, c.new) for c in changes]
        sections.append((title, ("Repository", "Field", "Was", "Now"), values))
    for title, problems in (
        ("New problems", report.new_problems),
        ("Fixed problems", report.fixed_problems),
    ):
        found: list[tuple[object, ...]] = [
            (p.repository, p.line, p.severity, p.rule, p.message) for p in problems
        ]
        sections.append((title, ("Repository", "Line", "Severity", "Rule", "Message"), found))
    sections.append(("Not fully read", ("Repository",), [(name,) for name in report.unreadable]))
    sections += _catalog_sections(report.catalogs)
    for title, headers, rows in sections:
        if rows:
            lines += [f"## {title} ({len(rows):,})", "", *_table(headers, rows)]
    return "\n".join(lines).rstrip("\n") + "\n"


def _catalog_sections(
    catalogs: Sequence[Mapping[str, Any]],
) -> list[tuple[str, Sequence[str], list[tuple[object, ...]]]]:
    """The catalog repositories' sections: not read, and Components mapped to no synced
    repository or to several."""
    failed: list[tuple[object, ...]] = []
    unmapped: list[tuple[object, ...]] = []
    ambiguous: list[tuple[object, ...]] = []
    for catalog in catalogs:
        if catalog["error"] is not None:
            failed.append((catalog["repository"], catalog["error"]))
        for item in catalog["unmapped"]:
            unmapped.append((item["ref"], f"{item['file']}:{item['line']}", item["reason"]))
        for item in catalog["ambiguous"]:
            where = f"{item['file']}:{item['line']}"
            ambiguous.append((item["ref"], where, ", ".join(item["repositories"])))
    return [
        ("Catalog repositories not read", ("Repository", "Why"), failed),
        ("Components mapped to no synced repository", ("Component", "File", "Why"), unmapped),
        (
            "Components mapped to several repositories",
            ("Component", "File", "Repositories"),
            ambiguous,
        ),
    ]


def render_json(report: Report) -> str:
    """The report as one JSON document."""
    return json.dumps(report.as_json(), ensure_ascii=False, indent=2) + "\n"


REPORT_FORMATS = {"md": render_markdown, "json": render_json}
"""``--report-format`` names and their renderers."""
