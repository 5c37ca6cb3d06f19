"""Canary tokens: no exception, log record or repr may ever show a PAT or a broker token."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

import httpx
import pytest

from bridge.azure import AzureDevOpsClient, BrokerSettings
from bridge.errors import AzureDevOpsError
from bridge.secrets import Secret
from tests.azure.fakes import FAST, azure_error, sign_in_page
from tests.support.secrets import assert_no_secrets, secret_forms

pytestmark = pytest.mark.anyio

CANARY_PAT = "canary-pat-5d8f1e2a9b7c4d3e6f10"
CANARY_BROKER = "canary-broker-0a1b2c3d4e5f6789"
FORBIDDEN = secret_forms(CANARY_PAT, CANARY_BROKER)

Answer = Callable[[httpx.Request], httpx.Response]


def _raise_with_url(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError(f"cannot connect for {request.url}", request=request)


def _echoing_error(request: httpx.Request) -> httpx.Response:
    # A worst case: the server echoes what it was sent.
    return azure_error(404, f"TF401019: The Git repository {request.url} {CANARY_PAT} is gone.")


def _blocked(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        401,
        json={"code": "FILTER_BLOCKED", "message": "blocked", "reason": f"{request.url} blocked"},
    )


def _service_error_header(request: httpx.Request) -> httpx.Response:
    return httpx.Response(401, headers={"X-TFS-ServiceError": f"VS30063: token {CANARY_PAT}"})


def _truncated(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=b'{"value": [')


def _no_connection(request: httpx.Request) -> httpx.Response:
    return httpx.Response(404, json={"ok": False}, headers={"x-broker-failure": "no-connection"})


def _make(via_broker: bool, answer: Answer) -> AzureDevOpsClient:
    transport = httpx.MockTransport(answer)
    if via_broker:
        broker = BrokerSettings("http://127.0.0.1:7341", Secret(CANARY_BROKER))
        return AzureDevOpsClient("fabrikam", broker=broker, retry=FAST, transport=transport)
    return AzureDevOpsClient("fabrikam", token=Secret(CANARY_PAT), retry=FAST, transport=transport)


@pytest.mark.parametrize("via_broker", [False, True], ids=["direct", "broker"])
@pytest.mark.parametrize(
    "answer",
    [
        _raise_with_url,
        _echoing_error,
        _blocked,
        _service_error_header,
        _truncated,
        _no_connection,
        lambda request: sign_in_page(),
    ],
    ids=["connect-error", "echo", "blocked", "service-error", "truncated", "no-connection", "203"],
)
async def test_no_token_leaks_from_errors_logs_or_reprs(
    via_broker: bool, answer: Answer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with _make(via_broker, answer) as azure:
        with pytest.raises(AzureDevOpsError) as caught:
            await azure.file_content("p", "web", "/catalog-info.yaml")
        reprs = [repr(azure), repr(azure.endpoints), repr(azure.stats)]
    error = caught.value
    texts = [
        str(error),
        repr(error),
        "".join(traceback.format_exception(error)),
        caplog.text,
        *(record.getMessage() for record in caplog.records),
        *reprs,
    ]
    assert caplog.records, "the client logged nothing, so the log check proved nothing"
    # Through a broker the client never holds the PAT (the broker client does), so only the
    # broker token, which the echoed URLs carry, is its secret to keep.
    assert_no_secrets(texts, secret_forms(CANARY_BROKER) if via_broker else FORBIDDEN)


async def test_request_log_lines_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bridge.azure")
    async with _make(
        True, lambda request: httpx.Response(200, json={"count": 0, "value": []})
    ) as azure:
        assert [p async for p in azure.projects()] == []
    lines = [record.getMessage() for record in caplog.records if record.name == "bridge.azure"]
    assert lines and all("/broker/***/_apis/projects" in line for line in lines)


def test_settings_do_not_print_their_tokens() -> None:
    settings = BrokerSettings("https://broker.snyk.io", Secret(CANARY_BROKER))
    assert CANARY_BROKER not in repr(settings)
    assert CANARY_PAT not in repr(Secret(CANARY_PAT))
