"""Through a Snyk Broker: the URL form, no PAT on the wire, and the broker's own failures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bridge.azure import AzureDevOpsClient, BrokerSettings
from bridge.errors import (
    AuthenticationError,
    BrokerBlockedError,
    BrokerError,
    ConfigError,
)
from bridge.secrets import Secret
from tests.azure.fakes import (
    FAST,
    TOKEN,
    Always,
    azure_error,
    envelope,
    in_turn,
    ok,
    project,
    repository,
    sign_in_page,
)

pytestmark = pytest.mark.anyio

BROKER_TOKEN = "7d3c5a1e-0b9f-4e2a-8c61-5f0e9d2b4a77"
BROKER_URL = "http://127.0.0.1:7341"


def broker_client(handler: Any, **options: Any) -> AzureDevOpsClient:
    return AzureDevOpsClient(
        "fabrikam",
        broker=BrokerSettings(BROKER_URL, Secret(BROKER_TOKEN)),
        retry=FAST,
        transport=httpx.MockTransport(handler),
        **options,
    )


def broker_failure(
    status: int, kind: str, *, text: str | None = None, **headers: str
) -> httpx.Response:
    """An answer the broker server makes itself (``x-broker-failure``)."""
    if text is None:
        return httpx.Response(
            status, json={"ok": False}, headers={"x-broker-failure": kind, **headers}
        )
    return httpx.Response(status, text=text, headers={"x-broker-failure": kind, **headers})


async def test_requests_go_to_the_broker_path_without_organization_or_pat() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path
        if path.endswith("/_apis/projects"):
            return ok(envelope([project(1)]))
        if path.endswith("/items"):
            return ok({"path": "/catalog-info.yaml", "content": "kind: Component\n"})
        return ok(envelope([repository("web", "My Project")]))

    # A PAT in the profile stays home: the broker client adds its own.
    async with broker_client(handler, token=TOKEN) as azure:
        [p async for p in azure.projects()]
        [r async for r in azure.repositories("My Project")]
        found = await azure.file_content("My Project", "web", "/catalog-info.yaml")
    assert found is not None and found.text == "kind: Component\n"
    paths = [r.url.raw_path.decode().partition("?")[0] for r in seen]
    prefix = f"/broker/{BROKER_TOKEN}"
    assert paths == [
        f"{prefix}/_apis/projects",
        f"{prefix}/My%20Project/_apis/git/repositories",
        f"{prefix}/My%20Project/_apis/git/repositories/web/items",
    ]
    assert all(r.url.host == "127.0.0.1" and r.url.port == 7341 for r in seen)
    assert all("authorization" not in r.headers for r in seen)
    assert all("fabrikam" not in str(r.url) for r in seen)


async def test_a_relayed_missing_file_is_still_none() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return azure_error(404, "TF401174: The item '/catalog-info.yaml' could not be found.")

    async with broker_client(handler) as azure:
        assert await azure.file_content("p", "web", "/catalog-info.yaml") is None


@pytest.mark.parametrize(
    ("answer", "explains", "attempts"),
    [
        (broker_failure(404, "no-connection"), "no Snyk Broker client is connected", 1),
        (broker_failure(400, "bad-request"), "lacks version or capability metadata", 1),
        (
            broker_failure(
                500, "error-forwarding-to-primary", text="Error forwarding request to primary."
            ),
            "could not forward the request",
            5,
        ),
        (
            broker_failure(503, "connection-not-ready", **{"Retry-After": "0.01"}),
            "not ready yet",
            5,
        ),
    ],
)
async def test_broker_failures_explain_the_cause(
    answer: httpx.Response, explains: str, attempts: int
) -> None:
    handler = Always(answer)
    async with broker_client(handler) as azure:
        with pytest.raises(BrokerError) as caught:
            [p async for p in azure.projects()]
    error = caught.value
    assert explains in str(error)
    assert error.code == answer.headers["x-broker-failure"]
    assert not isinstance(error, BrokerBlockedError | AuthenticationError)
    assert handler.calls == attempts  # the transient ones were retried, the others not


async def test_a_broker_client_that_becomes_ready_is_waited_for() -> None:
    handler = in_turn(
        broker_failure(503, "connection-not-ready", **{"Retry-After": "0.01"}),
        ok(envelope([project(1)])),
    )
    async with broker_client(handler) as azure:
        assert [p.name async for p in azure.projects()] == ["Project 1"]
        assert (azure.stats.retries, azure.stats.paused) == (1, 1)


@pytest.mark.parametrize(
    "body",
    [
        {
            "code": "FILTER_BLOCKED",
            "message": "blocked",
            "reason": "[Websocket Flow][Blocked Request] Does not match any accept rule",
            "url": "/p/_apis/git/repositories/web/items?path=%2Fcatalog-info.yaml",
        },
        # Older brokers send no code.
        {
            "message": "blocked",
            "reason": "Response does not match any accept rule, blocking websocket request",
            "url": "/p/_apis/git/repositories/web/items",
        },
    ],
)
async def test_a_blocked_catalog_read_names_the_accept_rule_and_is_never_missing(
    body: dict[str, str],
) -> None:
    handler = Always(httpx.Response(401, json=body))
    async with broker_client(handler) as azure:
        with pytest.raises(BrokerBlockedError) as caught:
            await azure.file_content("p", "web", "/catalog-info.yaml")
    error = caught.value
    text = str(error)
    assert "accept rules blocked GET /p/_apis/git/repositories/web/items" in text
    assert "/:project/_apis/git/repositories/:repo/items" in text
    for value in (
        "catalog-info.yaml",
        "/catalog-info.yaml",
        "**/catalog-info.yaml",
        "**%2Fcatalog-info.yaml",
    ):
        assert value in text
    assert "not a missing file" in text
    assert (error.project, error.repository, error.status) == ("p", "web", 401)
    assert not isinstance(error, AuthenticationError)  # not a token problem
    assert handler.calls == 1


async def test_the_accept_rule_names_a_configured_file_name() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"code": "FILTER_BLOCKED", "message": "blocked"})

    async with broker_client(handler) as azure:
        with pytest.raises(BrokerBlockedError) as caught:
            await azure.file_content("p", "web", "/.backstage/component.yaml")
    assert "**/component.yaml" in str(caught.value)
    assert "/.backstage/component.yaml" in str(caught.value)


async def test_other_blocked_calls_name_the_request() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"code": "FILTER_BLOCKED", "message": "blocked"})

    async with broker_client(handler) as azure:
        with pytest.raises(BrokerBlockedError, match="blocked GET /_apis/projects"):
            [p async for p in azure.projects()]


@pytest.mark.parametrize(
    ("status", "code", "explains", "attempts"),
    [
        (504, "DOWNSTREAM_TIMEOUT", "timed out waiting for Azure DevOps", 5),
        (502, "DOWNSTREAM_UNREACHABLE", "could not reach Azure DevOps", 5),
        (502, "DOWNSTREAM_ERROR", "failed calling Azure DevOps", 5),
        (502, "BODY_TOO_LARGE", "too large for the broker to relay", 1),
    ],
)
async def test_downstream_failures_of_the_broker_client(
    status: int, code: str, explains: str, attempts: int
) -> None:
    handler = Always(httpx.Response(status, json={"code": code, "message": "failed"}))
    async with broker_client(handler) as azure:
        with pytest.raises(BrokerError) as caught:
            [p async for p in azure.projects()]
    assert explains in str(caught.value)
    assert caught.value.code == code
    assert handler.calls == attempts


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        pytest.param(sign_in_page, "unknown-token", id="sign-in-page"),
        pytest.param(
            lambda: httpx.Response(401, headers={"X-TFS-ServiceError": "VS30063: Not authorized."}),
            "rejected",
            id="401-without-a-block",
        ),
    ],
)
async def test_a_relayed_token_refusal_is_the_broker_clients_token(
    answer: Callable[[], httpx.Response], reason: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return answer()

    async with broker_client(handler) as azure:
        with pytest.raises(AuthenticationError) as caught:
            [p async for p in azure.projects()]
    assert caught.value.reason == reason
    assert "AZURE_REPOS_TOKEN" in str(caught.value)


async def test_organizations_cannot_be_listed_through_a_broker() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing may be sent")

    async with broker_client(handler) as azure:
        with pytest.raises(ConfigError, match="one broker serves one organization"):
            [o async for o in azure.organizations()]
