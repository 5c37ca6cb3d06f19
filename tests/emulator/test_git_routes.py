"""Git read routes over loopback: repository shapes, items, commits, refs, pushes, branch stats."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import httpx
import pytest

from tests.emulator.conftest import API
from tests.support.emulator import CATALOG

REPOS = "/contoso/Payments/_apis/git/repositories"


def _repos(client: httpx.Client, path: str = REPOS) -> dict[str, dict[str, Any]]:
    body = client.get(path, params=API).json()
    assert body["count"] == len(body["value"])
    return {repo["name"]: repo for repo in body["value"]}


def test_repository_wire_shape(client: httpx.Client) -> None:
    repos = _repos(client)
    base = str(client.base_url).rstrip("/")
    api = repos["payments-api"]
    project = api["project"]
    assert api["url"] == f"{base}/contoso/{project['id']}/_apis/git/repositories/{api['id']}"
    assert api["defaultBranch"] == "refs/heads/main"
    assert api["size"] > 0
    host = base.split("://", 1)[1]
    assert api["remoteUrl"] == f"http://contoso@{host}/contoso/Payments/_git/payments-api"
    assert api["sshUrl"] == "git@ssh.dev.azure.com:v3/contoso/Payments/payments-api"
    assert api["webUrl"] == f"{base}/contoso/Payments/_git/payments-api"
    assert api["isDisabled"] is False and api["isInMaintenance"] is False
    assert "isFork" not in api
    assert project["visibility"] == "private" and project["state"] == "wellFormed"
    assert list(api)[:4] == ["id", "name", "url", "project"]


def test_disabled_empty_fork_and_spaced_repositories(client: httpx.Client) -> None:
    repos = _repos(client)
    assert repos["legacy-billing"]["isDisabled"] is True
    empty = repos["payments-sandbox"]
    assert empty["size"] == 0 and "defaultBranch" not in empty
    assert repos["payments-api-fork"]["isFork"] is True
    assert repos["Payments Docs"]["webUrl"].endswith("/Payments/_git/Payments%20Docs")
    # A name with a space is addressed percent-encoded.
    one = client.get(f"{REPOS}/Payments%20Docs", params=API)
    assert one.status_code == 200 and one.json()["name"] == "Payments Docs"


def test_organization_level_listing_and_lookup_by_id(client: httpx.Client) -> None:
    everything = _repos(client, "/contoso/_apis/git/repositories")
    assert set(everything) == {
        "payments-api", "Payments Docs", "payments-sandbox", "legacy-billing",
        "payments-api-fork", "identity-service",
    }  # fmt: skip
    repo_id = everything["payments-api"]["id"]
    by_id = client.get(
        f"/contoso/_apis/git/repositories/{repo_id}/items", params={**API, "path": "/README.md"}
    )
    assert by_id.text == "# Payments API"
    # Without a project only an id finds a repository.
    by_name = client.get(
        "/contoso/_apis/git/repositories/payments-api/items", params={**API, "path": "/README.md"}
    )
    assert by_name.status_code == 404
    assert by_name.json()["message"].startswith(
        "TF401019: The Git repository with name or identifier payments-api"
    )


def _items(client: httpx.Client, repo: str, **params: str) -> httpx.Response:
    return client.get(f"{REPOS}/{repo}/items", params={**API, **params})


def test_items_raw_json_and_content(client: httpx.Client) -> None:
    raw = _items(client, "payments-api", path="/catalog-info.yaml")
    assert raw.status_code == 200 and raw.text == CATALOG
    assert raw.headers["content-type"] == "application/octet-stream"
    plain = client.get(
        f"{REPOS}/payments-api/items",
        params={**API, "path": "catalog-info.yaml"},
        headers={"Accept": "text/plain"},
    )
    assert plain.text == CATALOG and plain.headers["content-type"].startswith("text/plain")

    item = _items(client, "payments-api", path="/catalog-info.yaml", **{"$format": "json"}).json()
    assert item["path"] == "/catalog-info.yaml" and item["gitObjectType"] == "blob"
    assert "content" not in item and len(item["objectId"]) == 40
    with_content = _items(
        client,
        "payments-api",
        path="/catalog-info.yaml",
        includeContent="true",
        **{"$format": "json"},
    )
    assert with_content.json()["content"] == CATALOG
    by_accept = client.get(
        f"{REPOS}/payments-api/items",
        params={"path": "/catalog-info.yaml", "includeContent": "true"},
        headers={"Accept": "application/json;api-version=7.1"},
    )
    assert by_accept.json()["content"] == CATALOG
    archive = _items(client, "payments-api", path="/catalog-info.yaml", **{"$format": "zip"})
    assert (
        zipfile.ZipFile(io.BytesIO(archive.content)).read("catalog-info.yaml").decode() == CATALOG
    )


def test_items_versions(client: httpx.Client) -> None:
    commits = client.get(f"{REPOS}/payments-api/commits", params=API).json()["value"]
    oldest = commits[-1]["commitId"]
    by_branch = _items(client, "payments-api", path="/catalog-info.yaml", **{
        "versionDescriptor.version": "develop", "versionDescriptor.versionType": "Branch",
    })  # fmt: skip
    assert by_branch.text == CATALOG
    legacy = client.get(
        "/contoso/Identity/_apis/git/repositories/identity-service/items",
        params={"api-version": "6.0", "path": "/catalog-info.yaml", "version": "trunk"},
    )
    assert legacy.text == "apiVersion: backstage.io/v1alpha1"
    by_commit = _items(client, "payments-api", path="/README.md", **{
        "versionDescriptor.version": oldest, "versionDescriptor.versionType": "commit",
    })  # fmt: skip
    assert by_commit.status_code == 200


def test_item_commit_is_the_commit_read_at_and_latest_processed_change_the_last_change(
    client: httpx.Client,
) -> None:
    """GitItem.commitId is the commit the item was read at (the spec's definition); the commit
    that last changed it is ``latestProcessedChange``, only when asked for."""
    commits = client.get(f"{REPOS}/payments-api/commits", params=API).json()["value"]
    tip, oldest = commits[0]["commitId"], commits[-1]["commitId"]
    as_json = {"$format": "json"}
    source = _items(client, "payments-api", path="/src/app.py", **as_json).json()
    assert source["commitId"] == tip
    assert "latestProcessedChange" not in source
    # Declared histories add every file first, then edit the first path (README.md) only.
    asked = {**as_json, "latestProcessedChange": "true"}
    source = _items(client, "payments-api", path="/src/app.py", **asked).json()
    assert source["commitId"] == tip
    assert source["latestProcessedChange"]["commitId"] == oldest
    readme = _items(client, "payments-api", path="/README.md", **asked).json()
    assert readme["latestProcessedChange"]["commitId"] == tip
    at_oldest = _items(client, "payments-api", path="/README.md", **{
        **asked, "versionDescriptor.version": oldest, "versionDescriptor.versionType": "commit",
    }).json()  # fmt: skip
    assert at_oldest["commitId"] == oldest == at_oldest["latestProcessedChange"]["commitId"]
    listing = _items(client, "payments-api", scopePath="/src", recursionLevel="Full", **asked)
    folder, app = listing.json()["value"]
    assert folder["commitId"] == app["commitId"] == tip
    assert folder["latestProcessedChange"]["commitId"] == oldest


@pytest.mark.parametrize(
    ("repo", "params", "status", "prefix"),
    [
        ("payments-api", {"path": "/missing.yaml"}, 404,
         "TF401174: The item '/missing.yaml' could not be found"),
        ("payments-api", {"path": "/x", "versionDescriptor.version": "nope"}, 404,
         "TF401175:The version descriptor <Branch: nope > could not be resolved"),
        ("payments-sandbox", {"path": "/catalog-info.yaml"}, 404,
         "VS403403: Cannot find any branches for the payments-sandbox repository."),
        ("legacy-billing", {"path": "/catalog-info.yaml"}, 404, "TF401019:"),
        ("no-such-repo", {"path": "/catalog-info.yaml"}, 404, "TF401019:"),
    ],
)  # fmt: skip
def test_items_errors(
    client: httpx.Client, repo: str, params: dict[str, str], status: int, prefix: str
) -> None:
    answer = _items(client, repo, **params)
    assert answer.status_code == status
    assert answer.json()["message"].startswith(prefix)


def test_items_folder_listing(client: httpx.Client) -> None:
    answer = client.get(
        "/contoso/Identity/_apis/git/repositories/identity-service/items",
        params={**API, "scopePath": "/", "recursionLevel": "Full"},
    ).json()
    paths = [item["path"] for item in answer["value"]]
    assert paths == ["/", "/catalog-info.yaml", "/docs", "/docs/catalog-info.yaml"]
    assert answer["value"][2]["isFolder"] is True


def test_commits_order_filters_and_paging(client: httpx.Client) -> None:
    url = f"{REPOS}/payments-api/commits"
    everything = client.get(url, params=API).json()
    dates = [c["author"]["date"] for c in everything["value"]]
    assert everything["count"] == 3 and dates == sorted(dates, reverse=True)
    newest = everything["value"][0]
    assert newest["comment"] == "Update dependencies"
    assert set(newest) >= {
        "commitId",
        "author",
        "committer",
        "comment",
        "changeCounts",
        "url",
        "remoteUrl",
    }
    truncated = everything["value"][1]
    assert truncated["comment"] == "Add catalog file" and truncated["commentTruncated"] is True

    first = client.get(url, params={**API, "searchCriteria.$top": 1})
    assert [c["commitId"] for c in first.json()["value"]] == [newest["commitId"]]
    assert 'rel="next"' in first.headers["link"]
    second = client.get(
        url, params={**API, "searchCriteria.$top": 1, "searchCriteria.$skip": 1}
    ).json()
    assert second["value"][0]["commitId"] == truncated["commitId"]
    by_author = client.get(url, params={**API, "searchCriteria.author": "Grace"}).json()
    assert by_author["count"] == 2
    recent = client.get(url, params={**API, "searchCriteria.fromDate": dates[1]}).json()
    assert recent["count"] == 2
    old = client.get(url, params={**API, "searchCriteria.toDate": dates[2]}).json()
    assert old["count"] == 1
    on_branch = client.get(
        url, params={**API, "searchCriteria.itemVersion.version": "develop"}
    ).json()
    assert on_branch["count"] == 3
    missing = client.get(url, params={**API, "searchCriteria.itemVersion.version": "nope"})
    assert missing.status_code == 404
    single = client.get(f"{url}/{newest['commitId']}", params=API).json()
    assert single["parents"] == [truncated["commitId"]]
    empty = client.get(f"{REPOS}/payments-sandbox/commits", params=API).json()
    assert empty == {"count": 0, "value": []}
    assert client.get(f"{REPOS}/legacy-billing/commits", params=API).status_code == 404


def test_refs_filter_and_continuation(client: httpx.Client) -> None:
    url = f"{REPOS}/payments-api/refs"
    heads = client.get(url, params={**API, "filter": "heads/"}).json()
    assert [ref["name"] for ref in heads["value"]] == ["refs/heads/develop", "refs/heads/main"]
    assert list(heads) == ["value", "count"]
    assert heads["value"][0]["creator"]["displayName"] == "Grace Hopper"
    page = client.get(url, params={**API, "$top": 1})
    assert page.json()["count"] == 1
    token = page.headers["x-ms-continuationtoken"]
    rest = client.get(url, params={**API, "$top": 1, "continuationToken": token})
    assert rest.json()["value"][0]["name"] == "refs/heads/main"
    assert "x-ms-continuationtoken" not in rest.headers
    only_main = client.get(url, params={**API, "filter": "heads/main"}).json()
    assert only_main["count"] == 1


def test_branch_stats(client: httpx.Client) -> None:
    one = client.get(
        f"{REPOS}/payments-api/stats/branches", params={**API, "name": "develop"}
    ).json()
    assert one["name"] == "develop" and one["aheadCount"] == 0 and one["behindCount"] == 0
    assert one["isBaseVersion"] is False and len(one["commit"]["commitId"]) == 40
    every = client.get(f"{REPOS}/payments-api/stats/branches", params=API).json()
    assert {s["name"] for s in every["value"]} == {"develop", "main"}
    empty = client.get(f"{REPOS}/payments-sandbox/stats/branches", params={**API, "name": "main"})
    assert empty.status_code == 400
    assert empty.json()["typeKey"] == "ArgumentException"
    assert (
        empty.json()["message"]
        == "VS403403: Cannot find any branches for the payments-sandbox repository."
    )


def test_pushes_list_newest_first(client: httpx.Client) -> None:
    pushes = client.get(f"{REPOS}/payments-api/pushes", params=API).json()
    assert [p["pushId"] for p in pushes["value"]] == [3, 2, 1]
    assert pushes["value"][0]["pushedBy"]["displayName"] == "Grace Hopper"
    one = client.get(f"{REPOS}/payments-api/pushes", params={**API, "$top": 1, "$skip": 1}).json()
    assert [p["pushId"] for p in one["value"]] == [2]
