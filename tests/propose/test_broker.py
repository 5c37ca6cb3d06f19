"""``propose`` through a real Snyk Broker (npm ``snyk-broker``, server + client on loopback)
in front of the emulator over HTTPS: with accept rules that allow pushes and pull requests
the flow works and is idempotent; without the push rule the error names the rule to add."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bridge.azure import AzureDevOpsClient, BrokerSettings
from bridge.emulator import RunningEmulator, parse_estate, run_in_thread
from bridge.errors import BrokerBlockedError
from bridge.propose.pullrequests import Action, PullRequestOptions, propose_all
from bridge.secrets import Secret
from tests.propose.conftest import BRANCH, ESTATE_YAML, WRITER, proposal, pull_requests
from tests.support.broker import Broker, brokers_for
from tests.support.shared import shared_path

pytestmark = [pytest.mark.broker, pytest.mark.anyio]

APPLY = PullRequestOptions(branch=BRANCH, apply=True)
ALLOWED_TOKEN = "canary-broker-propose-3c5e7a9b1d0f2468"
NO_PUSH_TOKEN = "canary-broker-no-push-8a6c4e2f0b1d3579"


@pytest.fixture(scope="module")
def origin() -> Iterator[RunningEmulator]:
    estate = parse_estate(ESTATE_YAML, source="propose-estate").estate
    with run_in_thread(estate, tls=True) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def brokers(
    origin: RunningEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Broker]]:
    """A broker whose rules (the azure-repos template plus catalog-info.yaml reads) allow
    pushes and pull requests, and one whose rules lack the push rule."""
    allowed = shared_path("tools", "snyk-broker", "accept-catalog-info.json")
    rules = json.loads(allowed.read_text(encoding="utf-8"))
    rules["private"] = [
        rule
        for rule in rules["private"]
        if not (rule["method"] == "POST" and rule["path"].endswith("/pushes"))
    ]
    no_push = tmp_path_factory.mktemp("accept") / "accept-no-push.json"
    no_push.write_text(json.dumps(rules), encoding="utf-8")
    with brokers_for(origin, "contoso", tmp_path_factory) as starter:
        yield {
            "allowed": starter.start(
                "propose", pat=WRITER, broker_token=ALLOWED_TOKEN, accept_file=allowed
            ),
            "no-push": starter.start(
                "no-push", pat=WRITER, broker_token=NO_PUSH_TOKEN, accept_file=no_push
            ),
        }


def _through(broker: Broker) -> AzureDevOpsClient:
    settings = BrokerSettings(url=broker.server_url, token=Secret(broker.token))
    return AzureDevOpsClient("contoso", broker=settings, timeout=15.0)


async def test_propose_through_a_broker_twice_opens_one_pull_request(
    brokers: dict[str, Broker], origin: RunningEmulator
) -> None:
    async with _through(brokers["allowed"]) as client:
        [first] = await propose_all(client, [proposal("cart")], APPLY)
        [second] = await propose_all(client, [proposal("cart")], APPLY)
    assert (first.action, second.action) == (Action.OPENED, Action.UNCHANGED)
    [pr] = pull_requests(origin, "contoso", "cart")
    assert pr.status == "active" and pr.source_ref == f"refs/heads/{BRANCH}"


async def test_a_broker_without_the_push_rule_names_the_rule(
    brokers: dict[str, Broker], origin: RunningEmulator
) -> None:
    async with _through(brokers["no-push"]) as client:
        with pytest.raises(BrokerBlockedError) as caught:
            await propose_all(client, [proposal("checkout")], APPLY)
    text = str(caught.value)
    assert "blocked POST" in text and "pushes" in text
    assert "POST /:project/_apis/git/repositories/:repo/pushes" in text
    assert NO_PUSH_TOKEN not in text
    assert pull_requests(origin, "contoso", "checkout") == []
