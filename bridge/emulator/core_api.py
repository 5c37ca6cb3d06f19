"""Core, profile/accounts, member and analytics routes: everything that is not Git or search."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from bridge.emulator import api_errors, shapes
from bridge.emulator.auth import unauthorized
from bridge.emulator.context import Context, continuation_token, is_guid
from bridge.emulator.estate import LanguageShare, Member, Project, Team
from bridge.emulator.identity import Identity, format_timestamp
from bridge.emulator.links import encode
from bridge.emulator.messages import Response, json_response

PROJECT_PAGE = 100
MEMBER_PAGE = 100
TEAM_PAGE = 100
_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"  # any fixed GUID: identities name a tenant
_DEPLOYMENT_NAMESPACE = uuid.UUID("0f8a0e5c-7c7e-4c1b-9a53-6d0f3f1c2b9e")
_LICENSE_TYPES = {
    "basic": "express",
    "stakeholder": "stakeholder",
    "basic + test plans": "advanced",
}


def connection_data(ctx: Context) -> Response:
    """``_apis/connectionData``: who is calling, and what kind of deployment this is."""
    identity = ctx.token.identity
    user = {
        "id": identity.id,
        "descriptor": f"Microsoft.IdentityModel.Claims.ClaimsIdentity;{_TENANT}\\{identity.email}",
        "subjectDescriptor": identity.descriptor,
        "providerDisplayName": identity.display_name,
        "isActive": True,
        "properties": {"Account": {"$type": "System.String", "$value": identity.email}},
        "resourceVersion": 2,
        "metaTypeId": 0,
    }
    payload = {
        "authenticatedUser": user,
        "authorizedUser": user,
        "instanceId": ctx.org.id,
        "deploymentId": str(uuid.uuid5(_DEPLOYMENT_NAMESPACE, ctx.org.id)),
        "deploymentType": "onPremises" if ctx.onprem else "hosted",
        "locationServiceData": {
            "serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7",
            "defaultAccessMappingMoniker": "PublicAccessMapping",
            "lastChangeId": 1,
            "lastChangeId64": 1,
        },
    }
    return json_response(payload, api_version=ctx.api_version)


def list_projects(ctx: Context) -> Response:
    """``_apis/projects``: pages of 100 (or ``$top``), next page announced in a header."""
    state = (ctx.text_param("stateFilter") or "wellFormed").lower()
    projects = ctx.org.projects if state in ("wellformed", "all") else []
    top = ctx.int_param("$top", default=0) or PROJECT_PAGE
    start = ctx.int_param("continuationToken", default=0) or ctx.int_param("$skip", default=0)
    page = projects[start : start + top]
    links = ctx.links
    headers = []
    if start + len(page) < len(projects):
        headers.append(("x-ms-continuationtoken", str(start + len(page))))
    payload = {"count": len(page), "value": [shapes.project_ref(p, links) for p in page]}
    return json_response(payload, api_version=ctx.api_version, headers=headers)


def get_project(ctx: Context) -> Response:
    """``_apis/projects/{projectIdOrName}``: a ``TeamProject``."""
    key = ctx.params["project"]
    project = ctx.org.project(key)
    if project is None:
        raise api_errors.project_not_found(key, by_id=is_guid(key))
    links = ctx.links
    shape = shapes.project_ref(project, links)
    shape["_links"] = {
        "self": {"href": shape["url"]},
        "collection": {"href": links.api(f"projectCollections/{ctx.org.id}")},
        "web": {"href": f"{links.collection_url}/{encode(project.name)}"},
    }
    if ctx.flag_param("includeCapabilities"):
        shape["capabilities"] = {
            "versioncontrol": {"sourceControlType": "Git", "gitEnabled": "true"},
            "processTemplate": {"templateName": "Agile"},
        }
    default = project.team_list()[0]
    shape["defaultTeam"] = {
        "id": default.id,
        "name": default.name,
        "url": links.api(f"projects/{project.id}/teams/{default.id}"),
    }
    return json_response(shape, api_version=ctx.api_version)


# --- teams --------------------------------------------------------------------------------


def _team_project(ctx: Context) -> Project:
    key = ctx.params["project"]
    project = ctx.org.project(key)
    if project is None:
        raise api_errors.project_not_found(key, by_id=is_guid(key))
    return project


def _team_shape(team: Team, project: Project, ctx: Context) -> dict[str, Any]:
    """A ``WebApiTeam``."""
    return {
        "id": team.id,
        "name": team.name,
        "url": ctx.links.api(f"projects/{project.id}/teams/{team.id}"),
        "description": team.description,
        "identityUrl": ctx.links.identity(team.id),
        "projectName": project.name,
        "projectId": project.id,
    }


def _team(ctx: Context, project: Project) -> Team:
    key = ctx.params["team"]
    team = project.team(key)
    if team is None:
        raise api_errors.not_found(
            f"VS800083: The team with id or name '{key}' does not exist.",
            "TeamNotFoundException",
        )
    return team


def _slice(ctx: Context, items: Sequence[Any]) -> list[Any]:
    skip = ctx.int_param("$skip", default=0)
    return list(items[skip : skip + (ctx.int_param("$top", default=0) or TEAM_PAGE)])


def list_teams(ctx: Context) -> Response:
    """``_apis/projects/{project}/teams``: the default team first, ``$top``/``$skip``;
    ``$mine=true`` keeps the caller's teams."""
    project = _team_project(ctx)
    teams = project.team_list()
    if ctx.flag_param("$mine"):
        caller = ctx.token.identity.id
        teams = [team for team in teams if any(m.id == caller for m in team.members)]
    value = [_team_shape(team, project, ctx) for team in _slice(ctx, teams)]
    return json_response({"value": value, "count": len(value)}, api_version=ctx.api_version)


