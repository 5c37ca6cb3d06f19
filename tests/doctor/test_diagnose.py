"""diagnose() against the emulator: one check per question, failures with their cause and cure."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bridge import doctor
from bridge.config import load_config
from bridge.doctor import ALL_ORGANIZATIONS
from bridge.emulator import (
    EmulatorApp,
    EmulatorOptions,
    FaultOptions,
    Request,
    Response,
    RunningEmulator,
    parse_estate,
)
from bridge.emulator.api_errors import not_found
from bridge.errors import EXIT_AUTH, EXIT_OK, EXIT_PROBLEMS, EXIT_UNAVAILABLE, UsageError
from tests.doctor.conftest import (
    ADMIN_NAME,
    CONTOSO,
    FABRIKAM,
    FULL_PAT,
    NO_ENTITLEMENTS_PAT,
    NO_PROJECTS_PAT,
    ONE_ORGANIZATION_PAT,
    ORGANIZATION_CHECKS,
    PROJECT,
    REVOKED_PAT,
    SCOPE_CHECKS,
    STAKEHOLDER_NAME,
    STAKEHOLDER_PAT,
    TWO_PROFILES_ENVIRON,
    UNKNOWN_PAT,
    by_name,
    checks_of,
    estate,
    make_profile,
    run_doctor,
    statuses,
)
from tests.support.emulator import closed_port


def test_a_full_access_token_passes_every_check(cloud: RunningEmulator) -> None:
    report = run_doctor(make_profile(cloud.base_url))

    checks = checks_of(report, CONTOSO)
    assert [check.name for check in checks] == list(ORGANIZATION_CHECKS)
    assert all(check.status == "ok" and check.hint is None for check in checks), checks
    found = by_name(checks)
    assert "api-version 7.1" in found["api"].detail
    assert "cloud" in found["api"].detail
    assert ADMIN_NAME in found["token"].detail
    assert (
        found["access-level"].detail == f"the token's owner {ADMIN_NAME} has the Basic access level"
    )
    assert f"project '{PROJECT}'" in found["scope:code-read"].detail
    assert f"project '{PROJECT}'" in found["scope:analytics-read"].detail
    assert report.ok and report.exit_code == EXIT_OK


def test_a_stakeholder_owned_token_fails_the_access_level_check(cloud: RunningEmulator) -> None:
    # Snyk Essentials needs the PAT's owner to have the Basic access level.
    report = run_doctor(make_profile(cloud.base_url, token=STAKEHOLDER_PAT))

    checks = checks_of(report, CONTOSO)
    assert [check.name for check in checks] == list(ORGANIZATION_CHECKS)
    failed = by_name(checks)["access-level"]
    assert failed.status == "fail"
    assert failed.detail == (
        f"the token's owner {STAKEHOLDER_NAME} has the Stakeholder access level; "
        "Snyk Essentials needs Basic"
    )
    assert failed.hint is not None
    assert "Basic access level" in failed.hint and "Change access level" in failed.hint
    assert report.failures == (failed,)  # the token and every scope are fine
    assert report.exit_code == EXIT_PROBLEMS


def test_a_missing_scope_fails_exactly_that_check(cloud: RunningEmulator) -> None:
    report = run_doctor(make_profile(cloud.base_url, token=NO_ENTITLEMENTS_PAT))

    checks = checks_of(report, CONTOSO)
    assert statuses(checks) == {
        "api": "ok",
        "token": "ok",
        "access-level": "skip",
        "scope:code-read": "ok",
        "scope:project-read": "ok",
        "scope:member-entitlement-read": "fail",
        "scope:analytics-read": "ok",
    }
    failed = by_name(checks)["scope:member-entitlement-read"]
    assert "lacks Member Entitlement Management (Read)" in failed.detail
    assert failed.hint is not None and "Member Entitlement Management (Read)" in failed.hint
    assert report.failures == (failed,)
    assert report.exit_code == EXIT_AUTH


def test_without_project_read_the_other_scopes_are_still_probed(cloud: RunningEmulator) -> None:
    # Repositories are then listed for the whole organization, and they name the project
    # whose language metrics the analytics probe reads.
    report = run_doctor(make_profile(cloud.base_url, token=NO_PROJECTS_PAT))

    found = by_name(checks_of(report, CONTOSO))
    assert found["scope:project-read"].status == "fail"
    assert "Project and Team (Read)" in (found["scope:project-read"].hint or "")
    assert found["scope:code-read"].status == "ok"
    assert "organization's repositories (2 repositories)" in found["scope:code-read"].detail
    assert found["scope:analytics-read"].status == "ok"
    assert f"project '{PROJECT}'" in found["scope:analytics-read"].detail
    assert found["scope:member-entitlement-read"].status == "ok"


def test_a_revoked_token_fails_the_token_check_and_skips_the_scopes(
    serve: Callable[..., RunningEmulator],
) -> None:
    emulator = serve()
    report = run_doctor(make_profile(emulator.base_url, token=REVOKED_PAT))

    found = by_name(checks_of(report, CONTOSO))
    assert found["api"].status == "ok" and "HTTP 401" in found["api"].detail
    assert found["token"].status == "fail"
    assert "expired or revoked" in found["token"].detail
    assert "regenerate" in (found["token"].hint or "")
    assert [found[name].status for name in SCOPE_CHECKS] == ["skip"] * 4
    assert all("token was refused" in found[name].detail for name in SCOPE_CHECKS)
    # Skipped means not asked: only connectionData reached the server.
    assert emulator.stats.snapshot()["by_route"] == {"core.connectionData": 1}
    assert report.exit_code == EXIT_AUTH


def test_an_unknown_token_is_told_apart_from_a_revoked_one(cloud: RunningEmulator) -> None:
    report = run_doctor(make_profile(cloud.base_url, token=UNKNOWN_PAT))

    token = by_name(checks_of(report, CONTOSO))["token"]
    assert token.status == "fail"
    assert "unknown or malformed" in token.detail and "sign-in page" in token.detail
    assert "revoked" not in token.detail
    assert token.hint is not None and "does not know this token" in token.hint
    assert report.exit_code == EXIT_AUTH


def test_an_unreachable_api_fails_the_api_check_and_skips_the_rest() -> None:
    api_url = f"http://127.0.0.1:{closed_port()}/"
    report = run_doctor(make_profile(api_url))

    checks = checks_of(report, CONTOSO)
    assert [check.name for check in checks] == list(ORGANIZATION_CHECKS)
    api, *rest = checks
    assert api.status == "fail" and "could not connect" in api.detail
    assert api.hint is not None and api_url in api.hint
    assert {check.status for check in rest} == {"skip"}
    assert report.exit_code == EXIT_UNAVAILABLE


ONPREM_ESTATE = f"""
tokens:
  - {{name: full, value: {FULL_PAT}}}
