"""Canary tokens over real sockets: neither a PAT nor a broker token shows up in any exception
(text, repr, traceback, attributes), log record (DEBUG, every logger, httpx and httpcore
included), client repr or statistics, whichever way a call fails."""

from __future__ import annotations

import json
import logging
import ssl
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from bridge.azure import AzureDevOpsClient, BrokerSettings
from bridge.emulator import EmulatorOptions, FaultOptions, RunningEmulator
from bridge.errors import (
    AuthenticationError,
    AzureDevOpsError,
    ProjectNotFoundError,
    ServiceError,
)
from bridge.secrets import Secret
from tests.integration.conftest import (
    ADMIN_PAT,
    BROKER_CANARY,
    CATALOG_PATH,
    ORG,
    REVOKED_PAT,
    UNKNOWN_PAT,
    fast_retry,
    make_client,
)
from tests.support.emulator import closed_port
from tests.support.secrets import assert_no_secrets, secret_forms

pytestmark = pytest.mark.anyio

SECRETS = secret_forms(ADMIN_PAT, REVOKED_PAT, UNKNOWN_PAT, BROKER_CANARY)


@dataclass(frozen=True)
class Scenario:
    """How to build a client for a failure, and the error it must raise."""

    client: Callable[[Callable[..., RunningEmulator]], AzureDevOpsClient]
    expected: type[AzureDevOpsError]
    call: Callable[[AzureDevOpsClient], Awaitable[object]] = lambda azure: azure.file_content(
        "Payments Platform", "payments-api", CATALOG_PATH
    )


def _direct(token: str) -> Callable[..., AzureDevOpsClient]:
    return lambda serve: make_client(serve(), token=token)


def _broker(
    url: Callable[[Callable[..., RunningEmulator]], str],
) -> Callable[..., AzureDevOpsClient]:
    def build(serve: Callable[..., RunningEmulator]) -> AzureDevOpsClient:
        broker = BrokerSettings(url(serve), Secret(BROKER_CANARY))
        return AzureDevOpsClient(ORG, broker=broker, retry=fast_retry(max_attempts=2))

    return build


def _stalling(serve: Callable[..., RunningEmulator]) -> AzureDevOpsClient:
    options = EmulatorOptions(faults=FaultOptions(stall_rate=1.0, stall_seconds=2.0))
    return make_client(serve(options=options), timeout=0.2, retry=fast_retry(max_attempts=2))


def _untrusted(serve: Callable[..., RunningEmulator]) -> AzureDevOpsClient:
    return make_client(serve(tls=True), verify=ssl.create_default_context())


def _closed(serve: Callable[..., RunningEmulator]) -> AzureDevOpsClient:
    emulator = serve()
    return make_client(
        emulator,
        api_url=f"http://127.0.0.1:{closed_port()}/",
        retry=fast_retry(max_attempts=2),
    )


SCENARIOS = {
    # The server echoes the (secret) name it was asked for in its error message.
    "echoed-by-server": Scenario(
        _direct(ADMIN_PAT),
        ProjectNotFoundError,
        lambda azure: azure.file_content(ADMIN_PAT, "payments-api", CATALOG_PATH),
    ),
    "unknown-token": Scenario(_direct(UNKNOWN_PAT), AuthenticationError),
    "revoked-token": Scenario(_direct(REVOKED_PAT), AuthenticationError),
    "refused-connection": Scenario(_closed, ServiceError),
    "read-timeout": Scenario(_stalling, ServiceError),
    "untrusted-certificate": Scenario(_untrusted, ServiceError),
    # Broker URL form (/broker/<token>/...) against a server that is no broker: 203.
    "broker-token-in-url": Scenario(_broker(lambda serve: serve().base_url), AuthenticationError),
    "broker-unreachable": Scenario(
        _broker(lambda serve: f"http://127.0.0.1:{closed_port()}"), ServiceError
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_no_token_in_errors_logs_reprs_or_stats(
    name: str, serve: Callable[..., RunningEmulator], caplog: pytest.LogCaptureFixture
) -> None:
    scenario = SCENARIOS[name]
    caplog.set_level(logging.DEBUG)
    emulators: list[RunningEmulator] = []

    def recording_serve(**options: object) -> RunningEmulator:
        emulators.append(serve(**options))
        return emulators[-1]

    async with scenario.client(recording_serve) as azure:
        with pytest.raises(AzureDevOpsError) as caught:
            await scenario.call(azure)
        reprs = [repr(azure), repr(azure.endpoints), repr(azure.stats)]
    error = caught.value
    assert isinstance(error, scenario.expected), repr(error)
    texts = [
        str(error),
        repr(error),
        repr(error.args),
        "".join(traceback.format_exception(error)),
        # Texts the client or the server made. (organization/project/repository hold the
        # caller's own arguments as given, so they are not output of the client.)
        *(repr(value) for value in (error.message, error.hint, error.code)),
        caplog.text,
        *(record.getMessage() for record in caplog.records),
        *reprs,
        *(json.dumps(emulator.stats.snapshot()) for emulator in emulators),
    ]
    if name == "echoed-by-server":
        assert "does not exist: ***." in str(error)  # the echo happened, and was masked
    # The checks must have had something to look at: request or retry lines were logged.
    assert any(record.name.startswith("bridge") for record in caplog.records)
    assert_no_secrets(texts, SECRETS)


async def test_broker_request_log_lines_show_the_url_without_the_token(
    serve: Callable[..., RunningEmulator], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator = serve()
    broker = BrokerSettings(emulator.base_url, Secret(BROKER_CANARY))
    async with AzureDevOpsClient(ORG, broker=broker, retry=fast_retry()) as azure:
        with pytest.raises(AuthenticationError) as caught:
            [p async for p in azure.projects()]
    assert "AZURE_REPOS_TOKEN" in str(caught.value)  # the broker client's PAT was refused
    lines = [r.getMessage() for r in caplog.records if r.name == "bridge.azure"]
    requests = [line for line in lines if "-> HTTP" in line]
    assert requests and all(
        f"{emulator.base_url}/broker/***/_apis/projects" in line for line in requests
    )
    assert_no_secrets([caplog.text], SECRETS)
