"""Each resource: the request it sends, how it pages, and what it makes of the answer."""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import httpx
import pytest

from bridge.azure import AzureDevOpsClient
from bridge.errors import AuthenticationError, ConfigError, ProtocolError
from tests.azure.fakes import (
    ORG,
    TOKEN,
    Handler,
    azure_error,
    client,
    commit,
    envelope,
    ok,
    params,
    project,
    repository,
)

pytestmark = pytest.mark.anyio


async def test_every_request_carries_pat_basic_auth_fedauth_suppression_and_api_version() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok(envelope([project(1)]))

    async with client(handler) as azure:
        assert [p.name async for p in azure.projects()] == ["Project 1"]
    (request,) = seen
    expected = base64.b64encode(f":{TOKEN.reveal()}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert request.headers["x-tfs-fedauthredirect"] == "Suppress"
    assert request.headers["accept"] == "application/json"
    assert str(request.url).startswith("https://dev.azure.com/fabrikam/_apis/projects?")
    assert params(request)["api-version"] == "7.1"


async def test_projects_follow_continuation_tokens_over_three_pages() -> None:
    everything = [project(n) for n in range(250)]
    tokens: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        token = params(request).get("continuationToken")
        tokens.append(token)
        start = int(token or 0)
        page = everything[start : start + 100]
        more = start + 100 < len(everything)
        # Key order differs between resources: put "value" first here.
        body = {"value": page, "count": len(page)}
        return ok(body, headers={"x-ms-continuationtoken": str(start + 100)} if more else None)

    async with client(handler) as azure:
        names = [p.name async for p in azure.projects()]
    assert tokens == [None, "100", "200"]
    assert names == [f"Project {n}" for n in range(250)]


async def test_projects_parse_by_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return ok(envelope([project(7)]))

    async with client(handler) as azure:
        (found,) = [p async for p in azure.projects()]
    assert found.id == "00000000-0000-0000-0000-000000000007"
    assert found.visibility == "private"
    assert found.state == "wellFormed"
    assert found.description is None
    assert found.last_update_time == datetime(2024, 4, 11, 21, 11, 29, 787000, tzinfo=UTC)


async def test_a_repeated_continuation_token_stops_with_a_protocol_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return ok(envelope([project(1)]), headers={"x-ms-continuationtoken": "same"})

    async with client(handler) as azure:
        with pytest.raises(ProtocolError, match="repeated a continuation token"):
            [p async for p in azure.projects()]


async def test_repositories_of_a_project_and_of_the_organization() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode().partition("?")[0])
        return ok(envelope([repository("web")]))

    async with client(handler) as azure:
        assert [r.name async for r in azure.repositories("Project 1")] == ["web"]
        assert [r.name async for r in azure.repositories()] == ["web"]
    assert paths == [
        "/fabrikam/Project%201/_apis/git/repositories",
        "/fabrikam/_apis/git/repositories",
    ]


async def test_repository_fields_are_read_defensively() -> None:
    empty = repository("empty", size=0)
    del empty["defaultBranch"]
    nulled = repository("nulled", defaultBranch=None)
    fork = repository("fork", isFork=True)
    disabled = repository("old", isDisabled=True, isInMaintenance=True)
    shuffled = dict(reversed(list(repository("My Repo", "My Project").items())))

    def handler(request: httpx.Request) -> httpx.Response:
        return ok(envelope([empty, nulled, fork, disabled, shuffled]))

    async with client(handler) as azure:
        found = {r.name: r async for r in azure.repositories("p")}
    assert found["empty"].default_branch is None and found["empty"].size == 0
    assert found["nulled"].default_branch_name is None
    assert found["fork"].is_fork and not found["empty"].is_fork
    assert found["old"].is_disabled and found["old"].is_in_maintenance
    mine = found["My Repo"]
    assert mine.default_branch == "refs/heads/main" and mine.default_branch_name == "main"
    assert mine.project_name == "My Project" and mine.project_id == "proj-1"
    assert mine.visibility == "private"
    assert mine.web_url == "https://dev.azure.com/fabrikam/My%20Project/_git/My%20Repo"
    assert mine.remote_url == (
        "https://fabrikam@dev.azure.com/fabrikam/My%20Project/_git/My%20Repo"
    )


