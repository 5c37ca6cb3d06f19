"""Every documented failure, over a real socket, surfaces as the right typed error; and a
push + pull request round trip is visible through items, refs, commits and pushes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bridge.azure import AzureDevOpsClient
from bridge.emulator import RunningEmulator
from bridge.errors import (
    AuthenticationError,
    BranchNotFoundError,
    ConflictError,
    EmptyRepositoryError,
    NotFoundError,
    ProjectNotFoundError,
    RepositoryNotFoundError,
)
from tests.integration.conftest import (
    CATALOG_PATH,
    ORG,
    PROJECTS_ONLY_PAT,
    REVOKED_PAT,
    UNKNOWN_PAT,
    make_client,
    push_catalog,
)
from tests.support.emulator import CATALOG

pytestmark = pytest.mark.anyio

PROJECT = "Payments Platform"


async def test_unknown_token_is_the_sign_in_page(emulator: RunningEmulator) -> None:
    async with make_client(emulator, token=UNKNOWN_PAT) as azure:
        with pytest.raises(AuthenticationError) as caught:
            [p async for p in azure.projects()]
    error = caught.value
    assert error.reason == "unknown-token"
    assert error.status == 203
    assert "sign-in page" in str(error)
    assert emulator.stats.count("core.projects", 203) == 1  # refused once, not retried


async def test_revoked_token_is_rejected(emulator: RunningEmulator) -> None:
    async with make_client(emulator, token=REVOKED_PAT) as azure:
        with pytest.raises(AuthenticationError) as caught:
            await azure.file_content(PROJECT, "payments-api", CATALOG_PATH)
    assert caught.value.reason == "rejected"
    assert caught.value.status == 401
    assert caught.value.code == "VS30063"  # read from X-TFS-ServiceError


async def test_token_without_code_read_names_the_scope(emulator: RunningEmulator) -> None:
    async with make_client(emulator, token=PROJECTS_ONLY_PAT) as azure:
        projects = [p.name async for p in azure.projects()]  # project.read is enough here
        assert projects == [PROJECT, "Identity"]
        with pytest.raises(AuthenticationError) as caught:
            [r async for r in azure.repositories(PROJECT)]
    assert caught.value.reason == "rejected"
    assert "Code (Read)" in str(caught.value)
    assert caught.value.project == PROJECT


async def test_missing_file_and_folder_are_none(client: AzureDevOpsClient) -> None:
    assert await client.file_content(PROJECT, "Payments Docs", CATALOG_PATH) is None
    assert await client.file_content(PROJECT, "payments-api", "/no/such/dir/file.yaml") is None
    found = await client.file_content(PROJECT, "payments-api", CATALOG_PATH)
    assert found is not None and found.text == CATALOG and found.path == CATALOG_PATH


async def test_empty_repository(client: AzureDevOpsClient) -> None:
    with pytest.raises(EmptyRepositoryError) as caught:
        await client.file_content(PROJECT, "payments-sandbox", CATALOG_PATH)
    assert caught.value.code == "VS403403"
    assert caught.value.repository == "payments-sandbox"
    assert await client.latest_commit(PROJECT, "payments-sandbox") is None


async def test_disabled_repository_is_listed_but_unreadable(client: AzureDevOpsClient) -> None:
    listed = {r.name: r async for r in client.repositories(PROJECT)}
    assert listed["legacy-billing"].is_disabled
    with pytest.raises(RepositoryNotFoundError) as caught:
        await client.file_content(PROJECT, "legacy-billing", CATALOG_PATH)
    assert caught.value.code == "TF401019"
    with pytest.raises(RepositoryNotFoundError):
        await client.latest_commit(PROJECT, "no-such-repository")


async def test_unknown_project_and_branch(client: AzureDevOpsClient) -> None:
    with pytest.raises(ProjectNotFoundError) as caught:
        [r async for r in client.repositories("No Such Project")]
    assert caught.value.code == "TF200016"
    assert caught.value.project == "No Such Project"
    with pytest.raises(ProjectNotFoundError):
        await client.file_content("No Such Project", "payments-api", CATALOG_PATH)
    with pytest.raises(BranchNotFoundError) as branch:
        await client.file_content(PROJECT, "payments-api", CATALOG_PATH, branch="nope")
    assert branch.value.code == "TF401175"


async def test_push_a_branch_then_read_it_back_and_open_one_pull_request(
    client: AzureDevOpsClient,
) -> None:
    repository, branch = "Payments Docs", "catalog-bridge/add-catalog-info"
    base = await client.latest_commit(PROJECT, repository)
    assert base is not None
    assert await client.file_content(PROJECT, repository, CATALOG_PATH) is None

    push = await push_catalog(client, PROJECT, repository, branch=branch, base_commit_id=base.id)
    (update,) = push.ref_updates
    assert update.name == f"refs/heads/{branch}"
    assert update.old_object_id == "0" * 40  # the push created the branch
    (commit_id,) = push.commit_ids
    assert update.new_object_id == commit_id

    on_branch = await client.file_content(PROJECT, repository, CATALOG_PATH, branch=branch)
    assert on_branch is not None and on_branch.text == CATALOG
    assert on_branch.commit_id == commit_id
    # The default branch is untouched.
    assert await client.file_content(PROJECT, repository, CATALOG_PATH) is None

    refs = {r.name: r.object_id async for r in client.refs(PROJECT, repository, filter="heads/")}
    assert refs[f"refs/heads/{branch}"] == commit_id
    assert refs["refs/heads/main"] == base.id
    since = datetime.now(UTC) - timedelta(days=3650)
    history = [c async for c in client.commits(PROJECT, repository, since=since, branch=branch)]
    assert [c.id for c in history[:2]] == [commit_id, base.id]
    assert history[0].comment == "Add catalog-info.yaml"
    tip = await client.latest_commit(PROJECT, repository, branch=branch)
    assert tip is not None and tip.id == commit_id
    pushes = [p async for p in client.pushes(PROJECT, repository, ref_name=branch)]
    assert [p.id for p in pushes] == [push.id]

    opened = await client.create_pull_request(
        PROJECT, repository, source_ref=branch, target_ref="main", title="Add catalog-info.yaml"
    )
    assert opened.status == "active" and opened.source_ref == f"refs/heads/{branch}"
    with pytest.raises(ConflictError) as duplicate:
        await client.create_pull_request(
            PROJECT, repository, source_ref=branch, target_ref="main", title="Again"
        )
    assert duplicate.value.code == "TF401179"
    active = [pr.id async for pr in client.pull_requests(PROJECT, repository)]
    assert active == [opened.id]


async def test_stale_base_is_a_conflict(client: AzureDevOpsClient) -> None:
    base = await client.latest_commit(PROJECT, "payments-api")
    assert base is not None
    common = {"path": "/docs/a.md", "comment": "docs", "content": "a"}
    await client.push_file(PROJECT, "payments-api", branch="main", base_commit_id=base.id, **common)
    with pytest.raises(ConflictError) as caught:
        await client.push_file(
            PROJECT,
            "payments-api",
            branch="main",
            base_commit_id=base.id,  # no longer the tip
            path="/docs/b.md",
            comment="docs",
            content="b",
        )
    assert caught.value.code == "TF401028"


async def test_org_level_calls_use_the_organization(emulator: RunningEmulator) -> None:
    async with make_client(emulator) as azure:
        who = await azure.connection_data()
    assert who.user_name == "Ada Admin" and who.deployment_type == "hosted"
    async with make_client(emulator, organization="nowhere") as azure:
        with pytest.raises(NotFoundError) as caught:
            [p async for p in azure.projects()]
        assert azure.stats.requests == 1  # a 404 is not retried
    assert caught.value.organization == "nowhere" and caught.value.status == 404
    assert ORG not in str(caught.value)
