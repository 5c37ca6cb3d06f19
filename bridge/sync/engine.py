"""The sync: every repository of every configured organization, as entities, streamed.

For each profile and organization: list projects; per project list repositories and fetch
the language metrics (one request each); per repository read the catalog file and the
latest commit (one request each, none for disabled or empty repositories). Every request
goes through the client's shared per-host limiter, so the run is as concurrent as the
configuration allows and no more. Entities are handed to the sink as they complete.

Failures stay local: a refused token or a vanished project is recorded and the rest goes on.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bridge.azure import AzureDevOpsClient, RequestStats, RetryPolicy
from bridge.azure.models import Commit, LanguageShare, Project, ProjectLanguages, Repository
from bridge.config import DEFAULT_CATALOG_FILENAME, Profile
from bridge.errors import (
    EXIT_OK,
    EXIT_PROBLEMS,
    AzureDevOpsError,
    BridgeError,
    EmptyRepositoryError,
    exit_code_for,
)
from bridge.sync.entity import (
    SKIPPED,
    UNREADABLE,
    CatalogRead,
    developers,
    is_empty,
    read_catalog,
    repository_entity,
)

Sink = Callable[[dict[str, Any]], None]

# Repositories worked on at once per organization, as a multiple of the request
# concurrency: each needs two requests, and a few waiting keep the limiter busy.
_JOBS_PER_SLOT = 2
# Listed without a default branch, or answering a file read as an empty repository.
_EMPTY = "the repository is empty (no branch)"


@dataclass(frozen=True, slots=True)
class SyncOptions:
    """What to sync and how hard to push."""

    # Lower-case names to keep (Config.organization_filter); empty: all.
    organizations: frozenset[str] = frozenset()
    concurrency: int | None = None  # overrides each profile's concurrency
    developers_days: int | None = None  # overrides each profile's developers_days
    retry: RetryPolicy | None = None
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class Failure:
    """Something that could not be synced at all (an organization, a project)."""

    profile: str
    organization: str | None
    project: str | None
    error: BridgeError

    @property
    def where(self) -> str:
        """``profile: organization/project`` as far as known."""
        place = "/".join(part for part in (self.organization, self.project) if part)
        return f"{self.profile}: {place}" if place else self.profile


@dataclass(slots=True)
class SyncResult:
    """What a run did: counts, failures, requests and time."""

    repositories: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_organization: Counter[str] = field(default_factory=Counter)
    unreadable: Counter[str] = field(default_factory=Counter)  # reasons
    failures: list[Failure] = field(default_factory=list)
    organizations: int = 0  # organizations whose projects could be listed
    stats: RequestStats = field(default_factory=RequestStats)
    seconds: float = 0.0

    @property
    def synced_nothing(self) -> bool:
        """Every organization failed: the run has no output worth keeping."""
        return bool(self.failures) and self.organizations == 0

    @property
    def exit_code(self) -> int:
        """0: everything read; 1: finished with failures; the failure's code if nothing synced."""
        if not self.failures and not self.unreadable:
            return EXIT_OK
        if self.synced_nothing:
            return exit_code_for(self.failures[0].error)
        return EXIT_PROBLEMS


@dataclass(slots=True)
class _Organization:
    profile: Profile
    name: str
    client: AzureDevOpsClient
    jobs: asyncio.Semaphore
    developers_since: datetime | None


