"""Version step-down, retries, throttling, pacing, bounded and shared concurrency, faults."""

from __future__ import annotations

import asyncio
import math
import random
import time
from typing import Any

import httpx
import pytest

from bridge.azure import RetryPolicy
from bridge.errors import ApiVersionError, AzureDevOpsError, RateLimitError, ServiceError
from bridge.secrets import Secret
from tests.azure.fakes import (
    Always,
    azure_error,
    client,
    envelope,
    in_turn,
    ok,
    params,
    project,
    repository,
    throttled,
)

pytestmark = pytest.mark.anyio

_TOO_NEW = (
    "The requested REST API version of {asked} is out of range for this server. "
    "The latest REST API version this server supports is 6.0."
)


def _server_at_6_0(seen: list[str]) -> Any:
    """An Azure DevOps Server 2020: it speaks api-version 6.0 at most."""

    def handler(request: httpx.Request) -> httpx.Response:
        version = params(request)["api-version"]
        seen.append(version)
        if not version.startswith("6.0"):
            return azure_error(400, _TOO_NEW.format(asked=version), "VssVersionOutOfRangeException")
        if "languagemetrics" in request.url.path:
            return ok({"id": "p", "repositoryLanguageAnalytics": []})
        if "connectionData" in request.url.path:
            return ok({"authenticatedUser": {"id": "ad7ddcd2"}, "deploymentType": "onPremises"})
        return ok(envelope([project(1)] if "projects" in request.url.path else [repository("r")]))

    return handler


async def test_an_old_server_ceiling_is_learnt_once_and_remembered() -> None:
    seen: list[str] = []
    async with client(
        _server_at_6_0(seen), api_url="https://tfs.example.com/tfs/", organization="Main"
    ) as azure:
        assert [p.name async for p in azure.projects()] == ["Project 1"]
        assert seen == ["7.1", "6.0"]
        assert [r.name async for r in azure.repositories("p")] == ["r"]
        assert seen[2:] == ["6.0"]  # straight to 6.0: no second discovery
        await azure.language_metrics("p")
        await azure.connection_data()
        assert seen[3:] == ["6.0-preview.1", "6.0-preview"]  # the preview suffix is kept
        assert azure.stats.retries == 0


async def test_a_ceiling_that_cannot_be_read_is_an_api_version_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return azure_error(400, "This server is too old.", "VssVersionOutOfRangeException")

    async with client(handler) as azure:
        with pytest.raises(ApiVersionError):
            [p async for p in azure.projects()]


async def test_stepping_down_happens_at_most_once_per_call() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        asked = params(request)["api-version"]
        return azure_error(400, _TOO_NEW.format(asked=asked), "VssVersionOutOfRangeException")

    async with client(handler) as azure:
        with pytest.raises(ApiVersionError):
            [p async for p in azure.projects()]
    assert calls == 2


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_transient_statuses_are_retried(status: int) -> None:
    handler = in_turn(httpx.Response(status), ok(envelope([project(1)])))
    async with client(handler) as azure:
        assert [p.name async for p in azure.projects()] == ["Project 1"]
        assert (azure.stats.requests, azure.stats.retries) == (2, 1)


@pytest.mark.parametrize(
    "fault",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("reset")],
)
async def test_connection_failures_and_read_timeouts_are_retried(fault: Exception) -> None:
    handler = in_turn(fault, ok(envelope([project(1)])))
    async with client(handler) as azure:
        assert [p.name async for p in azure.projects()] == ["Project 1"]
        assert azure.stats.retries == 1


async def test_other_client_errors_are_not_retried() -> None:
    handler = Always(azure_error(400, "TF400898: An internal error occurred.", "ArgumentException"))
    async with client(handler) as azure:
        with pytest.raises(AzureDevOpsError) as caught:
            [p async for p in azure.projects()]
    assert caught.value.code == "TF400898"
    assert handler.calls == 1


async def test_retries_are_bounded_in_count() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    async with client(handler) as azure:
        with pytest.raises(ServiceError, match="gave up after 5 attempts"):
            [p async for p in azure.projects()]
        assert (azure.stats.requests, azure.stats.retries) == (5, 4)


