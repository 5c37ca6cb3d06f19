"""Repository entities: what one Azure DevOps repository becomes in the output.

The shape follows the Snyk Essentials repository asset (name, URL, default branch,
visibility, freshness, languages, developers) plus the Backstage application context read
from the repository's catalog file. The JSON Schema in ``repository-entity.schema.json``
documents every field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bridge.azure.models import Commit, FileContent, LanguageShare, Repository
from bridge.catalog.jsvalue import js_string
from bridge.catalog.problems import DocumentReport
from bridge.catalog.validation import ValidationOptions, validate_text
from bridge.config import BackstageSettings
from bridge.fieldpath import MISSING

FOUND = "found"
MISSING_FILE = "missing"
INVALID = "invalid"
UNREADABLE = "unreadable"
SKIPPED = "skipped"
STATUSES = (FOUND, MISSING_FILE, INVALID, UNREADABLE, SKIPPED)

_VALIDATION = ValidationOptions()

ORIGIN_REPOSITORY = "repository"
"""``origin`` of a context entry read from the repository's own catalog file."""
ORIGIN_CATALOG = "catalog"
"""``origin`` of a context entry from the profile's catalog repository (``backstage.catalog``)."""


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A field that could not be read (after the client's retries), and why.

    ``field`` is the entity key left null: ``last_commit_at`` (``freshness`` is then
    ``n/a``), ``languages`` or ``developers``. ``reason`` is the error without its place
    (the entity says where).
    """

    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class CatalogRead:
    """The outcome of reading a repository's catalog file."""

    status: str
    path: str | None
    commit: str | None = None  # the commit the file was read at
    last_changed_commit: str | None = None  # the commit that last changed it
    reason: str | None = None
    reports: tuple[DocumentReport, ...] = ()


def read_catalog(content: FileContent | None, path: str, location: str) -> CatalogRead:
    """Validate a catalog file's text as Backstage would; ``None`` means the file is missing.

    Placeholders cannot be resolved from a remote file: they are validated with a dummy
    value and reported as warnings, as the reference oracle does.
    """
    if content is None:
        return CatalogRead(MISSING_FILE, path, reason=f"no {path} on the default branch")
    reports = tuple(validate_text(content.text, location=location, options=_VALIDATION))
    status = INVALID if any(not report.ok for report in reports) else FOUND
    return CatalogRead(
        status,
        path,
        commit=content.commit_id,
        last_changed_commit=content.last_change_id,
        reports=reports,
    )


def _months_before(moment: datetime, months: int) -> datetime:
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = moment.day
    while True:
        try:
            return moment.replace(year=year, month=month + 1, day=day)
        except ValueError:  # 31 March minus one month: the end of February
            day -= 1


def freshness(last_commit_at: datetime | None, now: datetime) -> str:
    """Active: a commit in the last 3 months; inactive: 3 to 6 months; dormant: older."""
    if last_commit_at is None:
        return "n/a"
    if last_commit_at > _months_before(now, 3):
        return "active"
    if last_commit_at > _months_before(now, 6):
        return "inactive"
    return "dormant"


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def languages(shares: Iterable[LanguageShare]) -> dict[str, int]:
    """Language name -> bytes (files when the service gave no byte count), largest first.

    Ordered here, not as the service listed them, so that the output is stable.
    """
    out: dict[str, int] = {}
    for share in shares:
        amount = share.bytes if share.bytes is not None else share.files
        if amount is not None:
            out[share.name] = amount
    return dict(sorted(out.items(), key=lambda item: (-item[1], item[0])))


def developers(commits: Iterable[Commit]) -> list[dict[str, Any]]:
    """The authors of ``commits``: one entry per e-mail address, most commits first."""
    people: dict[str, dict[str, Any]] = {}
    for commit in commits:
        author = commit.author
        key = (author.email or author.name or "").lower()
        if not key:
            continue
        person = people.setdefault(
            key, {"name": author.name, "email": author.email, "commits": 0, "last": None}
        )
        person["commits"] += 1
        if author.date is not None and (person["last"] is None or author.date > person["last"]):
            person["last"] = author.date
    ranked = sorted(people.values(), key=lambda p: (-p["commits"], (p["email"] or "").lower()))
    return [
        {
            "name": p["name"],
            "email": p["email"],
            "commits": p["commits"],
            "last_commit_at": _iso(p["last"]),
        }
        for p in ranked
    ]


def _attribute(value: Any) -> str | None:
    if value is MISSING or value is None or isinstance(value, dict | list):
        return None
    return value if isinstance(value, str) else js_string(value)


def attributes_of(entity: Mapping[str, Any], backstage: BackstageSettings) -> dict[str, str]:
    """The selected attributes ``entity`` sets, each read from its field."""
    entry = {}
    for attribute in backstage.attributes:
        value = _attribute(backstage.fields[attribute].get(entity))
        if value is not None:
            entry[attribute] = value
    return entry


def context(catalog: CatalogRead, backstage: BackstageSettings) -> list[dict[str, Any]]:
    """One entry per valid Component document, with the selected attributes and where they
    were read (``origin: repository``, the file and the commit)."""
    entries = []
    for report in catalog.reports:
        if report.entity is None or not report.ok or report.kind != "Component":
            continue
        entry: dict[str, Any] = attributes_of(report.entity, backstage)
        entry.update(source="Backstage", origin=ORIGIN_REPOSITORY, file=catalog.path)
        entry["commit"] = catalog.commit
        entries.append(entry)
    return entries


def _problems(reports: Iterable[DocumentReport]) -> list[dict[str, Any]]:
    return [
        {
            "document": report.index,
            "line": problem.line,
            "column": problem.column,
            "severity": problem.severity,
            "rule": problem.rule,
            "message": problem.message,
        }
        for report in reports
        for problem in report.problems
    ]


def repository_entity(
    repository: Repository,
    *,
    organization: str,
    profile: str,
    catalog: CatalogRead,
    backstage: BackstageSettings | None,
    last_commit: Commit | None,
    language_shares: Iterable[LanguageShare] | None,
    developer_list: list[dict[str, Any]] | None,
    now: datetime,
    unavailable: Iterable[Unavailable] = (),
) -> dict[str, Any]:
    """The repository entity (a plain dict, in the documented key order).

    ``developer_list`` is ``None`` when developers are not collected, unless ``unavailable``
    names them: the key is then present and null.
    """
    missing = sorted(unavailable, key=lambda entry: entry.field)
    committed = None
    if last_commit is not None:
        committed = last_commit.committer.date or last_commit.author.date
    entity: dict[str, Any] = {
        "id": repository.id,
        "name": repository.name,
        "organization": organization,
        "project": repository.project_name,
        "profile": profile,
        "url": repository.web_url,
        "default_branch": repository.default_branch_name,
        "size": repository.size,
        "is_fork": repository.is_fork,
        "is_disabled": repository.is_disabled,
        "is_empty": is_empty(repository),
        "visibility": repository.visibility,
        "last_commit_at": _iso(committed),
        "freshness": freshness(committed, now),
        "languages": None if language_shares is None else languages(language_shares),
    }
    if developer_list is not None or any(entry.field == "developers" for entry in missing):
        entity["developers"] = developer_list
    entity["unavailable"] = [{"field": entry.field, "reason": entry.reason} for entry in missing]
    entity["catalog"] = {
        "status": catalog.status,
        "path": catalog.path,
        "commit": catalog.commit,
        "last_changed_commit": catalog.last_changed_commit,
        "reason": catalog.reason,
        "documents": sum(1 for report in catalog.reports if report.index is not None),
        "problems": _problems(catalog.reports),
    }
    entity["context"] = [] if backstage is None else context(catalog, backstage)
    return entity


def is_empty(repository: Repository) -> bool:
    """An empty repository has no branch yet (Azure DevOps omits its default branch)."""
    return repository.default_branch is None