async def test_repository_without_links_gets_a_web_url_from_the_base() -> None:
    bare = repository("R", "P")
    del bare["webUrl"], bare["remoteUrl"]

    def handler(request: httpx.Request) -> httpx.Response:
        return ok(envelope([bare]))

    async with client(handler) as azure:
        (found,) = [r async for r in azure.repositories("P")]
    assert found.web_url == "https://dev.azure.com/fabrikam/P/_git/R"


async def test_file_content_reads_the_default_branch_as_json() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok(
            {
                "objectId": "61a86fdaa79e5c6f5fb6e4026508489feb6ed92c",
                "gitObjectType": "blob",
                "commitId": "23d0bc5b128a10056dc68afece360d8a0fabb014",
                "path": "/catalog-info.yaml",
                "latestProcessedChange": {"commitId": "9d1b2f6c6a1e0b7f3a9c8e4d5f6a7b8c9d0e1f2a"},
                "content": "apiVersion: backstage.io/v1alpha1\nkind: Component\n",
            }
        )

    async with client(handler) as azure:
        found = await azure.file_content("My Project", "web", "/catalog-info.yaml")
    assert found is not None
    assert found.text.startswith("apiVersion: backstage.io/v1alpha1")
    # commitId: read at; latestProcessedChange: last changed in (asked for in the same request).
    assert found.commit_id == "23d0bc5b128a10056dc68afece360d8a0fabb014"
    assert found.last_change_id == "9d1b2f6c6a1e0b7f3a9c8e4d5f6a7b8c9d0e1f2a"
    assert found.object_id == "61a86fdaa79e5c6f5fb6e4026508489feb6ed92c"
    assert found.path == "/catalog-info.yaml"
    (request,) = seen
    assert request.url.raw_path.decode().startswith(
        "/fabrikam/My%20Project/_apis/git/repositories/web/items?"
    )
    query = params(request)
    assert query["path"] == "/catalog-info.yaml"
    assert query["includeContent"] == "true"
    assert query["latestProcessedChange"] == "true"
    assert query["$format"] == "json"
    assert not any(key.startswith("versionDescriptor") for key in query)


async def test_file_content_at_a_branch_names_the_version() -> None:
    seen: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(params(request))
        return ok({"path": "/x.yaml", "content": "a: 1\n", "gitObjectType": "blob"})

    async with client(handler) as azure:
        await azure.file_content("p", "r", "/x.yaml", branch="refs/heads/dev")
    assert seen[0]["versionDescriptor.version"] == "dev"
    assert seen[0]["versionDescriptor.versionType"] == "branch"


async def test_missing_file_is_none_not_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return azure_error(
            404,
            "TF401174: The item '/catalog-info.yaml' could not be found in the repository 'web' "
            "at the version specified by '' (resolved to commit '97cc').",
        )

    async with client(handler) as azure:
        assert await azure.file_content("p", "web", "/catalog-info.yaml") is None


async def test_a_folder_at_the_path_is_no_file() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return ok({"path": "/catalog-info.yaml", "isFolder": True, "gitObjectType": "tree"})

    async with client(handler) as azure:
        assert await azure.file_content("p", "web", "/catalog-info.yaml") is None


async def test_latest_commit_asks_for_one_commit() -> None:
    seen: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(params(request))
        return ok(
            envelope([commit(9)] if "searchCriteria.itemVersion.version" not in seen[-1] else [])
        )

    async with client(handler) as azure:
        latest = await azure.latest_commit("p", "r")
        none = await azure.latest_commit("p", "r", branch="main")
    assert seen[0]["searchCriteria.$top"] == "1"
    assert seen[1]["searchCriteria.itemVersion.version"] == "main"
    assert none is None
    assert latest is not None
    assert latest.id == f"{9:040x}"
    assert latest.author.email == "np@example.com"
    assert latest.committer.date == datetime(2018, 6, 15, 17, 6, 53, tzinfo=UTC)
    assert latest.comment == "change 9" and not latest.comment_truncated


