"""The route table and the path layouts (cloud ``/{org}/…``, on-premises ``/{vdir}/{coll}/…``).

A path is split into where it points (server root, organization, optional project) and the
segments after ``_apis``, which are matched case-insensitively against the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from bridge.emulator import core_api, git_api, git_objects, git_writes, locations, search_api
from bridge.emulator.context import Context
from bridge.emulator.messages import Response


class Level(Enum):
    """Where a route may be addressed from."""

    ROOT = "root"  # /_apis/... (no organization): profile and accounts
    ORGANIZATION = "organization"  # /{org}/_apis/...
    PROJECT = "project"  # /{org}/{project}/_apis/...
    EITHER = "either"  # organization or project
    SERVER = "server"  # root or organization (location discovery)


@dataclass(frozen=True, slots=True)
class Route:
    """One API route: a pattern of segments after ``_apis`` (``{x}`` captures)."""

    name: str
    method: str
    pattern: tuple[str, ...]
    handler: Callable[[Context], Response]
    level: Level
    scope: str | None  # PAT scope needed; None for any valid token
    location: str | None  # its ApiResourceLocation id (locations.LOCATIONS); None: discovery
    preview_only: bool = False


def _route(
    name: str,
    request: str,
    handler: Callable[[Context], Response],
    level: Level,
    scope: str | None = None,
    *,
    location: str | None,
) -> Route:
    """``request`` is ``"METHOD pattern"``, the pattern relative to ``_apis/`` (may be empty)."""
    method, _, pattern = request.partition(" ")
    segments = tuple(segment for segment in pattern.split("/") if segment)
    preview_only = location is not None and locations.LOCATIONS[location].preview_only
    return Route(name, method, segments, handler, level, scope, location, preview_only)


_REPO = "git/repositories/{repository}"
_READ, _WRITE = "code.read", "code.write"
_ROOT, _ORG, _PROJECT, _EITHER = Level.ROOT, Level.ORGANIZATION, Level.PROJECT, Level.EITHER
_SERVER = Level.SERVER
# Location ids (see locations.LOCATIONS).
_CONNECTION = "00d9565f-ed9c-4a06-9a50-00e7896ccab4"
_AREAS = "e81700f7-3be2-46de-8624-2eb35882fcaa"
_PROJECTS = "603fe2ac-9723-48b9-88ad-09305aa6c6e1"
_TEAMS = "d30a3dd1-f8ba-442a-b86a-bd0c0c383e59"
_TEAM_MEMBERS = "294c494c-2600-4d7e-b76c-3dd50c3c95be"
_REPOS = "225f7195-f9c7-4d14-ab28-a83f7ff77e1f"
_ITEMS = "fb93c0db-47ed-4a31-8c20-47552878fb44"
_ITEMS_BATCH = "630fd2e4-fb88-4f85-ad21-13f3fd1fbca9"
_BLOBS = "7b28e929-2c99-405d-9c5c-6167a06e6816"
_TREES = "729f6437-6f92-44ec-8bee-273a7111063c"
_COMMITS = "c2570c3b-5b3f-41b8-98bf-5407bfde8d58"
_REFS = "2d874a60-a811-4f62-9c9f-963a6ea0a55b"
_PUSHES = "ea98d07b-3c87-4971-8ede-a613694ffb55"
_PULLS = "9946fd70-0d40-406e-b686-b4744cbbcc37"
_PULLS_SCOPE = "a5d28130-9cd2-40fa-9f08-902e7daa9efb"
_BRANCH_STATS = "d5b216de-d8d5-4d32-ae76-51df755b16d3"
_SEARCH = "e7f29993-5b82-4fca-9386-f5cfe683d524"
_LANGUAGES = "5b02a779-1867-433f-90b7-d23ed5e33e57"
_ENTITLEMENTS = "387f832c-dbf2-4643-88e9-c1aa94dbb737"
_ENTITLEMENT = "8480c6eb-ce60-47e9-88df-eca3c801638b"
_GRAPH_USERS = "005e26ec-6b77-4e4f-a986-b3827bf241f5"
_PROFILE = "f83735dc-483f-4238-a291-d45f6080a9af"
_ACCOUNTS = "229a6a53-b428-4ffb-a835-e8f36b5b4b1e"
_TEAM = "projects/{project}/teams/{team}"

ROUTES: tuple[Route, ...] = (
    _route("location.options", "OPTIONS ", locations.list_locations, _SERVER, location=None),
    _route("location.options", "OPTIONS {area}", locations.list_locations, _SERVER, location=None),
    _route(
        "location.resourceAreas",
        "GET ResourceAreas",
        locations.resource_areas,
        _ORG,
        location=_AREAS,
    ),
    _route(
        "location.resourceArea",
        "GET ResourceAreas/{area}",
        locations.resource_area,
        _ORG,
        location=_AREAS,
    ),
    _route("profile.me", "GET profile/profiles/me", core_api.profile_me, _ROOT, location=_PROFILE),
    _route("accounts.list", "GET accounts", core_api.list_accounts, _ROOT, location=_ACCOUNTS),
    _route(
        "core.connectionData",
        "GET connectionData",
        core_api.connection_data,
        _ORG,
        location=_CONNECTION,
    ),
    _route(
        "core.projects",
        "GET projects",
        core_api.list_projects,
        _ORG,
        "project.read",
        location=_PROJECTS,
    ),
    _route(
        "core.project",
        "GET projects/{project}",
        core_api.get_project,
        _ORG,
        "project.read",
        location=_PROJECTS,
    ),
    _route(
        "core.teams",
        "GET projects/{project}/teams",
        core_api.list_teams,
        _ORG,
        "project.read",
        location=_TEAMS,
    ),
    _route("core.team", f"GET {_TEAM}", core_api.get_team, _ORG, "project.read", location=_TEAMS),
    _route(
        "core.teamMembers",
        f"GET {_TEAM}/members",
        core_api.list_team_members,
        _ORG,
        "project.read",
        location=_TEAM_MEMBERS,
    ),
    _route(
        "git.repositories",
        "GET git/repositories",
        git_api.list_repositories,
        _EITHER,
        _READ,
        location=_REPOS,
    ),
    _route(
        "git.repository", f"GET {_REPO}", git_api.get_repository, _EITHER, _READ, location=_REPOS
    ),
    _route("git.items", f"GET {_REPO}/items", git_api.get_items, _EITHER, _READ, location=_ITEMS),
    _route(
        "git.itemsBatch",
        f"POST {_REPO}/itemsbatch",
        git_api.items_batch,
        _EITHER,
        _READ,
        location=_ITEMS_BATCH,
    ),
    _route(
        "git.blob",
        f"GET {_REPO}/blobs/{{sha}}",
        git_objects.get_blob,
        _EITHER,
        _READ,
        location=_BLOBS,
    ),
    _route(
        "git.tree",
        f"GET {_REPO}/trees/{{sha}}",
        git_objects.get_tree,
        _EITHER,
        _READ,
        location=_TREES,
    ),
    _route(
        "git.commits",
        f"GET {_REPO}/commits",
        git_api.list_commits,
        _EITHER,
        _READ,
        location=_COMMITS,
    ),
    _route(
        "git.commit",
        f"GET {_REPO}/commits/{{commit}}",
        git_api.get_commit,
        _EITHER,
        _READ,
        location=_COMMITS,
    ),
    _route("git.refs", f"GET {_REPO}/refs", git_api.list_refs, _EITHER, _READ, location=_REFS),
    _route(
        "git.pushes", f"GET {_REPO}/pushes", git_api.list_pushes, _EITHER, _READ, location=_PUSHES
    ),
    _route(
        "git.push",
        f"GET {_REPO}/pushes/{{push}}",
        git_api.get_push,
        _EITHER,
        _READ,
        location=_PUSHES,
    ),
    _route(
        "git.pushes.create",
        f"POST {_REPO}/pushes",
        git_writes.create_push,
        _EITHER,
        _WRITE,
        location=_PUSHES,
    ),
    _route(
        "git.pullRequests",
        f"GET {_REPO}/pullrequests",
        git_api.list_pull_requests,
        _EITHER,
        _READ,
        location=_PULLS,
    ),
    _route(
        "git.pullRequest",
        f"GET {_REPO}/pullrequests/{{pull_request}}",
        git_api.get_pull_request,
        _EITHER,
        _READ,
        location=_PULLS,
    ),
    _route(
        "git.pullRequests.update",
        f"PATCH {_REPO}/pullrequests/{{pull_request}}",
        git_writes.update_pull_request,
        _EITHER,
        _WRITE,
        location=_PULLS,
    ),
    _route(
        "git.pullRequests.create",
        f"POST {_REPO}/pullrequests",
        git_writes.create_pull_request,
        _EITHER,
        _WRITE,
        location=_PULLS,
    ),
    _route(
        "git.pullRequests.scope",
        "GET git/pullrequests",
        git_api.list_pull_requests,
        _EITHER,
        _READ,
        location=_PULLS_SCOPE,
    ),
    _route(
        "git.branchStats",
        f"GET {_REPO}/stats/branches",
        git_api.branch_stats,
        _EITHER,
        _READ,
        location=_BRANCH_STATS,
    ),
    _route(
        "search.code",
        "POST search/codesearchresults",
        search_api.code_search,
        _EITHER,
        _READ,
        location=_SEARCH,
    ),
    _route(
        "analytics.languageMetrics",
        "GET projectanalysis/languagemetrics",
        core_api.language_metrics,
        _PROJECT,
        "analytics.read",
        location=_LANGUAGES,
    ),
    _route(
        "members.userEntitlements",
        "GET userentitlements",
        core_api.list_user_entitlements,
        _ORG,
        "memberentitlement.read",
        location=_ENTITLEMENTS,
    ),
    _route(
        "members.userEntitlement",
        "GET userentitlements/{user}",
        core_api.get_user_entitlement,
        _ORG,
        "memberentitlement.read",
        location=_ENTITLEMENT,
    ),
    _route(
        "graph.users",
        "GET graph/users",
        core_api.list_graph_users,
        _ORG,
        "graph.read",
        location=_GRAPH_USERS,
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
    if level is Level.SERVER:
        return address.project is None
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
        if (route.method == "OPTIONS") != (method == "OPTIONS"):
            # OPTIONS asks where APIs live: it is no other method of any resource.
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
