"""End to end through a real Snyk Broker (npm ``snyk-broker@5.22.14``, server + client on
loopback) in front of the emulator over HTTPS, serving the shipped sample estate.

The broker client rewrites ``Authorization`` to ``Basic base64("PAT:" + AZURE_REPOS_TOKEN)``
and calls ``https://127.0.0.1:PORT/contoso/...``. With the package's default Azure rules a
``catalog-info.yaml`` read is blocked before it reaches the origin; with the shared
``accept-catalog-info.json`` it goes through. Each broker configuration starts once per session.
"""

from __future__ import annotations

import json
import logging
import ssl
import traceback
from collections.abc import AsyncIterator, Iterator

import pytest

from bridge.azure import AzureDevOpsClient, BrokerSettings
from bridge.emulator import RunningEmulator, load_estate, run_in_thread, sample_estate_path
from bridge.errors import (
    AuthenticationError,
    BrokerBlockedError,
    BrokerError,
    EmptyRepositoryError,
    RepositoryNotFoundError,
)
from bridge.secrets import Secret
from tests.integration.conftest import fast_retry, make_client
from tests.support.broker import Broker, brokers_for
from tests.support.secrets import assert_no_secrets, secret_forms
from tests.support.shared import shared_path

pytestmark = [pytest.mark.broker, pytest.mark.anyio]

ORG = "contoso"  # an organization of the sample estate
SAMPLE_PAT = "demo-pat-all-access-0001"  # the sample estate's all-access token
SAMPLE_REVOKED_PAT = "demo-pat-revoked-0003"
BROKER_TOKENS = {
    "default": "canary-broker-default-7d1e5a9c3f0b2468",
    "catalog": "canary-broker-catalog-2b8f4d0a6c1e3579",
    "revoked": "canary-broker-revoked-9e3a7c1f5b0d2486",
}
UNCONNECTED_TOKEN = "canary-broker-unconnected-5f1b9d3a7e0c2468"
SECRETS = secret_forms(SAMPLE_PAT, SAMPLE_REVOKED_PAT, UNCONNECTED_TOKEN, *BROKER_TOKENS.values())
PROJECT = "Payments Platform"
CATALOG_PATH = "/catalog-info.yaml"


@pytest.fixture(scope="session")
def sample_origin() -> Iterator[RunningEmulator]:
    """The sample estate over HTTPS: the broker client's origin."""
    with run_in_thread(load_estate(sample_estate_path()).estate, tls=True) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def brokers(
    sample_origin: RunningEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Broker]]:
    """Broker configurations by name, each started on first use; all stopped at the end."""
    accept_catalog = shared_path("tools", "snyk-broker", "accept-catalog-info.json")
    settings = {
        "default": (SAMPLE_PAT, None),  # the package's azure-repos accept.json
        "catalog": (SAMPLE_PAT, accept_catalog),
        "revoked": (SAMPLE_REVOKED_PAT, None),
    }
    with brokers_for(sample_origin, ORG, tmp_path_factory) as starter:

        class Started(dict[str, Broker]):
            def __missing__(self, name: str) -> Broker:
                pat, accept = settings[name]
                self[name] = starter.start(
                    name, pat=pat, broker_token=BROKER_TOKENS[name], accept_file=accept
                )
                return self[name]

        yield Started()


def _through(broker: Broker, token: str | None = None) -> AzureDevOpsClient:
    settings = BrokerSettings(url=broker.server_url, token=Secret(token or broker.token))
    return AzureDevOpsClient(ORG, broker=settings, retry=fast_retry(max_attempts=3))


@pytest.fixture
async def direct(sample_origin: RunningEmulator) -> AsyncIterator[AzureDevOpsClient]:
    """The same organization without a broker, to compare answers with."""
    assert sample_origin.ca_pem_path is not None
    trust = ssl.create_default_context(cafile=str(sample_origin.ca_pem_path))
    async with make_client(sample_origin, token=SAMPLE_PAT, verify=trust) as azure:
        yield azure


def _texts(error: BaseException, caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        str(error),
        repr(error),
        "".join(traceback.format_exception(error)),
        caplog.text,
        *(record.getMessage() for record in caplog.records),
    ]


