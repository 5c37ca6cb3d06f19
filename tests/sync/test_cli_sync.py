"""``catalog-bridge sync`` and ``catalog-bridge demo`` end to end: the real CLI in its own
process, against the Azure DevOps emulator served on 127.0.0.1 from this process.

Each run writes a configuration file to a temporary folder, puts the token in an environment
variable, starts ``python -m bridge ...`` and checks what a user gets: the entities
(validated against the published JSON Schema), the summary on standard error, the exit code,
and, through the emulator's counters, exactly which requests were made. Token values are
canaries: every captured output and every file written is checked for them.

A Python start-up per run is most of the cost, so the runs that depend on nothing else
(``SCENARIOS``) are started together, each against an emulator of its own, and the tests
read their results; runs that must be steered (interrupted, or following ``init``) are run
by their tests.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bridge.emulator import (
    EmulatorOptions,
    EstateFile,
    FaultOptions,
    RunningEmulator,
    load_estate,
    parse_estate,
    run_in_thread,
    sample_estate_path,
)
from bridge.emulator.estate import Repository as EstateRepository
from bridge.sync.output import entity_schema
from tests.support.emulator import find_repository
from tests.support.secrets import assert_no_secrets, secret_forms

Entity = dict[str, Any]

# --- Tokens: canaries that must never show up in anything a test captures ----------------------

ALL_PAT = "canary-pat-all-orgs-7f3a9c2e51d84b60"
CONTOSO_PAT = "canary-pat-contoso-2b8e4d1f0a6c9357"
REVOKED_PAT = "canary-pat-revoked-5c1e7a9b3d2f8046"
# Lists projects, but lacks Code (Read): every repository list is refused.
PROJECTS_PAT = "canary-pat-projects-only-9d4b2f7e1c3a5086"
TOKEN_ENV = {
    "ALL_PAT": ALL_PAT,
    "CONTOSO_PAT": CONTOSO_PAT,
    "REVOKED_PAT": REVOKED_PAT,
    "PROJECTS_PAT": PROJECTS_PAT,
}
# A token written into a configuration file by mistake (classic Azure DevOps PAT format).
LITERAL_PAT = "k4v7q2m5x8z3c6b9n2w5e8r3t6y9u2i5o8p3a6s9d2f5g8h3j6l9"
CANARIES = (ALL_PAT, CONTOSO_PAT, REVOKED_PAT, PROJECTS_PAT, LITERAL_PAT)


def assert_no_token(text: str, *extra: str) -> None:
    """No token appears in ``text``, in any form that would be a leak."""
    assert_no_secrets([text], secret_forms(*CANARIES, *extra))


# --- The estate ----------------------------------------------------------------------------------

PAYMENTS_API = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments-api
  title: Payments API
  annotations:
    example.com/owner: team-cards
spec:
  type: service
  lifecycle: production
  owner: group:default/payments
  system: payments
"""

# Invalid (the name), although every context field is set: none may reach the context.
REFUNDS = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: Refunds Service!
  title: Refunds
spec:
  type: service
  lifecycle: production
  owner: group:default/payments
  system: payments
"""

# Two Components and a System: two context entries, in file order; the System gives none.
ORDERS = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: orders-api
  title: Orders API
spec:
  type: service
  lifecycle: production
  owner: group:default/orders
  system: orders
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: orders-web
spec:
  type: website
  lifecycle: experimental
  owner: group:default/orders
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: orders
spec:
  owner: group:default/orders
"""

# A valid Component, then an invalid one (its name, on line 13 of the file).
LEDGER = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ledger
spec:
  type: service
  lifecycle: production
  owner: group:default/finance
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: Ledger Admin
spec:
  type: website
  lifecycle: production
  owner: group:default/finance
  system: ledger
"""

# Not YAML at all: an unterminated quoted scalar.
NOTES = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: "notes
spec:
  type: service
"""

IDENTITY = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: identity-service
spec:
  type: service
  lifecycle: production
  owner: group:default/identity
  system: identity
"""

STOREFRONT = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: storefront
spec:
  type: website
  lifecycle: production
  owner: group:default/web
  system: retail
"""


def _block(text: str) -> str:
    """A catalog file as the value of ``catalog-info.yaml: |`` in ESTATE."""
    return textwrap.indent(text, " " * 16).rstrip("\n")


def _flow(text: str) -> str:
    """A catalog file as a double-quoted YAML scalar, for one-line repositories."""
    return json.dumps(text)


ESTATE = f"""
tokens:
  - name: all
    value: {ALL_PAT}
    user: {{name: Ada Lovelace, email: ada@contoso.example}}
  - name: contoso-reader
    value: {CONTOSO_PAT}
    user: {{name: Grace Hopper, email: grace@contoso.example}}
    organizations: [contoso]
    scopes: [code.read, project.read]
  - name: revoked
    value: {REVOKED_PAT}
    revoked: true
  - name: projects-only
    value: {PROJECTS_PAT}
    scopes: [project.read]
organizations:
  - name: contoso
    projects:
      - name: Payments
        repositories:
          - name: payments-api
            languages: {{Python: 12000, YAML: 300}}
            files:
              catalog-info.yaml: |
{_block(PAYMENTS_API)}
            commits:
              - {{message: Initial commit, author: Carol <carol@contoso.example>, days_ago: 400}}
              - {{message: Add catalog, author: Ada Lovelace <ada@contoso.example>, days_ago: 300}}
              - {{message: Retry payouts, author: Bob <bob@contoso.example>, days_ago: 100}}
              - {{message: Update, author: Ada Lovelace <ada@contoso.example>, days_ago: 10}}
          - name: payouts-ui
            files:
              README.md: "# Payouts UI\\n"
              src/app.ts: "export const app = 1;\\n"
            commits:
              - {{message: Initial commit, author: Bob <bob@contoso.example>, days_ago: 120}}
          - name: refunds
            files:
              catalog-info.yaml: |
{_block(REFUNDS)}
            commits:
              - {{message: Refunds, author: Ada Lovelace <ada@contoso.example>, days_ago: 400}}
          - name: orders
            files:
              catalog-info.yaml: |
{_block(ORDERS)}
            commits:
              - {{message: Initial commit, author: Bob <bob@contoso.example>, days_ago: 20}}
          - name: ledger
            files:
              catalog-info.yaml: |
{_block(LEDGER)}
            commits:
              - {{message: Initial commit, author: Bob <bob@contoso.example>, days_ago: 30}}
          - name: notes
            files:
              catalog-info.yaml: |
{_block(NOTES)}
            commits:
              - {{message: Initial commit, author: Bob <bob@contoso.example>, days_ago: 40}}
          - name: legacy-billing
            disabled: true
            files:
              catalog-info.yaml: |
{_block(PAYMENTS_API)}
            commits:
              - {{message: Initial commit, author: Carol <carol@contoso.example>, days_ago: 900}}
          - name: sandbox
            empty: true
          - name: payments-api-fork
            fork: true
            files:
              README.md: "# Fork\\n"
            commits:
              - {{message: Fork, author: Bob <bob@contoso.example>, days_ago: 2}}
      - name: Identity Platform
        visibility: public
        repositories:
          - name: identity-service
            files:
              catalog-info.yaml: |
{_block(IDENTITY)}
              src/Program.cs: "class Program {{}}\\n"
  - name: fabrikam
    projects:
      - name: Retail
        repositories:
          - name: storefront
            files:
              catalog-info.yaml: |
{_block(STOREFRONT)}
          - name: basket
            files:
              README.md: "# Basket\\n"
"""

# What ESTATE holds, as the tests count it.
CONTOSO_REPOSITORIES, CONTOSO_READABLE = 10, 8  # readable: neither disabled nor empty
FABRIKAM_REPOSITORIES, FABRIKAM_READABLE = 2, 2
ALL_STATUSES = {"found": 4, "missing": 3, "invalid": 3, "unreadable": 0, "skipped": 2}

