"""What Microsoft's SDKs need beyond the plain routes: location discovery, strict query enums,
teams, items batches and Git objects by id."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from bridge.emulator import RunningEmulator
from bridge.emulator.locations import AREAS, LOCATIONS
from bridge.emulator.options import EmulatorOptions
from bridge.emulator.routes import ROUTES
from tests.emulator.conftest import API, REVOKED, auth

REPO = "/contoso/Payments/_apis/git/repositories/payments-api"


def _options(client: httpx.Client, path: str) -> httpx.Response:
    return client.request("OPTIONS", path, headers={"Accept": "application/json"})


def test_every_route_has_a_known_location() -> None:
    for route in ROUTES:
        if route.method != "OPTIONS":
            assert route.location in LOCATIONS, route.name


def test_options_lists_the_locations_the_sdks_look_up(client: httpx.Client) -> None:
    answer = _options(client, "/contoso/_apis")
    assert answer.status_code == 200
    body = answer.json()
    assert body["count"] == len(body["value"])
    by_id = {location["id"]: location for location in body["value"]}
    items = by_id["fb93c0db-47ed-4a31-8c20-47552878fb44"]  # GitClient.get_item's location id
    assert items == {
        "id": "fb93c0db-47ed-4a31-8c20-47552878fb44",
        "area": "git",
        "resourceName": "items",
        "routeTemplate": "{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{*path}",
        "resourceVersion": 1,
        "minVersion": 1.0,
        "maxVersion": 7.2,
        "releasedVersion": "7.1",
    }
    assert by_id["00d9565f-ed9c-4a06-9a50-00e7896ccab4"]["releasedVersion"] == "0.0"
    # The Node SDK asks per area, in its own case.
    git = _options(client, "/contoso/_apis/GIT").json()["value"]
    assert git and {location["area"] for location in git} == {"git"}
    root = _options(client, "/_apis").json()["value"]
    assert {location["area"] for location in root} == {"Profile", "Account"}


def test_resource_areas(client: httpx.Client) -> None:
    body = client.get("/contoso/_apis/ResourceAreas", params={"api-version": "7.1-preview.1"})
    base = str(client.base_url).rstrip("/")
    areas = {area["name"]: area for area in body.json()["value"]}
    assert set(areas) == {area.name for area in AREAS}
    assert areas["git"] == {
        "id": "4e080c62-fa21-4fbc-8fef-2a10a2b38049",
        "name": "git",
        "locationUrl": f"{base}/contoso/",
    }
    assert areas["Profile"]["locationUrl"] == f"{base}/"
    one = client.get(f"/contoso/_apis/ResourceAreas/{areas['core']['id']}")
    assert one.json()["name"] == "core"


def test_discovery_follows_the_token_rules(emulator: RunningEmulator) -> None:
    with httpx.Client(base_url=emulator.base_url, timeout=10) as anonymous:
        assert _options(anonymous, "/contoso/_apis").status_code == 401  # not GET/POST
        assert anonymous.get("/contoso/_apis/ResourceAreas").status_code == 203
    with httpx.Client(base_url=emulator.base_url, auth=auth(REVOKED), timeout=10) as revoked:
        assert _options(revoked, "/contoso/_apis").status_code == 401


def test_on_premises_discovery(serve: Callable[..., RunningEmulator]) -> None:
    server = serve(options=EmulatorOptions(layout="onprem"))
    with httpx.Client(base_url=server.base_url, auth=auth("admin-token-0123456789")) as client:
        locations = _options(client, "/tfs/contoso/_apis").json()["value"]
        assert {location["maxVersion"] for location in locations} == {6.0}
        areas = client.get("/tfs/contoso/_apis/ResourceAreas").json()
        assert areas == {"count": 0, "value": None}  # both SDKs then use the collection URL


@pytest.mark.parametrize(
    ("path", "params", "expected"),
    [
        ("/items", {"scopePath": "/src", "recursionLevel": "120"}, 2),
        ("/items", {"scopePath": "/src", "recursionLevel": "FULL"}, 2),
        ("/items", {"scopePath": "/src", "recursionLevel": "0"}, 1),
        ("/items", {"path": "/README.md", "versionDescriptor.versionType": "0",
                    "versionDescriptor.version": "main"}, None),
        ("/commits", {"searchCriteria.itemVersion.versionType": "0",
                      "searchCriteria.itemVersion.version": "develop"}, 3),
    ],
)  # fmt: skip
def test_enums_by_name_or_number(
    client: httpx.Client, path: str, params: dict[str, str], expected: int | None
) -> None:
    answer = client.get(REPO + path, params={**API, **params})
    assert answer.status_code == 200, answer.text
    if expected is not None:
        assert answer.json()["count"] == expected


def test_pull_request_status_by_number(client: httpx.Client) -> None:
    tip = client.get(f"{REPO}/refs", params={**API, "filter": "heads/main"}).json()
    base = tip["value"][0]["objectId"]
    push = {
        "refUpdates": [{"name": "refs/heads/topic", "oldObjectId": base}],
        "commits": [{"comment": "x", "changes": [{"changeType": "add", "item": {"path": "/x"},
                     "newContent": {"content": "x", "contentType": "rawtext"}}]}],
    }  # fmt: skip
    assert client.post(f"{REPO}/pushes", params=API, json=push).status_code == 201
    pr = {"sourceRefName": "refs/heads/topic", "targetRefName": "refs/heads/main", "title": "t"}
    assert client.post(f"{REPO}/pullrequests", params=API, json=pr).status_code == 201
    for status, count in (("1", 1), ("Active", 1), ("2", 0), ("4", 1)):
        listed = client.get(f"{REPO}/pullrequests", params={**API, "searchCriteria.status": status})
        assert listed.json()["count"] == count, status


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/items", {"scopePath": "/", "recursionLevel": "7"}, "recursionLevel"),
        ("/items", {"scopePath": "/", "recursionLevel": "deep"}, "recursionLevel"),
        ("/items", {"path": "/README.md", "versionDescriptor.versionType": "9"},
         "versionDescriptor.versionType"),
        ("/items", {"path": "/README.md", "versionDescriptor.versionOptions": "latest"},
         "versionDescriptor.versionOptions"),
        ("/pullrequests", {"searchCriteria.status": "open"}, "searchCriteria.status"),
        ("/commits", {"searchCriteria.itemVersion.versionType": "branchy"},
         "searchCriteria.itemVersion.versionType"),
    ],
)  # fmt: skip
def test_unknown_enum_values_are_refused(
    client: httpx.Client, path: str, params: dict[str, str], name: str
) -> None:
    answer = client.get(REPO + path, params={**API, **params})
    assert answer.status_code == 400
    body = answer.json()
    assert body["typeKey"] == "ArgumentException"
    assert body["typeName"] == "System.ArgumentException, mscorlib"
    assert f"parameter '{name}'" in body["message"]
    assert set(body) == {"$id", "innerException", "message", "typeName", "typeKey", "errorCode",
                         "eventId"}  # fmt: skip


def _teams(client: httpx.Client, project: str) -> list[dict[str, Any]]:
    answer = client.get(f"/contoso/_apis/projects/{project}/teams", params=API)
    assert answer.status_code == 200
    teams: list[dict[str, Any]] = answer.json()["value"]
    return teams


def test_teams_and_members(client: httpx.Client) -> None:
    project = client.get("/contoso/_apis/projects/Payments", params=API).json()
    teams = _teams(client, "Payments")
    assert [team["name"] for team in teams] == ["Payments Team", "Checkout"]
    default = teams[0]
    assert default["id"] == project["defaultTeam"]["id"]
    assert default["projectId"] == project["id"] and default["projectName"] == "Payments"
    members = client.get(
        f"/contoso/_apis/projects/{project['id']}/teams/{default['id']}/members", params=API
    ).json()
    assert [(m["identity"]["uniqueName"], m["isTeamAdmin"]) for m in members["value"]] == [
        ("grace@contoso.example", True),
        ("alan@contoso.example", False),
    ]
    by_name = client.get("/contoso/_apis/projects/Payments/teams/checkout", params=API)
    assert by_name.json()["name"] == "Checkout"
    missing = client.get("/contoso/_apis/projects/Payments/teams/nobody", params=API)
    assert missing.status_code == 404
    # Every project has a default team, declared or not.
    assert [team["name"] for team in _teams(client, "Identity")] == ["Identity Team"]


def test_items_batch(client: httpx.Client) -> None:
    body = {
        "itemDescriptors": [
            {"path": "/src", "recursionLevel": "full", "version": "main", "versionType": "branch"},
            {"path": "/README.md", "recursionLevel": 0, "versionType": 0, "version": "develop"},
        ],
        "latestProcessedChange": True,
    }
    answer = client.post(f"{REPO}/itemsbatch", params=API, json=body)
    assert answer.status_code == 200
    value = answer.json()["value"]
    assert [[item["path"] for item in items] for items in value] == [
        ["/src", "/src/app.py"],
        ["/README.md"],
    ]
    assert all("latestProcessedChange" in item for items in value for item in items)
    body["itemDescriptors"] = [{"path": "/", "recursionLevel": "sideways"}]
    assert client.post(f"{REPO}/itemsbatch", params=API, json=body).status_code == 400


def _git_tree_ids(tmp_path: Path, files: dict[str, str]) -> tuple[str, str]:
    """The root and ``src`` tree ids Git itself computes for ``files``."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for name, text in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode())
    subprocess.run(["git", "-C", str(tmp_path), "add", "."], check=True)
    root = subprocess.run(
        ["git", "-C", str(tmp_path), "write-tree"], check=True, capture_output=True, text=True
    ).stdout.strip()
    src = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", f"{root}:src"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return root, src


