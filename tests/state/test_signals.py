"""Code Search as the catalog-file signal: past 1,000 files, queries by groups of projects."""

from __future__ import annotations

import asyncio

from bridge.azure import AzureDevOpsClient
from bridge.emulator import DEFAULT_TOKEN_VALUE, GenerationSpec, generate_estate, run_in_thread
from bridge.secrets import Secret
from bridge.state.signals import CatalogIndex, catalog_index


def _all_valid(projects: int, repositories: int) -> GenerationSpec:
    """One organization whose every repository has a valid catalog file."""
    return GenerationSpec(
        organizations=1,
        projects_per_organization=projects,
        repositories_per_project=repositories,
        invalid=0.0,
        multi_entity=0.0,
        missing=0.0,
        empty=0.0,
        disabled=0.0,
    )


def _index(spec: GenerationSpec) -> CatalogIndex:
    estate = generate_estate(spec)
    organization = estate.organizations[0].name

    async def search(base_url: str) -> CatalogIndex:
        async with AzureDevOpsClient(
            organization, token=Secret(DEFAULT_TOKEN_VALUE), api_url=base_url + "/"
        ) as client:
            return await catalog_index(client, "/catalog-info.yaml")

    with run_in_thread(estate) as emulator:
        return asyncio.run(search(emulator.base_url))


def test_past_1000_files_projects_are_searched_in_groups_of_at_most_1000() -> None:
    # 4 projects of 400 files: one query for the counts, then two groups of two projects.
    index = _index(_all_valid(4, 400))
    assert index.unavailable is None and not index.uncovered
    assert len(index.hits) == 1600
    assert index.requests == 3
    assert all(hit.content_id and hit.commit_id for hit in index.hits.values())


def test_a_project_of_more_than_1000_files_is_left_to_file_reads() -> None:
    index = _index(_all_valid(1, 1001))
    assert index.unavailable is None
    assert len(index.uncovered) == 1 and not index.hits
