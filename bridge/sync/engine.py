"""The sync: every repository of every configured organization, as entities, streamed.

For each profile and organization: list projects; per project list repositories and fetch
the language metrics (one request each); per repository read the catalog file and the
latest commit (one request each, none for disabled or empty repositories). Every request
goes through the client's shared per-host limiter, so the run is as concurrent as the
configuration allows and no more. Entities are handed to the sink as they complete.

Failures stay local: a refused token or a vanished project is recorded and the rest goes on;
a field that could not be read is left null and named in the entity's ``unavailable`` list.
Only a failure to write the output stops the run: it is raised as itself, never wrapped in
the task groups' ``ExceptionGroup``.
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
from bridge.azure.models import (
    Commit,
    FileContent,
    LanguageShare,
    Project,
    ProjectLanguages,
    Repository,
)
from bridge.config import DEFAULT_CATALOG_FILENAME, Profile
from bridge.errors import (
    EXIT_OK,
    EXIT_PROBLEMS,
    BridgeError,
    EmptyRepositoryError,
    combined_exit_code,
    leading_error,
)
from bridge.nightly.shard import Shard
from bridge.sync.entity import (
    SKIPPED,
    UNREADABLE,
    CatalogRead,
    Unavailable,
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
    # --shard I/N: this job's share of organizations and projects; None: everything.
    shard: Shard | None = None


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


@dataclass(frozen=True, slots=True)
class Degraded:
    """A repository synced with fields that could not be read."""

    where: str  # ``profile: organization/project/repository``
    fields: tuple[Unavailable, ...]


@dataclass(slots=True)
class SyncResult:
    """What a run did: counts, failures, requests and time."""

    repositories: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_organization: Counter[str] = field(default_factory=Counter)
    unreadable: Counter[str] = field(default_factory=Counter)  # reasons
    degraded: list[Degraded] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    organizations: int = 0  # organizations whose projects could be listed
    stats: RequestStats = field(default_factory=RequestStats)
    seconds: float = 0.0

    @property
    def synced_nothing(self) -> bool:
        """Failures, and not one repository read: the run has no output worth keeping.

        Counted in repositories, not organizations: a token that lists projects but may not
        list their repositories reads nothing either.
        """
        return bool(self.failures) and self.repositories == 0

    @property
    def exit_code(self) -> int:
        """0: everything read; 1: finished with failures, unreadable catalog files or fields;
        if nothing was synced, the code of the failures by :data:`~bridge.errors.EXIT_PRECEDENCE`
        (the same whatever order they came in)."""
        if self.synced_nothing:
            return combined_exit_code(failure.error for failure in self.failures)
        if self.failures or self.unreadable or self.degraded:
            return EXIT_PROBLEMS
        return EXIT_OK


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
        self.shard = options.shard or Shard()

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
        wanted, shard = self.options.organizations, self.shard
        return [
            (profile, name)
            for name in names
            if (not wanted or name.lower() in wanted)
            and shard.takes_organization(profile.name, name)
        ]

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
                            if self.shard.takes_project(profile.name, name, project.name):
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
        languages: asyncio.Future[ProjectLanguages | BridgeError],
    ) -> None:
        try:
            profile = organization.profile
            backstage = profile.backstage
            path = "/" + (backstage.filename if backstage else DEFAULT_CATALOG_FILENAME)
            # Disabled or empty: nothing is read, and there is no commit to count.
            no_developers: list[dict[str, Any]] | None = None
            if organization.developers_since is not None:
                no_developers = []
            if repository.is_disabled:
                reason = "the repository is disabled"
                reads = _Reads(CatalogRead(SKIPPED, path, reason=reason), developers=no_developers)
            elif is_empty(repository):
                reads = _Reads(CatalogRead(SKIPPED, path, reason=_EMPTY), developers=no_developers)
            else:
                reads = await self._read(organization, repository, path)
            shares, missing_languages = _shares(await languages, repository)
            if missing_languages is not None:
                reads.unavailable.append(missing_languages)
            entity = repository_entity(
                repository,
                organization=organization.name,
                profile=profile.name,
                catalog=reads.catalog,
                backstage=backstage,
                last_commit=reads.last_commit,
                language_shares=shares,
                developer_list=reads.developers,
                now=self.now,
                unavailable=reads.unavailable,
            )
        finally:
            organization.jobs.release()
        self._emit(entity, reads.unavailable)

    async def _read(self, organization: _Organization, repository: Repository, path: str) -> _Reads:
        client = organization.client
        project, name = repository.project_name, repository.name
        backstage = organization.profile.backstage
        since = organization.developers_since
        commit, content, commits = await asyncio.gather(
            client.latest_commit(project, name),
            client.file_content(project, name, path) if backstage else _nothing(),
            _all(client.commits(project, name, since=since)) if since else _nothing(),
            return_exceptions=True,
        )
        for outcome in (commit, content, commits):
            if isinstance(outcome, BaseException) and not isinstance(outcome, BridgeError):
                raise outcome  # a bug or a cancellation: not something to report as data
        if backstage is None:
            reason = "the Backstage catalog is not enabled for this profile"
            reads = _Reads(CatalogRead(SKIPPED, path, reason=reason))
        else:
            reads = _Reads(_catalog(content, path, repository))
        # An empty repository has no commit: that is an answer, not a failure.
        if isinstance(commit, BridgeError) and not isinstance(commit, EmptyRepositoryError):
            reads.unavailable.append(Unavailable("last_commit_at", commit.detail()))
        elif isinstance(commit, Commit):
            reads.last_commit = commit
        if isinstance(commits, EmptyRepositoryError):
            reads.developers = []
        elif isinstance(commits, BridgeError):
            reads.unavailable.append(Unavailable("developers", commits.detail()))
        elif isinstance(commits, list):
            reads.developers = developers(commits)
        return reads

    def _emit(self, entity: dict[str, Any], unavailable: Sequence[Unavailable]) -> None:
        result = self.result
        result.repositories += 1
        status = entity["catalog"]["status"]
        result.by_status[status] += 1
        result.by_organization[entity["organization"]] += 1
        if status == UNREADABLE:
            result.unreadable[entity["catalog"]["reason"]] += 1
        if unavailable:
            place = "/".join((entity["organization"], entity["project"], entity["name"]))
            fields = tuple(sorted(unavailable, key=lambda entry: entry.field))
            result.degraded.append(Degraded(f"{entity['profile']}: {place}", fields))
        self.sink(entity)
        if self.progress is not None:
            self.progress(result.repositories, self.listed)


@dataclass(slots=True)
class _Reads:
    """What the reads of one repository gave."""

    catalog: CatalogRead
    last_commit: Commit | None = None
    developers: list[dict[str, Any]] | None = None
    unavailable: list[Unavailable] = field(default_factory=list)


async def _languages(client: AzureDevOpsClient, project: str) -> ProjectLanguages | BridgeError:
    try:
        return await client.language_metrics(project)
    except BridgeError as error:
        return error  # a preview API, sometimes blocked or absent: said per repository


async def _nothing() -> None:
    return None


def _catalog(
    outcome: FileContent | BaseException | None, path: str, repository: Repository
) -> CatalogRead:
    if isinstance(outcome, EmptyRepositoryError):
        return CatalogRead(SKIPPED, path, reason=_EMPTY)
    if isinstance(outcome, BridgeError):
        # The entity already says where: the reason is the error without its place.
        return CatalogRead(UNREADABLE, path, reason=outcome.detail())
    assert not isinstance(outcome, BaseException)  # _read raised anything else
    location = f"url:{repository.web_url}?path={path}"
    return read_catalog(outcome, path, location)


def _shares(
    project_languages: ProjectLanguages | BridgeError, repository: Repository
) -> tuple[tuple[LanguageShare, ...] | None, Unavailable | None]:
    """The repository's languages; a failed request (a preview API, sometimes blocked) leaves
    them unknown and says why, except for an empty repository, which has none."""
    if isinstance(project_languages, BridgeError):
        if is_empty(repository):
            return (), None
        return None, Unavailable("languages", project_languages.detail())
    for analytics in project_languages.repositories:
        if analytics.repository_id == repository.id:
            return analytics.languages, None
    return (), None


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

    ``progress(done, listed)`` is called after each entity. An error of ``sink`` stops the
    run and is raised as itself (the first by exit-code precedence if several tasks met one).
    """
    try:
        return await _Run(options, sink, progress).run(profiles)
    except BaseExceptionGroup as group:
        error = leading_error(group)
        if isinstance(error, BridgeError):
            raise error from None
        raise  # a bug: the whole group, for its tracebacks
