"""What the client returns: small typed records, parsed defensively from Azure DevOps JSON.

Parsing goes by key (key order varies between resources), tolerates absent optional keys
(``defaultBranch`` is missing on empty repositories, ``isFork`` appears only on forks) and
raises :class:`~bridge.errors.ProtocolError` only when an identifying key is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bridge.azure.urls import normalize_repository_url, repository_web_url
from bridge.errors import ProtocolError

_HEADS = "refs/heads/"
_NIL_ID = "00000000-0000-0000-0000-000000000000"


class _Fields:
    """Typed access to one JSON object; ``what`` names it in errors."""

    __slots__ = ("_data", "_what")

    def __init__(self, data: object, what: str) -> None:
        if not isinstance(data, Mapping):
            raise ProtocolError(f"unexpected answer: {what} is not a JSON object")
        self._data: Mapping[str, Any] = data
        self._what = what

    def text(self, key: str) -> str:
        value = self.opt_text(key)
        if value is None:
            raise ProtocolError(f"unexpected answer: {self._what} has no {key!r}")
        return value

    def opt_text(self, key: str) -> str | None:
        value = self._data.get(key)
        return value if isinstance(value, str) else None

    def integer(self, key: str) -> int:
        value = self.number(key)
        if value is None:
            raise ProtocolError(f"unexpected answer: {self._what} has no {key!r}")
        return value

    def number(self, key: str) -> int | None:
        value = self._data.get(key)
        # bool is an int in Python, but never a count in these answers.
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def ratio(self, key: str) -> float | None:
        value = self._data.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value)

    def flag(self, key: str) -> bool:
        return self._data.get(key) is True

    def when(self, key: str) -> datetime | None:
        value = self.opt_text(key)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        if moment.year == 1:
            return None  # 0001-01-01 is how Azure DevOps says "never"
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def child(self, key: str) -> _Fields:
        value = self._data.get(key)
        return _Fields(value if isinstance(value, Mapping) else {}, f"{self._what}.{key}")

    def children(self, key: str) -> list[_Fields]:
        value = self._data.get(key)
        if not isinstance(value, list):
            return []
        return [_Fields(item, f"{self._what}.{key}[]") for item in value]


def envelope(data: object, what: str) -> list[Any]:
    """The items of a ``{"count": N, "value": [...]}`` list answer."""
    value = data.get("value") if isinstance(data, Mapping) else None
    if not isinstance(value, list):
        raise ProtocolError(f"unexpected answer: the {what} list has no 'value' array")
    return value


@dataclass(frozen=True, slots=True)
class Organization:
    """An organization the token can see (from the accounts API)."""

    name: str
    id: str | None
    uri: str | None


@dataclass(frozen=True, slots=True)
class Project:
    """A team project."""

    id: str
    name: str
    description: str | None
    state: str | None
    visibility: str | None  # "private" or "public"
    last_update_time: datetime | None


@dataclass(frozen=True, slots=True)
class Team:
    """A team of a project (``WebApiTeam``)."""

    id: str
    name: str
    description: str | None


@dataclass(frozen=True, slots=True)
class Repository:
    """A Git repository; ``default_branch`` is a full ref, None on an empty repository."""

    id: str
    name: str
    project_id: str
    project_name: str
    default_branch: str | None
    size: int
    web_url: str | None
    remote_url: str | None
    is_fork: bool
    is_disabled: bool
    is_in_maintenance: bool
    visibility: str | None  # the project's

    @property
    def default_branch_name(self) -> str | None:
        """The default branch without ``refs/heads/`` (``main``)."""
        if self.default_branch is None:
            return None
        return self.default_branch.removeprefix(_HEADS)


@dataclass(frozen=True, slots=True)
class FileContent:
    """A file's text at a version: the commit it was read at (``GitItem.commitId``), the
    commit that last changed it (``latestProcessedChange``) and its blob."""

    path: str
    text: str
    commit_id: str | None
    object_id: str | None
    last_change_id: str | None = None


@dataclass(frozen=True, slots=True)
class Signature:
    """Who authored or committed a commit, and when."""

    name: str | None
    email: str | None
    date: datetime | None


@dataclass(frozen=True, slots=True)
class Commit:
    """A commit as commit lists return it (``comment`` may be truncated)."""

    id: str
    author: Signature
    committer: Signature
    comment: str
    comment_truncated: bool


@dataclass(frozen=True, slots=True)
class Ref:
    """A Git ref (``refs/heads/main``) and the object it points to."""

    name: str
    object_id: str
    creator: str | None


@dataclass(frozen=True, slots=True)
class RefUpdate:
    """A ref a push moved; ``old_object_id`` is all zeros when the push created the ref."""

    name: str
    old_object_id: str | None
    new_object_id: str | None


@dataclass(frozen=True, slots=True)
class Push:
    """A push: who, when, which refs moved and which commits it carried (on create)."""

    id: int
    date: datetime | None
    pushed_by: str | None
    ref_updates: tuple[RefUpdate, ...]
    commit_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PullRequest:
    """A pull request."""

    id: int
    status: str | None
    title: str
    source_ref: str
    target_ref: str
    created_by: str | None
    creation_date: datetime | None
    repository_id: str | None


@dataclass(frozen=True, slots=True)
class CodeSearchHit:
    """A file Code Search found, with the branch and commit it was indexed at."""

    project: str
    repository: str
    repository_id: str | None
    path: str
    branch: str | None
    commit_id: str | None
    content_id: str | None = None  # the file's blob id: a changed file has a new one


@dataclass(frozen=True, slots=True)
class LanguageShare:
    """One language's share of a repository or project."""

    name: str
    bytes: int | None
    files: int | None
    percentage: float | None