# 101 projects in one organization (two pages of the project list), and a small one.
PAGED_PROJECTS = "".join(
    f"      - {{name: project-{i:03}, repositories: [{{name: repo-{i:03}}}]}}\n" for i in range(101)
)
PAGED_ESTATE = f"""
tokens:
  - {{name: all, value: {ALL_PAT}}}
organizations:
  - name: big
    projects:
{PAGED_PROJECTS}  - name: small
    projects:
      - name: One
        repositories:
          - {{name: a}}
          - {{name: b}}
          - {{name: off, disabled: true}}
          - {{name: nothing, empty: true}}
      - name: Two
        repositories:
          - {{name: c}}
"""

STARTER_ESTATE = f"""
tokens:
  - {{name: all, value: {ALL_PAT}}}
organizations:
  - name: my-organization
    projects:
      - name: Starter
        repositories:
          - {{name: hello, files: {{catalog-info.yaml: {_flow(STOREFRONT)}}}}}
"""

# Answered at once but the file read of `slow`, held for 30 s: an interrupted run has three
# entities done and one request in flight.
INTERRUPT_ESTATE = f"""
tokens:
  - {{name: all, value: {ALL_PAT}}}
organizations:
  - name: contoso
    projects:
      - name: Payments
        repositories:
          - {{name: fast-1, files: {{catalog-info.yaml: {_flow(IDENTITY)}}}}}
          - {{name: fast-2}}
          - {{name: fast-3}}
          - {{name: slow}}
"""
SLOW_FILE = EmulatorOptions(
    faults=FaultOptions(
        latency_ms=30_000, routes=("/contoso/Payments/_apis/git/repositories/slow/items",)
    )
)
ANSWERED_BEFORE_THE_SLOW_ONE = 3 + 2 * 4 - 1  # projects, repositories, languages; 2 per repo

# A server error the client does not retry (501 is not transient), on one repository's file
# read only: listing, the latest commit and every other file read succeed.
ONE_FILE_READ_FAILS = EmulatorOptions(
    faults=FaultOptions(
        server_error_rate=1.0,
        server_error_statuses=(501,),
        routes=("/contoso/Payments/_apis/git/repositories/payments-api/items",),
    )
)

# Server errors the client does not retry, on the commits of one repository (its latest commit
# and its developers) and on the language metrics of one project: fields that cannot be read.
FIELDS_FAIL = EmulatorOptions(
    faults=FaultOptions(
        server_error_rate=1.0,
        server_error_statuses=(501,),
        routes=(
            "/contoso/Payments/_apis/git/repositories/payouts-ui/commits",
            "/contoso/Identity*/_apis/projectanalysis/languagemetrics",
        ),
    )
)

# Every answer held 0 to 40 ms: repositories finish in a different order on each run.
JITTER = EmulatorOptions(faults=FaultOptions(latency_jitter_ms=40))

PREVIOUS_OUTPUT = '[\n{"name":"from the previous, complete run"}\n]\n'

# --- Configurations ({api}: the emulator's URL) -------------------------------------------------

EVERYTHING = """\
profiles:
  - name: everything
    organizations: [contoso, fabrikam]
    api_url: {api}
    token_env: ALL_PAT
    backstage:
      filename: catalog-info.yaml
"""

CONTOSO = """\
profiles:
  - name: contoso
    organizations: [contoso]
    api_url: {api}
    token_env: ALL_PAT
    backstage: {}
"""

EVERY_ORGANIZATION = """\
profiles:
  - name: all
    organizations: ["*"]
    api_url: {api}
    token_env: ALL_PAT
    backstage: {}
"""

SELECTED_AND_OVERRIDDEN = """\
profiles:
  - name: selected
    organizations: [contoso]
    api_url: {api}
    token_env: ALL_PAT
    backstage:
      attributes: [catalog_name, owner]
  - name: overridden
    organizations: [contoso]
    api_url: {api}
    token_env: ALL_PAT
    backstage:
      attributes: [catalog_name, owner, application]
      fields:
        owner: metadata.annotations."example.com/owner"
        application: spec.system
"""

TWO_PROFILES = """\
profiles:
  - name: contoso-readonly
    organizations: [contoso]
    api_url: {api}
    token_env: CONTOSO_PAT
  - name: fabrikam
    organizations: [fabrikam]
    api_url: {api}
    token_env: ALL_PAT
    backstage: {}
"""

STAR_WITH_A_NARROW_TOKEN = """\
profiles:
  - name: narrow
    organizations: ["*"]
    api_url: {api}
    token_env: CONTOSO_PAT
"""

PROJECTS_ONLY = """\
profiles:
  - name: projects-only
    organizations: [contoso, fabrikam]
    api_url: {api}
    token_env: PROJECTS_PAT
    backstage: {}
"""

REVOKED_AND_MISSPELT = """\
profiles:
  - name: stale
    organizations: [contoso]
    api_url: {api}
    token_env: REVOKED_PAT
    backstage: {}
  - name: fresh
    organizations: [fabrikam, fabrikom]
    api_url: {api}
    token_env: ALL_PAT
    backstage: {}
"""

ALL_REFUSED = """\
profiles:
  - name: stale
    organizations: [contoso, fabrikam]
    api_url: {api}
    token_env: REVOKED_PAT
    backstage: {}
"""

DEVELOPERS_30_DAYS = """\
profiles:
  - name: contoso
    organizations: [contoso]
    api_url: {api}
    token_env: ALL_PAT
    developers_days: 30
    backstage: {}
"""

EVERY_PROBLEM = f"""\
profiles:
  - name: literal
    organizations: [contoso]
    api_url: {{api}}
    token: {LITERAL_PAT}
  - name: pasted
    organizations: [contoso]
    api_url: {{api}}
    token_env: {LITERAL_PAT}
  - name: typo
    organisations: [contoso]
    api_url: {{api}}
    token_env: ALL_PAT
  - name: unset
    organizations: [contoso]
    api_url: {{api}}
    token_env: CATALOG_BRIDGE_TEST_UNSET_PAT
"""

# --- Entities: the schema, and the estate's own facts to check them against --------------------

VALIDATOR = jsonschema.Draft202012Validator(
    entity_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)


def assert_schema_valid(entities: Sequence[Entity]) -> None:
    for entity in entities:
        errors = [error.message for error in VALIDATOR.iter_errors(entity)]
        assert errors == [], (entity["name"], errors)


def own_context(entity: Entity) -> list[dict[str, Any]]:
    """The entity's context entries without their provenance, once checked: each was read
    from the repository's own catalog file at the commit the entity names."""
    catalog = entity["catalog"]
    provenance = {"origin": "repository", "file": catalog["path"], "commit": catalog["commit"]}
    entries = []
    for entry in entity["context"]:
        assert {key: entry[key] for key in provenance} == provenance
        entries.append({key: value for key, value in entry.items() if key not in provenance})
    return entries


def by_name(entities: Sequence[Entity]) -> dict[str, Entity]:
    named = {entity["name"]: entity for entity in entities}
    assert len(named) == len(entities), "repository names repeat: key by profile too"
    return named


def estate_repository(launch: Launch, org: str, project: str, name: str) -> EstateRepository:
    """A repository as ``launch``'s emulator serves it (its ids, commits and dates)."""
    assert launch.estate is not None
    return find_repository(launch.estate.estate, org, project, name)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def tip_commit(repository: EstateRepository) -> str:
    tip = repository.history.branch_tip("main")
    assert tip is not None
    return tip.commit_id


def tip_date(repository: EstateRepository) -> datetime:
    tip = repository.history.branch_tip("main")
    assert tip is not None
    return tip.committer.date


def last_changed_commit(repository: EstateRepository) -> str:
    history = repository.history
    tip = history.branch_tip("main")
    assert tip is not None
    return history.last_change(tip, "/catalog-info.yaml").commit_id


def status_line(counts: Mapping[str, int]) -> str:
    order = ("found", "missing", "invalid", "unreadable", "skipped")
    return "  catalog files: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in order) + "\n"


def summary_requests(stderr: str) -> int:
    found = re.search(r"\((\d+) requests?, 0 retries\)", stderr)
    assert found is not None, stderr
    return int(found[1])


