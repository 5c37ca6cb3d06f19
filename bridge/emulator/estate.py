"""The emulated estate: organizations, projects, repositories, members and tokens.

Names are looked up case-insensitively, ids as lower-case GUIDs, as Azure DevOps does.
Repositories of a generated estate keep only a recipe for their Git history and rebuild it
on each read (cheap and deterministic), so 10,000 of them stay light in memory; the first
write (a push) materialises the history for good.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bridge.emulator.history import History
from bridge.emulator.identity import Identity

# PAT scopes the emulator knows; "code.write" includes "code.read" as in Azure DevOps.
SCOPES = frozenset(
    {
        "code.read",
        "code.write",
        "project.read",
        "memberentitlement.read",
        "analytics.read",
        "graph.read",
    }
)


@dataclass(frozen=True, slots=True)
class LanguageShare:
    """How much of a repository is written in one language."""

    name: str
    files: int
    bytes: int


@dataclass(frozen=True, slots=True)
class Member:
    """A user entitled in an organization (user entitlements, graph users)."""

    identity: Identity
    license: str = "Basic"
    last_accessed: datetime | None = None


@dataclass(frozen=True, slots=True)
class Team:
    """A project team: its members, and the ids of those who administer it."""

    id: str
    name: str
    description: str = ""
    members: tuple[Identity, ...] = ()
    admins: frozenset[str] = frozenset()


def team_id(project_id: str, name: str) -> str:
    """A team's id: stable for a project and team name (any case)."""
    return str(uuid.uuid5(uuid.UUID(project_id), "team:" + name.lower()))


@dataclass(slots=True)
class PullRequest:
    """A pull request created through the emulator."""

    pull_request_id: int
    title: str
    description: str
    source_ref: str
    target_ref: str
    created_by: Identity
    creation_date: datetime
    merge_id: str
    source_commit: str
    target_commit: str
    is_draft: bool
    reviewer_ids: tuple[str, ...]
    status: str = "active"
    labels: tuple[str, ...] = ()


@dataclass(eq=False, slots=True)
class Repository:
    """A Git repository; ``default_branch`` is a short name, None for an empty repository."""

    id: str
    name: str
    project: Project
    default_branch: str | None
    size: int
    is_disabled: bool = False
    is_fork: bool = False
    languages: tuple[LanguageShare, ...] = ()
    protected_branches: frozenset[str] = frozenset()
    pull_requests: list[PullRequest] = field(default_factory=list)
    stored_history: History | None = None
    recipe: Callable[[], History] | None = None

    @property
    def organization(self) -> Organization:
        """The organization holding the repository."""
        return self.project.organization

    @property
    def is_empty(self) -> bool:
        """True when the repository has no branch yet."""
        return self.default_branch is None

    @property
    def history(self) -> History:
        """The Git state (rebuilt from the recipe on each read until the first write)."""
        if self.stored_history is not None:
            return self.stored_history
        if self.recipe is not None:
            return self.recipe()
        return History()

    def writable_history(self) -> History:
        """The Git state, kept from now on so that writes persist."""
        if self.stored_history is None:
            # A copy: recipes may hand out cached histories shared with other readers.
            self.stored_history = self.history.copy()
            self.recipe = None
        return self.stored_history


@dataclass(eq=False, slots=True)
class Project:
    """A team project and its repositories."""

    id: str
    name: str
    organization: Organization
    description: str = ""
    visibility: str = "private"
    revision: int = 1
    last_update_time: datetime | None = None
    repositories: list[Repository] = field(default_factory=list)
    teams: list[Team] = field(default_factory=list)  # as declared; see team_list
    _by_name: dict[str, Repository] = field(default_factory=dict)

    @property
    def default_team_name(self) -> str:
        """The name of the team Azure DevOps creates with the project."""
        return f"{self.name} Team"

    def team_list(self) -> list[Team]:
        """The default team first (declared or not: every project has one), then the
        others by name."""
        declared = {team.name.lower(): team for team in self.teams}
        name = self.default_team_name
        default = declared.pop(name.lower(), None) or Team(
            team_id(self.id, name), name, "The default project team."
        )
        return [default, *sorted(declared.values(), key=lambda team: team.name.lower())]

    def team(self, name_or_id: str) -> Team | None:
        """A team by name (any case) or id."""
        key = name_or_id.lower()
        return next((t for t in self.team_list() if key in (t.id, t.name.lower())), None)

    def add_repository(self, repository: Repository) -> None:
        """Register a repository (its name must be new in the project)."""
        self.repositories.append(repository)
        self._by_name[repository.name.lower()] = repository
        self.organization.repositories_by_id[repository.id] = repository

    def rename_repository(self, repository: Repository, name: str) -> None:
        """Rename one of the project's repositories (its id stays)."""
        del self._by_name[repository.name.lower()]
        repository.name = name
        self._by_name[name.lower()] = repository

    def remove_repository(self, repository: Repository) -> None:
        """Delete one of the project's repositories."""
        self.repositories.remove(repository)
        del self._by_name[repository.name.lower()]
        del self.organization.repositories_by_id[repository.id]

    def repository(self, name_or_id: str) -> Repository | None:
        """A repository of this project by name (any case) or id."""
        found = self._by_name.get(name_or_id.lower())
        if found is None:
            found = self.organization.repositories_by_id.get(name_or_id.lower())
            if found is not None and found.project is not self:
                found = None
        return found


