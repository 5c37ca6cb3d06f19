"""The route table and the path layouts (cloud ``/{org}/…``, on-premises ``/{vdir}/{coll}/…``).

A path is split into where it points (server root, organization, optional project) and the
segments after ``_apis``, which are matched case-insensitively against the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from bridge.emulator import core_api, git_api, git_writes, search_api
from bridge.emulator.context import Context
from bridge.emulator.messages import Response


class Level(Enum):
    """Where a route may be addressed from."""

    ROOT = "root"  # /_apis/... (no organization): profile and accounts
    ORGANIZATION = "organization"  # /{org}/_apis/...
    PROJECT = "project"  # /{org}/{project}/_apis/...
    EITHER = "either"  # organization or project


@dataclass(frozen=True, slots=True)
class Route:
    """One API route: a pattern of segments after ``_apis`` (``{x}`` captures)."""

    name: str
    method: str
    pattern: tuple[str, ...]
    handler: Callable[[Context], Response]
    level: Level
    scope: str | None  # PAT scope needed; None for any valid token
    preview_only: bool = False


def _route(
    name: str,
    request: str,
    handler: Callable[[Context], Response],
    level: Level,
    scope: str | None = None,
    *,
    preview_only: bool = False,
) -> Route:
    """``request`` is ``"METHOD pattern"``, the pattern relative to ``_apis/``."""
    method, pattern = request.split(" ")
    return Route(name, method, tuple(pattern.split("/")), handler, level, scope, preview_only)


_REPO = "git/repositories/{repository}"
_READ, _WRITE = "code.read", "code.write"
_ROOT, _ORG, _PROJECT, _EITHER = Level.ROOT, Level.ORGANIZATION, Level.PROJECT, Level.EITHER

ROUTES: tuple[Route, ...] = (
    _route("profile.me", "GET profile/profiles/me", core_api.profile_me, _ROOT),
    _route("accounts.list", "GET accounts", core_api.list_accounts, _ROOT),
    _route(
        "core.connectionData",
        "GET connectionData",
        core_api.connection_data,
        _ORG,
        preview_only=True,
    ),
    _route("core.projects", "GET projects", core_api.list_projects, _ORG, "project.read"),
    _route("core.project", "GET projects/{project}", core_api.get_project, _ORG, "project.read"),
    _route("git.repositories", "GET git/repositories", git_api.list_repositories, _EITHER, _READ),
    _route("git.repository", f"GET {_REPO}", git_api.get_repository, _EITHER, _READ),
    _route("git.items", f"GET {_REPO}/items", git_api.get_items, _EITHER, _READ),
    _route("git.commits", f"GET {_REPO}/commits", git_api.list_commits, _EITHER, _READ),
    _route("git.commit", f"GET {_REPO}/commits/{{commit}}", git_api.get_commit, _EITHER, _READ),
    _route("git.refs", f"GET {_REPO}/refs", git_api.list_refs, _EITHER, _READ),
    _route("git.pushes", f"GET {_REPO}/pushes", git_api.list_pushes, _EITHER, _READ),
    _route("git.push", f"GET {_REPO}/pushes/{{push}}", git_api.get_push, _EITHER, _READ),
    _route("git.pushes.create", f"POST {_REPO}/pushes", git_writes.create_push, _EITHER, _WRITE),
    _route(
        "git.pullRequests", f"GET {_REPO}/pullrequests", git_api.list_pull_requests, _EITHER, _READ
    ),
    _route(
        "git.pullRequest",
        f"GET {_REPO}/pullrequests/{{pull_request}}",
        git_api.get_pull_request,
        _EITHER,
        _READ,
    ),
    _route(
        "git.pullRequests.create",
        f"POST {_REPO}/pullrequests",
        git_writes.create_pull_request,
        _EITHER,
        _WRITE,
    ),
    _route(
        "git.pullRequests.scope",
        "GET git/pullrequests",
        git_api.list_pull_requests,
        _EITHER,
        _READ,
    ),
    _route("git.branchStats", f"GET {_REPO}/stats/branches", git_api.branch_stats, _EITHER, _READ),
    _route("search.code", "POST search/codesearchresults", search_api.code_search, _EITHER, _READ),
    _route(
        "analytics.languageMetrics",
        "GET projectanalysis/languagemetrics",
        core_api.language_metrics,
        _PROJECT,
        "analytics.read",
        preview_only=True,
    ),
    _route(
        "members.userEntitlements",
        "GET userentitlements",
        core_api.list_user_entitlements,
        _ORG,
        "memberentitlement.read",
    ),
    _route(
        "members.userEntitlement",
        "GET userentitlements/{user}",
        core_api.get_user_entitlement,
        _ORG,
        "memberentitlement.read",
    ),
    _route(
        "graph.users",
        "GET graph/users",
        core_api.list_graph_users,
        _ORG,
        "graph.read",
        preview_only=True,
    ),
)


@dataclass(frozen=True, slots=True)
class Address:
    """Where a path points: organization and project segments (decoded) and the API tail."""

    organization: str | None
    project: str | None
    api: tuple[str, ...]


def split_path(segments: list[str], *, onprem: bool, virtual_directory: str) -> Address | None:
    """Locate ``_apis`` in a decoded path; None when the path is not an API path."""
    if segments and segments[0].lower() == "_apis":
        return None if onprem else Address(None, None, tuple(segments[1:]))
    rest = segments
    if onprem and virtual_directory:
        if not rest or rest[0].lower() != virtual_directory.lower():
            return None
        rest = rest[1:]
    if len(rest) >= 2 and rest[1].lower() == "_apis":
        return Address(rest[0], None, tuple(rest[2:]))
    if len(rest) >= 3 and rest[2].lower() == "_apis":
        return Address(rest[0], rest[1], tuple(rest[3:]))
    return None


@dataclass(frozen=True, slots=True)
class Match:
    """A route found for an address, with the captured segments."""

    route: Route
    params: dict[str, str]


def _level_fits(level: Level, address: Address) -> bool:
    if level is Level.ROOT:
        return address.organization is None
    if address.organization is None:
        return False
    if level is Level.ORGANIZATION:
        return address.project is None
    if level is Level.PROJECT:
        return address.project is not None
    return True


def find_route(method: str, address: Address) -> Match | Route | None:
    """The matching route; a :class:`Route` alone means the path exists for another method."""
    other_method: Route | None = None
    for route in ROUTES:
        if len(route.pattern) != len(address.api) or not _level_fits(route.level, address):
            continue
        params: dict[str, str] = {}
        for expected, actual in zip(route.pattern, address.api, strict=True):
            if expected.startswith("{"):
                params[expected[1:-1]] = actual
            elif expected.lower() != actual.lower():
                break
        else:
            if route.method == method:
                return Match(route, params)
            other_method = route
    return other_method
