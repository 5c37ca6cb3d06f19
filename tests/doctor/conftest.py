"""Estates, profiles and helpers for the doctor tests.

Every diagnosis runs against an emulator over a real loopback socket (``run_in_thread``).
Token values are canaries: long, recognisable, and looked for in everything rendered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.azure import RetryPolicy
from bridge.config import Config, Profile
from bridge.doctor import Check, DoctorReport, diagnose
from bridge.emulator import Estate, RunningEmulator, parse_estate, run_in_thread
from bridge.secrets import Secret
from tests.support.emulator import serving

FULL_PAT = "canary-doctor-full-3f9a1c7e5b2d4086"
NO_ENTITLEMENTS_PAT = "canary-doctor-no-entitlements-8e2b6d4f0a1c"
NO_PROJECTS_PAT = "canary-doctor-no-projects-6c0e2a4b8d1f7a35"
REVOKED_PAT = "canary-doctor-revoked-1d7f3b9e5c2a4860"
ONE_ORGANIZATION_PAT = "canary-doctor-one-org-5a7c9e1b3d0f2468"
UNKNOWN_PAT = "canary-doctor-unknown-9b5d1f7a3e0c2468"  # the estate does not know it
STAKEHOLDER_PAT = "canary-doctor-stakeholder-4e6a8c0b2d1f3579"  # its owner has Stakeholder
ALL_PATS = (
    FULL_PAT,
    STAKEHOLDER_PAT,
    NO_ENTITLEMENTS_PAT,
    NO_PROJECTS_PAT,
    REVOKED_PAT,
    ONE_ORGANIZATION_PAT,
    UNKNOWN_PAT,
)

CONTOSO, FABRIKAM = "contoso", "fabrikam"
PROJECT = "Payments Platform"
ADMIN_NAME = "Ada Admin"
STAKEHOLDER_NAME = "Sam Stakeholder"

ESTATE_YAML = f"""
tokens:
  - {{name: full, value: {FULL_PAT}, user: {{name: {ADMIN_NAME}, email: ada@contoso.example}}}}
  - name: no-entitlements
    value: {NO_ENTITLEMENTS_PAT}
    scopes: [code.read, project.read, analytics.read]
  - name: no-projects
    value: {NO_PROJECTS_PAT}
    scopes: [code.read, memberentitlement.read, analytics.read]
  - {{name: revoked, value: {REVOKED_PAT}, revoked: true}}
  - {{name: one-organization, value: {ONE_ORGANIZATION_PAT}, organizations: [{CONTOSO}]}}
  - name: stakeholder
    value: {STAKEHOLDER_PAT}
    user: {{name: {STAKEHOLDER_NAME}, email: sam@contoso.example}}
    organizations: [{CONTOSO}]
organizations:
  - name: {CONTOSO}
    users:
      - {{name: Grace Hopper, email: grace@contoso.example}}
      - {{name: {STAKEHOLDER_NAME}, email: sam@contoso.example, license: Stakeholder}}
    projects:
      - name: {PROJECT}
        repositories:
          - name: payments-api
            files:
              catalog-info.yaml: "apiVersion: backstage.io/v1alpha1\\nkind: Component\\n"
              src/app.py: "print('pay')\\n"
          - {{name: payments-sandbox, empty: true}}
  - name: {FABRIKAM}
    projects:
      - name: Retail
        repositories:
          - {{name: storefront, files: {{README.md: "# Storefront"}}}}
"""

# Two profiles of the doctor estate ({api}: an emulator's base URL), and their tokens.
TWO_PROFILES = f"""\
profiles:
  - name: main
    organizations: [{CONTOSO}, {FABRIKAM}]
    api_url: {{api}}/
    token_env: DOCTOR_MAIN_PAT
  - name: stale
    organizations: [{CONTOSO}]
    api_url: {{api}}/
    token_env: DOCTOR_STALE_PAT
"""
TWO_PROFILES_ENVIRON = {"DOCTOR_MAIN_PAT": FULL_PAT, "DOCTOR_STALE_PAT": REVOKED_PAT}

FAST = RetryPolicy(max_attempts=2, max_elapsed=2, backoff_base=0.01)
SCOPE_CHECKS = (
    "scope:code-read",
    "scope:project-read",
    "scope:member-entitlement-read",
    "scope:analytics-read",
)
ORGANIZATION_CHECKS = ("api", "token", "access-level", *SCOPE_CHECKS)


def estate() -> Estate:
    """A fresh copy of the doctor estate."""
    return parse_estate(ESTATE_YAML, source="doctor-estate").estate


@pytest.fixture(scope="session")
def cloud() -> Iterator[RunningEmulator]:
    """The doctor estate in the cloud layout (read-only: no test writes to it)."""
    with run_in_thread(estate()) as emulator:
        yield emulator


@pytest.fixture
def serve() -> Iterator[Callable[..., RunningEmulator]]:
    """Start emulators for one test (``serve(estate_or_app, options=..., tls=...)``)."""
    with serving(estate) as start:
        yield start


@pytest.fixture
def two_profiles(cloud: RunningEmulator, tmp_path: Path) -> Path:
    """:data:`TWO_PROFILES` against :func:`cloud`, as ``catalog-bridge.yaml``."""
    path = tmp_path / "catalog-bridge.yaml"
    path.write_text(TWO_PROFILES.format(api=cloud.base_url), encoding="utf-8")
    return path


def make_profile(
    api_url: str,
    *,
    name: str = "default",
    token: str | None = FULL_PAT,
    organizations: Collection[str] = (CONTOSO,),
    **settings: Any,
) -> Profile:
    """A profile for ``api_url`` (an emulator's base URL, with or without a trailing slash)."""
    return Profile(
        name=name,
        organizations=tuple(organizations),
        api_url=api_url.rstrip("/") + "/",
        token=Secret(token) if token is not None else None,
        **settings,
    )


def run_doctor(*profiles: Profile, **options: Any) -> DoctorReport:
    """Diagnose ``profiles`` with a fast retry policy."""
    config = Config(profiles=profiles, source=Path("catalog-bridge.yaml"))
    return asyncio.run(diagnose(config, retry=FAST, timeout=5.0, **options))


def checks_of(report: DoctorReport, organization: str, profile: str = "default") -> list[Check]:
    """The checks of one organization of one profile, in report order."""
    return [c for c in report.checks if c.profile == profile and c.organization == organization]


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def statuses(checks: list[Check]) -> dict[str, str]:
    return {check.name: check.status for check in checks}