@dataclass(frozen=True, slots=True)
class RepositoryLanguages:
    """The languages of one repository (project language metrics)."""

    repository_id: str
    name: str | None
    result_phase: str | None  # "preliminary" or "full"
    languages: tuple[LanguageShare, ...]


@dataclass(frozen=True, slots=True)
class ProjectLanguages:
    """The language metrics of a project: per repository and for the whole project."""

    project_id: str | None
    result_phase: str | None
    languages: tuple[LanguageShare, ...]
    repositories: tuple[RepositoryLanguages, ...]


@dataclass(frozen=True, slots=True)
class CodeSearchPage:
    """One page of Code Search results; ``info_code`` non-zero explains an empty page."""

    count: int
    info_code: int
    hits: tuple[CodeSearchHit, ...]
    # Asked with includeFacets: matches per project name (all of them, not just this page).
    project_counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConnectionData:
    """Who the token authenticates as, and the kind of deployment (``hosted``/``onPremises``)."""

    user_id: str
    user_name: str | None
    deployment_type: str | None

    @property
    def is_anonymous(self) -> bool:
        """True when the server did not recognise any identity."""
        return self.user_id in ("", _NIL_ID)


@dataclass(frozen=True, slots=True)
class UserEntitlement:
    """A member of the organization and their access level.

    ``license`` is the access level's display name (``Basic``, ``Stakeholder``);
    ``license_type`` the ``accountLicenseType`` (``express`` is Basic) and
    ``msdn_license_type`` the Visual Studio subscription, when ``licensing_source`` is ``msdn``.
    """

    id: str | None
    display_name: str | None
    principal_name: str | None
    license: str | None
    last_accessed: datetime | None
    license_type: str | None = None
    licensing_source: str | None = None
    msdn_license_type: str | None = None


@dataclass(frozen=True, slots=True)
class UserEntitlementsPage:
    """The first page of user entitlements (a scope probe, not a full list)."""

    total_count: int | None
    members: tuple[UserEntitlement, ...]
    has_more: bool


@dataclass(frozen=True, slots=True)
class GraphUser:
    """A user of the organization from the Graph API."""

    descriptor: str
    display_name: str | None
    principal_name: str | None
    mail_address: str | None
    origin: str | None


def parse_organization(data: object) -> Organization:
    """One item of the accounts list."""
    item = _Fields(data, "account")
    return Organization(
        name=item.text("accountName"),
        id=item.opt_text("accountId"),
        uri=item.opt_text("accountUri"),
    )


