"""Listing over the wire: projects across continuation pages, repositories org- and
project-level, and every repository kind parsed as the estate declares it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bridge.azure import AzureDevOpsClient
from bridge.emulator import RunningEmulator
from tests.integration.conftest import (
    ORG,
    expected_web_url,
    generated_estate,
    make_client,
    read_view,
)

pytestmark = pytest.mark.anyio

PROJECTS = 260  # three pages of 100


async def test_every_project_and_repository_exactly_once_across_pages(
    serve: Callable[..., RunningEmulator],
) -> None:
    estate = generated_estate(
        seed=11,
        organizations=1,
        projects_per_organization=PROJECTS,
        repositories_per_project=2,
        empty=0.05,
        disabled=0.05,
        fork=0.05,
        spaces=0.05,
    )
    (organization,) = estate.organizations
    emulator = serve(estate)
    async with make_client(emulator, organization=organization.name) as azure:
        view = await read_view(azure, files=False)

    view.assert_no_duplicates()
    assert [p.id for p in view.projects] == [p.id for p in organization.projects]
    assert [p.name for p in view.projects] == [p.name for p in organization.projects]
    # 260 projects come in pages of 100 announced by x-ms-continuationtoken.
    assert emulator.stats.count("core.projects", 200) == 3

    declared = {r.id: r for r in organization.repositories()}
    assert {r.id for r in view.repositories} == set(declared)
    for name, listed in view.by_project.items():
        project = organization.project(name)
        assert project is not None
        assert [r.id for r in listed] == [r.id for r in project.repositories]
    for repository in view.repositories:
        truth = declared[repository.id]
        assert repository.name == truth.name
        assert repository.project_name == truth.project.name
        assert repository.is_disabled is truth.is_disabled
        assert repository.is_fork is truth.is_fork
        if truth.is_empty:
            assert repository.default_branch is None and repository.default_branch_name is None
            assert repository.size == 0
        else:
            assert repository.default_branch == f"refs/heads/{truth.default_branch}"
        assert repository.web_url == expected_web_url(
            emulator.base_url, organization.name, truth.project.name, truth.name
        )
    kinds = {
        "disabled": [r for r in view.repositories if r.is_disabled],
        "empty": [r for r in view.repositories if r.default_branch is None],
        "fork": [r for r in view.repositories if r.is_fork],
        "spaced": [r for r in view.repositories if " " in r.name],
    }
    assert all(kinds.values()), {kind: len(found) for kind, found in kinds.items()}
    assert all("%20" in r.web_url for r in kinds["spaced"] if r.web_url)


async def test_repository_kinds_of_a_declared_estate(
    emulator: RunningEmulator, client: AzureDevOpsClient
) -> None:
    repositories = {r.name: r async for r in client.repositories("Payments Platform")}
    assert set(repositories) == {
        "payments-api",
        "Payments Docs",
        "payments-sandbox",
        "legacy-billing",
        "payments-api-fork",
    }
    assert repositories["payments-sandbox"].default_branch is None
    assert repositories["legacy-billing"].is_disabled
    assert not repositories["payments-api"].is_disabled
    assert repositories["payments-api-fork"].is_fork
    assert not repositories["payments-api"].is_fork
    assert repositories["payments-api"].default_branch_name == "main"
    assert repositories["Payments Docs"].web_url == (
        f"{emulator.base_url}/{ORG}/Payments%20Platform/_git/Payments%20Docs"
    )
    identity = [r async for r in client.repositories("Identity")]
    assert [(r.name, r.default_branch) for r in identity] == [
        ("identity-service", "refs/heads/trunk")
    ]
    everything = [r async for r in client.repositories()]
    assert len(everything) == 6 and {r.project_name for r in everything} == {
        "Payments Platform",
        "Identity",
    }
