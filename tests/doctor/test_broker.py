"""The doctor through a real Snyk Broker (npm ``snyk-broker``, server and client on loopback)
in front of the emulator over HTTPS.

With the package's default accept rules ``connectionData``, user entitlements, language
metrics and ``catalog-info.yaml`` reads are blocked; with Snyk's Essentials rules the first
three go through. Two brokers start once for the module (a few seconds).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bridge.azure import BrokerSettings
from bridge.config import BackstageSettings, Profile
from bridge.doctor import DoctorReport, render_json, render_table
from bridge.emulator import RunningEmulator, run_in_thread
from bridge.errors import EXIT_AUTH, EXIT_UNAVAILABLE
from bridge.secrets import Secret
from tests.doctor.conftest import (
    ALL_PATS,
    CONTOSO,
    FULL_PAT,
    NO_ENTITLEMENTS_PAT,
    ORGANIZATION_CHECKS,
    by_name,
    checks_of,
    estate,
    run_doctor,
    statuses,
)
from tests.support.broker import Broker, brokers_for
from tests.support.secrets import assert_no_secrets, secret_forms
from tests.support.shared import shared_path

pytestmark = pytest.mark.broker

DEFAULT_RULES_TOKEN = "canary-broker-doctor-default-7d1e5a9c3f0b"
ESSENTIALS_RULES_TOKEN = "canary-broker-doctor-essentials-2b8f4d0a6c1e"
UNCONNECTED_TOKEN = "canary-broker-doctor-unconnected-5f1b9d3a7e0c"
BROKER_TOKENS = (DEFAULT_RULES_TOKEN, ESSENTIALS_RULES_TOKEN, UNCONNECTED_TOKEN)


@pytest.fixture(scope="module")
def origin() -> Iterator[RunningEmulator]:
    """The doctor estate over HTTPS: the broker clients' Azure DevOps."""
    with run_in_thread(estate(), tls=True) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def brokers(
    origin: RunningEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Broker]]:
    """``default``: the package's rules, full-access PAT; ``essentials``: plus Snyk's
    Essentials rules, with a PAT lacking Member Entitlement Management (Read)."""
    essentials_rules = shared_path("tools", "snyk-broker", "essentials-azure-repos.json")
    with brokers_for(origin, CONTOSO, tmp_path_factory) as starter:
        started = {
            "default": starter.start("default", pat=FULL_PAT, broker_token=DEFAULT_RULES_TOKEN)
        }
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("ACCEPT_ESSENTIALS", "true")
            patch.setenv("ESSENTIALS_RULES", str(essentials_rules))
            # The rules send user entitlements to vsaex.{host}; the emulator serves every
            # service on its one host.
            patch.setenv("AZURE_REPOS_USER_ENTITLEMENTS_HOST", starter.host)
            started["essentials"] = starter.start(
                "essentials", pat=NO_ENTITLEMENTS_PAT, broker_token=ESSENTIALS_RULES_TOKEN
            )
        yield started


def brokered(url: str, token: str, *, backstage: bool) -> Profile:
    return Profile(
        name="brokered",
        organizations=(CONTOSO,),
        broker=BrokerSettings(url, Secret(token)),
        backstage=BackstageSettings() if backstage else None,
    )


def _checks(report: DoctorReport) -> dict[str, str]:
    return statuses(checks_of(report, CONTOSO, profile="brokered"))


def test_default_rules_skip_the_token_check_and_name_the_rules_to_add(
    brokers: dict[str, Broker],
) -> None:
    broker = brokers["default"]
    report = run_doctor(brokered(broker.server_url, broker.token, backstage=True))

    assert _checks(report) == {
        "api": "ok",
        "token": "skip",
        "access-level": "skip",
        "scope:code-read": "ok",
        "scope:project-read": "ok",
        "scope:member-entitlement-read": "fail",
        "scope:analytics-read": "fail",
        "broker": "fail",
    }
    found = by_name(checks_of(report, CONTOSO, profile="brokered"))
    assert "through the Snyk Broker" in found["api"].detail
    assert "/_apis/connectionData" in found["token"].detail
    entitlements_hint = found["scope:member-entitlement-read"].hint or ""
    assert "GET /_apis/userentitlements" in entitlements_hint
    assert "ACCEPT_ESSENTIALS=true" in entitlements_hint
    # The catalog read is blocked, and the hint is the exact rule that admits it.
    assert "FILTER_BLOCKED" in found["broker"].detail
    broker_hint = found["broker"].hint or ""
    assert "GET /:project/_apis/git/repositories/:repo/items" in broker_hint
    assert "'path'" in broker_hint and "catalog-info.yaml" in broker_hint
    assert report.exit_code == EXIT_AUTH  # a blocked request is an authorization failure


def test_without_backstage_the_broker_check_is_the_relay(brokers: dict[str, Broker]) -> None:
    broker = brokers["default"]
    report = run_doctor(brokered(broker.server_url, broker.token, backstage=False))

    found = by_name(checks_of(report, CONTOSO, profile="brokered"))
    assert found["broker"].status == "ok"
    assert found["broker"].detail == "relays requests to Azure DevOps"


def test_essentials_rules_let_the_token_check_through_the_broker(
    brokers: dict[str, Broker],
) -> None:
    broker = brokers["essentials"]
    report = run_doctor(brokered(broker.server_url, broker.token, backstage=False))

    assert _checks(report) == {
        "api": "ok",
        "token": "ok",
        "access-level": "skip",
        "scope:code-read": "ok",
        "scope:project-read": "ok",
        "scope:member-entitlement-read": "fail",
        "scope:analytics-read": "ok",
        "broker": "ok",
    }
    found = by_name(checks_of(report, CONTOSO, profile="brokered"))
    assert "AZURE_REPOS_TOKEN" in found["token"].detail
    # The relayed refusal is about the broker client's PAT, not the profile's.
    entitlements = found["scope:member-entitlement-read"]
    assert "broker client's Azure DevOps token" in entitlements.detail
    assert "broker client's PAT" in (entitlements.hint or "")


def test_a_broker_token_without_a_client_fails_the_broker_check(
    brokers: dict[str, Broker],
) -> None:
    broker = brokers["default"]
    report = run_doctor(brokered(broker.server_url, UNCONNECTED_TOKEN, backstage=True))

    checks = checks_of(report, CONTOSO, profile="brokered")
    assert [check.name for check in checks] == [*ORGANIZATION_CHECKS, "broker"]
    *rest, failed = checks
    assert {check.status for check in rest} == {"skip"}
    assert failed.status == "fail" and "no-connection" in failed.detail
    assert "BROKER_TOKEN" in (failed.hint or "")
    assert report.exit_code == EXIT_UNAVAILABLE


def test_no_token_appears_in_broker_reports(brokers: dict[str, Broker]) -> None:
    reports = [
        run_doctor(brokered(brokers[name].server_url, token, backstage=True))
        for name, token in (("default", DEFAULT_RULES_TOKEN), ("default", UNCONNECTED_TOKEN))
    ]
    texts = [render(report) for report in reports for render in (render_table, render_json)]
    assert_no_secrets(texts, secret_forms(*ALL_PATS, *BROKER_TOKENS))