organizations:
  - name: DefaultCollection
    projects:
      - name: Line of Business
        repositories:
          - {{name: orders, files: {{src/orders.py: "pass"}}}}
"""


def test_an_on_premises_server_reports_the_api_version_it_stepped_down_to(
    serve: Callable[..., RunningEmulator],
) -> None:
    onprem = parse_estate(ONPREM_ESTATE, source="onprem-estate").estate
    emulator = serve(onprem, options=EmulatorOptions(layout="onprem"))
    profile = make_profile(f"{emulator.base_url}/tfs/", organizations=["DefaultCollection"])
    report = run_doctor(profile)

    checks = checks_of(report, "DefaultCollection")
    api = by_name(checks)["api"]
    assert "api-version 6.0" in api.detail and "stepped down from 7.1" in api.detail
    assert "on-premises" in api.detail
    assert set(statuses(checks).values()) == {"ok"}


class _WithoutEntitlements(EmulatorApp):
    """A server without the user entitlements service, as Azure DevOps Server is."""

    async def handle(self, request: Request) -> Response:
        if request.path.lower().endswith("/_apis/userentitlements"):
            return not_found(f"The resource '{request.path}' cannot be found.").response()
        return await super().handle(request)


def test_a_server_without_user_entitlements_warns_instead_of_failing(
    serve: Callable[..., RunningEmulator],
) -> None:
    emulator = serve(_WithoutEntitlements(estate()))
    report = run_doctor(make_profile(emulator.base_url))

    entitlements = by_name(checks_of(report, CONTOSO))["scope:member-entitlement-read"]
    assert entitlements.status == "warn"
    assert "no user entitlements service" in entitlements.detail
    assert report.ok and report.exit_code == EXIT_OK


def test_all_organizations_lists_those_the_token_sees(cloud: RunningEmulator) -> None:
    report = run_doctor(make_profile(cloud.base_url, organizations=[ALL_ORGANIZATIONS]))

    listing, *rest = report.checks
    assert (listing.organization, listing.name, listing.status) == ("*", "organizations", "ok")
    assert f"2 organizations: {CONTOSO}, {FABRIKAM}" in listing.detail
    assert [check.organization for check in rest] == [CONTOSO] * 7 + [FABRIKAM] * 7
    assert all(check.status == "ok" for check in rest)
    assert report.ok


def test_all_organizations_needs_a_token_for_all_accessible_organizations(
    cloud: RunningEmulator,
) -> None:
    profile = make_profile(
        cloud.base_url, token=ONE_ORGANIZATION_PAT, organizations=[ALL_ORGANIZATIONS]
    )
    report = run_doctor(profile)

    [listing] = report.checks  # nothing else can be checked
    assert listing.name == "organizations" and listing.status == "fail"
    assert listing.hint is not None and "'All accessible organizations'" in listing.hint
    assert report.exit_code == EXIT_AUTH


def test_a_token_that_sees_no_organization_is_a_problem(
    serve: Callable[..., RunningEmulator],
) -> None:
    empty = parse_estate(f"tokens: [{{name: full, value: {FULL_PAT}}}]", source="empty").estate
    emulator = serve(empty)
    report = run_doctor(make_profile(emulator.base_url, organizations=[ALL_ORGANIZATIONS]))

    [listing] = report.checks
    assert listing.status == "fail" and "sees no organization" in listing.detail
    assert report.exit_code == EXIT_PROBLEMS


def test_the_organization_filter_selects_case_insensitively(cloud: RunningEmulator) -> None:
    everything = make_profile(cloud.base_url, organizations=[ALL_ORGANIZATIONS])
    report = run_doctor(everything, org_filter=["FABRIKAM"])

    assert {check.organization for check in report.checks} == {"*", FABRIKAM}
    assert report.checks[0].status == "ok"


def test_the_organization_filter_warns_about_organizations_the_token_does_not_see(
    cloud: RunningEmulator,
) -> None:
    everything = make_profile(cloud.base_url, organizations=[ALL_ORGANIZATIONS])
    report = run_doctor(everything, org_filter=["nowhere"])

    [listing] = report.checks
    assert listing.status == "warn" and "not among them: nowhere" in listing.detail


def test_an_organization_no_profile_lists_is_a_usage_error(cloud: RunningEmulator) -> None:
    with pytest.raises(UsageError, match=r"'nowhere'.*contoso"):
        run_doctor(make_profile(cloud.base_url), org_filter=["nowhere"])


def test_two_profiles_from_a_configuration_file(two_profiles: Path) -> None:
    config = load_config(two_profiles, environ=TWO_PROFILES_ENVIRON)
    report = run_doctor(*config.profiles)

    groups = list(dict.fromkeys((c.profile, c.organization) for c in report.checks))
    assert groups == [("main", CONTOSO), ("main", FABRIKAM), ("stale", CONTOSO)]
    assert {c.status for c in report.checks if c.profile == "main"} == {"ok"}
    assert statuses(checks_of(report, CONTOSO, profile="stale"))["token"] == "fail"
    assert [c.profile for c in report.failures] == ["stale"]
    assert report.exit_code == EXIT_AUTH


def test_an_untrusted_certificate_asks_for_ca_file_which_fixes_it(
    serve: Callable[..., RunningEmulator],
) -> None:
    emulator = serve(tls=True)
    assert emulator.ca_pem_path is not None

    untrusted = run_doctor(make_profile(emulator.base_url))
    api = by_name(checks_of(untrusted, CONTOSO))["api"]
    assert api.status == "fail" and "certificate" in api.detail
    assert api.hint is not None and "ca_file:" in api.hint

    trusted = run_doctor(make_profile(emulator.base_url, ca_file=emulator.ca_pem_path))
    assert trusted.ok, trusted.failures


def test_organizations_are_checked_concurrently_within_the_bound(
    serve: Callable[..., RunningEmulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    many = parse_estate(
        f"""
tokens: [{{name: full, value: {FULL_PAT}}}]
generate: {{organizations: 12, projects_per_organization: 1, repositories_per_project: 1,
           members_per_organization: 1}}
""",
        source="many",
    ).estate
    emulator = serve(many, options=EmulatorOptions(faults=FaultOptions(latency_ms=40)))
    monkeypatch.setattr(doctor, "MAX_PARALLEL_ORGANIZATIONS", 3)
    report = run_doctor(make_profile(emulator.base_url, organizations=[ALL_ORGANIZATIONS]))

    assert report.ok
    assert len({check.organization for check in report.checks}) == 13  # "*" and 12
    # An organization has at most three requests in flight (the entitlements list and the
    # owner's entitlement beside the project chain), so more than three at once means several
    # organizations were being checked.
    peak = emulator.stats.snapshot()["max_in_flight"]
    assert 4 <= peak <= 3 * 3
