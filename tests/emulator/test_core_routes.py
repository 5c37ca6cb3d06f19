"""Core routes over real loopback sockets: connectionData, projects, profile/accounts, members,
language metrics, and the on-premises layout with its api-version ceiling."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from bridge.emulator import EmulatorOptions, GenerationSpec, RunningEmulator
from tests.emulator.conftest import ADMIN, API, FABRIKAM_ONLY, auth, generated_client


def test_connection_data_is_preview_only(client: httpx.Client) -> None:
    plain = client.get("/contoso/_apis/connectionData", params=API)
    assert plain.status_code == 400
    error = plain.json()
    assert error["typeKey"] == "VssInvalidPreviewVersionException"
    assert '"7.1-preview"' in error["message"]
    assert set(error) == {
        "$id",
        "innerException",
        "message",
        "typeName",
        "typeKey",
        "errorCode",
        "eventId",
    }

    for version in ("7.1-preview", "7.1-preview.1"):
        answer = client.get("/contoso/_apis/connectionData", params={"api-version": version})
        assert answer.status_code == 200
        data = answer.json()
        assert data["authenticatedUser"]["providerDisplayName"] == "Ada Admin"
        assert data["deploymentType"] == "hosted"
    assert client.get("/contoso/_apis/connectionData").status_code == 200  # version omitted


def test_api_version_from_accept_header_and_above_ceiling(client: httpx.Client) -> None:
    headers = {"Accept": "application/json;api-version=7.3"}
    answer = client.get("/contoso/_apis/projects", headers=headers)
    assert answer.status_code == 400
    assert answer.json()["typeKey"] == "VssVersionOutOfRangeException"
    assert "supports is 7.2." in answer.json()["message"]
    # The cloud previews 7.2 (the Node SDK's default): served as a preview, refused as released.
    preview = client.get("/contoso/_apis/projects", params={"api-version": "7.2-preview.4"})
    assert preview.status_code == 200
    assert preview.headers["content-type"].endswith("api-version=7.2-preview.4")
    released = client.get("/contoso/_apis/projects", params={"api-version": "7.2"})
    assert released.status_code == 400
    assert released.json()["typeKey"] == "VssInvalidPreviewVersionException"
    ok = client.get(
        "/contoso/_apis/projects", headers={"Accept": "application/json;api-version=7.0"}
    )
    assert ok.status_code == 200
    assert ok.headers["content-type"] == "application/json; charset=utf-8; api-version=7.0"


def test_projects_page_by_100_with_continuation_header(
    serve: Callable[..., RunningEmulator],
) -> None:
    spec = GenerationSpec(
        seed=3, organizations=1, projects_per_organization=250, repositories_per_project=0
    )
    names: list[str] = []
    pages = []
    token: str | None = None
    with generated_client(serve, spec) as (client, org):
        while True:
            params = {**API, **({"continuationToken": token} if token else {})}
            answer = client.get(f"/{org}/_apis/projects", params=params)
            assert answer.status_code == 200
            body = answer.json()
            pages.append(body["count"])
            names += [project["name"] for project in body["value"]]
            token = answer.headers.get("x-ms-continuationtoken")
            if token is None:
                break
            assert token == str(len(names))  # 7.1: number of projects already returned
        top = client.get(f"/{org}/_apis/projects", params={**API, "$top": 30, "$skip": 240})
    assert pages == [100, 100, 50]
    assert len(set(names)) == 250
    assert [p["name"] for p in top.json()["value"]] == names[240:]
    assert "x-ms-continuationtoken" not in top.headers


def test_project_by_name_or_id_and_unknown_projects(client: httpx.Client) -> None:
    listed = client.get("/contoso/_apis/projects", params=API).json()["value"]
    payments = next(p for p in listed if p["name"] == "Payments")
    assert set(payments) >= {
        "id",
        "name",
        "url",
        "state",
        "revision",
        "visibility",
        "lastUpdateTime",
    }
    by_id = client.get(f"/contoso/_apis/projects/{payments['id']}", params=API).json()
    by_name = client.get("/contoso/_apis/projects/pAyMeNtS", params=API).json()
    assert by_id["id"] == by_name["id"] == payments["id"]
    assert by_id["defaultTeam"]["name"] == "Payments Team"

    missing = client.get("/contoso/_apis/projects/Nope", params=API)
    assert missing.status_code == 404
    assert missing.json()["message"].startswith(
        "TF200016: The following project does not exist: Nope."
    )
    missing_id = client.get(
        "/contoso/_apis/projects/00000000-0000-0000-0000-000000000001", params=API
    )
    assert missing_id.json()["message"].startswith("VS800075:")
    repos = client.get("/contoso/Nope/_apis/git/repositories", params=API)
    assert repos.status_code == 404
    assert repos.json()["typeKey"] == "ProjectDoesNotExistWithNameException"


def test_profile_and_accounts_at_the_server_root(emulator: RunningEmulator) -> None:
    with httpx.Client(base_url=emulator.base_url, auth=auth(ADMIN)) as client:
        me = client.get("/_apis/profile/profiles/me", params=API).json()
        assert me["displayName"] == "Ada Admin"
        accounts = client.get("/_apis/accounts", params={**API, "memberId": me["id"]}).json()
        assert [a["accountName"] for a in accounts["value"]] == ["contoso", "fabrikam"]
        assert accounts["count"] == 2
        assert client.get("/_apis/accounts", params=API).status_code == 400
    # A token limited to some organizations may not list organizations.
    limited = httpx.get(
        f"{emulator.base_url}/_apis/accounts",
        params={**API, "memberId": me["id"]},
        auth=auth(FABRIKAM_ONLY),
    )
    assert limited.status_code == 401


def test_user_entitlements_page_with_a_body_token(serve: Callable[..., RunningEmulator]) -> None:
    spec = GenerationSpec(
        seed=1, organizations=1, projects_per_organization=1, members_per_organization=230
    )
    seen: list[str] = []
    token = None
    with generated_client(serve, spec) as (client, org):
        while True:
            params = {**API, **({"continuationToken": token} if token else {})}
            body = client.get(f"/{org}/_apis/userentitlements", params=params).json()
            assert body["items"] == body["members"]
            assert body["totalCount"] == 231  # the generated members plus the token's owner
            seen += [item["user"]["principalName"] for item in body["items"]]
            token = body["continuationToken"]
            if token is None:
                break
        bad = client.get(f"/{org}/_apis/userentitlements", params={**API, "continuationToken": "x"})
        graph = client.get(f"/{org}/_apis/graph/users", params={"api-version": "7.1-preview.1"})
    assert len(seen) == len(set(seen)) == 231
    assert bad.status_code == 400
    assert graph.json()["count"] == 100
    assert graph.headers["x-ms-continuationtoken"]


def test_language_metrics_per_repository(client: httpx.Client) -> None:
    assert (
        client.get(
            "/contoso/Payments/_apis/projectanalysis/languagemetrics", params=API
        ).status_code
        == 400
    )
    answer = client.get(
        "/contoso/Payments/_apis/projectanalysis/languagemetrics",
        params={"api-version": "7.1-preview.1"},
    )
    body = answer.json()
    by_repo = {r["name"]: r for r in body["repositoryLanguageAnalytics"]}
    assert set(by_repo) == {
        "payments-api",
        "Payments Docs",
        "payments-sandbox",
        "legacy-billing",
        "payments-api-fork",
    }
    languages = {entry["name"] for entry in by_repo["payments-api"]["languageBreakdown"]}
    assert languages == {"Python", "YAML", "Markdown"}
    assert by_repo["payments-sandbox"]["languageBreakdown"] == []
    shares = [entry["languagePercentage"] for entry in by_repo["payments-api"]["languageBreakdown"]]
    assert abs(sum(shares) - 100) < 0.1


def test_onprem_layout_and_version_ceiling(serve: Callable[..., RunningEmulator]) -> None:
    emulator = serve(options=EmulatorOptions(layout="onprem"))
    with httpx.Client(base_url=emulator.base_url, auth=auth(ADMIN)) as client:
        too_new = client.get("/tfs/contoso/_apis/projects", params=API)
        assert too_new.status_code == 400
        assert too_new.json()["message"] == (
            "The requested REST API version of 7.1 is out of range for this server. "
            "The latest REST API version this server supports is 6.0."
        )
        assert too_new.json()["typeKey"] == "VssVersionOutOfRangeException"
        projects = client.get("/tfs/contoso/_apis/projects", params={"api-version": "6.0"})
        assert projects.status_code == 200
        repos = client.get(
            "/tfs/contoso/Payments/_apis/git/repositories", params={"api-version": "6.0"}
        )
        repo = next(r for r in repos.json()["value"] if r["name"] == "payments-api")
        assert repo["webUrl"] == f"{emulator.base_url}/tfs/contoso/Payments/_git/payments-api"
        assert repo["remoteUrl"] == repo["webUrl"]  # no {org}@ user-info on a server
        data = client.get(
            "/tfs/contoso/_apis/connectionData", params={"api-version": "6.0-preview"}
        ).json()
        assert data["deploymentType"] == "onPremises"
        # The cloud layout is not served by a server, nor are the cloud-only root routes.
        assert (
            client.get("/contoso/_apis/projects", params={"api-version": "6.0"}).status_code == 404
        )
        assert (
            client.get("/_apis/profile/profiles/me", params={"api-version": "6.0"}).status_code
            == 404
        )


def test_onprem_without_virtual_directory_and_another_ceiling(
    serve: Callable[..., RunningEmulator],
) -> None:
    options = EmulatorOptions(layout="onprem", virtual_directory="", api_ceiling="7.0")
    emulator = serve(options=options)
    with httpx.Client(base_url=emulator.base_url, auth=auth(ADMIN)) as client:
        assert (
            client.get("/contoso/_apis/projects", params={"api-version": "7.0"}).status_code == 200
        )
        refused = client.get("/contoso/_apis/projects", params=API).json()
        assert refused["message"].endswith("supports is 7.0.")
        assert (
            client.get("/tfs/contoso/_apis/projects", params={"api-version": "7.0"}).status_code
            == 404
        )


def test_unknown_organization_route_and_method(client: httpx.Client) -> None:
    assert client.get("/nowhere/_apis/projects", params=API).status_code == 404
    assert client.get("/contoso/_apis/nothing-here", params=API).status_code == 404
    assert client.delete("/contoso/_apis/projects", params=API).status_code == 405
