"""Shared estates, tokens and clients for the emulator tests (all traffic on 127.0.0.1)."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable, Iterator

import httpx
import pytest

from bridge.emulator import (
    Estate,
    EstateFile,
    GenerationSpec,
    RunningEmulator,
    generate_estate,
    parse_estate,
)
from bridge.emulator.generator import DEFAULT_TOKEN_VALUE
from tests.support.emulator import CATALOG, indented, serving

ADMIN = "admin-token-0123456789"
READER = "reader-token-0123456789"
NO_PROJECTS = "code-only-token-0123456789"
REVOKED = "revoked-token-0123456789"
FABRIKAM_ONLY = "fabrikam-token-0123456789"

ESTATE_YAML = f"""
tokens:
  - {{name: admin, value: {ADMIN}, user: {{name: Ada Admin, email: ada@contoso.example}}}}
  - name: reader
    value: {READER}
    scopes: [code.read, project.read, analytics.read]
    organizations: [contoso]
  - {{name: code-only, value: {NO_PROJECTS}, scopes: [code.read]}}
  - {{name: revoked, value: {REVOKED}, revoked: true}}
  - {{name: fabrikam-only, value: {FABRIKAM_ONLY}, organizations: [fabrikam]}}
organizations:
  - name: contoso
    users:
      - {{name: Grace Hopper, email: grace@contoso.example, license: Stakeholder}}
    projects:
      - name: Payments
        description: Money in, money out.
        repositories:
          - name: payments-api
            branches: [develop]
            protected_branches: [main]
            files:
              catalog-info.yaml: |
{indented(CATALOG, 16)}
              README.md: "# Payments API"
              src/app.py: "print('pay')"
            commits:
              - message: Initial commit
                author: Grace Hopper <grace@contoso.example>
                days_ago: 300
              - message: "Add catalog file\\n\\nWith details."
                author: {{name: Alan Turing, email: alan@contoso.example}}
                days_ago: 120
              - message: Update dependencies
                author: Grace Hopper <grace@contoso.example>
                days_ago: 3
          - name: Payments Docs
            files: {{README.md: "# Docs"}}
          - {{name: payments-sandbox, empty: true}}
          - name: legacy-billing
            disabled: true
            files: {{catalog-info.yaml: "kind: Component"}}
          - name: payments-api-fork
            fork: true
            files: {{README.md: "# Fork"}}
        teams:
          - name: Payments Team
            admins: [Grace Hopper <grace@contoso.example>]
            members: [{{name: Alan Turing, email: alan@contoso.example}}]
          - {{name: Checkout, description: Pays.}}
      - name: Identity
        repositories:
          - name: identity-service
            default_branch: trunk
            files:
              catalog-info.yaml: "apiVersion: backstage.io/v1alpha1"
              docs/catalog-info.yaml: "nested: true"
  - name: fabrikam
    projects:
      - name: Retail
        repositories:
          - name: storefront
            files: {{catalog-info.yaml: "kind: System"}}
"""


def auth(token: str) -> httpx.BasicAuth:
    """Basic credentials the way Azure DevOps clients send a PAT (empty user name)."""
    return httpx.BasicAuth("", token)


def basic_header(token: str) -> str:
    """The ``Authorization`` value for a PAT with an empty user name."""
    return "Basic " + base64.b64encode(f":{token}".encode()).decode()


def estate_file() -> EstateFile:
    """A fresh copy of the shared test estate."""
    return parse_estate(ESTATE_YAML, source="test-estate")


@contextlib.contextmanager
def generated_client(
    serve: Callable[..., RunningEmulator], spec: GenerationSpec
) -> Iterator[tuple[httpx.Client, str]]:
    """A client (with the generated estate's token) of an emulator serving the estate of
    ``spec``, and the name of its first organization."""
    estate = generate_estate(spec)
    emulator = serve(estate)
    with httpx.Client(
        base_url=emulator.base_url, auth=auth(DEFAULT_TOKEN_VALUE), timeout=30
    ) as client:
        yield client, estate.organizations[0].name


@pytest.fixture
def estate() -> Estate:
    return estate_file().estate


@pytest.fixture
def serve(estate: Estate) -> Iterator[Callable[..., RunningEmulator]]:
    """Start emulators on loopback (any options); all are stopped after the test."""
    with serving(lambda: estate) as start:
        yield start


@pytest.fixture
def emulator(serve: Callable[..., RunningEmulator]) -> RunningEmulator:
    return serve()


@pytest.fixture
def client(emulator: RunningEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.base_url, auth=auth(ADMIN), timeout=10) as session:
        yield session


API = {"api-version": "7.1"}