async def test_commits_over_a_window_page_by_skip() -> None:
    history = [commit(n) for n in range(5)]
    seen: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        query = params(request)
        seen.append(query)
        skip, top = int(query["searchCriteria.$skip"]), int(query["searchCriteria.$top"])
        return ok(envelope(history[skip : skip + top]))

    since = datetime(2024, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    async with client(handler) as azure:
        found = [
            c.id
            async for c in azure.commits(
                "p", "r", since=since, until=datetime(2024, 2, 1), page_size=2
            )
        ]
    assert found == [c["commitId"] for c in history]
    assert [q["searchCriteria.$skip"] for q in seen] == ["0", "2", "4"]
    assert seen[0]["searchCriteria.fromDate"] == "2024-01-01T10:00:00Z"
    assert seen[0]["searchCriteria.toDate"] == "2024-02-01T00:00:00Z"


async def test_refs_filter_without_refs_prefix_and_follow_the_continuation_header() -> None:
    seen: list[dict[str, str]] = []
    names = ["refs/heads/main", "refs/heads/dev", "refs/heads/feature/x"]

    def handler(request: httpx.Request) -> httpx.Response:
        query = params(request)
        seen.append(query)
        index = int(query.get("continuationToken", "0"))
        item = {"name": names[index], "objectId": f"{index:040x}", "creator": {"displayName": "N"}}
        more = {"x-ms-continuationtoken": str(index + 1)} if index + 1 < len(names) else None
        return ok({"value": [item], "count": 1}, headers=more)

    async with client(handler) as azure:
        found = [ref.name async for ref in azure.refs("p", "r", filter="refs/heads/", page_size=1)]
    assert found == names
    assert {q["filter"] for q in seen} == {"heads/"}
    assert [q.get("continuationToken") for q in seen] == [None, "1", "2"]


async def test_pushes_list_by_ref_and_push_a_new_file_on_a_new_branch() -> None:
    bodies: list[dict[str, object]] = []
    queries: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            bodies.append(json.loads(request.content))
            return ok(
                {
                    "commits": [{"commitId": "b" * 40, "comment": "Add catalog-info.yaml"}],
                    "refUpdates": [
                        {
                            "repositoryId": "repo",
                            "name": "refs/heads/add-catalog-info",
                            "oldObjectId": "0" * 40,
                            "newObjectId": "b" * 40,
                        }
                    ],
                    "pushedBy": {"displayName": "Normal Paulk"},
                    "pushId": 90,
                    "date": "2014-12-16T20:41:54.0575978Z",
                },
                status=201,
            )
        queries.append(params(request))
        return ok(envelope([{"pushId": 23, "date": "2014-06-30T18:11:18.0929091Z"}]))

    async with client(handler) as azure:
        listed = [p.id async for p in azure.pushes("p", "r", ref_name="main")]
        pushed = await azure.push_file(
            "p",
            "r",
            branch="add-catalog-info",
            base_commit_id="a" * 40,
            path="/catalog-info.yaml",
            content="kind: Component\n",
            comment="Add catalog-info.yaml",
        )
    assert listed == [23]
    assert queries[0]["searchCriteria.refName"] == "refs/heads/main"
    assert bodies == [
        {
            "refUpdates": [{"name": "refs/heads/add-catalog-info", "oldObjectId": "a" * 40}],
            "commits": [
                {
                    "comment": "Add catalog-info.yaml",
                    "changes": [
                        {
                            "changeType": "add",
                            "item": {"path": "/catalog-info.yaml"},
                            "newContent": {
                                "content": "kind: Component\n",
                                "contentType": "rawtext",
                            },
                        }
                    ],
                }
            ],
        }
    ]
    assert pushed.id == 90 and pushed.pushed_by == "Normal Paulk"
    assert pushed.commit_ids == ("b" * 40,)
    assert pushed.ref_updates[0].old_object_id == "0" * 40
    assert pushed.date is not None and pushed.date.microsecond == 57597


async def test_pull_requests_list_and_create() -> None:
    created = {
        "pullRequestId": 22,
        "status": "active",
        "title": "Add catalog-info.yaml",
        "sourceRefName": "refs/heads/add-catalog-info",
        "targetRefName": "refs/heads/main",
        "createdBy": {"displayName": "Normal Paulk"},
        "creationDate": "2016-11-01T16:30:31.6655471Z",
        "repository": {"id": "repo-r"},
    }
    posted: list[bytes] = []
    queries: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            posted.append(request.content)
            return ok(created, status=201)
        queries.append(params(request))
        return ok({"value": [created], "count": 1})

    async with client(handler) as azure:
        listed = [
            pr.id
            async for pr in azure.pull_requests(
                "p", "r", source_ref="add-catalog-info", target_ref="main"
            )
        ]
        pr = await azure.create_pull_request(
            "p",
            "r",
            source_ref="add-catalog-info",
            target_ref="main",
            title="Add catalog-info.yaml",
        )
    assert listed == [22]
    assert queries[0]["searchCriteria.status"] == "active"
    assert queries[0]["searchCriteria.sourceRefName"] == "refs/heads/add-catalog-info"
    assert queries[0]["searchCriteria.targetRefName"] == "refs/heads/main"
    assert json.loads(posted[0]) == {
        "sourceRefName": "refs/heads/add-catalog-info",
        "targetRefName": "refs/heads/main",
        "title": "Add catalog-info.yaml",
        "description": "",
    }
    assert pr.id == 22 and pr.status == "active" and pr.repository_id == "repo-r"
    assert pr.target_ref == "refs/heads/main" and pr.created_by == "Normal Paulk"


def _hit(number: int) -> dict[str, object]:
    return {
        "fileName": "catalog-info.yaml",
        "path": f"/svc{number}/catalog-info.yaml",
        "project": {"name": "P", "id": "p-id"},
        "repository": {"name": f"repo{number}", "id": f"r{number}", "type": "git"},
        "versions": [{"branchName": "main", "changeId": "c" * 40}],
    }


async def test_code_search_posts_to_the_search_host_and_pages_until_count() -> None:
    bodies: list[dict[str, object]] = []
    hosts: set[str] = set()

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        hosts.add(request.url.host)
        skip, top = body["$skip"], body["$top"]
        hits = [_hit(n) for n in range(skip, min(skip + top, 5))]
        return ok({"count": 5, "results": hits, "infoCode": 0})

    async with client(handler) as azure:
        found = [h.path async for h in azure.code_search("path:/catalog-info.yaml", page_size=2)]
    assert hosts == {"almsearch.dev.azure.com"}
    assert found == [f"/svc{n}/catalog-info.yaml" for n in range(5)]
    assert [b["$skip"] for b in bodies] == [0, 2, 4]
    assert bodies[0]["$orderBy"] == [{"field": "path", "sortOrder": "ASC"}]
    assert bodies[0]["searchText"] == "path:/catalog-info.yaml"


async def test_code_search_never_skips_1000_or_more(caplog: pytest.LogCaptureFixture) -> None:
    skips: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        skips.append(body["$skip"])
        return ok({"count": 5000, "results": [_hit(n) for n in range(body["$top"])]})

    async with client(handler) as azure:
        with caplog.at_level(logging.WARNING, logger="bridge.azure"):
            found = [h async for h in azure.code_search("x", project="P", page_size=400)]
    assert skips == [0, 400, 800]
    assert len(found) == 1200
    assert "at most" in caplog.text


async def test_language_metrics_one_request_per_project_with_preview_version() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok(
            {
                "id": "proj-1",
                "resultPhase": "full",
                "languageBreakdown": [{"name": "Python", "languagePercentage": 80.5, "bytes": 100}],
                "repositoryLanguageAnalytics": [
                    {
                        "id": "repo-web",
                        "name": "web",
                        "resultPhase": "full",
                        "languageBreakdown": [
                            {
                                "name": "TypeScript",
                                "files": 3,
                                "bytes": 30,
                                "languagePercentage": 75,
                            },
                            {"name": "CSS", "files": 1, "bytes": 10, "languagePercentage": 25},
                        ],
                    }
                ],
            }
        )

    async with client(handler) as azure:
        metrics = await azure.language_metrics("My Project")
    (request,) = seen
    assert request.url.raw_path.decode().partition("?")[0] == (
        "/fabrikam/My%20Project/_apis/projectanalysis/languagemetrics"
    )
    assert params(request)["api-version"] == "7.1-preview.1"
    (repo,) = metrics.repositories
    assert repo.repository_id == "repo-web"
    assert [(lang.name, lang.percentage) for lang in repo.languages] == [
        ("TypeScript", 75.0),
        ("CSS", 25.0),
    ]
    assert metrics.languages[0].name == "Python"


async def test_connection_data_probe_uses_the_preview_version() -> None:
    seen: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(params(request))
        return ok(
            {
                "authenticatedUser": {
                    "id": "ad7ddcd2-0562-665d-84ce-f024d9266741",
                    "providerDisplayName": "John",
                },
                "deploymentType": "hosted",
            }
        )

    async with client(handler) as azure:
        data = await azure.connection_data()
    assert seen == [{"connectOptions": "none", "api-version": "7.1-preview"}]
    assert data.user_name == "John" and data.deployment_type == "hosted"


async def test_connection_data_without_an_identity_is_an_authentication_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return ok({"authenticatedUser": {"id": "00000000-0000-0000-0000-000000000000"}})

    async with client(handler) as azure:
        with pytest.raises(AuthenticationError) as caught:
            await azure.connection_data()
    assert caught.value.reason == "unknown-token"


def _organizations_handler(seen: list[str]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path.endswith("/profile/profiles/me"):
            return ok({"displayName": "Normal Paulk", "id": "d6245f20-2af8-44f4-9451-8107cb2767db"})
        assert params(request)["memberId"] == "d6245f20-2af8-44f4-9451-8107cb2767db"
        return ok(
            envelope(
                [
                    {"accountId": "6aff", "accountName": "Fabrikam-Fiber-Inc", "properties": {}},
                    {"accountId": "bf83", "accountName": "NormalPaulk", "properties": {}},
                ]
            )
        )

    return handler


async def test_organizations_on_the_cloud_use_the_profile_host() -> None:
    seen: list[str] = []
    async with client(_organizations_handler(seen), organization=None) as azure:
        names = [org.name async for org in azure.organizations()]
    assert names == ["Fabrikam-Fiber-Inc", "NormalPaulk"]
    assert seen[0].startswith("https://app.vssps.visualstudio.com/_apis/profile/profiles/me?")
    assert seen[1].startswith("https://app.vssps.visualstudio.com/_apis/accounts?")


async def test_organizations_elsewhere_live_under_the_api_url_without_organization() -> None:
    seen: list[str] = []
    handler = _organizations_handler(seen)
    async with AzureDevOpsClient(
        None,
        token=TOKEN,
        api_url="http://127.0.0.1:7340/",
        transport=httpx.MockTransport(cast(Any, handler)),
    ) as azure:
        assert len([org async for org in azure.organizations()]) == 2
    assert seen[0].startswith("http://127.0.0.1:7340/_apis/profile/profiles/me?")
    assert seen[1].startswith("http://127.0.0.1:7340/_apis/accounts?")


@pytest.mark.parametrize("key", ["items", "members"])
async def test_user_entitlements_read_one_page_from_either_key(key: str) -> None:
    hosts: list[str] = []
    member = {
        "id": "fe2f",
        "user": {"displayName": "User 1", "principalName": "user1@fabrikam.com"},
        "accessLevel": {"licenseDisplayName": "Stakeholder"},
        "lastAccessedDate": "0001-01-01T00:00:00Z",
    }

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        return ok({key: [member], "continuationToken": "opaque+token", "totalCount": 250})

    async with client(handler) as azure:
        page = await azure.user_entitlements()
    assert hosts == ["vsaex.dev.azure.com"]
    assert page.total_count == 250 and page.has_more
    (found,) = page.members
    assert found.display_name == "User 1" and found.license == "Stakeholder"
    assert found.last_accessed is None  # 0001-01-01 means never


async def test_graph_users_page_by_header_on_the_graph_host() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        user = {"descriptor": f"aad.{len(seen)}", "displayName": f"U{len(seen)}", "origin": "aad"}
        more = {"X-MS-ContinuationToken": "next"} if len(seen) == 1 else None
        return ok(envelope([user]), headers=more)

    async with client(handler) as azure:
        found = [u.descriptor async for u in azure.users()]
    assert found == ["aad.1", "aad.2"]
    assert {r.url.host for r in seen} == {"vssps.dev.azure.com"}
    assert params(seen[0])["api-version"] == "7.1-preview.1"
    assert params(seen[1])["continuationToken"] == "next"


async def test_a_client_needs_a_token_or_a_broker() -> None:
    with pytest.raises(ConfigError):
        AzureDevOpsClient(ORG)
    with pytest.raises(TypeError):
        AzureDevOpsClient(ORG, token="plain-string")  # type: ignore[arg-type]