def get_team(ctx: Context) -> Response:
    """``_apis/projects/{project}/teams/{team}``: one team by name or id."""
    project = _team_project(ctx)
    shape = _team_shape(_team(ctx, project), project, ctx)
    return json_response(shape, api_version=ctx.api_version)


def list_team_members(ctx: Context) -> Response:
    """``…/teams/{team}/members``: ``TeamMember`` items (identity and ``isTeamAdmin``)."""
    project = _team_project(ctx)
    team = _team(ctx, project)
    links = ctx.links
    value = [
        {"isTeamAdmin": member.id in team.admins, "identity": shapes.identity_ref(member, links)}
        for member in _slice(ctx, team.members)
    ]
    return json_response({"value": value, "count": len(value)}, api_version=ctx.api_version)


def profile_me(ctx: Context) -> Response:
    """``/_apis/profile/profiles/me`` at the server root: the token's owner."""
    identity = ctx.token.identity
    payload = {
        "displayName": identity.display_name,
        "publicAlias": identity.id,
        "emailAddress": identity.email,
        "coreRevision": 1,
        "timeStamp": format_timestamp(ctx.now()),
        "id": identity.id,
        "revision": 1,
    }
    return json_response(payload, api_version=ctx.api_version)


def list_accounts(ctx: Context) -> Response:
    """``/_apis/accounts?memberId=``: the organizations an all-organizations token can see."""
    member = ctx.text_param("memberId", "ownerId")
    if member is None:
        raise api_errors.bad_request("Either memberId or ownerId must be specified.")
    if ctx.token.organizations is not None:
        # Only a token created for "All accessible organizations" may list them.
        return unauthorized(ctx.request)
    # Only the token owner's own organizations are listed; another member id sees none.
    visible = ctx.estate.organizations if member.lower() == ctx.token.identity.id else []
    base = ctx.request.base_url
    value = [
        {
            "accountId": org.id,
            "accountUri": f"{base}/{org.name}/",
            "accountName": org.name,
            "properties": {},
        }
        for org in visible
    ]
    return json_response({"count": len(value), "value": value}, api_version=ctx.api_version)


def _graph_user(identity: Identity, ctx: Context) -> dict[str, Any]:
    url = ctx.links.api(f"graph/users/{identity.descriptor}")
    return {
        "subjectKind": "user",
        "metaType": "member",
        "domain": _TENANT,
        "principalName": identity.email,
        "mailAddress": identity.email,
        "origin": "aad",
        "originId": identity.id,
        "displayName": identity.display_name,
        "_links": {"self": {"href": url}},
        "url": url,
        "descriptor": identity.descriptor,
    }