@dataclass(eq=False, slots=True)
class Organization:
    """An organization (a project collection on Azure DevOps Server)."""

    id: str
    name: str
    projects: list[Project] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    repositories_by_id: dict[str, Repository] = field(default_factory=dict)
    # Code Search: False answers as an organization without the extension (404); a
    # non-zero info code (e.g. 2, indexing not started) is sent with no results.
    search_installed: bool = True
    search_info_code: int = 0
    _projects_by_key: dict[str, Project] = field(default_factory=dict)
    _pull_request_ids: int = 0

    def add_project(self, project: Project) -> None:
        """Register a project (its name must be new in the organization)."""
        self.projects.append(project)
        self._projects_by_key[project.name.lower()] = project
        self._projects_by_key[project.id] = project

    def rename_project(self, project: Project, name: str) -> None:
        """Rename a project (its id and repositories stay)."""
        del self._projects_by_key[project.name.lower()]
        project.name = name
        self._projects_by_key[name.lower()] = project

    def move_repository(self, repository: Repository, target: Project) -> None:
        """Move a repository to another project of the organization (its id stays)."""
        repository.project.remove_repository(repository)
        repository.project = target
        target.add_repository(repository)

    def project(self, name_or_id: str) -> Project | None:
        """A project by name (any case) or id."""
        return self._projects_by_key.get(name_or_id.lower())

    def repositories(self) -> Iterable[Repository]:
        """Every repository, project by project."""
        for project in self.projects:
            yield from project.repositories

    def next_pull_request_id(self) -> int:
        """A new pull request id (unique in the organization, as in Azure DevOps)."""
        self._pull_request_ids += 1
        return self._pull_request_ids


@dataclass(frozen=True, slots=True, repr=False)
class Token:
    """A personal access token: who it belongs to, where it may go, what it may do.

    ``organizations`` is None for a token created for all accessible organizations;
    otherwise the lower-cased names it may see. ``name`` labels the token in stats and
    errors; the value itself is never shown in answers. ``value_env`` names the environment
    variable the value was read from, if it was (so it is named, not shown, on start-up).
    """

    name: str
    value: str
    identity: Identity
    scopes: frozenset[str]
    organizations: frozenset[str] | None = None
    revoked: bool = False
    value_env: str | None = None

    def can_see(self, organization: str) -> bool:
        """Whether the token may reach ``organization``."""
        return self.organizations is None or organization.lower() in self.organizations

    def has_scope(self, scope: str) -> bool:
        """Whether the token carries ``scope`` (write implies read)."""
        return scope in self.scopes or (scope == "code.read" and "code.write" in self.scopes)

    def __repr__(self) -> str:
        return f"Token(name={self.name!r})"


class Estate:
    """Everything the emulator serves: organizations (by name, any case) and tokens (by value).

    Token owners become members of the organizations their token reaches, as PAT owners are.
    """

    def __init__(self, organizations: Iterable[Organization], tokens: Iterable[Token]) -> None:
        self.organizations: list[Organization] = list(organizations)
        self.tokens: dict[str, Token] = {token.value: token for token in tokens}
        self._by_name = {org.name.lower(): org for org in self.organizations}
        for organization in self.organizations:
            known = {member.identity.email.lower() for member in organization.members}
            for token in self.tokens.values():
                email = token.identity.email.lower()
                if token.can_see(organization.name) and email not in known:
                    known.add(email)
                    organization.members.append(Member(token.identity))

    def organization(self, name: str) -> Organization | None:
        """An organization by name (any case)."""
        return self._by_name.get(name.lower())

    def token(self, value: str) -> Token | None:
        """The token with this value, if declared."""
        return self.tokens.get(value)

    def repositories(self) -> Iterable[Repository]:
        """Every repository of every organization."""
        for organization in self.organizations:
            yield from organization.repositories()