class _Run:
    def __init__(
        self, options: SyncOptions, sink: Sink, progress: Callable[[int, int], None] | None
    ) -> None:
        self.options = options
        self.sink = sink
        self.progress = progress
        self.result = SyncResult()
        self.listed = 0
        self.now = datetime.now(UTC)

    def _client(self, profile: Profile, organization: str | None) -> AzureDevOpsClient:
        return profile.client(
            organization,
            concurrency=self.options.concurrency,
            retry=self.options.retry,
            timeout=self.options.timeout,
            stats=self.result.stats,
        )

    def _fail(
        self, profile: Profile, organization: str | None, project: str | None, error: BridgeError
    ) -> None:
        self.result.failures.append(Failure(profile.name, organization, project, error))

    async def run(self, profiles: Sequence[Profile]) -> SyncResult:
        start = time.perf_counter()
        targets = [t for profile in profiles for t in await self._organizations(profile)]
        await asyncio.gather(*(self._organization(profile, name) for profile, name in targets))
        self.result.seconds = time.perf_counter() - start
        return self.result

    async def _organizations(self, profile: Profile) -> list[tuple[Profile, str]]:
        names = list(profile.organizations)
        if profile.all_organizations:
            try:
                async with self._client(profile, None) as client:
                    names = [organization.name async for organization in client.organizations()]
            except BridgeError as error:
                self._fail(profile, None, None, error)
                return []
        wanted = self.options.organizations
        return [(profile, name) for name in names if not wanted or name.lower() in wanted]

    async def _organization(self, profile: Profile, name: str) -> None:
        days = self.options.developers_days
        days = profile.developers_days if days is None else days
        try:
            async with self._client(profile, name) as client:
                concurrency = self.options.concurrency or profile.concurrency
                organization = _Organization(
                    profile,
                    name,
                    client,
                    asyncio.Semaphore(concurrency * _JOBS_PER_SLOT),
                    self.now - timedelta(days=days) if days else None,
                )
                async with asyncio.TaskGroup() as projects:
                    listed_any = False
                    try:
                        async for project in client.projects():
                            if not listed_any:
                                listed_any = True
                                self.result.organizations += 1
                            projects.create_task(self._project(organization, project))
                    except BridgeError as error:
                        self._fail(profile, name, None, error)
                    else:
                        if not listed_any:
                            self.result.organizations += 1  # an organization with no project
        except BridgeError as error:  # the client could not even be built (bad URL, TLS)
            self._fail(profile, name, None, error)

    async def _project(self, organization: _Organization, project: Project) -> None:
        client = organization.client
        # Language metrics: one request for the whole project, shared by its repositories.
        languages = asyncio.ensure_future(_languages(client, project.name))
        try:
            repositories = [repository async for repository in client.repositories(project.name)]
        except BridgeError as error:
            languages.cancel()
            self._fail(organization.profile, organization.name, project.name, error)
            return
        self.listed += len(repositories)
        if not repositories:
            languages.cancel()
            return
        async with asyncio.TaskGroup() as jobs:
            for repository in repositories:
                await organization.jobs.acquire()
                jobs.create_task(self._repository(organization, repository, languages))

    async def _repository(
        self,
        organization: _Organization,
        repository: Repository,
        languages: asyncio.Future[ProjectLanguages | None],
    ) -> None:
        try:
            profile = organization.profile
            backstage = profile.backstage
            path = "/" + (backstage.filename if backstage else DEFAULT_CATALOG_FILENAME)
            last_commit: Commit | None = None
            developer_list: list[dict[str, Any]] | None = None
            if repository.is_disabled:
                catalog = CatalogRead(SKIPPED, path, reason="the repository is disabled")
            elif is_empty(repository):
                catalog = CatalogRead(SKIPPED, path, reason=_EMPTY)
            else:
                catalog, last_commit, developer_list = await self._read(
                    organization, repository, path
                )
            if organization.developers_since is not None and developer_list is None:
                developer_list = []
            project_languages = await languages
            entity = repository_entity(
                repository,
                organization=organization.name,
                profile=profile.name,
                catalog=catalog,
                backstage=backstage,
                last_commit=last_commit,
                language_shares=_shares(project_languages, repository),
                developer_list=developer_list,
                now=self.now,
            )
        finally:
            organization.jobs.release()
        self._emit(entity)

    async def _read(
        self, organization: _Organization, repository: Repository, path: str
    ) -> tuple[CatalogRead, Commit | None, list[dict[str, Any]] | None]:
        client = organization.client
        project, name = repository.project_name, repository.name
        backstage = organization.profile.backstage
        reads: list[Any] = [client.latest_commit(project, name)]
        if backstage is not None:
            reads.append(client.file_content(project, name, path))
        if organization.developers_since is not None:
            reads.append(_all(client.commits(project, name, since=organization.developers_since)))
        results = await asyncio.gather(*reads, return_exceptions=True)
        commit = results[0] if isinstance(results[0], Commit) else None
        if backstage is None:
            catalog = CatalogRead(
                SKIPPED, path, reason="the Backstage catalog is not enabled for this profile"
            )
        else:
            catalog = _catalog(results[1], path, repository)
        developer_list = None
        if organization.developers_since is not None and isinstance(results[-1], list):
            developer_list = developers(results[-1])
        for outcome in results:
            if isinstance(outcome, BaseException) and not isinstance(outcome, BridgeError):
                raise outcome  # a bug or a cancellation: not something to report as data
        return catalog, commit, developer_list

    def _emit(self, entity: dict[str, Any]) -> None:
        result = self.result
        result.repositories += 1
        status = entity["catalog"]["status"]
        result.by_status[status] += 1
        result.by_organization[entity["organization"]] += 1
        if status == UNREADABLE:
            result.unreadable[entity["catalog"]["reason"]] += 1
        self.sink(entity)
        if self.progress is not None:
            self.progress(result.repositories, self.listed)


def _catalog(outcome: Any, path: str, repository: Repository) -> CatalogRead:
    if isinstance(outcome, EmptyRepositoryError):
        return CatalogRead(SKIPPED, path, reason=_EMPTY)
    if isinstance(outcome, AzureDevOpsError):
        # The entity already says where: the reason is the error without its place.
        return CatalogRead(UNREADABLE, path, reason=outcome.detail())
    if isinstance(outcome, BaseException):
        return CatalogRead(UNREADABLE, path, reason=str(outcome))
    location = f"url:{repository.web_url}?path={path}"
    return read_catalog(outcome, path, location)


async def _languages(client: AzureDevOpsClient, project: str) -> ProjectLanguages | None:
    try:
        return await client.language_metrics(project)
    except BridgeError:
        return None  # a preview API, sometimes blocked or absent: languages are then unknown


def _shares(
    project_languages: ProjectLanguages | None, repository: Repository
) -> tuple[LanguageShare, ...] | None:
    if project_languages is None:
        return None
    for analytics in project_languages.repositories:
        if analytics.repository_id == repository.id:
            return analytics.languages
    return ()


async def _all(commits: Any) -> list[Commit]:
    return [commit async for commit in commits]


async def synchronize(
    profiles: Sequence[Profile],
    options: SyncOptions,
    sink: Sink,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> SyncResult:
    """Sync every repository of ``profiles``, handing each entity to ``sink`` as it is ready.

    ``progress(done, listed)`` is called after each entity.
    """
    return await _Run(options, sink, progress).run(profiles)
