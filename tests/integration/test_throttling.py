"""Throttling over the wire: ``Retry-After`` on successful answers is honoured, and a 429
storm from a small rate-limit budget is ridden out with every result intact."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from bridge.emulator import EmulatorOptions, FaultOptions, RateLimitOptions, RunningEmulator
from tests.integration.conftest import (
    assert_same_as_reference,
    fast_retry,
    generated_estate,
    make_client,
    read_view,
    small_estate,
)

pytestmark = pytest.mark.anyio


async def test_retry_after_on_200_pauses_but_changes_nothing(
    serve: Callable[..., RunningEmulator],
) -> None:
    estate = small_estate()
    faults = FaultOptions(seed=1, retry_after_rate=0.35, retry_after_seconds=1)
    emulator = serve(estate, options=EmulatorOptions(faults=faults))
    started = time.monotonic()
    # One request at a time, so that each pause holds back the next request.
    async with make_client(emulator, concurrency=1) as azure:
        view = await read_view(azure)
        stats = azure.stats
    elapsed = time.monotonic() - started
    await assert_same_as_reference(view, estate, emulator.base_url)

    honoured = emulator.stats.snapshot()["faults"].get("retry_after", 0)
    assert stats.paused == honoured >= 2
    assert stats.retries == 0 and stats.throttled == 0  # the answers were good: nothing resent
    assert stats.requests == emulator.stats.count()
    # Every pause but possibly the last one held a later request back for about a second.
    assert elapsed >= 0.9 * (stats.paused - 1)


async def test_429_storm_every_task_finishes_once(serve: Callable[..., RunningEmulator]) -> None:
    estate = generated_estate(
        seed=3, organizations=1, projects_per_organization=4, repositories_per_project=10
    )
    (organization,) = estate.organizations
    limits = RateLimitOptions(budget=15, window_seconds=1.0, delay_band=3, delay_seconds=0.01)
    emulator = serve(estate, options=EmulatorOptions(rate_limit=limits))
    async with make_client(
        emulator,
        organization=organization.name,
        concurrency=16,
        retry=fast_retry(max_attempts=30),
    ) as azure:
        view = await read_view(azure)
        stats = azure.stats
    await assert_same_as_reference(view, estate, emulator.base_url, organization=organization.name)

    assert len(view.files) >= 30 and any(view.files.values())
    refused = emulator.stats.count(status=429)
    assert stats.throttled == refused > 0
    assert stats.retries == refused  # each refusal was sent again, once
    assert stats.requests == emulator.stats.count()
    assert emulator.stats.snapshot()["throttle_delays"] > 0