async def test_lists_projects_and_repositories_through_the_broker(
    brokers: dict[str, Broker], direct: AzureDevOpsClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    broker = brokers["default"]
    assert broker.token == BROKER_TOKENS["default"]
    async with _through(broker) as azure:
        projects = [p async for p in azure.projects()]
        everything = [r async for r in azure.repositories()]
        payments = [r async for r in azure.repositories(PROJECT)]
        reprs = [repr(azure), repr(azure.stats)]
        assert azure.stats.retries == 0
    assert [p.name for p in projects] == ["Payments Platform", "Identity", "Data Lake"]
    assert projects == [p async for p in direct.projects()]
    assert everything == [r async for r in direct.repositories()]
    assert payments == [r async for r in direct.repositories(PROJECT)]
    kinds = {r.name: r for r in payments}
    assert kinds["legacy-billing"].is_disabled
    assert kinds["payments-sandbox"].default_branch is None
    assert_no_secrets([caplog.text, *reprs], SECRETS)


async def test_reads_catalog_files_when_the_accept_rule_allows_them(
    brokers: dict[str, Broker], direct: AzureDevOpsClient, sample_origin: RunningEmulator
) -> None:
    before = sample_origin.stats.count("git.items")
    async with _through(brokers["catalog"]) as azure:
        found = await azure.file_content(PROJECT, "payments-api", CATALOG_PATH)
        bare = await azure.file_content(PROJECT, "Payments Docs", "catalog-info.yaml")
        # Relayed Azure answers keep their meaning: a missing file is None, not "blocked".
        missing = await azure.file_content(PROJECT, "payouts-ui", CATALOG_PATH)
        with pytest.raises(EmptyRepositoryError):
            await azure.file_content(PROJECT, "payments-sandbox", CATALOG_PATH)
        with pytest.raises(RepositoryNotFoundError):
            await azure.file_content(PROJECT, "legacy-billing", CATALOG_PATH)
        # The rule admits catalog-info.yaml only.
        with pytest.raises(BrokerBlockedError):
            await azure.file_content(PROJECT, "payments-api", "/README.md")
    relayed = sample_origin.stats.count("git.items") - before
    expected = await direct.file_content(PROJECT, "payments-api", CATALOG_PATH)
    assert found is not None and found == expected
    assert found.text.startswith("apiVersion: backstage.io/v1alpha1")
    assert "name: payments-api" in found.text
    assert bare == await direct.file_content(PROJECT, "Payments Docs", CATALOG_PATH)
    assert missing is None
    assert relayed == 5  # every read but the blocked one reached the origin


async def test_default_rules_block_catalog_reads_and_say_so(
    brokers: dict[str, Broker], sample_origin: RunningEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    before = sample_origin.stats.count("git.items")
    async with _through(brokers["default"]) as azure:
        with pytest.raises(BrokerBlockedError) as caught:
            await azure.file_content(PROJECT, "payments-api", CATALOG_PATH)
        # Also where there is no such file: blocked is never reported as missing.
        with pytest.raises(BrokerBlockedError) as no_file:
            await azure.file_content(PROJECT, "payouts-ui", CATALOG_PATH)
        assert azure.stats.retries == 0
    error = caught.value
    assert sample_origin.stats.count("git.items") == before  # the origin saw nothing
    assert error.code == "FILTER_BLOCKED" and error.status == 401
    text = str(error)
    assert "accept rule" in text and "blocked" in text
    assert "/:project/_apis/git/repositories/:repo/items" in text  # the rule to add
    assert "'path'" in text and "catalog-info.yaml" in text
    for missing in ("TF401174", "could not be found", "does not exist", "file is missing"):
        assert missing not in text
    assert str(no_file.value) == text.replace("payments-api", "payouts-ui")
    assert_no_secrets(_texts(error, caplog), SECRETS)


async def test_a_refused_broker_pat_is_reported_as_the_broker_clients(
    brokers: dict[str, Broker], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with _through(brokers["revoked"]) as azure:
        with pytest.raises(AuthenticationError) as caught:
            [p async for p in azure.projects()]
    error = caught.value
    assert error.reason == "rejected" and error.status == 401  # relayed unchanged
    assert "AZURE_REPOS_TOKEN" in str(error)
    assert_no_secrets(_texts(error, caplog), SECRETS)


async def test_a_broker_token_with_no_client_connected(
    brokers: dict[str, Broker], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with _through(brokers["default"], UNCONNECTED_TOKEN) as azure:
        with pytest.raises(BrokerError) as caught:
            [p async for p in azure.projects()]
        assert azure.stats.requests == 1  # not worth retrying
    error = caught.value
    assert error.code == "no-connection" and error.status == 404
    assert "no Snyk Broker client is connected" in str(error)
    assert_no_secrets(_texts(error, caplog), SECRETS)


def test_broker_startup_is_recorded(brokers: dict[str, Broker]) -> None:
    broker = brokers["default"]
    # run-broker.sh measures each stage; keep them with the test report.
    print(json.dumps({"startup_ms": broker.startup_ms, "wall_s": round(broker.wall_seconds, 2)}))
    assert set(broker.startup_ms) == {"server", "client", "total"}
    assert 0 < broker.startup_ms["total"] <= broker.wall_seconds * 1000
