"""Location discovery: where each API lives, as Microsoft's SDKs ask before their first call.

The Python SDK (``azure-devops``) sends ``OPTIONS {collection}/_apis`` and
``GET {collection}/_apis/ResourceAreas``; the Node SDK (``azure-devops-node-api``) sends
``OPTIONS {collection}/_apis/{area}``. Both then build every URL from the route template of
the ``ApiResourceLocation`` whose id is compiled into their generated clients, so the ids
here are the service's own. Versions come from the emulator's ceilings: ``maxVersion`` is
the highest version served (the cloud's preview one included), ``releasedVersion`` the
released ceiling, or ``0.0`` for a resource that is only in preview.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.emulator import api_errors
from bridge.emulator.context import Context
from bridge.emulator.messages import Response, json_response

_REPO = "{project}/_apis/{area}/repositories/{repositoryId}"


@dataclass(frozen=True, slots=True)
class ResourceLocation:
    """One ``ApiResourceLocation``; ``root`` ones live at the server root (profile,
    accounts), the others in an organization (collection)."""

    id: str
    area: str
    resource_name: str
    route_template: str
    resource_version: int
    preview_only: bool = False
    root: bool = False


@dataclass(frozen=True, slots=True)
class ResourceArea:
    """One ``ResourceAreaInfo``: an area id the SDK clients carry, and its name."""

    id: str
    name: str
    root: bool = False


def _location(
    location_id: str,
    area: str,
    resource: str,
    template: str,
    version: int = 1,
    *,
    preview_only: bool = False,
    root: bool = False,
) -> ResourceLocation:
    return ResourceLocation(location_id, area, resource, template, version, preview_only, root)


# Keyed by location id; routes.py names the location of every route it serves.
LOCATIONS: dict[str, ResourceLocation] = {
    location.id: location
    for location in (
        _location(
            "00d9565f-ed9c-4a06-9a50-00e7896ccab4",
            "Location",
            "ConnectionData",
            "_apis/{resource}",
            preview_only=True,
        ),
        _location(
            "e81700f7-3be2-46de-8624-2eb35882fcaa",
            "Location",
            "ResourceAreas",
            "_apis/{resource}/{areaId}",
            preview_only=True,
        ),
        _location(
            "603fe2ac-9723-48b9-88ad-09305aa6c6e1",
            "core",
            "projects",
            "_apis/{resource}/{*projectId}",
            4,
        ),
        _location(
            "d30a3dd1-f8ba-442a-b86a-bd0c0c383e59",
            "core",
            "teams",
            "_apis/projects/{projectId}/{resource}/{*teamId}",
            3,
        ),
        _location(
            "294c494c-2600-4d7e-b76c-3dd50c3c95be",
            "core",
            "members",
            "_apis/projects/{projectId}/teams/{teamId}/{resource}",
            2,
        ),
        _location(
            "225f7195-f9c7-4d14-ab28-a83f7ff77e1f",
            "git",
            "repositories",
            "{project}/_apis/{area}/{resource}/{repositoryId}",
        ),
        _location(
            "fb93c0db-47ed-4a31-8c20-47552878fb44", "git", "items", _REPO + "/{resource}/{*path}"
        ),
        _location(
            "630fd2e4-fb88-4f85-ad21-13f3fd1fbca9", "git", "itemsBatch", _REPO + "/{resource}"
        ),
        _location(
            "7b28e929-2c99-405d-9c5c-6167a06e6816", "git", "blobs", _REPO + "/{resource}/{sha1}"
        ),
        _location(
            "729f6437-6f92-44ec-8bee-273a7111063c", "git", "trees", _REPO + "/{resource}/{sha1}"
        ),
        _location(
            "c2570c3b-5b3f-41b8-98bf-5407bfde8d58",
            "git",
            "commits",
            _REPO + "/{resource}/{commitId}",
        ),
        _location(
            "2d874a60-a811-4f62-9c9f-963a6ea0a55b", "git", "refs", _REPO + "/{resource}/{*filter}"
        ),
        _location(
            "ea98d07b-3c87-4971-8ede-a613694ffb55",
            "git",
            "pushes",
            _REPO + "/{resource}/{pushId}",
            2,
        ),
        _location(
            "9946fd70-0d40-406e-b686-b4744cbbcc37",
            "git",
            "pullRequests",
            _REPO + "/{resource}/{pullRequestId}",
        ),
        _location(
            "a5d28130-9cd2-40fa-9f08-902e7daa9efb",
            "git",
            "pullRequests",
            "{project}/_apis/{area}/{resource}",
        ),
        _location(
            "d5b216de-d8d5-4d32-ae76-51df755b16d3", "git", "branches", _REPO + "/stats/{resource}"
        ),
        _location(
            "e7f29993-5b82-4fca-9386-f5cfe683d524",
            "search",
            "codeSearchResults",
            "{project}/_apis/{area}/{resource}",
        ),
        _location(
            "5b02a779-1867-433f-90b7-d23ed5e33e57",
            "projectAnalysis",
            "languageMetrics",
            "{project}/_apis/{area}/{resource}",
            preview_only=True,
        ),
        _location(
            "387f832c-dbf2-4643-88e9-c1aa94dbb737",
            "MemberEntitlementManagement",
            "UserEntitlements",
            "_apis/{resource}",
            3,
        ),
        _location(
            "8480c6eb-ce60-47e9-88df-eca3c801638b",
            "MemberEntitlementManagement",
            "UserEntitlements",
            "_apis/{resource}/{userId}",
            3,
        ),
        _location(
            "005e26ec-6b77-4e4f-a986-b3827bf241f5",
            "Graph",
            "Users",
            "_apis/{area}/{resource}/{userDescriptor}",
            preview_only=True,
        ),
        _location(
            "f83735dc-483f-4238-a291-d45f6080a9af",
            "Profile",
            "Profiles",
            "_apis/{area}/{resource}/{id}",
            3,
            root=True,
        ),
        _location(
            "229a6a53-b428-4ffb-a835-e8f36b5b4b1e",
            "Account",
            "Accounts",
            "_apis/{resource}",
            root=True,
        ),
    )
}

# The areas of the routes served, with the ids of the SDKs' client classes
# (``resource_area_identifier`` in the Python SDK, ``RESOURCE_AREA_ID`` in the Node SDK).
AREAS: tuple[ResourceArea, ...] = (
    ResourceArea("79134c72-4a58-4b42-976c-04e7115f32bf", "core"),
    ResourceArea("4e080c62-fa21-4fbc-8fef-2a10a2b38049", "git"),
    ResourceArea("ea48a0a1-269c-42d8-b8ad-ddc8fcdcf578", "search"),
    ResourceArea("7658fa33-b1bf-4580-990f-fac5896773d3", "projectAnalysis"),
    ResourceArea("68ddce18-2501-45f1-a17b-7931a9922690", "MemberEntitlementManagement"),
    ResourceArea("bb1e7ec9-e901-4b68-999a-de7012b920f8", "Graph"),
    ResourceArea("8ccfef3d-2b87-4e99-8ccb-66e343d2daa8", "Profile", root=True),
    ResourceArea("0d55247a-1c47-4462-9b1f-5e2125590ee6", "Account", root=True),
)


def _shape(location: ResourceLocation, ctx: Context) -> dict[str, Any]:
    options = ctx.options
    released = "0.0" if location.preview_only else options.ceiling
    return {
        "id": location.id,
        "area": location.area,
        "resourceName": location.resource_name,
        "routeTemplate": location.route_template,
        "resourceVersion": location.resource_version,
        "minVersion": 1.0,
        "maxVersion": float(options.preview_ceiling),
        "releasedVersion": released,
    }


def list_locations(ctx: Context) -> Response:
    """``OPTIONS [{collection}]/_apis[/{area}]``: the resource locations served there
    (of one area, in any case, when the path names one)."""
    root = ctx.organization is None
    area = ctx.params.get("area", "").lower()
    value = [
        _shape(location, ctx)
        for location in LOCATIONS.values()
        if location.root == root and (not area or location.area.lower() == area)
    ]
    return json_response({"count": len(value), "value": value}, api_version=ctx.api_version)


def _area_shape(area: ResourceArea, ctx: Context) -> dict[str, Any]:
    # Root areas live on the server root (app.vssps in the cloud); the others in the org.
    url = ctx.request.base_url if area.root else ctx.links.collection_url
    return {"id": area.id, "name": area.name, "locationUrl": url + "/"}


def resource_areas(ctx: Context) -> Response:
    """``_apis/ResourceAreas``: where each area lives. A server answers an empty collection
    (both SDKs then use the collection URL for every area), the cloud the list."""
    if ctx.onprem:
        return json_response({"count": 0, "value": None}, api_version=ctx.api_version)
    value = [_area_shape(area, ctx) for area in AREAS]
    return json_response({"count": len(value), "value": value}, api_version=ctx.api_version)


def resource_area(ctx: Context) -> Response:
    """``_apis/ResourceAreas/{areaId}``: one area (the Node SDK's per-client look-up)."""
    wanted = ctx.params["area"].lower()
    found = next((area for area in AREAS if area.id == wanted), None)
    if found is None or ctx.onprem:
        raise api_errors.not_found(
            f"The resource area '{ctx.params['area']}' could not be found.",
            "ResourceAreaNotFoundException",
        )
    return json_response(_area_shape(found, ctx), api_version=ctx.api_version)
