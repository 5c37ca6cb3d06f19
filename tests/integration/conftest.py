"""Shared estates, tokens, clients and helpers for the client-against-emulator tests.

Every test here talks to an emulator over a real loopback socket (``run_in_thread``), never
through an in-process transport, except where a test needs a fault-free reference run of the
very same URLs (``reference_client``). Token values are canaries: long, recognisable and
checked for in everything a test captures.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote

import pytest

from bridge.azure import AzureDevOpsClient, FileContent, Project, Push, Repository, RetryPolicy
from bridge.emulator import (
    EmulatorApp,
    EmulatorTransport,
    Estate,
    GenerationSpec,
    RunningEmulator,
    Token,
    generate_estate,
    parse_estate,
)
from bridge.emulator.estate import SCOPES
from bridge.emulator.identity import Identity
from bridge.secrets import Secret
from tests.support.emulator import CATALOG, indented, serving

ORG = "contoso"
CATALOG_PATH = "/catalog-info.yaml"

# Canary tokens: any appearance of one in captured output is a leak.
ADMIN_PAT = "canary-pat-admin-3f9a1c7e5b2d4086"
SECOND_PAT = "canary-pat-second-8e2b6d4f0a1c3957"
PROJECTS_ONLY_PAT = "canary-pat-projects-only-6c0e2a4b8d1f"
REVOKED_PAT = "canary-pat-revoked-1d7f3b9e5c2a4860"
UNKNOWN_PAT = "canary-pat-unknown-9b5d1f7a3e0c2468"
BROKER_CANARY = "canary-broker-token-4a6c8e0b2d1f3957"

T = TypeVar("T")


ESTATE_YAML = f"""
tokens:
  - {{name: admin, value: {ADMIN_PAT}, user: {{name: Ada Admin, email: ada@contoso.example}}}}
  - {{name: second, value: {SECOND_PAT}}}
  - {{name: projects-only, value: {PROJECTS_ONLY_PAT}, scopes: [project.read]}}
  - {{name: revoked, value: {REVOKED_PAT}, revoked: true}}
organizations:
  - name: {ORG}
    projects:
      - name: Payments Platform
        repositories:
          - name: payments-api
            branches: [develop]
            files:
              catalog-info.yaml: |
{indented(CATALOG, 16)}
              README.md: "# Payments API"
          - name: Payments Docs
            files: {{README.md: "# Docs"}}
          - {{name: payments-sandbox, empty: true}}
          - name: legacy-billing
            disabled: true
            files: {{catalog-info.yaml: "kind: Component"}}
          - name: payments-api-fork
            fork: true
            files: {{README.md: "# Fork"}}
      - name: Identity
        repositories:
          - name: identity-service
            default_branch: trunk
            files: {{catalog-info.yaml: "apiVersion: backstage.io/v1alpha1"}}
