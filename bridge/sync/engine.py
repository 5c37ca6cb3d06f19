"""The sync: every repository of every configured organization, as entities, streamed.

For each profile and organization: list projects; per project list repositories and fetch
the language metrics (one request each); per repository read the catalog file and the
latest commit (one request each, none for disabled or empty repositories). Every request
goes through the client's shared per-host limiter, so the run is as concurrent as the
configuration allows and no more. Entities are handed to the sink as they complete.

With a state (:class:`~bridge.state.run.StateRun`), an incremental run spends requests only
where something changed: the repository listing, Code Search's content ids and the stored
entities decide (see :mod:`bridge.state.signals`) which catalog files, latest commits,
commit lists and project language metrics are read again; the rest is taken from the
previous entity. Each project's entities are recorded in the state as one unit.

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
from typing import Any, NamedTuple

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
from bridge.state.records import (
    author_commit,
    author_record,
    commit_from,
    commit_record,
    stored_shares,
)
from bridge.state.run import StateRun
from bridge.state.signals import CatalogIndex, catalog_index, listing, listing_changed, renamed
from bridge.state.store import repository_key
from bridge.sync.entity import (
    FOUND,
    INVALID,
    MISSING_FILE,
    SKIPPED,
    UNREADABLE,
    CatalogRead,
    Unavailable,
    developers,
    is_empty,
    read_catalog,
    repository_entity,
)
from bridge.sync.monorepo import (
    MonorepoCatalog,
    MonorepoOutcome,
    load_monorepo,
    merge_context,
    with_provenance,
)

Sink = Callable[[dict[str, Any]], None]
# One project's entities for the state: (key, entity, what it was read from).
_Entries = list[tuple[str, dict[str, Any], dict[str, Any]]]

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
    # With a state: what was read again and what was taken from the previous entity
    # ("catalog read", "catalog reused", "commit read", "commit reused"...).
    reads: Counter[str] = field(default_factory=Counter)
    incremental: bool = False
    notes: list[str] = field(default_factory=list)  # e.g. Code Search unavailable, per org
    # backstage.catalog: each profile's catalog repository, and the repositories with
    # context by the origin counted ("repository", "catalog"; also "both ORIGIN" when they
    # had both and the precedence picked ORIGIN).
    catalogs: list[MonorepoOutcome] = field(default_factory=list)
    context: Counter[str] = field(default_factory=Counter)

    @property
    def synced_nothing(self) -> bool:
        """Failures, and not one repository read: the run has no output worth keeping.

        Counted in repositories, not organizations: a token that lists projects but may not
        list their repositories reads nothing either.
        """
        return bool(self.failures) and self.repositories == 0

    @property
    def exit_code(self) -> int:
        """0: everything read; 1: finished with failures, unreadable catalog files or fields,
        or a catalog repository that could not be read; if nothing was synced, the code of the
        failures by :data:`~bridge.errors.EXIT_PRECEDENCE` (the same whatever order they came
        in)."""
        if self.synced_nothing:
            return combined_exit_code(failure.error for failure in self.failures)
        failed_catalog = any(outcome.error is not None for outcome in self.catalogs)
        if self.failures or self.unreadable or self.degraded or failed_catalog:
            return EXIT_PROBLEMS
        return EXIT_OK


@dataclass(slots=True)
class _Organization:
    profile: Profile
    name: str
    client: AzureDevOpsClient
    jobs: asyncio.Semaphore
    developers_since: datetime | None
    catalogs: asyncio.Future[CatalogIndex] | None = None  # incremental runs only
    failed_projects: list[str] = field(default_factory=list)  # ids


class _Run:
    def __init__(
        self,
        options: SyncOptions,
        sink: Sink,
        progress: Callable[[int, int], None] | None,
        state: StateRun | None,
    ) -> None:
        self.options = options
        self.sink = sink
        self.progress = progress
        self.state = state
        # Only an incremental run reuses anything; a full one still records.
        self.reuse = state if state is not None and state.incremental else None
        self.result = SyncResult(incremental=self.reuse is not None)
        self.listed = 0
        self.now = datetime.now(UTC)
        self.shard = options.shard or Shard()
        self.monorepos: dict[str, MonorepoCatalog] = {}

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
        await asyncio.gather(*(self._monorepo(profile) for profile in profiles))
        targets = [t for profile in profiles for t in await self._organizations(profile)]
        # A task group, not gather: when one organization's task fails (the output closed),
        # the others are cancelled and awaited, so none is left to fail unobserved at exit.
        async with asyncio.TaskGroup() as organizations:
            for profile, name in targets:
                organizations.create_task(self._organization(profile, name))
        self.result.catalogs += [catalog.outcome() for catalog in self.monorepos.values()]
        self.result.seconds = time.perf_counter() - start
        return self.result

    async def _monorepo(self, profile: Profile) -> None:
        """Process the profile's catalog repository, once for the whole run (git and the
        processing block: in a thread). One that cannot be read is reported, and the
        repositories are synced without its context."""
        settings = profile.backstage.catalog if profile.backstage else None
        if settings is None:
            return
        try:
            self.monorepos[profile.name] = await asyncio.to_thread(load_monorepo, profile, settings)
        except BridgeError as error:
            failed = MonorepoOutcome(profile.name, settings.repository, None, error=str(error))
            self.result.catalogs.append(failed)

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
                backstage = profile.backstage
                if self.reuse is not None and backstage is not None:
                    index = catalog_index(client, "/" + backstage.filename)
                    organization.catalogs = asyncio.ensure_future(index)
                try:
                    await self._projects(organization)
                finally:
                    if organization.catalogs is not None:
                        organization.catalogs.cancel()  # unused if no project was listed
        except BridgeError as error:  # the client could not even be built (bad URL, TLS)
            self._fail(profile, name, None, error)

    async def _projects(self, organization: _Organization) -> None:
        profile, name = organization.profile, organization.name
        async with asyncio.TaskGroup() as projects:
            listed_any = False
            try:
                async for project in organization.client.projects():
                    if not listed_any:
                        listed_any = True
                        self.result.organizations += 1
                    if self.shard.takes_project(profile.name, name, project.name):
                        projects.create_task(self._project(organization, project))
            except BridgeError as error:
                self._fail(profile, name, None, error)
                return
            if not listed_any:
                self.result.organizations += 1  # an organization with no project
        catalogs = organization.catalogs
        if catalogs is not None and catalogs.done() and not catalogs.cancelled():
            reason = catalogs.result().unavailable
            if reason is not None:
                self.result.notes.append(
                    f"{profile.name}: {name}: {reason}; every catalog file was read instead"
                )
        if self.state is not None:
            # Every project listed: repositories no longer there are forgotten.
            self.state.store.finish_organization(
                self.state.run_id, profile.name, name, organization.failed_projects
            )

    async def _project(self, organization: _Organization, project: Project) -> None:
        client = organization.client
        # Language metrics: one request for the whole project, shared by its repositories;
        # sent with the listing, unless an incremental run must see the listing first.
        languages: asyncio.Future[ProjectLanguages | BridgeError | None] | None = None
        if self.reuse is None:
            languages = asyncio.ensure_future(_maybe_languages(client, project.name))
        try:
            repositories = [repository async for repository in client.repositories(project.name)]
        except BridgeError as error:
            if languages is not None:
                languages.cancel()
            organization.failed_projects.append(project.id)
            self._fail(organization.profile, organization.name, project.name, error)
            return
        self.listed += len(repositories)
        if languages is None:
            languages = asyncio.ensure_future(
                _languages(client, project.name)
                if self._project_changed(organization, project, repositories)
                else _nothing()  # None: every repository keeps its languages
            )
        entries: _Entries = []
        try:
            async with asyncio.TaskGroup() as jobs:
                for repository in repositories:
                    await organization.jobs.acquire()
                    jobs.create_task(self._repository(organization, repository, languages, entries))
        finally:
            languages.cancel()
        if self.state is not None:
            self.state.record(entries)

    def _project_changed(
        self, organization: _Organization, project: Project, repositories: Sequence[Repository]
    ) -> bool:
        """True when the project's language metrics must be read again: a repository was
        added, removed, moved, renamed or pushed to, or lacks languages."""
        state = self.reuse
        assert state is not None
        profile, name = organization.profile.name, organization.name
        keys = {repository_key(profile, name, repository.id) for repository in repositories}
        if keys != state.previous_keys(profile, name, project.id):
            return True
        for repository in repositories:
            stored = state.previous(profile, name, repository.id)
            if stored is None or stored.entity["languages"] is None:
                return True
            before = stored.read_info.get("listing")
            if listing_changed(before, repository) or renamed(before, repository):
                return True
        return False

    async def _repository(
        self,
        organization: _Organization,
        repository: Repository,
        languages: asyncio.Future[ProjectLanguages | BridgeError | None],
        entries: _Entries,
    ) -> None:
        try:
            profile = organization.profile
            backstage = profile.backstage
            path = "/" + (backstage.filename if backstage else DEFAULT_CATALOG_FILENAME)
            before = self._before(organization, repository)
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
                reads = await self._read(organization, repository, path, before)
            project_languages = await languages
            if project_languages is None:  # the project is unchanged: so are the languages
                assert before is not None  # else the project changed
                shares, missing_languages = stored_shares(before.entity["languages"]), None
            else:
                shares, missing_languages = _shares(project_languages, repository)
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
            if reads.reused_catalog is not None:
                entity["catalog"], reused = reads.reused_catalog
                catalog = entity["catalog"]
                entity["context"] = with_provenance(reused, catalog["path"], catalog["commit"])
            self._merge(entity, organization, repository)
            if self.state is not None:  # kept for the project's record only: else let it go
                info = reads.read_info
                info.update(project_id=repository.project_id, listing=listing(repository))
                entries.append((_key(organization, repository), entity, info))
        finally:
            organization.jobs.release()
        self._emit(entity, reads.unavailable)

    def _merge(
        self, entity: dict[str, Any], organization: _Organization, repository: Repository
    ) -> None:
        """Add the catalog repository's context to the entity's own, and count the origin
        the precedence picks."""
        backstage = organization.profile.backstage
        if backstage is None or backstage.catalog is None:
            return
        own, entries = entity["context"], []
        monorepo = self.monorepos.get(organization.profile.name)
        if monorepo is not None:
            entries = monorepo.entries(
                organization.name, repository.project_name, repository.name, backstage
            )
        entity["context"], counted = merge_context(own, entries, backstage.catalog.precedence)
        if counted is not None:
            self.result.context[counted] += 1
        if own and entries:
            self.result.context[f"both {counted}"] += 1

    def _before(self, organization: _Organization, repository: Repository) -> _Before | None:
        """The repository's previous entity and read information, decoded (once per
        repository: the state keeps them as text), when this run may reuse them."""
        if self.reuse is None:
            return None
        stored = self.reuse.previous(organization.profile.name, organization.name, repository.id)
        return None if stored is None else _Before(stored.entity, stored.read_info)

    async def _plan(
        self, organization: _Organization, repository: Repository, path: str, stored: _Before | None
    ) -> _Plan:
        """What an incremental run may take from the previous entity instead of reading: not
        after a field could not be read (it is read again)."""
        if stored is None or stored.entity.get("unavailable"):
            return _Plan()
        info = stored.read_info
        before = info.get("listing")
        plan = _Plan()
        if not listing_changed(before, repository):
            # No push since: the latest commit and the commit list are the same.
            plan.last_commit = _Known(commit_from(info.get("last_commit")))
            if "developer_commits" in info:
                plan.developer_commits = [
                    author_commit(entry) for entry in info["developer_commits"]
                ]
        catalog = stored.entity["catalog"]
        if organization.catalogs is None or renamed(before, repository) or catalog["path"] != path:
            return plan  # the location the file is validated at changed: validate again
        index = await asyncio.shield(organization.catalogs)
        if not index.covers(repository):
            return plan
        hit = index.hit(repository)
        stored_catalog = info.get("catalog") or {}
        unchanged = (catalog["status"] == MISSING_FILE and hit is None) or (
            catalog["status"] in (FOUND, INVALID)
            and hit is not None
            and hit.content_id is not None
            and hit.content_id == stored_catalog.get("content_id")
        )
        if unchanged:
            reused = dict(catalog)
            if hit is not None and hit.commit_id:
                reused["commit"] = hit.commit_id  # the commit Search read the same file at
            plan.catalog = (reused, stored.entity["context"])
            plan.catalog_info = stored_catalog
        return plan

    async def _read(
        self, organization: _Organization, repository: Repository, path: str, before: _Before | None
    ) -> _Reads:
        client = organization.client
        project, name = repository.project_name, repository.name
        backstage = organization.profile.backstage
        since = organization.developers_since
        plan = await self._plan(organization, repository, path, before)
        read_commits = since is not None and plan.developer_commits is None
        outcomes: tuple[Any, ...] = await asyncio.gather(
            client.latest_commit(project, name) if plan.last_commit is None else _nothing(),
            client.file_content(project, name, path)
            if backstage and plan.catalog is None
            else _nothing(),
            _all(client.commits(project, name, since=since))
            if since is not None and read_commits
            else _nothing(),
            return_exceptions=True,
        )
        commit, content, commits = outcomes
        for outcome in (commit, content, commits):
            if isinstance(outcome, BaseException) and not isinstance(outcome, BridgeError):
                raise outcome  # a bug or a cancellation: not something to report as data
        if backstage is None:
            reason = "the Backstage catalog is not enabled for this profile"
            reads = _Reads(CatalogRead(SKIPPED, path, reason=reason))
        elif plan.catalog is not None:
            reads = _Reads(CatalogRead(plan.catalog[0]["status"], path))
            reads.reused_catalog = plan.catalog
            reads.read_info["catalog"] = plan.catalog_info
        else:
            reads = _Reads(_catalog(content, path, repository))
            if isinstance(content, FileContent):
                reads.read_info["catalog"] = {
                    "content_id": content.object_id,
                    "commit": content.commit_id,
                    "size": len(content.text.encode()),
                }
        self._count(reads, "catalog", backstage is not None and plan.catalog is None)
        if plan.last_commit is not None:
            reads.last_commit = plan.last_commit.value
        # An empty repository has no commit: that is an answer, not a failure.
        elif isinstance(commit, BridgeError) and not isinstance(commit, EmptyRepositoryError):
            reads.unavailable.append(Unavailable("last_commit_at", commit.detail()))
        elif isinstance(commit, Commit):
            reads.last_commit = commit
        self._count(reads, "commit", plan.last_commit is None)
        if reads.last_commit is not None:
            reads.read_info["last_commit"] = commit_record(reads.last_commit)
        if since is not None:
            listed = plan.developer_commits
            if listed is not None:
                # Fewer days ago than the last run's window: the same commits, the older
                # ones left out, as a list request from `since` would.
                whole_second = since.replace(microsecond=0)
                listed = [
                    c for c in listed if c.author.date is None or c.author.date >= whole_second
                ]
            elif isinstance(commits, EmptyRepositoryError):
                listed = []
            elif isinstance(commits, BridgeError):
                reads.unavailable.append(Unavailable("developers", commits.detail()))
            elif isinstance(commits, list):
                listed = commits
            self._count(reads, "commit list", plan.developer_commits is None)
            if listed is not None:
                reads.developers = developers(listed)
                reads.read_info["developer_commits"] = [author_record(c) for c in listed]
        return reads

    def _count(self, reads: _Reads, what: str, read: bool) -> None:
        if self.reuse is not None:
            self.result.reads[f"{what} {'read' if read else 'reused'}"] += 1

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
    """What the reads of one repository gave, and what the state keeps of them."""

    catalog: CatalogRead
    last_commit: Commit | None = None
    developers: list[dict[str, Any]] | None = None
    unavailable: list[Unavailable] = field(default_factory=list)
    # The previous entity's catalog and context, when the file is unchanged.
    reused_catalog: tuple[dict[str, Any], list[dict[str, Any]]] | None = None
    read_info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Known:
    """A value known without a request (``None`` included: no commit)."""

    value: Commit | None


class _Before(NamedTuple):
    """A repository's previous entity and what it was read from, as the state kept them."""

    entity: dict[str, Any]
    read_info: dict[str, Any]


