"""The cheap, bulk signals an incremental sync decides with.

* The repository listing (one request per project, made by every sync anyway): a push
  changes a repository's ``size``; its name, project, default branch and ``isDisabled``
  are there too. :func:`listing` is what the state keeps of it, :func:`listing_changed`
  compares.
* Code Search for the catalog file name (:func:`catalog_index`): one request per 1,000
  files, each with its content id (the blob id: a changed file has a new one) and the commit
  it was indexed at. Search returns at most 1,000 files per query (``$skip`` < 1,000), so an
  organization with more is searched in groups of projects of at most 1,000 files each,
  from the per-project counts (facets) of a first query.

Limits (why a full refresh runs every ``full_refresh_days``): Search indexes a push after a
delay (seconds to minutes), so a file pushed just before the run may show its previous
content id; a push that adds no object (a branch reset to an older commit, a revert to
identical content) may leave the size unchanged, so the latest commit is not re-read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.azure import AzureDevOpsClient
from bridge.azure.models import CodeSearchHit, Repository
from bridge.errors import BridgeError

_SEARCH_MAX = 1000  # files one query returns at most ($top <= 1000, $skip < 1000)
# infoCode 0: ok; 8: $top trimmed; 10: faceting not enabled (only needed past 1,000 files).
# Any other (1 reindexing, 2 indexing not started, 6/7 onboarding...) may hide files.
_HARMLESS_INFO_CODES = (0, 8, 10)


def listing(repository: Repository) -> dict[str, Any]:
    """What the state keeps of a repository's listing entry, to compare the next one with."""
    return {
        "name": repository.name,
        "project_id": repository.project_id,
        "project": repository.project_name,
        "default_branch": repository.default_branch,
        "size": repository.size,
        "is_disabled": repository.is_disabled,
        "is_fork": repository.is_fork,
        "visibility": repository.visibility,
        "url": repository.web_url,
    }


def listing_changed(before: Mapping[str, Any] | None, repository: Repository) -> bool:
    """True when the repository's content may have changed since ``before`` was listed:
    new, resized (a push), another default branch, or disabled/enabled."""
    if before is None:
        return True
    now = listing(repository)
    return any(before.get(key) != now[key] for key in ("size", "default_branch", "is_disabled"))


def renamed(before: Mapping[str, Any] | None, repository: Repository) -> bool:
    """True when the repository's name, project or URL changed (a rename or a move)."""
    if before is None:
        return True
    now = listing(repository)
    return any(before.get(key) != now[key] for key in ("name", "project", "project_id", "url"))


@dataclass(frozen=True, slots=True)
class CatalogHit:
    """Where Code Search found a repository's catalog file."""

    path: str
    content_id: str | None
    commit_id: str | None


@dataclass(slots=True)
class CatalogIndex:
    """The catalog files of one organization as Code Search sees them.

    ``unavailable`` says why Search could not be used at all (then every catalog file is
    read); ``uncovered`` names projects whose files Search could not all return (more than
    1,000 in one project): their catalog files are read too.
    """

    hits: dict[str, CatalogHit] = field(default_factory=dict)  # by repository id
    by_name: dict[tuple[str, str], CatalogHit] = field(default_factory=dict)
    unavailable: str | None = None
    uncovered: set[str] = field(default_factory=set)  # project names, lower-case
    requests: int = 0

    def covers(self, repository: Repository) -> bool:
        """True when Search's answer about ``repository`` can be trusted."""
        return self.unavailable is None and repository.project_name.lower() not in self.uncovered

    def hit(self, repository: Repository) -> CatalogHit | None:
        """The catalog file Search found in ``repository``, if any."""
        found = self.hits.get(repository.id)
        if found is None:
            found = self.by_name.get((repository.project_name.lower(), repository.name.lower()))
        return found

    def add(self, hits: Iterable[CodeSearchHit], path: str) -> None:
        for hit in hits:
            if hit.path != path:
                continue  # another folder's file of the same name, or another case
            entry = CatalogHit(hit.path, hit.content_id, hit.commit_id)
            if hit.repository_id:
                self.hits[hit.repository_id] = entry
            self.by_name[(hit.project.lower(), hit.repository.lower())] = entry


async def catalog_index(client: AzureDevOpsClient, path: str) -> CatalogIndex:
    """Every file at ``path`` (``/catalog-info.yaml``) in the organization's default branches,
    in as few Code Search requests as its 1,000-file pages allow.

    Search unavailable (extension not installed, a refused request, a sign-in page, a
    non-zero ``infoCode``) gives an index whose ``unavailable`` says why; never raises a
    service error.
    """
    index = CatalogIndex()
    query = f"path:{path}"
    try:
        index.requests += 1
        first = await client.code_search_page(query, top=_SEARCH_MAX, facets=True)
        if first.info_code not in _HARMLESS_INFO_CODES:
            index.unavailable = f"Code Search answered infoCode {first.info_code}"
            return index
        if first.count <= len(first.hits):
            index.add(first.hits, path)
            return index
        if not first.project_counts:
            index.unavailable = "Code Search matched more than 1,000 files and gave no counts"
            return index
        for group in _groups(first.project_counts, index.uncovered):
            index.requests += 1
            page = await client.code_search_page(query, top=_SEARCH_MAX, filters={"Project": group})
            if page.info_code not in _HARMLESS_INFO_CODES or page.count > len(page.hits):
                index.uncovered.update(name.lower() for name in group)
                continue
            index.add(page.hits, path)
    except BridgeError as error:
        index.unavailable = f"Code Search unavailable: {error.detail()}"
    return index


def _groups(counts: Mapping[str, int], uncovered: set[str]) -> list[list[str]]:
    """Projects packed into groups of at most 1,000 matches (first fit, largest first); a
    project with more can be covered by no query and goes to ``uncovered``."""
    groups: list[tuple[int, list[str]]] = []
    for name, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        if count > _SEARCH_MAX:
            uncovered.add(name.lower())
            continue
        for position, (total, names) in enumerate(groups):
            if total + count <= _SEARCH_MAX:
                groups[position] = (total + count, [*names, name])
                break
        else:
            groups.append((count, [name]))
    return [names for _, names in groups]
