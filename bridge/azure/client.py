"""``AzureDevOpsClient``: the Azure DevOps resources catalog-bridge reads and writes.

One client serves one organization, directly (PAT) or through a Snyk Broker, and owns one
httpx transport (its keep-alive connections). Every list is an async iterator that fetches
page by page, so nothing holds more of an estate in memory than the page at hand.
"""

from __future__ import annotations

import base64
import logging
import ssl
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import httpx

from bridge import __version__
from bridge.azure import models, versions
from bridge.azure.broker import BrokerSettings, broker_endpoints, catalog_rule_hint
from bridge.azure.endpoints import CLOUD_API_URL, Service, resolve_endpoints, segment
from bridge.azure.failures import Where, auth_error
from bridge.azure.limiter import identity_of
from bridge.azure.network import AsyncioTransport
from bridge.azure.retry import RetryPolicy
from bridge.azure.stats import RequestStats
from bridge.azure.transport import Call, RequestEngine
from bridge.errors import (
    AuthenticationError,
    AzureDevOpsError,
    BrokerError,
    ConfigError,
    ItemNotFoundError,
    ProtocolError,
)
from bridge.secrets import Secret, redact, register

_log = logging.getLogger("bridge.azure")

# PAT scopes, named as the Azure DevOps token page names them (for refusal messages).
_CODE_READ = "Code (Read)"
_CODE_WRITE = "Code (Read & write)"
_PROJECT_READ = "Project and Team (Read)"
_ANALYTICS_READ = "Code (Read) and Analytics (Read)"
_ENTITLEMENTS_READ = "Member Entitlement Management (Read)"
_GRAPH_READ = "Graph (Read)"
_ALL_ORGANIZATIONS = "'All accessible organizations' (organization list)"
_ANY = "any"

_CODE_SEARCH_MAX_SKIP = 1000  # Code Search rejects $skip >= 1000
_CONTINUATION_HEADER = "x-ms-continuationtoken"


