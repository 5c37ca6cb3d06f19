"""Bounded concurrency as the server sees it: one client never has more requests in flight
than configured, and clients sharing a host and token share that bound."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest

from bridge.azure import AzureDevOpsClient, FileContent, Repository
from bridge.emulator import EmulatorOptions, FaultOptions, RunningEmulator
from tests.integration.conftest import (
    ADMIN_PAT,
    CATALOG_PATH,
    SECOND_PAT,
    gather_limited,
    generated_estate,
    make_client,
)

pytestmark = pytest.mark.anyio

# Every answer takes a while, so that requests the client lets through overlap at the server:
# long enough that a busy machine, slow to send the next request, still sees them overlap.
SLOW = EmulatorOptions(faults=FaultOptions(latency_ms=100))


@pytest.fixture
def slow(serve: Callable[..., RunningEmulator]) -> tuple[RunningEmulator, str]:
    """A :data:`SLOW` emulator of a generated estate, and the name of its one organization."""
    estate = generated_estate(
        seed=4, organizations=1, projects_per_organization=2, repositories_per_project=12
    )
    return serve(estate, options=SLOW), estate.organizations[0].name


async def _readable(azure: AzureDevOpsClient) -> list[Repository]:
    return [r async for r in azure.repositories() if not r.is_disabled and r.default_branch]


async def _read_all(
    azure: AzureDevOpsClient, repositories: list[Repository]
) -> list[FileContent | None]:
    """Start every read at once; only the client's limiter holds them back."""
    reads = [
        partial(azure.file_content, r.project_name, r.name, CATALOG_PATH) for r in repositories
    ]
    return await gather_limited(reads, limit=len(reads))


async def _peak_while(
    emulator: RunningEmulator, clients: list[AzureDevOpsClient]
) -> tuple[int, list[list[FileContent | None]]]:
    repositories = await _readable(clients[0])
    emulator.stats.reset()
    results = await gather_limited([partial(_read_all, c, repositories) for c in clients])
    return emulator.stats.snapshot()["max_in_flight"], results


async def test_one_client_never_exceeds_its_concurrency(slow: tuple[RunningEmulator, str]) -> None:
    emulator, name = slow
    async with make_client(emulator, organization=name, concurrency=4) as azure:
        peak, (results,) = await _peak_while(emulator, [azure])
    assert len(results) >= 20 and any(results)
    assert peak == 4  # reached, never passed
    assert emulator.stats.snapshot()["connections"] <= 4  # and so never more sockets


async def test_clients_with_the_same_token_share_one_bound(
    slow: tuple[RunningEmulator, str],
) -> None:
    emulator, name = slow
    async with (
        make_client(emulator, organization=name, concurrency=4) as first,
        make_client(emulator, organization=name, concurrency=4) as second,
    ):
        peak, (one, two) = await _peak_while(emulator, [first, second])
    assert one == two and len(one) >= 20
    assert peak == 4


async def test_clients_with_different_tokens_do_not_share(
    slow: tuple[RunningEmulator, str],
) -> None:
    # The control for the test above: separate identities have separate budgets, so the
    # server does see more than one client's worth of requests at once.
    emulator, name = slow
    async with (
        make_client(emulator, organization=name, token=ADMIN_PAT, concurrency=4) as first,
        make_client(emulator, organization=name, token=SECOND_PAT, concurrency=4) as second,
    ):
        peak, _ = await _peak_while(emulator, [first, second])
    assert 4 < peak <= 8


async def test_concurrency_of_one_serialises(slow: tuple[RunningEmulator, str]) -> None:
    emulator, name = slow
    async with make_client(emulator, organization=name, concurrency=1) as azure:
        peak, _ = await _peak_while(emulator, [azure])
    assert peak == 1
    assert emulator.stats.snapshot()["in_flight"] == 0
    assert ADMIN_PAT not in repr(emulator.stats.snapshot())