def _entitlement(member: Member, ctx: Context) -> dict[str, Any]:
    last = member.last_accessed
    return {
        "id": member.identity.id,
        "user": _graph_user(member.identity, ctx),
        "accessLevel": {
            "licensingSource": "account",
            "accountLicenseType": _LICENSE_TYPES.get(member.license.lower(), "express"),
            "msdnLicenseType": "none",
            "licenseDisplayName": member.license,
            "status": "active",
            "statusMessage": "",
            "assignmentSource": "unknown",
        },
        "lastAccessedDate": format_timestamp(last) if last else "0001-01-01T00:00:00Z",
        "projectEntitlements": [],
        "extensions": [],
        "groupAssignments": [],
    }


def _page(
    ctx: Context, kind: str, members: Sequence[Member], size: int
) -> tuple[list[Member], str | None]:
    start = ctx.continuation(kind)
    page = list(members[start : start + size])
    more = start + len(page) < len(members)
    return page, continuation_token(kind, start + len(page)) if more else None


def list_user_entitlements(ctx: Context) -> Response:
    """``_apis/userentitlements``: pages of 100, continuation token in the body."""
    page, token = _page(ctx, "entitlements", ctx.org.members, MEMBER_PAGE)
    items = [_entitlement(member, ctx) for member in page]
    payload = {
        "members": items,
        "items": items,
        "continuationToken": token,
        "totalCount": len(ctx.org.members),
    }
    return json_response(payload, api_version=ctx.api_version)


def get_user_entitlement(ctx: Context) -> Response:
    """``_apis/userentitlements/{userId}``: one member's entitlement (its access level)."""
    user_id = ctx.params["user"].lower()
    member = next((m for m in ctx.org.members if m.identity.id == user_id), None)
    if member is None:
        raise api_errors.not_found(
            f"The user with id {user_id} is not a member of this organization.",
            "MemberNotFoundException",
        )
    return json_response(_entitlement(member, ctx), api_version=ctx.api_version)


def list_graph_users(ctx: Context) -> Response:
    """``_apis/graph/users``: continuation token in the ``X-MS-ContinuationToken`` header."""
    page, token = _page(ctx, "graph", ctx.org.members, MEMBER_PAGE)
    value = [_graph_user(member.identity, ctx) for member in page]
    headers = [("X-MS-ContinuationToken", token)] if token else []
    return json_response(
        {"count": len(value), "value": value}, api_version=ctx.api_version, headers=headers
    )


def _breakdown(shares: Sequence[LanguageShare]) -> list[dict[str, Any]]:
    total_bytes = sum(share.bytes for share in shares) or 1
    total_files = sum(share.files for share in shares) or 1
    return [
        {
            "name": share.name,
            "files": share.files,
            "filesPercentage": round(100 * share.files / total_files, 2),
            "bytes": share.bytes,
            "languagePercentage": round(100 * share.bytes / total_bytes, 2),
        }
        for share in sorted(shares, key=lambda share: -share.bytes)
    ]


def language_metrics(ctx: Context) -> Response:
    """``{project}/_apis/projectanalysis/languagemetrics``: languages of every repository."""
    project = ctx.project
    if project is None:
        raise api_errors.not_found("Language metrics are served per project.")
    updated = format_timestamp(project.last_update_time or ctx.now())
    totals: dict[str, LanguageShare] = {}
    repositories = []
    for repo in project.repositories:
        for share in repo.languages:
            seen = totals.get(share.name, LanguageShare(share.name, 0, 0))
            totals[share.name] = LanguageShare(
                share.name, seen.files + share.files, seen.bytes + share.bytes
            )
        repositories.append(
            {
                "id": repo.id,
                "name": repo.name,
                "resultPhase": "full",
                "updatedTime": updated,
                "languageBreakdown": _breakdown(repo.languages),
            }
        )
    payload = {
        "id": project.id,
        "url": ctx.links.api(f"projectanalysis/languagemetrics/{project.id}"),
        "resultPhase": "full",
        "languageBreakdown": _breakdown(list(totals.values())),
        "repositoryLanguageAnalytics": repositories,
    }
    return json_response(payload, api_version=ctx.api_version)