@dataclass(slots=True)
class _Plan:
    """What an incremental run takes from the previous entity (None: read it)."""

    last_commit: _Known | None = None
    developer_commits: list[Commit] | None = None
    catalog: tuple[dict[str, Any], list[dict[str, Any]]] | None = None
    catalog_info: dict[str, Any] | None = None


def _key(organization: _Organization, repository: Repository) -> str:
    return repository_key(organization.profile.name, organization.name, repository.id)


async def _languages(client: AzureDevOpsClient, project: str) -> ProjectLanguages | BridgeError:
    try:
        return await client.language_metrics(project)
    except BridgeError as error:
        return error  # a preview API, sometimes blocked or absent: said per repository


async def _maybe_languages(
    client: AzureDevOpsClient, project: str
) -> ProjectLanguages | BridgeError | None:
    return await _languages(client, project)


async def _nothing() -> Any:
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
    state: StateRun | None = None,
) -> SyncResult:
    """Sync every repository of ``profiles``, handing each entity to ``sink`` as it is ready.

    ``progress(done, listed)`` is called after each entity. With ``state``, each project's
    entities are recorded in it, and an incremental run reads only what changed. An error
    of ``sink`` stops the run and is raised as itself (the first by exit-code precedence if
    several tasks met one).
    """
    try:
        return await _Run(options, sink, progress, state).run(profiles)
    except BaseExceptionGroup as group:
        error = leading_error(group)
        if isinstance(error, BridgeError):
            raise error from None
        raise  # a bug: the whole group, for its tracebacks
