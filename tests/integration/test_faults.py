"""Seeded faults on the wire (5xx, resets, truncated bodies, stalls past the client's timeout):
reads come back exactly as from a fault-free server, and writes are never doubled."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bridge.emulator import EmulatorOptions, FaultOptions, RunningEmulator
from bridge.errors import ServiceError
from tests.integration.conftest import (
    CATALOG_PATH,
    assert_same_as_reference,
    fast_retry,
    generated_estate,
    make_client,
    push_catalog,
    read_view,
    small_estate,
)
from tests.support.emulator import CATALOG

pytestmark = pytest.mark.anyio

FAULTS = FaultOptions(
    seed=20,
    server_error_rate=0.08,
    server_error_statuses=(500, 502, 503, 504),
    reset_rate=0.06,
    truncate_rate=0.06,
    stall_rate=0.04,
    stall_seconds=3.0,  # far past the client's read timeout below
)


async def test_faulty_server_gives_the_same_data_as_a_healthy_one(
    serve: Callable[..., RunningEmulator],
) -> None:
    estate = generated_estate(
        seed=8, organizations=1, projects_per_organization=8, repositories_per_project=6
    )
    (organization,) = estate.organizations
    emulator = serve(estate, options=EmulatorOptions(faults=FAULTS))
    async with make_client(
        emulator, organization=organization.name, timeout=0.5, retry=fast_retry(max_attempts=10)
    ) as azure:
        view = await read_view(azure)
        stats = azure.stats
    await assert_same_as_reference(view, estate, emulator.base_url, organization=organization.name)

    assert len(view.repositories) == 48 and len(view.projects) == 8
    assert sum(content is not None for content in view.files.values()) >= 20
    injected = emulator.stats.snapshot()["faults"]
    assert set(injected) == {"server_error", "reset", "truncate", "stall"}, injected
    # Every injected fault cost exactly one failed attempt, and each was retried once.
    assert stats.retries == sum(injected.values())
    assert stats.requests == emulator.stats.count()


async def test_a_push_whose_answer_broke_off_is_not_sent_again(
    serve: Callable[..., RunningEmulator],
) -> None:
    faults = FaultOptions(truncate_rate=1.0, routes=("git.pushes.create",))
    emulator = serve(small_estate(), options=EmulatorOptions(faults=faults))
    project, repository, branch = "Payments Platform", "Payments Docs", "add-catalog"
    async with make_client(emulator) as azure:
        base = await azure.latest_commit(project, repository)
        assert base is not None
        with pytest.raises(ServiceError, match="broke off") as caught:
            await push_catalog(azure, project, repository, branch=branch, base_commit_id=base.id)
        assert azure.stats.retries == 0  # the push may have happened: never repeated
        # It did happen, exactly once.
        pushes = [p async for p in azure.pushes(project, repository, ref_name=branch)]
        assert len(pushes) == 1
        written = await azure.file_content(project, repository, CATALOG_PATH, branch=branch)
        assert written is not None and written.text == CATALOG
    assert caught.value.repository == repository
    assert emulator.stats.count("git.pushes.create") == 1


async def test_reads_give_up_after_the_retry_budget(serve: Callable[..., RunningEmulator]) -> None:
    faults = FaultOptions(server_error_rate=1.0, server_error_statuses=(503,))
    emulator = serve(small_estate(), options=EmulatorOptions(faults=faults))
    async with make_client(emulator, retry=fast_retry(max_attempts=3)) as azure:
        with pytest.raises(ServiceError, match="gave up after 3 attempts") as caught:
            [p async for p in azure.projects()]
    assert caught.value.status == 503
    assert emulator.stats.count("core.projects", 503) == 3