# --- Running the CLI ------------------------------------------------------------------------------


@dataclass
class Run:
    """A finished ``catalog-bridge`` process."""

    code: int
    stdout: str
    stderr: str

    def entities(self) -> list[Entity]:
        """Standard output as NDJSON: every line one whole JSON object."""
        assert self.stdout == "" or self.stdout.endswith("\n")
        return [json.loads(line) for line in self.stdout.splitlines()]


def _environment(tokens: Mapping[str, str] | None) -> dict[str, str]:
    cleared = {"CATALOG_BRIDGE_CONFIG", "CATALOG_BRIDGE_DEBUG", "TF_BUILD", "SYSTEM_ACCESSTOKEN"}
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in cleared and key not in TOKEN_ENV and not key.startswith("AZURE_DEVOPS")
    }
    env.update(TOKEN_ENV if tokens is None else tokens)
    return env


def start_cli(*args: str, cwd: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """Start ``python -m bridge ARGS``; ``env``: the token variables (default: all of them)."""
    return subprocess.Popen(
        [sys.executable, "-m", "bridge", *args],
        cwd=cwd,
        env=_environment(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


def finish(process: subprocess.Popen[str]) -> Run:
    stdout, stderr = process.communicate(timeout=60)
    assert_no_token(stdout)
    assert_no_token(stderr)
    assert "Traceback" not in stderr
    return Run(process.returncode, stdout, stderr)


def cli(*args: str, cwd: Path, env: Mapping[str, str] | None = None) -> Run:
    return finish(start_cli(*args, cwd=cwd, env=env))


def write_config(folder: Path, emulator: RunningEmulator | None, text: str) -> Path:
    """``catalog-bridge.yaml`` in ``folder``; ``{api}`` becomes the emulator's URL (a closed
    loopback port without an emulator)."""
    api = f"{emulator.base_url}/" if emulator is not None else "http://127.0.0.1:9/"
    path = folder / "catalog-bridge.yaml"
    path.write_text(text.replace("{api}", api), encoding="utf-8")
    return path


def read_output(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    assert_no_token(text)
    return text


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    # Generous: it only bounds a failing wait; a loaded CI machine may start the CLI slowly.
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


# --- Runs started together ------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One ``catalog-bridge`` run (``--config`` is added after the command name)."""

    args: tuple[str, ...]
    config: str | None = None
    estate: str | None = ESTATE  # served by an emulator of the run's own; None: no emulator
    options: EmulatorOptions | None = None
    env: Mapping[str, str] | None = None  # the token variables (default: all of them)
    files: Mapping[str, str] = field(default_factory=dict)  # in the run's folder beforehand


class Launch:
    """A scenario's process, started; ``run`` waits for it. ``requests`` are its emulator's
    counters once it finished: that run's requests and nothing else."""

    def __init__(self, scenario: Scenario, folder: Path, stack: ExitStack) -> None:
        self.folder = folder
        self.emulator: RunningEmulator | None = None
        self.estate: EstateFile | None = None  # what the emulator serves, to check against
        if scenario.estate is not None:
            self.estate = loaded = parse_estate(scenario.estate)
            self.emulator = stack.enter_context(
                run_in_thread(loaded.estate, options=scenario.options, host="127.0.0.1")
            )
        for name, text in scenario.files.items():
            (folder / name).write_text(text, encoding="utf-8")
        args = list(scenario.args)
        if scenario.config is not None:
            args[1:1] = ["--config", str(write_config(folder, self.emulator, scenario.config))]
        self._process = start_cli(*args, cwd=folder, env=scenario.env)
        self._run: Run | None = None
        self._requests: dict[str, Any] = {}

    @property
    def run(self) -> Run:
        if self._run is None:
            self._run = finish(self._process)
            if self.emulator is not None:
                self._requests = self.emulator.stats.snapshot()
        return self._run

    @property
    def requests(self) -> dict[str, Any]:
        assert self.run is not None
        return self._requests

    def entities(self) -> list[Entity]:
        return self.run.entities()

    def output(self, name: str) -> str:
        assert self.run is not None
        return read_output(self.folder / name)

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.communicate()


SCENARIOS = {
    "everything": Scenario(("sync",), EVERYTHING),
    "every organization": Scenario(("sync",), EVERY_ORGANIZATION, estate=PAGED_ESTATE),
    "unreadable": Scenario(("sync",), CONTOSO, options=ONE_FILE_READ_FAILS),
    "fields unavailable": Scenario(("sync", "--developers", "365"), CONTOSO, options=FIELDS_FAIL),
    "no repository readable": Scenario(
        ("sync", "-f", "json", "-o", "entities.json"),
        PROJECTS_ONLY,
        files={"entities.json": PREVIOUS_OUTPUT},
    ),
    "attributes": Scenario(("sync",), SELECTED_AND_OVERRIDDEN),
    "two profiles": Scenario(("sync",), TWO_PROFILES),
    "--profile": Scenario(
        ("sync", "--profile", "fabrikam"), TWO_PROFILES, env={"ALL_PAT": ALL_PAT}
    ),
    "--org": Scenario(("sync", "--org", "CONTOSO"), TWO_PROFILES),
    "unknown --profile": Scenario(("sync", "--profile", "nope"), TWO_PROFILES),
    "unknown --org": Scenario(("sync", "--org", "fabrikom"), TWO_PROFILES),
    "star, narrow token": Scenario(("sync",), STAR_WITH_A_NARROW_TOKEN),
    "partial": Scenario(("sync", "-f", "json", "-o", "entities.json"), REVOKED_AND_MISSPELT),
    "all refused": Scenario(
        ("sync", "-f", "json", "-o", "entities.json"),
        ALL_REFUSED,
        files={"entities.json": PREVIOUS_OUTPUT},
    ),
    "json": Scenario(("sync", "-f", "json", "-o", "entities.json"), EVERYTHING),
    "yaml": Scenario(("sync", "--format", "yaml", "--output", "entities.yaml"), EVERYTHING),
    "table": Scenario(
        ("sync", "-f", "table", "-o", "entities.table"),
        EVERYTHING,
        files={"entities.table": "an older table\n"},
    ),
    "developers 365": Scenario(("sync", "--developers", "365"), DEVELOPERS_30_DAYS),
    "full disk": Scenario(("sync", "-o", "/dev/full"), CONTOSO),
    "developers_days 30": Scenario(("sync",), DEVELOPERS_30_DAYS),
    "no config": Scenario(("sync",), estate=None),
    "no such config": Scenario(("sync", "--config", "nowhere.yaml"), estate=None),
    "config problems": Scenario(("sync",), EVERY_PROBLEM, estate=None),
    "demo": Scenario(("demo", "--output", "demo.ndjson"), estate=None, env={}),
}


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Launch]]:
    """Every scenario, started at once (each in a folder of its own)."""
    with ExitStack() as stack:
        launches = {
            name: Launch(scenario, tmp_path_factory.mktemp("run"), stack)
            for name, scenario in SCENARIOS.items()
        }
        try:
            yield launches
        finally:
            for launch in launches.values():
                launch.close()


@pytest.fixture(scope="module")
def everything(launched: dict[str, Launch]) -> dict[str, Entity]:
    """The entities of the whole estate, synced with the default Backstage settings."""
    return by_name(launched["everything"].entities())


# --- 1. Every catalog status, and the repository's own facts --------------------------------------


def test_a_clean_sync_exits_0_with_valid_entities_on_stdout_and_a_summary(
    launched: dict[str, Launch], everything: dict[str, Entity]
) -> None:
    run = launched["everything"].run
    assert run.code == 0, run.stderr
    assert len(everything) == CONTOSO_REPOSITORIES + FABRIKAM_REPOSITORIES
    assert_schema_valid(list(everything.values()))
    assert run.stderr.startswith("Synced 12 repositories from 2 organizations in ")
    assert status_line(ALL_STATUSES) in run.stderr
    assert "  by organization: contoso 10, fabrikam 2\n" in run.stderr
    assert "Failed" not in run.stderr
    assert "Unreadable" not in run.stderr
    assert Counter(e["catalog"]["status"] for e in everything.values()) == {
        status: count for status, count in ALL_STATUSES.items() if count
    }


def test_found_fills_the_context_from_the_valid_component(
    launched: dict[str, Launch], everything: dict[str, Entity]
) -> None:
    entity = everything["payments-api"]
    repository = estate_repository(launched["everything"], "contoso", "Payments", "payments-api")
    assert entity["id"] == repository.id
    assert (entity["organization"], entity["project"], entity["profile"]) == (
        "contoso",
        "Payments",
        "everything",
    )
    assert re.fullmatch(
        r"http://127\.0\.0\.1:\d+/contoso/Payments/_git/payments-api", entity["url"]
    )
    assert entity["default_branch"] == "main"
    assert entity["catalog"] == {
        "status": "found",
        "path": "/catalog-info.yaml",
        # Read at the tip of main (GitItem.commitId), and the commit that last changed it.
        "commit": tip_commit(repository),
        "last_changed_commit": last_changed_commit(repository),
        "reason": None,
        "documents": 1,
        "problems": [],
    }
    assert entity["context"] == [
        {
            "catalog_name": "payments-api",
            "title": "Payments API",
            "category": "service",
            "lifecycle": "production",
            "owner": "group:default/payments",
            "application": "payments",
            "source": "Backstage",
            # Where it was read: the file, at the commit the catalog was read at.
            "origin": "repository",
            "file": "/catalog-info.yaml",
            "commit": tip_commit(repository),
        }
    ]


def test_a_missing_file_is_missing_with_a_reason(
    launched: dict[str, Launch], everything: dict[str, Entity]
) -> None:
    entity = everything["payouts-ui"]
    assert entity["catalog"] == {
        "status": "missing",
        "path": "/catalog-info.yaml",
        "commit": None,
        "last_changed_commit": None,
        "reason": "no /catalog-info.yaml on the default branch",
        "documents": 0,
        "problems": [],
    }
    assert entity["context"] == []
    # The emulator answered TF401174 (HTTP 404) to each of the three missing files.
    assert launched["everything"].requests["by_route_status"]["git.items"] == {
        "200": 7,
        "404": 3,
    }


def test_an_invalid_file_reports_its_problems_and_gives_no_context(
    everything: dict[str, Entity],
) -> None:
    entity = everything["refunds"]
    catalog = entity["catalog"]
    assert (catalog["status"], catalog["reason"], catalog["documents"]) == ("invalid", None, 1)
    [problem] = catalog["problems"]
    assert (problem["document"], problem["line"], problem["column"]) == (0, 4, 9)
    assert (problem["severity"], problem["rule"]) == ("error", "field-format")
    assert problem["message"].startswith('"metadata.name" is not valid')
    assert '"Refunds Service!"' in problem["message"]
    assert entity["context"] == []  # though its owner, system and the rest are all set


def test_a_file_that_is_not_yaml_is_invalid_at_the_syntax_error(
    everything: dict[str, Entity],
) -> None:
    catalog = everything["notes"]["catalog"]
    assert catalog["status"] == "invalid"
    [problem] = catalog["problems"]
    assert (problem["line"], problem["severity"], problem["rule"]) == (7, "error", "yaml-syntax")
    assert "while scanning a quoted scalar" in problem["message"]
    assert everything["notes"]["context"] == []


def test_disabled_and_empty_repositories_are_skipped_without_a_read(
    everything: dict[str, Entity],
) -> None:
    disabled, empty = everything["legacy-billing"], everything["sandbox"]
    assert disabled["catalog"] == {
        "status": "skipped",
        "path": "/catalog-info.yaml",
        "commit": None,
        "last_changed_commit": None,
        "reason": "the repository is disabled",
        "documents": 0,
        "problems": [],
    }
    assert empty["catalog"]["status"] == "skipped"
    assert empty["catalog"]["reason"] == "the repository is empty (no branch)"
    # The disabled repository holds a valid catalog file: it must not have been read.
    assert disabled["context"] == [] and empty["context"] == []
    assert (disabled["is_disabled"], disabled["is_empty"]) == (True, False)
    assert (empty["is_disabled"], empty["is_empty"]) == (False, True)
    assert (empty["default_branch"], empty["size"], empty["languages"]) == (None, 0, {})
    for entity in (disabled, empty):
        assert (entity["last_commit_at"], entity["freshness"]) == (None, "n/a")


def test_fork_freshness_languages_and_visibility(
    launched: dict[str, Launch], everything: dict[str, Entity]
) -> None:
    assert {name for name, e in everything.items() if e["is_fork"]} == {"payments-api-fork"}
    assert {name: e["freshness"] for name, e in everything.items()} == {
        "payments-api": "active",  # latest commit 10 days ago
        "payouts-ui": "inactive",  # 120 days
        "refunds": "dormant",  # 400 days
        "orders": "active",
        "ledger": "active",
        "notes": "active",
        "legacy-billing": "n/a",  # disabled: no commit read
        "sandbox": "n/a",  # empty: no commit
        "payments-api-fork": "active",
        "identity-service": "active",  # the emulator's default commit, a day ago
        "storefront": "active",
        "basket": "active",
    }
    for name in ("payments-api", "payouts-ui", "refunds"):
        repository = estate_repository(launched["everything"], "contoso", "Payments", name)
        assert everything[name]["last_commit_at"] == iso(tip_date(repository))
    # Declared metrics as bytes; otherwise the metrics of the files themselves.
    assert everything["payments-api"]["languages"] == {"Python": 12000, "YAML": 300}
    assert everything["payouts-ui"]["languages"] == {"Markdown": 13, "TypeScript": 22}
    assert everything["identity-service"]["visibility"] == "public"
    assert everything["payments-api"]["visibility"] == "private"
    assert everything["identity-service"]["url"].endswith(
        "/contoso/Identity%20Platform/_git/identity-service"
    )


def test_without_developers_the_key_is_absent(everything: dict[str, Entity]) -> None:
    assert all("developers" not in entity for entity in everything.values())


def test_a_failed_file_read_is_unreadable_and_the_run_exits_1(
    launched: dict[str, Launch],
) -> None:
    launch = launched["unreadable"]
    assert launch.run.code == 1, launch.run.stderr
    entities = by_name(launch.entities())
    assert_schema_valid(list(entities.values()))
    entity = entities["payments-api"]
    assert entity["catalog"] == {
        "status": "unreadable",
        "path": "/catalog-info.yaml",
        "commit": None,
        "last_changed_commit": None,
        "reason": "An Internal Error Occurred. (TF400898, HTTP 501)",
        "documents": 0,
        "problems": [],
    }
    assert entity["context"] == []
    # The latest commit was read all the same: freshness does not depend on the file.
    assert entity["freshness"] == "active"
    assert entity["last_commit_at"] is not None
    assert entities["orders"]["catalog"]["status"] == "found"
    stderr = launch.run.stderr
    assert status_line({"found": 2, "missing": 2, "invalid": 3, "unreadable": 1, "skipped": 2}) in (
        stderr
    )
    assert "Unreadable catalog files:\n  1: An Internal Error Occurred. (TF400898, HTTP 501)\n" in (
        stderr
    )
    assert "Failed" not in stderr
    # Asked once, not retried.
    assert launch.requests["faults"] == {"server_error": 1}
    assert launch.requests["by_route_status"]["git.items"] == {"200": 5, "404": 2, "501": 1}


def test_fields_that_could_not_be_read_are_null_named_and_the_run_exits_1(
    launched: dict[str, Launch],
) -> None:
    launch = launched["fields unavailable"]
    run = launch.run
    assert run.code == 1, run.stderr
    entities = by_name(launch.entities())
    assert_schema_valid(list(entities.values()))
    failed = "An Internal Error Occurred. (TF400898, HTTP 501)"
    payouts = entities["payouts-ui"]
    assert payouts["unavailable"] == [
        {"field": "developers", "reason": failed},
        {"field": "last_commit_at", "reason": failed},
    ]
    assert (payouts["last_commit_at"], payouts["freshness"], payouts["developers"]) == (
        None,
        "n/a",
        None,
    )
    assert payouts["languages"] == {"Markdown": 13, "TypeScript": 22}  # its project's metrics
    identity = entities["identity-service"]
    assert identity["unavailable"] == [{"field": "languages", "reason": failed}]
    assert identity["languages"] is None
    assert identity["freshness"] == "active"
    # An empty repository has nothing to read: not unavailable, just empty.
    sandbox = entities["sandbox"]
    assert (sandbox["unavailable"], sandbox["developers"], sandbox["languages"]) == ([], [], {})
    assert sandbox["last_commit_at"] is None
    degraded = {"payouts-ui", "identity-service"}
    assert all(e["unavailable"] == [] for name, e in entities.items() if name not in degraded)
    assert (
        "Fields that could not be read, in 2 repositories (null in their entities, named under "
        "`unavailable`):\n"
        f"  1 developers: {failed}\n"
        f"  1 languages: {failed}\n"
        f"  1 last_commit_at: {failed}\n"
        "  - contoso: contoso/Identity Platform/identity-service: languages\n"
        "  - contoso: contoso/Payments/payouts-ui: developers, last_commit_at\n"
    ) in run.stderr
    assert "Failed" not in run.stderr
    # Not retried (501 is not transient), and nothing else refused.
    assert launch.requests["faults"] == {"server_error": 3}


# --- 2. Several entities in one file --------------------------------------------------------------


def test_two_components_and_a_system_give_two_context_entries(
    everything: dict[str, Entity],
) -> None:
    entity = everything["orders"]
    assert (entity["catalog"]["status"], entity["catalog"]["documents"]) == ("found", 3)
    assert entity["catalog"]["problems"] == []
    assert own_context(entity) == [
        {
            "catalog_name": "orders-api",
            "title": "Orders API",
            "category": "service",
            "lifecycle": "production",
            "owner": "group:default/orders",
            "application": "orders",
            "source": "Backstage",
        },
        {  # no title, no system: those attributes are left out, not null
            "catalog_name": "orders-web",
            "category": "website",
            "lifecycle": "experimental",
            "owner": "group:default/orders",
            "source": "Backstage",
        },
    ]


def test_a_valid_and_an_invalid_component_make_the_file_invalid(
    everything: dict[str, Entity],
) -> None:
    entity = everything["ledger"]
    catalog = entity["catalog"]
    assert (catalog["status"], catalog["documents"]) == ("invalid", 2)
    # In the second document, on line 13 of the file (not of the document).
    assert [(p["document"], p["line"], p["column"], p["rule"]) for p in catalog["problems"]] == [
        (1, 13, 9, "field-format")
    ]
    # Only the valid Component: nothing from "Ledger Admin", though it sets a system.
    assert own_context(entity) == [
        {
            "catalog_name": "ledger",
            "category": "service",
            "lifecycle": "production",
            "owner": "group:default/finance",
            "source": "Backstage",
        }
    ]


# --- 3. Attribute selection and field overrides ---------------------------------------------------


def test_attribute_selection_and_field_overrides_with_a_quoted_key(
    launched: dict[str, Launch],
) -> None:
    run = launched["attributes"].run
    assert run.code == 0, run.stderr
    entities = run.entities()
    assert_schema_valid(entities)
    context = {(e["profile"], e["name"]): own_context(e) for e in entities}
    assert len(context) == len(entities) == 2 * CONTOSO_REPOSITORIES
    assert context["selected", "payments-api"] == [
        {"catalog_name": "payments-api", "owner": "group:default/payments", "source": "Backstage"}
    ]
    assert context["selected", "orders"] == [
        {"catalog_name": "orders-api", "owner": "group:default/orders", "source": "Backstage"},
        {"catalog_name": "orders-web", "owner": "group:default/orders", "source": "Backstage"},
    ]
    # The owner comes from the annotation whose key holds a dot and a slash.
    assert context["overridden", "payments-api"] == [
        {
            "catalog_name": "payments-api",
            "owner": "team-cards",
            "application": "payments",
            "source": "Backstage",
        }
    ]
    # Without that annotation the owner is left out: spec.owner is no fallback.
    assert context["overridden", "orders"] == [
        {"catalog_name": "orders-api", "application": "orders", "source": "Backstage"},
        {"catalog_name": "orders-web", "source": "Backstage"},
    ]


# --- 4. Several profiles and organizations --------------------------------------------------------


def test_two_profiles_with_their_own_tokens_and_organizations(
    launched: dict[str, Launch],
) -> None:
    launch = launched["two profiles"]
    # The languages the narrow token may not read make the run exit 1 (see below).
    assert launch.run.code == 1, launch.run.stderr
    entities = launch.entities()
    assert_schema_valid(entities)
    assert Counter((e["profile"], e["organization"]) for e in entities) == {
        ("contoso-readonly", "contoso"): CONTOSO_REPOSITORIES,
        ("fabrikam", "fabrikam"): FABRIKAM_REPOSITORIES,
    }
    named = by_name(entities)
    # The profile without a backstage section reads no catalog file, and says so.
    refused = (
        "Azure DevOps rejected the token: it is expired or revoked, or lacks a scope "
        "(You are not authorized to access {api}.) (VS30063, HTTP 401). Hint: this call needs "
        "a token with the Code (Read) and Analytics (Read) scope"
    )
    assert launch.emulator is not None
    refused = refused.format(api=launch.emulator.base_url)
    for entity in (e for e in entities if e["profile"] == "contoso-readonly"):
        assert entity["catalog"]["status"] == "skipped"
        assert entity["context"] == []
        if entity["name"] == "sandbox":  # empty: it has no languages, known without metrics
            assert (entity["languages"], entity["unavailable"]) == ({}, [])
            continue
        # Its token lacks Analytics (Read): languages are unknown (null), not empty, and why.
        assert entity["languages"] is None
        assert entity["unavailable"] == [{"field": "languages", "reason": refused}]
    assert all(e["unavailable"] == [] for e in entities if e["profile"] == "fabrikam")
    assert (
        "Fields that could not be read, in 9 repositories (null in their entities, named under "
        f"`unavailable`):\n  9 languages: {refused}\n"
        "  - contoso-readonly: contoso/Identity Platform/identity-service: languages\n"
    ) in launch.run.stderr
    assert named["payments-api"]["catalog"]["reason"] == (
        "the Backstage catalog is not enabled for this profile"
    )
    assert named["legacy-billing"]["catalog"]["reason"] == "the repository is disabled"
    assert named["payments-api"]["freshness"] == "active"  # the latest commit is still read
    assert named["storefront"]["context"][0]["catalog_name"] == "storefront"
    assert named["storefront"]["languages"] == {"YAML": len(STOREFRONT)}
    assert status_line({"found": 1, "missing": 1, "skipped": 10}) in launch.run.stderr
    requests = launch.requests
    assert requests["by_route"]["git.items"] == FABRIKAM_READABLE
    assert requests["by_route"]["git.commits"] == CONTOSO_READABLE + FABRIKAM_READABLE
    assert requests["by_route_status"]["analytics.languageMetrics"] == {"200": 1, "401": 2}


def test_profile_and_org_filters(launched: dict[str, Launch]) -> None:
    # --profile: the other profile's token variable need not even be set.
    only_fabrikam = launched["--profile"]
    assert only_fabrikam.run.code == 0, only_fabrikam.run.stderr
    assert {(e["profile"], e["name"]) for e in only_fabrikam.entities()} == {
        ("fabrikam", "storefront"),
        ("fabrikam", "basket"),
    }
    # --org, case-insensitive as Azure DevOps organization names are.
    only_contoso = launched["--org"]
    assert only_contoso.run.code == 1, only_contoso.run.stderr  # its token lacks Analytics
    assert Counter(e["organization"] for e in only_contoso.entities()) == {
        "contoso": CONTOSO_REPOSITORIES
    }
    assert "  by organization: contoso 10\n" in only_contoso.run.stderr
    assert only_contoso.requests["by_route"]["core.projects"] == 1  # fabrikam: not a request
    assert "git.items" not in only_contoso.requests["by_route"]
    # An unknown profile is a usage error that names the profiles the file defines.
    unknown = launched["unknown --profile"].run
    assert unknown.code == 2
    assert unknown.stdout == ""
    assert "unknown profile 'nope'" in unknown.stderr
    assert "defines: contoso-readonly, fabrikam" in unknown.stderr
    assert launched["unknown --profile"].requests["requests"] == 0


def test_an_org_filter_that_matches_no_configured_organization_is_an_error(
    launched: dict[str, Launch],
) -> None:
    run = launched["unknown --org"].run
    assert run.code == 2
    assert "fabrikom" in run.stderr


def test_star_syncs_every_organization_the_token_sees(launched: dict[str, Launch]) -> None:
    launch = launched["every organization"]
    assert launch.run.code == 0, launch.run.stderr
    entities = launch.entities()
    assert Counter(e["organization"] for e in entities) == {"big": 101, "small": 5}
    assert_schema_valid(entities)
    assert "  by organization: big 101, small 5\n" in launch.run.stderr


def test_star_with_a_token_for_named_organizations_is_refused(
    launched: dict[str, Launch],
) -> None:
    launch = launched["star, narrow token"]
    assert launch.run.code == 4
    assert launch.run.stdout == ""
    assert "Failed (1):\n  narrow: Azure DevOps rejected the token" in launch.run.stderr
    assert "'All accessible organizations' (organization list) scope" in launch.run.stderr
    assert launch.requests["by_route_status"] == {
        "profile.me": {"200": 1},
        "accounts.list": {"401": 1},
    }


# --- 5. Partial failures --------------------------------------------------------------------------


def test_a_revoked_token_and_a_misspelt_organization_fail_alone(
    launched: dict[str, Launch],
) -> None:
    launch = launched["partial"]
    run = launch.run
    assert run.code == 1
    assert run.stdout == ""
    entities = json.loads(launch.output("entities.json"))
    assert_schema_valid(entities)
    assert {(e["profile"], e["organization"], e["name"]) for e in entities} == {
        ("fresh", "fabrikam", "storefront"),
        ("fresh", "fabrikam", "basket"),
    }
    assert run.stderr.startswith("Synced 2 repositories from 1 organization in ")
    failed = run.stderr.split("Failed (2):\n", 1)[1].splitlines()
    assert len(failed) == 2
    revoked = next(line for line in failed if line.startswith("  stale: contoso: "))
    assert "Azure DevOps rejected the token: it is expired or revoked" in revoked
    assert "(VS30063, HTTP 401)" in revoked
    misspelt = next(line for line in failed if line.startswith("  fresh: fabrikom: "))
    assert "The organization 'fabrikom' does not exist. (HTTP 404)" in misspelt


def test_every_organization_refusing_the_token_exits_4(launched: dict[str, Launch]) -> None:
    launch = launched["all refused"]
    run = launch.run
    assert run.code == 4
    assert run.stdout == ""
    assert run.stderr.startswith("Synced 0 repositories from 0 organizations in ")
    assert "Failed (2):\n  stale: contoso: " in run.stderr
    assert "\n  stale: fabrikam: " in run.stderr
    assert run.stderr.count("Azure DevOps rejected the token: it is expired or revoked") == 2
    # One refused project listing per organization, and nothing after it.
    assert launch.requests["by_route_status"] == {"core.projects": {"401": 2}}


def test_a_run_that_synced_nothing_leaves_the_previous_output_alone(
    launched: dict[str, Launch],
) -> None:
    launch = launched["all refused"]
    assert launch.run.code == 4
    assert launch.output("entities.json") == PREVIOUS_OUTPUT


def test_a_token_that_can_read_no_repository_keeps_the_previous_output_and_exits_4(
    launched: dict[str, Launch],
) -> None:
    launch = launched["no repository readable"]
    run = launch.run
    assert run.code == 4, run.stderr
    assert run.stdout == ""
    # The projects were listed, but not one repository: there is nothing to replace it with.
    assert launch.output("entities.json") == PREVIOUS_OUTPUT
    assert run.stderr.startswith("Synced 0 repositories from 2 organizations in ")
    failed = run.stderr.split("Failed (3):\n", 1)[1].splitlines()
    assert [line.split(": Azure DevOps rejected the token")[0] for line in failed] == [
        "  projects-only: contoso/Identity Platform",
        "  projects-only: contoso/Payments",
        "  projects-only: fabrikam/Retail",
    ]
    assert launch.requests["by_route_status"]["git.repositories"] == {"401": 3}


def test_a_failure_line_names_its_place_once(launched: dict[str, Launch]) -> None:
    stderr = launched["all refused"].run.stderr
    failures = stderr.split("Failed (2):\n", 1)[1].splitlines()
    assert [line.split(": Azure DevOps rejected")[0] for line in failures] == [
        "  stale: contoso",
        "  stale: fabrikam",
    ]


# --- 6. Output formats and atomic files -----------------------------------------------------------


def _same_entities(entities: Sequence[Entity], base_url: str) -> list[Entity]:
    """``entities`` ordered by id, with URLs relative to their emulator and without the
    moment each run read them (runs of the same estate on different emulators then compare
    equal)."""
    relative = [{**e, "url": e["url"].removeprefix(base_url), "synced_at": None} for e in entities]
    return sorted(relative, key=lambda e: e["id"])


def test_json_yaml_and_table_files_hold_the_entities_of_stdout(
    launched: dict[str, Launch], everything: dict[str, Entity]
) -> None:
    texts = {}
    for fmt in ("json", "yaml", "table"):
        launch = launched[fmt]
        assert launch.run.code == 0, (fmt, launch.run.stderr)
        assert launch.run.stdout == ""  # the entities go to the file, the summary to stderr
        assert status_line(ALL_STATUSES) in launch.run.stderr
        # The file took its name; no temporary file is left beside it.
        assert sorted(p.name for p in launch.folder.iterdir()) == [
            "catalog-bridge.yaml",
            f"entities.{fmt}",
        ]
        texts[fmt] = launch.output(f"entities.{fmt}")

    def base(name: str) -> str:
        emulator = launched[name].emulator
        assert emulator is not None
        return emulator.base_url

    expected = _same_entities(list(everything.values()), base("everything"))
    from_json = json.loads(texts["json"])
    assert _same_entities(from_json, base("json")) == expected
    # A JSON array, yet one entity per line (diffable).
    first, *middle, last = texts["json"].splitlines()
    assert (first, last, len(middle)) == ("[", "]", len(expected))
    assert [json.loads(line.removesuffix(",")) for line in middle] == from_json
    assert _same_entities(yaml.safe_load(texts["yaml"]), base("yaml")) == expected
    header, *rows = (re.split(r" {2,}", line.strip()) for line in texts["table"].splitlines())
    assert header == ["REPOSITORY", "CATALOG", "FRESHNESS", "OWNER", "APPLICATION", "PROBLEMS"]
    assert len(rows) == len(expected)
    table = {row[0]: row[1:] for row in rows}
    assert table["contoso/Payments/payments-api"] == [
        "found", "active", "group:default/payments", "payments", "0"
    ]  # fmt: skip
    assert table["contoso/Payments/refunds"] == ["invalid", "dormant", "-", "-", "1"]
    assert table["contoso/Payments/sandbox"] == ["skipped", "n/a", "-", "-", "0"]


@contextmanager
def _held(folder: Path, output: Path, fmt: str) -> Iterator[subprocess.Popen[str]]:
    """Sync INTERRUPT_ESTATE into ``output``: the process, once only the slow read is in flight
    and the temporary file beside ``output`` exists (killed at the end if still running)."""
    loaded = parse_estate(INTERRUPT_ESTATE)
    with run_in_thread(loaded.estate, options=SLOW_FILE, host="127.0.0.1") as emulator:
        path = write_config(folder, emulator, CONTOSO)
        process = start_cli("sync", "-c", str(path), "-f", fmt, "-o", str(output), cwd=folder)
        try:
            stats = emulator.stats
            wait_for(
                lambda: (
                    stats.count() == ANSWERED_BEFORE_THE_SLOW_ONE
                    and stats.snapshot()["in_flight"] == 1
                ),
                "every request but the slow one",
            )
            wait_for(lambda: bool(temporary_files(output)), "the temporary file")
            assert process.poll() is None
            yield process
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()


def temporary_files(output: Path) -> list[str]:
    return sorted(path.name for path in output.parent.glob(f".{output.name}.*.tmp"))


STOPS = [
    ("ndjson", signal.SIGINT),
    ("json", signal.SIGINT),
    ("yaml", signal.SIGINT),
    ("table", signal.SIGINT),
    ("ndjson", signal.SIGTERM),
    ("json", signal.SIGTERM),
]


@pytest.mark.parametrize(("fmt", "signum"), STOPS)
def test_an_interrupted_or_terminated_run_leaves_the_previous_file_untouched(
    tmp_path: Path, fmt: str, signum: signal.Signals
) -> None:
    output = tmp_path / f"entities.{fmt}"
    output.write_text(PREVIOUS_OUTPUT, encoding="utf-8")
    output.chmod(0o640)
    with _held(tmp_path, output, fmt) as process:
        process.send_signal(signum)
        run = finish(process)
    # SIGTERM (CI cancellation, `docker stop`) is an orderly stop, as Ctrl-C is.
    code, said = (130, "interrupted") if signum == signal.SIGINT else (143, "terminated")
    assert run.code == code, run.stderr
    assert run.stderr == f"{said}\n"  # nothing else: no warning, no traceback
    assert run.stdout == ""
    assert output.read_text(encoding="utf-8") == PREVIOUS_OUTPUT
    assert output.stat().st_mode & 0o777 == 0o640
    # Neither the temporary file nor the lock file is left.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog-bridge.yaml", output.name]


def test_a_killed_run_leaves_the_previous_file_and_the_next_run_cleans_up(
    tmp_path: Path,
) -> None:
    output = tmp_path / "entities.ndjson"
    previous = "".join(f'{{"name":"previous-{i}"}}\n' for i in range(3))
    output.write_text(previous, encoding="utf-8")
    with _held(tmp_path, output, "ndjson") as process:
        leftovers = temporary_files(output)
        process.kill()
        process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert output.read_text(encoding="utf-8") == previous  # whole, not cut to what was done
    assert temporary_files(output) == leftovers  # what SIGKILL leaves: no handler runs
    # The next run that completes removes what the killed one left (its lock file included).
    loaded = parse_estate(INTERRUPT_ESTATE)
    with run_in_thread(loaded.estate, host="127.0.0.1") as emulator:
        path = write_config(tmp_path, emulator, CONTOSO)
        run = cli("sync", "-c", str(path), "-o", str(output), cwd=tmp_path)
    assert run.code == 0, run.stderr
    names = [json.loads(line)["name"] for line in read_output(output).splitlines()]
    assert names == ["fast-1", "fast-2", "fast-3", "slow"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog-bridge.yaml", output.name]


def test_a_second_run_writing_the_same_file_is_refused(tmp_path: Path) -> None:
    output = tmp_path / "entities.ndjson"
    output.write_text(PREVIOUS_OUTPUT, encoding="utf-8")
    with _held(tmp_path, output, "ndjson") as first:
        second = cli(
            "sync", "-c", str(tmp_path / "catalog-bridge.yaml"), "-o", str(output), cwd=tmp_path
        )
        assert second.code == 75
        assert second.stdout == ""
        assert second.stderr == (
            f"catalog-bridge: error: cannot write {output}: another catalog-bridge run "
            f"(process {first.pid}) is writing it (lock file {tmp_path / '.entities.ndjson.lock'})"
            "; wait for it to finish, or write elsewhere\n"
        )
        assert first.poll() is None  # the first run goes on, undisturbed
        first.send_signal(signal.SIGTERM)
        assert finish(first).code == 143
    assert output.read_text(encoding="utf-8") == PREVIOUS_OUTPUT


def test_a_full_disk_is_a_clean_error(launched: dict[str, Launch]) -> None:
    run = launched["full disk"].run
    assert run.code == 1
    assert run.stdout == ""
    assert run.stderr == "catalog-bridge: error: cannot write /dev/full: No space left on device\n"


@pytest.mark.parametrize("fmt", ["ndjson", "json"])
def test_a_closed_standard_output_ends_the_run_quietly(tmp_path: Path, fmt: str) -> None:
    loaded = parse_estate(ESTATE)
    reader, writer = os.pipe()
    os.close(reader)  # as `sync | head -c 10` does once it has its ten bytes
    try:
        with run_in_thread(loaded.estate, host="127.0.0.1") as emulator:
            path = write_config(tmp_path, emulator, EVERYTHING)
            process = subprocess.Popen(
                [sys.executable, "-m", "bridge", "sync", "-c", str(path), "-f", fmt],
                cwd=tmp_path,
                env=_environment(None),
                stdin=subprocess.DEVNULL,
                stdout=writer,
                stderr=subprocess.PIPE,
                text=True,
            )
            _, stderr = process.communicate(timeout=60)
    finally:
        os.close(writer)
    # 141 = 128 + SIGPIPE, what a shell reports for `yes | head`; no message, no traceback.
    assert (process.returncode, stderr) == (141, "")


def test_two_runs_of_an_unchanged_estate_write_the_same_bytes(tmp_path: Path) -> None:
    loaded = parse_estate(ESTATE)
    formats = ("ndjson", "json", "yaml", "table")
    with run_in_thread(loaded.estate, options=JITTER, host="127.0.0.1") as emulator:
        path = write_config(tmp_path, emulator, EVERYTHING)
        # The previous night: unchanged entities keep the moment it read them (synced_at).
        assert finish(start_cli("sync", "-c", str(path), "-o", "night-1", cwd=tmp_path)).code == 0
        # Started together: repositories finish in another order in each run.
        processes = [
            start_cli(
                "sync",
                "-c",
                str(path),
                "-f",
                fmt,
                "-o",
                f"{fmt}-{run}",
                "--previous",
                "night-1",
                cwd=tmp_path,
            )
            for run in (1, 2)
            for fmt in formats
        ]
        runs = [finish(process) for process in processes]
    assert [run.code for run in runs] == [0] * len(runs), [run.stderr for run in runs]
    for fmt in formats:
        first, second = (tmp_path / f"{fmt}-{run}" for run in (1, 2))
        assert first.read_bytes() == second.read_bytes(), fmt
    entities = json.loads(read_output(tmp_path / "json-1"))
    places = [(e["organization"], e["project"], e["name"]) for e in entities]
    assert places == sorted(places, key=lambda place: tuple(part.casefold() for part in place))
    lines = read_output(tmp_path / "ndjson-1").splitlines()
    assert [json.loads(line) for line in lines] == entities
    assert places[:3] == [
        ("contoso", "Identity Platform", "identity-service"),
        ("contoso", "Payments", "ledger"),
        ("contoso", "Payments", "legacy-billing"),
    ]


# --- 7. Configuration errors, and init ------------------------------------------------------------


def test_a_missing_configuration_file_points_at_init(launched: dict[str, Launch]) -> None:
    for name, shown in (("no config", "catalog-bridge.yaml"), ("no such config", "nowhere.yaml")):
        run = launched[name].run
        assert run.code == 3
        assert run.stdout == ""
        assert run.stderr == (
            f"catalog-bridge: error: {shown}: configuration file not found; write a commented "
            "starter file with `catalog-bridge init`, or name an existing file with --config "
            "or CATALOG_BRIDGE_CONFIG\n"
        )


def test_every_configuration_problem_is_reported_at_once(launched: dict[str, Launch]) -> None:
    launch = launched["config problems"]
    run = launch.run  # the literal token is among the canaries: it was not echoed
    assert run.code == 3
    assert run.stdout == ""
    path = launch.folder / "catalog-bridge.yaml"
    advice = (
        "put the token in an environment variable and write its name "
        "(token_env: AZURE_DEVOPS_EXT_PAT), or in a file (token_file: PATH)"
    )
    assert run.stderr == (
        f"catalog-bridge: error: {path}: 5 problems:\n"
        "  line 5: profiles[0].token: tokens must not be written in the configuration file; "
        f"{advice}\n"
        f"  line 9: profiles[1].token_env: looks like a token, not a variable name; {advice}\n"
        '  line 10: profiles[2]: needs at least one organization, or ["*"] for every '
        "organization\n"
        "  line 11: profiles[2].organisations: unknown key 'organisations'; "
        "did you mean organizations?\n"
        "  line 17: profiles[3].token_env: environment variable CATALOG_BRIDGE_TEST_UNSET_PAT "
        "is not set\n"
    )


def test_init_writes_a_starter_that_syncs_once_pointed_at_the_emulator(tmp_path: Path) -> None:
    written = cli("init", cwd=tmp_path, env={})
    assert written.code == 0, written.stderr
    assert written.stdout == (
        "Wrote catalog-bridge.yaml; set the token variable it names, then run "
        "catalog-bridge doctor.\n"
    )
    config = tmp_path / "catalog-bridge.yaml"
    starter = config.read_text(encoding="utf-8")
    assert "    organizations: [my-organization]\n" in starter
    cloud = "    api_url: https://dev.azure.com/\n"
    assert starter.count(cloud) == 1
    token_line = starter.splitlines().index("    token_env: AZURE_DEVOPS_EXT_PAT") + 1
    loaded = parse_estate(STARTER_ESTATE)
    with run_in_thread(loaded.estate, host="127.0.0.1") as emulator:
        config.write_text(
            starter.replace(cloud, f"    api_url: {emulator.base_url}/\n"), encoding="utf-8"
        )
        # Found in the current folder without --config: first without its token variable,
        # then with it.
        unset = start_cli("sync", cwd=tmp_path, env={})
        synced = start_cli("sync", cwd=tmp_path, env={"AZURE_DEVOPS_EXT_PAT": ALL_PAT})
        unset_run, run = finish(unset), finish(synced)
    assert unset_run.code == 3
    assert unset_run.stdout == ""
    assert unset_run.stderr == (
        f"catalog-bridge: error: catalog-bridge.yaml, line {token_line}: profiles[0].token_env: "
        "environment variable AZURE_DEVOPS_EXT_PAT is not set\n"
    )
    assert run.code == 0, run.stderr
    [entity] = run.entities()
    assert_schema_valid([entity])
    assert (entity["profile"], entity["organization"], entity["project"], entity["name"]) == (
        "default",
        "my-organization",
        "Starter",
        "hello",
    )
    assert entity["catalog"]["status"] == "found"
    assert own_context(entity) == [
        {
            "catalog_name": "storefront",
            "category": "website",
            "lifecycle": "production",
            "owner": "group:default/web",
            "application": "retail",
            "source": "Backstage",
        }
    ]
    assert "developers" not in entity  # the starter's developers_days: 0


# --- 8. Developers --------------------------------------------------------------------------------


def test_developers_over_365_days_from_the_commit_history(
    launched: dict[str, Launch],
) -> None:
    launch = launched["developers 365"]
    assert launch.run.code == 0, launch.run.stderr
    entities = by_name(launch.entities())
    assert_schema_valid(list(entities.values()))
    tip = tip_date(estate_repository(launch, "contoso", "Payments", "payments-api"))
    # Carol's commit, 400 days old, is outside the window; Ada's two commits come first.
    assert entities["payments-api"]["developers"] == [
        {
            "name": "Ada Lovelace",
            "email": "ada@contoso.example",
            "commits": 2,
            "last_commit_at": iso(tip),
        },
        {
            "name": "Bob",
            "email": "bob@contoso.example",
            "commits": 1,
            "last_commit_at": iso(tip - timedelta(days=90)),
        },
    ]
    assert entities["refunds"]["developers"] == []  # its only commit is 400 days old
    assert entities["legacy-billing"]["developers"] == []  # disabled: not read
    assert entities["sandbox"]["developers"] == []  # empty: no commit
    assert [d["email"] for d in entities["identity-service"]["developers"]] == [
        "emulator@emulator.example"
    ]
    # One more request per readable repository, none for the disabled and the empty one.
    requests = launch.requests
    assert requests["by_route"]["git.commits"] == 2 * CONTOSO_READABLE
    assert requests["requests"] == 3 * CONTOSO_READABLE + 2 * 2 + 1


def test_the_profile_developers_days_apply_without_the_option(
    launched: dict[str, Launch],
) -> None:
    launch = launched["developers_days 30"]
    assert launch.run.code == 0, launch.run.stderr
    entities = by_name(launch.entities())
    tip = tip_date(estate_repository(launch, "contoso", "Payments", "payments-api"))
    assert entities["payments-api"]["developers"] == [
        {
            "name": "Ada Lovelace",
            "email": "ada@contoso.example",
            "commits": 1,
            "last_commit_at": iso(tip),
        }
    ]
    assert entities["payouts-ui"]["developers"] == []  # 120 days old


# --- 9. The demo ----------------------------------------------------------------------------------


def test_the_demo_syncs_the_sample_estate(launched: dict[str, Launch]) -> None:
    launch = launched["demo"]
    run = launch.run
    assert run.code == 0, run.stderr
    assert run.stdout == ""
    sample = load_estate(sample_estate_path())
    sample_tokens = tuple(sample.estate.tokens)
    assert_no_token(run.stderr, *sample_tokens)
    text = launch.output("demo.ndjson")
    assert_no_token(text, *sample_tokens)
    entities = [json.loads(line) for line in text.splitlines()]
    assert len(entities) == sum(1 for _ in sample.estate.repositories()) == 28
    assert_schema_valid(entities)
    assert len({e["id"] for e in entities}) == 28
    statuses = Counter(e["catalog"]["status"] for e in entities)
    assert set(statuses) == {"found", "missing", "invalid", "skipped"}
    assert {e["organization"] for e in entities} == {"contoso", "fabrikam"}
    assert all(e["url"].startswith("http://127.0.0.1:") for e in entities)
    assert sum(len(e["context"]) for e in entities) == statuses["found"]
    lines = run.stderr.splitlines()
    assert re.fullmatch(
        r"Azure DevOps emulator with the sample estate at http://127\.0\.0\.1:\d+", lines[0]
    )
    assert lines[1].startswith("Synced 28 repositories from 2 organizations in ")
    assert status_line(statuses) in run.stderr
    assert lines[-1] == "Entities written to demo.ndjson"
    assert sorted(p.name for p in launch.folder.iterdir()) == ["demo.ndjson"]


# --- 10. Requests: exactly what the entities need -------------------------------------------------


def test_requests_are_two_per_readable_repository_and_two_per_project(
    launched: dict[str, Launch],
) -> None:
    launch = launched["everything"]
    readable, projects, project_pages = CONTOSO_READABLE + FABRIKAM_READABLE, 3, 2
    requests = launch.requests
    assert requests["by_route"] == {
        "core.projects": project_pages,
        "git.repositories": projects,
        "analytics.languageMetrics": projects,
        "git.items": readable,
        "git.commits": readable,
    }
    assert requests["requests"] == 2 * readable + 2 * projects + project_pages
    assert set(requests["by_status"]) == {"200", "404"}  # nothing refused, nothing retried
    assert summary_requests(launch.run.stderr) == requests["requests"]


def test_star_and_paged_projects_cost_exactly_two_requests_more(
    launched: dict[str, Launch],
) -> None:
    launch = launched["every organization"]
    readable, projects, project_pages = 101 + 3, 101 + 2, 2 + 1
    requests = launch.requests
    assert requests["by_route"] == {
        "profile.me": 1,
        "accounts.list": 1,
        "core.projects": project_pages,
        "git.repositories": projects,
        "analytics.languageMetrics": projects,
        "git.items": readable,
        "git.commits": readable,
    }
    assert requests["requests"] == 2 * readable + 2 * projects + project_pages + 2
    assert summary_requests(launch.run.stderr) == requests["requests"]