def parse_project(data: object) -> Project:
    """A ``TeamProjectReference``."""
    item = _Fields(data, "project")
    return Project(
        id=item.text("id"),
        name=item.text("name"),
        description=item.opt_text("description"),
        state=item.opt_text("state"),
        visibility=item.opt_text("visibility"),
        last_update_time=item.when("lastUpdateTime"),
    )


def parse_team(data: object) -> Team:
    """A ``WebApiTeam``."""
    item = _Fields(data, "team")
    return Team(
        id=item.text("id"), name=item.text("name"), description=item.opt_text("description")
    )


def parse_repository(data: object, web_base: str | None) -> Repository:
    """A ``GitRepository``; ``web_base`` builds the web URL when the answer lacks one."""
    item = _Fields(data, "repository")
    project = item.child("project")
    name, project_name = item.text("name"), project.text("name")
    remote_url = item.opt_text("remoteUrl")
    web_url = item.opt_text("webUrl") or remote_url
    if web_url is None and web_base is not None:
        web_url = repository_web_url(web_base, project_name, name)
    return Repository(
        id=item.text("id"),
        name=name,
        project_id=project.text("id"),
        project_name=project_name,
        default_branch=item.opt_text("defaultBranch"),
        size=item.number("size") or 0,
        web_url=normalize_repository_url(web_url) if web_url else None,
        remote_url=remote_url,
        is_fork=item.flag("isFork"),
        is_disabled=item.flag("isDisabled"),
        is_in_maintenance=item.flag("isInMaintenance"),
        visibility=project.opt_text("visibility"),
    )


def parse_file(data: object, requested_path: str) -> FileContent | None:
    """A ``GitItem`` read with ``includeContent``; None when the path is a folder."""
    item = _Fields(data, "item")
    if item.flag("isFolder") or item.opt_text("gitObjectType") == "tree":
        return None
    return FileContent(
        path=item.opt_text("path") or requested_path,
        text=item.opt_text("content") or "",
        commit_id=item.opt_text("commitId"),
        object_id=item.opt_text("objectId"),
        last_change_id=item.child("latestProcessedChange").opt_text("commitId"),
    )


def _signature(item: _Fields) -> Signature:
    return Signature(
        name=item.opt_text("name"), email=item.opt_text("email"), date=item.when("date")
    )


def parse_commit(data: object) -> Commit:
    """A ``GitCommitRef``."""
    item = _Fields(data, "commit")
    return Commit(
        id=item.text("commitId"),
        author=_signature(item.child("author")),
        committer=_signature(item.child("committer")),
        comment=item.opt_text("comment") or "",
        comment_truncated=item.flag("commentTruncated"),
    )


def parse_ref(data: object) -> Ref:
    """A ``GitRef``."""
    item = _Fields(data, "ref")
    return Ref(
        name=item.text("name"),
        object_id=item.text("objectId"),
        creator=item.child("creator").opt_text("displayName"),
    )


def parse_push(data: object) -> Push:
    """A ``GitPush`` (list item or create answer)."""
    item = _Fields(data, "push")
    return Push(
        id=item.integer("pushId"),
        date=item.when("date"),
        pushed_by=item.child("pushedBy").opt_text("displayName"),
        ref_updates=tuple(
            RefUpdate(
                name=update.text("name"),
                old_object_id=update.opt_text("oldObjectId"),
                new_object_id=update.opt_text("newObjectId"),
            )
            for update in item.children("refUpdates")
        ),
        commit_ids=tuple(commit.text("commitId") for commit in item.children("commits")),
    )


def parse_pull_request(data: object) -> PullRequest:
    """A ``GitPullRequest``."""
    item = _Fields(data, "pull request")
    return PullRequest(
        id=item.integer("pullRequestId"),
        status=item.opt_text("status"),
        title=item.opt_text("title") or "",
        source_ref=item.text("sourceRefName"),
        target_ref=item.text("targetRefName"),
        created_by=item.child("createdBy").opt_text("displayName"),
        creation_date=item.when("creationDate"),
        repository_id=item.child("repository").opt_text("id"),
    )