class AzureDevOpsClient:
    """Async client for one Azure DevOps organization.

    Give either ``token`` (a PAT, sent as HTTP Basic with an empty user name) or ``broker``
    (requests then go through the Snyk Broker and carry no PAT: the broker client adds its
    own). ``organization`` may be None only to list the organizations a token can see.
    ``api_url`` is the profile's API URL: the cloud (``https://dev.azure.com/``), a legacy
    ``https://{org}.visualstudio.com/`` or any server/emulator URL (``https://srv/tfs/``).
    Plain ``http://`` is refused unless the host is loopback or ``allow_http`` is set.

    ``concurrency`` bounds requests in flight per (host, identity), shared with every other
    client of the same host and token in the event loop. ``transport`` replaces the network
    (tests inject ``httpx.MockTransport``). ``stats`` may be shared between clients to count
    a whole sync.

    Use it as an async context manager (``async with AzureDevOpsClient(...) as client``).
    """

    def __init__(
        self,
        organization: str | None,
        *,
        token: Secret | None = None,
        api_url: str = CLOUD_API_URL,
        broker: BrokerSettings | None = None,
        allow_http: bool = False,
        concurrency: int = 16,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        verify: ssl.SSLContext | bool = True,
        stats: RequestStats | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if token is not None and not isinstance(token, Secret):
            raise TypeError("the token must be wrapped in a Secret")
        if concurrency < 1:
            raise ConfigError("concurrency must be at least 1")
        headers = {
            "Accept": "application/json",
            # Without it, a refused token is redirected to the interactive sign-in page.
            "X-TFS-FedAuthRedirect": "Suppress",
            "User-Agent": f"catalog-bridge/{__version__}",
        }
        if broker is not None:
            self.endpoints = broker_endpoints(broker, organization, allow_http=allow_http)
            identity = identity_of(broker.token)
        elif token:
            self.endpoints = resolve_endpoints(api_url, organization, allow_http=allow_http)
            identity = identity_of(token)
            credentials = base64.b64encode(f":{token.reveal()}".encode()).decode("ascii")
            register(credentials)  # the header value is as secret as the token
            headers["Authorization"] = f"Basic {credentials}"
        else:
            raise ConfigError("an Azure DevOps token or a Snyk Broker is needed")
        self.organization = organization
        self.via_broker = broker is not None
        # Redirects are never followed (one means the token was not accepted), and there is
        # one connection per request that may be in flight.
        self._engine = RequestEngine(
            self.endpoints,
            transport or AsyncioTransport(verify=verify, connections=concurrency),
            headers=headers,
            timeout=timeout,
            identity=identity,
            via_broker=self.via_broker,
            concurrency=concurrency,
            retry=retry or RetryPolicy(),
            stats=stats or RequestStats(),
        )

    def api_version(self, service: Service = Service.CORE) -> str:
        """The api-version this client now sends to ``service`` (lower after a step-down)."""
        return self._engine.api_version(self.endpoints.base(service), versions.DEFAULT)

    @property
    def stats(self) -> RequestStats:
        """Requests, retries, throttling and pauses counted so far."""
        return self._engine.stats

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._engine.aclose()

    def __repr__(self) -> str:
        mode = "broker" if self.via_broker else "direct"
        return redact(
            f"AzureDevOpsClient(organization={self.organization!r}, {mode}, "
            f"endpoints={self.endpoints!r})"
        )

    # -- identity and organizations ---------------------------------------------------------

    async def connection_data(self) -> models.ConnectionData:
        """Probe who the token authenticates as; AuthenticationError if nobody."""
        where = self._where()
        reply = await self._engine.send(
            Call(
                "GET",
                Service.CORE,
                "_apis/connectionData",
                versions.CONNECTION_DATA,
                where,
                _ANY,
                params={"connectOptions": "none"},
            )
        )
        data = models.parse_connection_data(reply.data)
        if data.is_anonymous:
            raise auth_error(
                "Azure DevOps did not recognise any identity for the token",
                where,
                reason="unknown-token",
            )
        return data

    async def organizations(self) -> AsyncIterator[models.Organization]:
        """The organizations the token can see (profile ``me`` + accounts), for ``["*"]``."""
        where = self._where()
        profile = await self._engine.send(
            Call(
                "GET",
                Service.PROFILE,
                "_apis/profile/profiles/me",
                versions.DEFAULT,
                where,
                _ALL_ORGANIZATIONS,
            )
        )
        accounts = await self._engine.send(
            Call(
                "GET",
                Service.PROFILE,
                "_apis/accounts",
                versions.DEFAULT,
                where,
                _ALL_ORGANIZATIONS,
                params={"memberId": models.parse_profile_id(profile.data)},
            )
        )
        for item in models.envelope(accounts.data, "accounts"):
            yield models.parse_organization(item)

    # -- projects and repositories -----------------------------------------------------------

    async def projects(self) -> AsyncIterator[models.Project]:
        """Every project of the organization (paged by continuation token)."""
        call = Call(
            "GET", Service.CORE, "_apis/projects", versions.DEFAULT, self._where(), _PROJECT_READ
        )
        async for item in self._continued(call, "projects"):
            yield models.parse_project(item)

    async def teams(self, project: str) -> list[models.Team]:
        """The first page (up to 100) of ``project``'s teams, the default team first, in one
        request: enough to name an owner."""
        reply = await self._engine.send(
            Call(
                "GET",
                Service.CORE,
                f"_apis/projects/{segment(project)}/teams",
                versions.DEFAULT,
                self._where(project),
                _PROJECT_READ,
            )
        )
        return [models.parse_team(item) for item in models.envelope(reply.data, "teams")]

    async def repositories(self, project: str | None = None) -> AsyncIterator[models.Repository]:
        """The repositories of ``project``, or of the whole organization (one unpaged list)."""
        path = "_apis/git/repositories"
        if project is not None:
            path = f"{segment(project)}/{path}"
        reply = await self._engine.send(
            Call("GET", Service.CORE, path, versions.DEFAULT, self._where(project), _CODE_READ)
        )
        for item in models.envelope(reply.data, "repositories"):
            yield models.parse_repository(item, self.endpoints.web)

    async def file_content(
        self, project: str, repository: str, path: str, *, branch: str | None = None
    ) -> models.FileContent | None:
        """A file's text at the default branch (or ``branch``), with the commit it was read
        at and (same request) the commit that last changed it; None if there is no such file.

        Missing file (``TF401174``) and a folder at ``path`` give None. An empty repository,
        an unknown branch or repository raise. Through a broker, a read the accept rules
        block raises BrokerBlockedError saying which rule to add, never None.
        """
        params = {
            "path": path,
            "includeContent": "true",
            "latestProcessedChange": "true",
            "$format": "json",
        }
        if branch is not None:
            params["versionDescriptor.version"] = branch.removeprefix("refs/heads/")
            params["versionDescriptor.versionType"] = "branch"
        call = self._repo_read(
            project, repository, "items", params, blocked_hint=catalog_rule_hint(path)
        )
        try:
            reply = await self._engine.send(call)
        except ItemNotFoundError:
            return None
        return models.parse_file(reply.data, path)

    # -- history ------------------------------------------------------------------------------

    async def latest_commit(
        self, project: str, repository: str, *, branch: str | None = None
    ) -> models.Commit | None:
        """The newest commit of the default branch (or ``branch``); None if there is none."""
        commits = await self.latest_commits(project, repository, branch=branch, count=1)
        return commits[0] if commits else None

    async def latest_commits(
        self, project: str, repository: str, *, branch: str | None = None, count: int
    ) -> list[models.Commit]:
        """The ``count`` newest commits of the default branch (or ``branch``), newest first;
        on a branch made of one commit, the second is the commit it was made on."""
        params = {"searchCriteria.$top": str(count)}
        if branch is not None:
            params["searchCriteria.itemVersion.version"] = branch.removeprefix("refs/heads/")
        reply = await self._engine.send(self._repo_read(project, repository, "commits", params))
        return [models.parse_commit(item) for item in models.envelope(reply.data, "commits")]

    async def commits(
        self,
        project: str,
        repository: str,
        *,
        since: datetime,
        until: datetime | None = None,
        branch: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[models.Commit]:
        """Commits made between ``since`` and ``until`` (newest first), paged by ``$skip``."""
        params = {"searchCriteria.fromDate": _utc(since)}
        if until is not None:
            params["searchCriteria.toDate"] = _utc(until)
        if branch is not None:
            params["searchCriteria.itemVersion.version"] = branch.removeprefix("refs/heads/")
        call = self._repo_read(project, repository, "commits", params)
        items = self._skipped(
            call, "commits", "searchCriteria.$top", "searchCriteria.$skip", page_size
        )
        async for item in items:
            yield models.parse_commit(item)

    async def refs(
        self, project: str, repository: str, *, filter: str | None = None, page_size: int = 100
    ) -> AsyncIterator[models.Ref]:
        """Refs whose name starts with ``refs/{filter}`` (e.g. ``heads/``), page by page."""
        params = {"$top": str(page_size)}
        if filter is not None:
            params["filter"] = filter.removeprefix("refs/")
        call = self._repo_read(project, repository, "refs", params)
        async for item in self._continued(call, "refs"):
            yield models.parse_ref(item)

    async def pushes(
        self,
        project: str,
        repository: str,
        *,
        ref_name: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[models.Push]:
        """Pushes to the repository (to ``ref_name`` only, if given), newest first."""
        params = {} if ref_name is None else {"searchCriteria.refName": _full_ref(ref_name)}
        call = self._repo_read(project, repository, "pushes", params)
        async for item in self._skipped(call, "pushes", "$top", "$skip", page_size):
            yield models.parse_push(item)

    # -- proposing a file ----------------------------------------------------------------------

    async def push_file(
        self,
        project: str,
        repository: str,
        *,
        branch: str,
        base_commit_id: str,
        path: str,
        content: str,
        comment: str,
        change_type: str = "add",
        parent: str | None = None,
    ) -> models.Push:
        """Commit one file to ``branch`` in one push.

        ``base_commit_id`` is the commit a new branch starts from, or the current tip of an
        existing branch (all zeros for the first commit of an empty repository). A stale tip
        raises ConflictError (``TF401028``). ``parent`` rebases an existing branch: the new
        commit sits on ``parent`` (e.g. the default branch's tip) instead of the old tip,
        which ``base_commit_id`` still names so a concurrent update is refused.
        """
        commit: dict[str, Any] = {"comment": comment}
        if parent is not None:
            commit["parents"] = [parent]
        body = {
            "refUpdates": [{"name": _full_ref(branch), "oldObjectId": base_commit_id}],
            "commits": [
                {
                    **commit,
                    "changes": [
                        {
                            "changeType": change_type,
                            "item": {"path": path},
                            "newContent": {"content": content, "contentType": "rawtext"},
                        }
                    ],
                }
            ],
        }
        reply = await self._engine.send(self._repo_write(project, repository, "pushes", body))
        return models.parse_push(reply.data)

    async def pull_requests(
        self,
        project: str,
        repository: str,
        *,
        status: str = "active",
        source_ref: str | None = None,
        target_ref: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[models.PullRequest]:
        """Pull requests of the repository in ``status`` (``active``, ``completed``, ``all``)."""
        params = {"searchCriteria.status": status}
        if source_ref is not None:
            params["searchCriteria.sourceRefName"] = _full_ref(source_ref)
        if target_ref is not None:
            params["searchCriteria.targetRefName"] = _full_ref(target_ref)
        call = self._repo_read(project, repository, "pullrequests", params)
        async for item in self._skipped(call, "pull requests", "$top", "$skip", page_size):
            yield models.parse_pull_request(item)

    async def create_pull_request(
        self,
        project: str,
        repository: str,
        *,
        source_ref: str,
        target_ref: str,
        title: str,
        description: str = "",
        draft: bool = False,
        reviewers: Sequence[str] = (),
        labels: Sequence[str] = (),
    ) -> models.PullRequest:
        """Open a pull request; ConflictError (``TF401179``) if an active one already exists.

        ``reviewers`` are identity ids; ``labels`` are tag names (created if new).
        """
        body: dict[str, Any] = {
            "sourceRefName": _full_ref(source_ref),
            "targetRefName": _full_ref(target_ref),
            "title": title,
            "description": description,
        }
        if draft:
            body["isDraft"] = True
        if reviewers:
            body["reviewers"] = [{"id": reviewer} for reviewer in reviewers]
        if labels:
            body["labels"] = [{"name": label} for label in labels]
        reply = await self._engine.send(self._repo_write(project, repository, "pullrequests", body))
        return models.parse_pull_request(reply.data)

    async def update_pull_request(
        self,
        project: str,
        repository: str,
        pull_request_id: int,
        *,
        status: str | None = None,
        description: str | None = None,
    ) -> models.PullRequest:
        """Change a pull request: ``status`` ``active`` reactivates an abandoned one."""
        body: dict[str, Any] = {}
        if status is not None:
            body["status"] = status
        if description is not None:
            body["description"] = description
        resource = f"pullrequests/{pull_request_id}"
        reply = await self._engine.send(
            self._repo_write(project, repository, resource, body, method="PATCH")
        )
        return models.parse_pull_request(reply.data)

    async def probe_write_access(self, project: str, repository: str) -> None:
        """Raise AuthenticationError if the token may not write to ``repository``.

        Sends a pull request without branches: Azure DevOps checks the Code (Read & write)
        scope first and then refuses the request as invalid (HTTP 400), so nothing is
        created either way.
        """
        call = self._repo_write(project, repository, "pullrequests", {})
        try:
            await self._engine.send(call)
        except AzureDevOpsError as error:
            if isinstance(error, AuthenticationError | BrokerError) or error.status != 400:
                raise
            return
        raise ProtocolError("a pull request without branches was accepted")

    # -- search, languages, users ---------------------------------------------------------------

    async def code_search(
        self,
        search_text: str,
        *,
        project: str | None = None,
        filters: Mapping[str, Sequence[str]] | None = None,
        page_size: int = 1000,
    ) -> AsyncIterator[models.CodeSearchHit]:
        """Files Code Search finds for ``search_text`` (e.g. ``path:/catalog-info.yaml``).

        Pages with ``$skip``/``$top`` until ``count`` is reached. Code Search refuses
        ``$skip`` of 1000 or more, so a query matching more files stops there with a warning
        (narrow it by project or path).
        """
        skip = 0
        while True:
            page = await self.code_search_page(
                search_text, project=project, filters=filters, skip=skip, top=page_size
            )
            for hit in page.hits:
                yield hit
            skip += len(page.hits)
            if page.info_code and not page.hits:
                _log.warning("Code Search returned nothing: infoCode %d", page.info_code)
            if not page.hits or skip >= page.count:
                return
            if skip >= _CODE_SEARCH_MAX_SKIP:
                _log.warning(
                    "Code Search matched %d files but returns at most %d per query; "
                    "narrow the query by project or path",
                    page.count,
                    skip,
                )
                return

    async def code_search_page(
        self,
        search_text: str,
        *,
        project: str | None = None,
        filters: Mapping[str, Sequence[str]] | None = None,
        skip: int = 0,
        top: int = 1000,
        facets: bool = False,
    ) -> models.CodeSearchPage:
        """One page of Code Search results (one request); ``facets`` also asks for the
        number of matches per project (``project_counts``), across all pages."""
        path = "_apis/search/codesearchresults"
        if project is not None:
            path = f"{segment(project)}/{path}"
        body: dict[str, Any] = {
            "searchText": search_text,
            "$skip": skip,
            "$top": top,
            # A stable order keeps pages from overlapping or skipping files.
            "$orderBy": [{"field": "path", "sortOrder": "ASC"}],
        }
        if filters:
            body["filters"] = {key: list(values) for key, values in filters.items()}
        if facets:
            body["includeFacets"] = True
        call = Call(
            "POST",
            Service.SEARCH,
            path,
            versions.DEFAULT,
            self._where(project),
            _CODE_READ,
            body=body,
            idempotent=True,  # a search changes nothing
        )
        return models.parse_code_search_page((await self._engine.send(call)).data)

    async def language_metrics(self, project: str) -> models.ProjectLanguages:
        """The languages of every repository in ``project`` (one request per project)."""
        reply = await self._engine.send(
            Call(
                "GET",
                Service.CORE,
                f"{segment(project)}/_apis/projectanalysis/languagemetrics",
                versions.LANGUAGE_METRICS,
                self._where(project),
                _ANALYTICS_READ,
            )
        )
        return models.parse_project_languages(reply.data)

    async def user_entitlements(self) -> models.UserEntitlementsPage:
        """The first page of the organization's user entitlements (a scope probe)."""
        reply = await self._engine.send(
            Call(
                "GET",
                Service.ENTITLEMENTS,
                "_apis/userentitlements",
                versions.DEFAULT,
                self._where(),
                _ENTITLEMENTS_READ,
            )
        )
        return models.parse_user_entitlements(reply.data)

    async def user_entitlement(self, user_id: str) -> models.UserEntitlement:
        """One user's entitlement (access level), e.g. the token owner's from connectionData."""
        reply = await self._engine.send(
            Call(
                "GET",
                Service.ENTITLEMENTS,
                f"_apis/userentitlements/{segment(user_id)}",
                versions.DEFAULT,
                self._where(),
                _ENTITLEMENTS_READ,
            )
        )
        return models.parse_user_entitlement(reply.data)

    async def users(self, *, subject_types: str = "aad,msa") -> AsyncIterator[models.GraphUser]:
        """The organization's users from the Graph API (paged by continuation token)."""
        call = Call(
            "GET",
            Service.GRAPH,
            "_apis/graph/users",
            versions.GRAPH_USERS,
            self._where(),
            _GRAPH_READ,
            params={"subjectTypes": subject_types},
        )
        async for item in self._continued(call, "users"):
            yield models.parse_graph_user(item)

    # -- plumbing -------------------------------------------------------------------------------

    def _where(self, project: str | None = None, repository: str | None = None) -> Where:
        return Where(self.organization, project, repository)

    def _repo_read(
        self,
        project: str,
        repository: str,
        resource: str,
        params: Mapping[str, str],
        *,
        blocked_hint: str | None = None,
    ) -> Call:
        """A GET of one of the repository's Git resources (``items``, ``refs``, ...)."""
        return Call(
            "GET",
            Service.CORE,
            _repo_path(project, repository, resource),
            versions.DEFAULT,
            self._where(project, repository),
            _CODE_READ,
            params=params,
            blocked_hint=blocked_hint,
        )

    def _repo_write(
        self, project: str, repository: str, resource: str, body: object, method: str = "POST"
    ) -> Call:
        """A write to one of the repository's Git resources (never sent twice)."""
        # The accept rule's path, as the broker client's azure-repos template spells it.
        route = "/".join(":pullRef" if part.isdigit() else part for part in resource.split("/"))
        return Call(
            method,
            Service.CORE,
            _repo_path(project, repository, resource),
            versions.DEFAULT,
            self._where(project, repository),
            _CODE_WRITE,
            body=body,
            idempotent=False,
            blocked_hint=(
                "add an accept rule to the broker client (accept.json): "
                f"{method} /:project/_apis/git/repositories/:repo/{route}; `propose` pushes "
                "branches and opens pull requests"
            ),
        )

    async def _continued(self, call: Call, what: str) -> AsyncIterator[Any]:
        """The items of a list that signals more with the ``x-ms-continuationtoken`` header."""
        seen: set[str] = set()
        while True:
            reply = await self._engine.send(call)
            for item in models.envelope(reply.data, what):
                yield item
            token = reply.headers.get(_CONTINUATION_HEADER)
            if not token:
                return
            if token in seen:
                # Following it again would loop forever.
                raise ProtocolError(f"the {what} list repeated a continuation token")
            seen.add(token)
            call = replace(call, params={**call.params, "continuationToken": token})

    async def _skipped(
        self, call: Call, what: str, top: str, skip: str, page_size: int
    ) -> AsyncIterator[Any]:
        """The items of a list paged by ``$top``/``$skip``; a short page is the last."""
        offset = 0
        while True:
            params = {**call.params, top: str(page_size), skip: str(offset)}
            page = models.envelope(
                (await self._engine.send(replace(call, params=params))).data, what
            )
            for item in page:
                yield item
            if len(page) < page_size:
                return
            offset += len(page)


def _repo_path(project: str, repository: str, resource: str) -> str:
    return f"{segment(project)}/_apis/git/repositories/{segment(repository)}/{resource}"


def _full_ref(branch: str) -> str:
    """``main`` -> ``refs/heads/main``; full ref names pass unchanged."""
    return branch if branch.startswith("refs/") else f"refs/heads/{branch}"


def _utc(moment: datetime) -> str:
    """An ISO 8601 UTC timestamp as Azure DevOps expects in search criteria (naive = UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