"""


def small_estate() -> Estate:
    """A fresh copy of the small hand-written estate (one of every repository kind)."""
    return parse_estate(ESTATE_YAML, source="integration-estate").estate


def full_access_token(name: str, value: str) -> Token:
    """A token with every scope in every organization (for generated estates)."""
    identity = Identity.of(f"Integration {name}", f"{name}@integration.example")
    return Token(name, value, identity, SCOPES)


def generated_estate(**spec: Any) -> Estate:
    """A generated estate; its tokens are :data:`ADMIN_PAT` and :data:`SECOND_PAT` (all scopes)."""
    return generate_estate(
        GenerationSpec(**spec),
        tokens=[full_access_token("admin", ADMIN_PAT), full_access_token("second", SECOND_PAT)],
    )


def fast_retry(**overrides: Any) -> RetryPolicy:
    """Tiny backoffs so that retried faults cost milliseconds, generous attempt budget."""
    settings: dict[str, Any] = {
        "max_attempts": 8,
        "max_elapsed": 60.0,
        "backoff_base": 0.01,
        "backoff_cap": 0.05,
    }
    settings.update(overrides)
    return RetryPolicy(**settings)


def make_client(
    emulator: RunningEmulator,
    *,
    token: str = ADMIN_PAT,
    organization: str = ORG,
    api_url: str | None = None,
    **options: Any,
) -> AzureDevOpsClient:
    """A PAT client pointed at ``emulator`` over its real socket."""
    options.setdefault("retry", fast_retry())
    options.setdefault("timeout", 10.0)
    return AzureDevOpsClient(
        organization,
        token=Secret(token),
        api_url=api_url or f"{emulator.base_url}/",
        **options,
    )


def reference_client(
    estate: Estate, base_url: str, *, organization: str = ORG
) -> AzureDevOpsClient:
    """A fault-free, in-process client for the same URLs, to compare answers field by field."""
    return AzureDevOpsClient(
        organization,
        token=Secret(ADMIN_PAT),
        api_url=f"{base_url}/",
        transport=EmulatorTransport(EmulatorApp(estate)),
    )


async def push_catalog(
    client: AzureDevOpsClient, project: str, repository: str, *, branch: str, base_commit_id: str
) -> Push:
    """Commit :data:`CATALOG` as ``catalog-info.yaml`` to ``branch`` in one push."""
    return await client.push_file(
        project,
        repository,
        branch=branch,
        base_commit_id=base_commit_id,
        path=CATALOG_PATH,
        content=CATALOG,
        comment="Add catalog-info.yaml",
    )


@dataclass
class EstateView:
    """What a sync reads from one organization: projects, repositories, catalog files."""

    projects: list[Project]
    repositories: list[Repository]
    by_project: dict[str, list[Repository]] = field(default_factory=dict)
    files: dict[tuple[str, str], FileContent | None] = field(default_factory=dict)

    def assert_no_duplicates(self) -> None:
        """Each project and repository appears once (a retried page must not repeat)."""
        assert len({p.id for p in self.projects}) == len(self.projects)
        assert len({r.id for r in self.repositories}) == len(self.repositories)
        for repositories in self.by_project.values():
            assert len({r.id for r in repositories}) == len(repositories)


async def gather_limited(calls: Iterable[Callable[[], Awaitable[T]]], limit: int = 64) -> list[T]:
    """Run coroutine factories concurrently (at most ``limit`` started at once), in order."""
    gate = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await call()

    return list(await asyncio.gather(*(one(call) for call in calls)))


async def read_view(
    client: AzureDevOpsClient, *, per_project: bool = True, files: bool = True
) -> EstateView:
    """List everything and read the catalog file of every readable repository, concurrently."""
    projects = [project async for project in client.projects()]
    repositories = [repository async for repository in client.repositories()]
    view = EstateView(projects, repositories)
    if per_project:

        async def listing(name: str) -> list[Repository]:
            return [repository async for repository in client.repositories(name)]

        names = [project.name for project in projects]
        listings = await gather_limited(partial(listing, name) for name in names)
        view.by_project = dict(zip(names, listings, strict=True))
    if not files:
        return view
    readable = [r for r in repositories if not r.is_disabled and r.default_branch is not None]
    contents = await gather_limited(
        partial(client.file_content, r.project_name, r.name, CATALOG_PATH) for r in readable
    )
    view.files = {
        (r.project_name, r.name): content for r, content in zip(readable, contents, strict=True)
    }
    return view


async def assert_same_as_reference(
    view: EstateView, estate: Estate, base_url: str, *, organization: str = ORG
) -> None:
    """``view`` is what a fault-free reference client reads from the same URLs, and lists each
    project and repository once."""
    async with reference_client(estate, base_url, organization=organization) as reference:
        expected = await read_view(reference)
    assert view == expected
    view.assert_no_duplicates()


def expected_web_url(base: str, organization: str, project: str, repository: str) -> str:
    """The browser URL Azure DevOps gives a repository: every name percent-encoded."""
    parts = (quote(name, safe="") for name in (organization, project, repository))
    return "{}/{}/{}/_git/{}".format(base, *parts)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def serve() -> Iterator[Callable[..., RunningEmulator]]:
    """Start emulators on loopback (``serve(estate, options=..., tls=...)``); all stop after."""
    with serving(small_estate) as start:
        yield start


@pytest.fixture
def emulator(serve: Callable[..., RunningEmulator]) -> RunningEmulator:
    """The hand-written test estate, plain HTTP, no faults."""
    return serve()


@pytest.fixture
async def client(emulator: RunningEmulator) -> AsyncIterator[AzureDevOpsClient]:
    """An admin client of :func:`emulator`."""
    async with make_client(emulator) as azure:
        yield azure