def _code_search_hit(item: _Fields) -> CodeSearchHit:
    repository = item.child("repository")
    versions = item.children("versions")
    first = versions[0] if versions else _Fields({}, "version")
    return CodeSearchHit(
        project=item.child("project").text("name"),
        repository=repository.text("name"),
        repository_id=repository.opt_text("id"),
        path=item.text("path"),
        branch=first.opt_text("branchName"),
        commit_id=first.opt_text("changeId"),
        content_id=item.opt_text("contentId"),
    )


def parse_code_search_page(data: object) -> CodeSearchPage:
    """A Code Search answer: ``{"count", "results", "infoCode", ...}``."""
    page = _Fields(data, "code search answer")
    return CodeSearchPage(
        count=page.number("count") or 0,
        info_code=page.number("infoCode") or 0,
        hits=tuple(_code_search_hit(item) for item in page.children("results")),
        project_counts={
            facet.text("name"): facet.number("resultCount") or 0
            for facet in page.child("facets").children("Project")
        },
    )


def _languages(item: _Fields) -> tuple[LanguageShare, ...]:
    return tuple(
        LanguageShare(
            name=share.text("name"),
            bytes=share.number("bytes"),
            files=share.number("files"),
            percentage=share.ratio("languagePercentage"),
        )
        for share in item.children("languageBreakdown")
    )


def parse_project_languages(data: object) -> ProjectLanguages:
    """A ``ProjectLanguageAnalytics`` answer."""
    item = _Fields(data, "language metrics")
    return ProjectLanguages(
        project_id=item.opt_text("id"),
        result_phase=item.opt_text("resultPhase"),
        languages=_languages(item),
        repositories=tuple(
            RepositoryLanguages(
                repository_id=repo.text("id"),
                name=repo.opt_text("name"),
                result_phase=repo.opt_text("resultPhase"),
                languages=_languages(repo),
            )
            for repo in item.children("repositoryLanguageAnalytics")
        ),
    )


def parse_profile_id(data: object) -> str:
    """The member id in a ``profiles/me`` answer."""
    return _Fields(data, "profile").text("id")


def parse_connection_data(data: object) -> ConnectionData:
    """A ``connectionData`` answer."""
    item = _Fields(data, "connection data")
    user = item.child("authenticatedUser")
    return ConnectionData(
        user_id=user.opt_text("id") or "",
        user_name=user.opt_text("providerDisplayName"),
        deployment_type=item.opt_text("deploymentType"),
    )


def parse_user_entitlements(data: object) -> UserEntitlementsPage:
    """A ``PagedUserEntitlementsList`` (``items``, or ``members`` from older services)."""
    page = _Fields(data, "user entitlements")
    members = page.children("items") or page.children("members")
    return UserEntitlementsPage(
        total_count=page.number("totalCount"),
        members=tuple(_user_entitlement(member) for member in members),
        has_more=bool(page.opt_text("continuationToken")),
    )


def parse_user_entitlement(data: object) -> UserEntitlement:
    """One ``UserEntitlement``."""
    return _user_entitlement(_Fields(data, "user entitlement"))


def _user_entitlement(member: _Fields) -> UserEntitlement:
    access = member.child("accessLevel")
    return UserEntitlement(
        id=member.opt_text("id"),
        display_name=member.child("user").opt_text("displayName"),
        principal_name=member.child("user").opt_text("principalName"),
        license=access.opt_text("licenseDisplayName"),
        last_accessed=member.when("lastAccessedDate"),
        license_type=access.opt_text("accountLicenseType"),
        licensing_source=access.opt_text("licensingSource"),
        msdn_license_type=access.opt_text("msdnLicenseType"),
    )


def parse_graph_user(data: object) -> GraphUser:
    """A ``GraphUser``."""
    item = _Fields(data, "graph user")
    return GraphUser(
        descriptor=item.text("descriptor"),
        display_name=item.opt_text("displayName"),
        principal_name=item.opt_text("principalName"),
        mail_address=item.opt_text("mailAddress"),
        origin=item.opt_text("origin"),
    )