async def test_retries_are_bounded_in_time_even_when_asked_to_wait_longer() -> None:
    policy = RetryPolicy(max_attempts=100, max_elapsed=0.5, backoff_base=0.001, backoff_cap=0.001)

    def handler(request: httpx.Request) -> httpx.Response:
        return throttled(retry_after="30")

    async with client(handler, retry=policy) as azure:
        with pytest.raises(RateLimitError) as caught:
            [p async for p in azure.projects()]
        assert azure.stats.requests == 1  # a 30 s wait does not fit a 0.5 s budget
    assert caught.value.code == "TF400733"


async def test_a_write_is_not_repeated_after_it_may_have_been_received() -> None:
    handler = Always(httpx.ReadTimeout("no answer"))
    async with client(handler) as azure:
        with pytest.raises(ServiceError, match="timed out"):
            await azure.create_pull_request("p", "r", source_ref="a", target_ref="b", title="t")
    assert handler.calls == 1


async def test_a_write_is_repeated_when_it_never_left() -> None:
    handler = in_turn(
        httpx.ConnectError("refused"),
        ok(
            {"pullRequestId": 1, "sourceRefName": "refs/heads/a", "targetRefName": "refs/heads/b"},
            201,
        ),
    )
    async with client(handler) as azure:
        pr = await azure.create_pull_request("p", "r", source_ref="a", target_ref="b", title="t")
    assert pr.id == 1


async def test_retry_after_on_a_200_uses_the_answer_and_pauses_the_next_request() -> None:
    arrivals: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        arrivals.append(time.monotonic())
        headers = {"Retry-After": "0.3"} if len(arrivals) == 1 else None
        return ok(envelope([project(len(arrivals))]), headers=headers)

    async with client(handler) as azure:
        first = [p.name async for p in azure.projects()]
        second = [p.name async for p in azure.projects()]
        assert azure.stats.paused == 1 and azure.stats.retries == 0
    assert (first, second) == (["Project 1"], ["Project 2"])
    assert arrivals[1] - arrivals[0] >= 0.29


async def test_a_429_storm_pauses_every_task_and_all_succeed() -> None:
    concurrency, tasks = 4, 40
    blocked_until = 0.0
    throttled_at: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal blocked_until
        now = time.monotonic()
        if not throttled_at or now < blocked_until:
            blocked_until = blocked_until or now + 0.2
            throttled_at.append(now)
            # Rounded up, so that the client's pause never ends before the block does.
            return throttled(retry_after=f"{math.ceil((blocked_until - now) * 1000) / 1000:.3f}")
        name = request.url.raw_path.decode().split("/")[6]
        return ok({"path": "/catalog-info.yaml", "content": name, "gitObjectType": "blob"})

    async with client(handler, concurrency=concurrency) as azure:
        found = await asyncio.gather(
            *(azure.file_content("p", f"repo{n}", "/catalog-info.yaml") for n in range(tasks))
        )
        stats = azure.stats
    assert [f.text if f else None for f in found] == [f"repo{n}" for n in range(tasks)]
    # Only requests already in flight when the first 429 came back met the block: everyone
    # else waited for the pause instead of adding to the storm.
    assert 1 <= len(throttled_at) <= concurrency
    assert stats.throttled == stats.retries == len(throttled_at)
    assert stats.requests == tasks + len(throttled_at)


async def test_a_429_without_retry_after_pauses_the_host_and_is_retried() -> None:
    handler = in_turn(throttled(), ok(envelope([project(1)])))
    async with client(handler) as azure:
        assert [p.name async for p in azure.projects()] == ["Project 1"]
        assert (azure.stats.throttled, azure.stats.retries, azure.stats.paused) == (1, 1, 0)


