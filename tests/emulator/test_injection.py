"""Fault injection, latency, throttling and request counters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest

from bridge.emulator import (
    EmulatorApp,
    EmulatorOptions,
    FaultOptions,
    RateLimitOptions,
    Request,
    RunningEmulator,
)
from bridge.emulator.messages import Disruption
from tests.emulator.conftest import ADMIN, READER, auth, basic_header, estate_file

PROJECTS = "/contoso/_apis/projects?api-version=7.1"
ITEMS = (
    "/contoso/Payments/_apis/git/repositories/payments-api/items?path=/README.md&api-version=7.1"
)


def _with_faults(**faults: object) -> EmulatorOptions:
    return EmulatorOptions(faults=FaultOptions(**faults))  # type: ignore[arg-type]


def _client(emulator: RunningEmulator, **kwargs: object) -> httpx.Client:
    return httpx.Client(base_url=emulator.base_url, auth=auth(ADMIN), **kwargs)  # type: ignore[arg-type]


def test_server_errors(serve: Callable[..., RunningEmulator]) -> None:
    emulator = serve(options=_with_faults(server_error_rate=1.0, server_error_statuses=(503,)))
    with _client(emulator) as client:
        answer = client.get(PROJECTS)
    assert answer.status_code == 503
    assert answer.json()["message"].startswith("TF400898:")
    assert emulator.stats.snapshot()["faults"] == {"server_error": 1}


def test_connection_reset(serve: Callable[..., RunningEmulator]) -> None:
    emulator = serve(options=_with_faults(reset_rate=1.0))
    with _client(emulator) as client, pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.get(PROJECTS)
    assert emulator.stats.count("core.projects", 0) == 1  # counted as "no answer"


def test_truncated_body(serve: Callable[..., RunningEmulator]) -> None:
    emulator = serve(options=_with_faults(truncate_rate=1.0))
    with (
        _client(emulator) as client,
        pytest.raises(httpx.RemoteProtocolError, match=r"incomplete|complete message"),
    ):
        client.get(PROJECTS)


def test_stall_past_the_client_timeout(serve: Callable[..., RunningEmulator]) -> None:
    emulator = serve(options=_with_faults(stall_rate=1.0, stall_seconds=30))
    started = time.monotonic()
    with _client(emulator, timeout=0.3) as client, pytest.raises(httpx.ReadTimeout):
        client.get(PROJECTS)
    assert time.monotonic() - started >= 0.3


def test_retry_after_on_a_success(serve: Callable[..., RunningEmulator]) -> None:
    emulator = serve(options=_with_faults(retry_after_rate=1.0, retry_after_seconds=7))
    with _client(emulator) as client:
        answer = client.get(PROJECTS)
    assert answer.status_code == 200 and answer.headers["retry-after"] == "7"
    assert answer.json()["count"] == 2


def test_faults_only_on_selected_routes(serve: Callable[..., RunningEmulator]) -> None:
    emulator = serve(options=_with_faults(server_error_rate=1.0, routes=("git.items",)))
    with _client(emulator) as client:
        assert client.get(PROJECTS).status_code == 200
        assert client.get(ITEMS).status_code in (500, 503)
    path_pattern = serve(options=_with_faults(server_error_rate=1.0, routes=("*/items",)))
    with _client(path_pattern) as client:
        assert client.get(PROJECTS).status_code == 200
        assert client.get(ITEMS).status_code in (500, 503)


def _outcomes(seed: int, count: int = 60) -> list[str]:
    """What each of ``count`` sequential requests met, in-process."""
    options = _with_faults(
        seed=seed, server_error_rate=0.15, reset_rate=0.15, truncate_rate=0.15, stall_rate=0.15,
        retry_after_rate=0.15, stall_seconds=0,
    )  # fmt: skip
    app = EmulatorApp(estate_file().estate, options)
    headers = {"authorization": basic_header(ADMIN), "host": "emulator"}

    async def run() -> list[str]:
        outcomes = []
        for _ in range(count):
            answer = await app.handle(Request("GET", PROJECTS, headers))
            if answer.disruption is not None:
                outcomes.append(answer.disruption.value)
            elif answer.header("Retry-After"):
                outcomes.append("retry_after")
            else:
                outcomes.append(str(answer.status))
        return outcomes

    return asyncio.run(run())


def test_fault_sequence_is_reproducible_for_a_seed() -> None:
    first, again, other = _outcomes(42), _outcomes(42), _outcomes(43)
    assert first == again
    assert first != other
    kinds = set(first)
    assert {
        Disruption.RESET.value,
        Disruption.TRUNCATE.value,
        Disruption.STALL.value,
        "retry_after",
        "200",
    } <= kinds
    assert kinds & {"500", "503"}


def test_injected_latency(serve: Callable[..., RunningEmulator]) -> None:
    emulator = serve(options=_with_faults(latency_ms=150))
    with _client(emulator) as client:
        client.get(PROJECTS)  # connect first, so only the latency is timed
        started = time.monotonic()
        for _ in range(3):
            assert client.get(PROJECTS).status_code == 200
    assert time.monotonic() - started >= 0.45


def test_rate_limit_headers_then_delays_then_429(serve: Callable[..., RunningEmulator]) -> None:
    limits = RateLimitOptions(
        budget=5, window_seconds=60, warn_fraction=0.6, delay_band=2, delay_seconds=0.05
    )
    emulator = serve(options=EmulatorOptions(rate_limit=limits))
    with _client(emulator) as client:
        answers = [client.get(PROJECTS) for _ in range(8)]
        other_identity = client.get(PROJECTS, auth=auth(READER))
    quiet, warned, delayed, blocked = answers[:2], answers[2:5], answers[5:7], answers[7]
    assert all("x-ratelimit-limit" not in a.headers for a in quiet)
    assert [a.headers["x-ratelimit-remaining"] for a in warned] == ["2", "1", "0"]
    for answer in warned:
        assert answer.status_code == 200
        assert answer.headers["x-ratelimit-limit"] == "5"
        assert answer.headers["x-ratelimit-resource"] == "Core"
        assert int(answer.headers["x-ratelimit-reset"]) > time.time()
        assert "x-ratelimit-delay" not in answer.headers
    for answer in delayed:
        assert answer.status_code == 200 and answer.headers["x-ratelimit-delay"] == "0.050"
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["retry-after"]) <= 60
    assert blocked.json()["message"].startswith(
        "TF400733: The request has been canceled: Request was blocked due to exceeding usage"
    )
    assert other_identity.status_code == 200  # budgets are per token
    assert emulator.stats.snapshot()["throttle_delays"] == 2


def test_counters_in_process_and_over_the_admin_route(emulator: RunningEmulator) -> None:
    with _client(emulator) as client:
        for _ in range(3):
            client.get(PROJECTS)
        client.get(ITEMS)
        client.get("/contoso/Payments/_apis/git/repositories/nope/items?path=/x&api-version=7.1")
        httpx.get(f"{emulator.base_url}{PROJECTS}")  # 203
        stats = client.get("/_emulator/stats").json()
        assert stats["requests"] == 6
        assert stats["by_route"] == {"core.projects": 4, "git.items": 2}
        assert stats["by_status"] == {"200": 4, "203": 1, "404": 1}
        assert stats["by_route_status"]["git.items"] == {"200": 1, "404": 1}
        assert stats["connections"] == 2  # one kept-alive client connection, one single call
        assert emulator.stats.count("git.items", 404) == 1
        assert emulator.stats.count(status=203) == 1
        reset = client.post("/_emulator/stats/reset").json()
        assert reset["requests"] == 0
        assert client.get("/_emulator/health").json() == {"status": "ok"}
    assert emulator.stats.count() == 0  # admin routes are not counted