def test_folders_trees_and_blobs_have_git_ids(client: httpx.Client, tmp_path: Path) -> None:
    listing = client.get(f"{REPO}/items", params={**API, "recursionLevel": "full"}).json()
    items = {item["path"]: item for item in listing["value"]}
    files = {
        path.lstrip("/"): client.get(f"{REPO}/items", params={**API, "path": path}).text
        for path, item in items.items()
        if not item.get("isFolder")
    }
    root_id, src_id = _git_tree_ids(tmp_path, files)
    assert items["/"]["objectId"] == root_id and items["/src"]["objectId"] == src_id
    tip = client.get(f"{REPO}/commits", params=API).json()["value"][0]["commitId"]
    assert client.get(f"{REPO}/commits/{tip}", params=API).json()["treeId"] == root_id

    tree = client.get(f"{REPO}/trees/{root_id}", params=API).json()
    assert tree["objectId"] == root_id
    entries = {entry["relativePath"]: entry for entry in tree["treeEntries"]}
    assert entries["src"]["gitObjectType"] == "tree" and entries["src"]["mode"] == "40000"
    assert "src/app.py" not in entries
    deep = client.get(f"{REPO}/trees/{root_id}", params={**API, "recursive": "true"}).json()
    assert "src/app.py" in {entry["relativePath"] for entry in deep["treeEntries"]}

    readme = client.get(
        f"{REPO}/items", params={**API, "path": "/README.md", "$format": "json"}
    ).json()
    blob_url = readme["_links"]["blob"]["href"]
    raw = client.get(blob_url, params=API)
    assert raw.content == b"# Payments API"
    assert readme["objectId"] == hashlib.sha1(b"blob 14\0# Payments API").hexdigest()
    as_json = client.get(blob_url, params={**API, "$format": "json"}).json()
    assert as_json["size"] == 14 and as_json["objectId"] == readme["objectId"]
    assert client.get(f"{REPO}/blobs/{'0' * 40}", params=API).status_code == 404
    assert client.get(f"{REPO}/trees/{'0' * 40}", params=API).status_code == 404


def test_version_options_step_back_to_the_first_parent(client: httpx.Client) -> None:
    commits = client.get(f"{REPO}/commits", params=API).json()["value"]
    tip, parent = commits[0]["commitId"], commits[1]["commitId"]
    for options in ("firstParent", "1", "2", "PREVIOUSCHANGE"):
        item = client.get(
            f"{REPO}/items",
            params={**API, "path": "/README.md", "$format": "json",
                    "versionDescriptor.versionOptions": options},
        ).json()  # fmt: skip
        assert item["commitId"] == parent, options
    same = client.get(
        f"{REPO}/items",
        params={**API, "path": "/README.md", "$format": "json", "versionOptions": "0"},
    )
    assert same.json()["commitId"] == tip
    older = client.get(
        f"{REPO}/commits",
        params={**API, "searchCriteria.itemVersion.versionOptions": "firstParent"},
    )
    assert [c["commitId"] for c in older.json()["value"]] == [c["commitId"] for c in commits[1:]]