async def test_a_low_rate_limit_budget_spaces_requests_before_any_429() -> None:
    arrivals: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        arrivals.append(time.monotonic())
        headers = None
        if len(arrivals) == 1:
            headers = {
                "X-RateLimit-Limit": "200",
                "X-RateLimit-Remaining": "1",
                "X-RateLimit-Reset": f"{time.time() + 0.4:.3f}",
                "X-RateLimit-Resource": "Core",
            }
        return ok(envelope([project(1)]), headers=headers)

    async with client(handler) as azure:
        for _ in range(3):
            [p async for p in azure.projects()]
        assert azure.stats.throttled == 0
    # 1 unit left for 0.4 s: request starts are spaced 0.2 s apart until the budget resets
    # (a start delayed by a busy machine does not push later starts back, so compare each
    # request with the first).
    since_first = [arrival - arrivals[0] for arrival in arrivals[1:]]
    assert since_first[0] >= 0.19 and since_first[1] >= 0.38, since_first


def _counting_handler(in_flight: list[int], peak: list[int]) -> Any:
    async def handler(request: httpx.Request) -> httpx.Response:
        in_flight[0] += 1
        peak[0] = max(peak[0], in_flight[0])
        await asyncio.sleep(0.005)
        in_flight[0] -= 1
        return ok(envelope([]))

    return handler


async def test_requests_in_flight_never_exceed_the_configured_concurrency() -> None:
    in_flight, peak = [0], [0]
    async with client(_counting_handler(in_flight, peak), concurrency=3) as azure:
        await _list_all(azure, 30)
    assert peak[0] == 3


async def _list_all(azure: Any, count: int) -> None:
    async def one(n: int) -> list[Any]:
        return [r async for r in azure.repositories(f"p{n}")]

    await asyncio.gather(*(one(n) for n in range(count)))


async def test_clients_with_the_same_host_and_token_share_one_limiter() -> None:
    in_flight, peak = [0], [0]
    handler = _counting_handler(in_flight, peak)
    async with client(handler, concurrency=3) as first, client(handler, concurrency=3) as second:
        await asyncio.gather(_list_all(first, 15), _list_all(second, 15))
    assert peak[0] == 3


async def test_clients_with_different_tokens_do_not_share_a_limiter() -> None:
    in_flight, peak = [0], [0]
    handler = _counting_handler(in_flight, peak)
    other = Secret("another-pat-9876543210zyxwvuts")
    async with (
        client(handler, concurrency=3) as first,
        client(handler, concurrency=3, token=other) as second,
    ):
        await asyncio.gather(_list_all(first, 15), _list_all(second, 15))
    assert peak[0] > 3


async def test_injected_faults_lose_and_duplicate_nothing() -> None:
    rng = random.Random(20240611)
    projects = [project(n) for n in range(230)]
    faults = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal faults
        if rng.random() < 0.3:
            faults += 1
            kind = rng.randrange(5)
            if kind == 0:
                raise httpx.ConnectError("connection refused")
            if kind == 1:
                raise httpx.RemoteProtocolError("peer closed connection")
            if kind == 2:
                raise httpx.ReadTimeout("read timed out")
            if kind == 3:
                return httpx.Response(200, content=b'{"count": 2, "value": [{"id": "x", "na')
            return httpx.Response(rng.choice([500, 502, 503, 504]))
        path = request.url.raw_path.decode().partition("?")[0]
        if path.endswith("/_apis/projects"):
            start = int(params(request).get("continuationToken", "0"))
            more = start + 100 < len(projects)
            headers = {"x-ms-continuationtoken": str(start + 100)} if more else None
            return ok(envelope(projects[start : start + 100]), headers=headers)
        project_name = path.split("/")[2].replace("%20", " ")
        return ok(envelope([repository(f"{project_name}-{k}", project_name) for k in range(3)]))

    policy = RetryPolicy(max_attempts=12, max_elapsed=30, backoff_base=0.0005, backoff_cap=0.002)
    async with client(handler, retry=policy, concurrency=8) as azure:
        names = [p.name async for p in azure.projects()]
        repos = await asyncio.gather(*(_names(azure, name) for name in names))
        stats = azure.stats
    assert names == [p["name"] for p in projects]
    everything = [name for batch in repos for name in batch]
    assert len(everything) == len(set(everything)) == 3 * len(projects)
    assert faults > 50  # the run really was hostile
    assert stats.retries == faults
    assert stats.requests == 3 + len(projects) + faults


async def _names(azure: Any, project_name: str) -> list[str]:
    return [r.name async for r in azure.repositories(project_name)]
