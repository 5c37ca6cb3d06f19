"""doctor checks Code (Read & write) when a profile enables propose, and creates nothing."""

from __future__ import annotations

from bridge.config import ProposeSettings
from bridge.emulator import RunningEmulator
from bridge.errors import EXIT_AUTH
from tests.doctor.conftest import (
    CONTOSO,
    FULL_PAT,
    NO_ENTITLEMENTS_PAT,
    REVOKED_PAT,
    by_name,
    checks_of,
    make_profile,
    run_doctor,
)

PROPOSE = ProposeSettings(enabled=True)


def _pull_requests(emulator: RunningEmulator) -> int:
    organization = emulator.app.estate.organization(CONTOSO)
    assert organization is not None
    return sum(len(repo.pull_requests) for repo in organization.repositories())


def test_a_writing_token_passes_the_code_write_check(cloud: RunningEmulator) -> None:
    report = run_doctor(make_profile(cloud.base_url, token=FULL_PAT, propose=PROPOSE))
    check = by_name(checks_of(report, CONTOSO))["scope:code-write"]
    assert check.status == "ok" and "open pull requests" in check.detail
    assert _pull_requests(cloud) == 0  # the probe is refused as invalid: nothing is made


def test_a_read_only_token_fails_only_the_code_write_check(cloud: RunningEmulator) -> None:
    report = run_doctor(make_profile(cloud.base_url, token=NO_ENTITLEMENTS_PAT, propose=PROPOSE))
    checks = by_name(checks_of(report, CONTOSO))
    failed = checks["scope:code-write"]
    assert failed.status == "fail"
    assert "refused to propose a pull request" in failed.detail
    assert "lacks Code (Read & write)" in failed.detail
    assert failed.hint is not None and "add the Code (Read & write) scope" in failed.hint
    assert checks["scope:code-read"].status == "ok"
    assert report.exit_code == EXIT_AUTH


def test_without_propose_there_is_no_code_write_check(cloud: RunningEmulator) -> None:
    report = run_doctor(make_profile(cloud.base_url, token=NO_ENTITLEMENTS_PAT))
    checks = by_name(checks_of(report, CONTOSO))
    assert "scope:code-read" in checks  # the organization's scopes were probed
    assert "scope:code-write" not in checks


def test_a_refused_token_skips_the_code_write_check(cloud: RunningEmulator) -> None:
    report = run_doctor(make_profile(cloud.base_url, token=REVOKED_PAT, propose=PROPOSE))
    assert by_name(checks_of(report, CONTOSO))["scope:code-write"].status == "skip"
