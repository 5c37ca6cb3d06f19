"""A test bed for stateful syncs: the sample estate served on loopback, a configuration
pointing at it, syncs run through the library, and real pushes to change the estate."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bridge.config import Config, load_config
from bridge.emulator import (
    EmulatorOptions,
    Estate,
    RunningEmulator,
    load_estate,
    run_in_thread,
    sample_estate_path,
)
from bridge.emulator.estate import Repository
from bridge.emulator.history import ZERO_ID
from bridge.nightly.publish import NightlyOptions
from bridge.sync.command import run_sync
from bridge.sync.engine import SyncOptions, SyncResult
from tests.support.emulator import find_repository

SYNCED_AT = datetime(2026, 12, 1, tzinfo=UTC)

TOKEN_ENV = "STATE_TEST_PAT"
CATALOG_PATH = "/catalog-info.yaml"


def catalog(name: str, *, title: str = "A title", owner: str = "group:default/team-a") -> str:
    """A valid catalog file of one Component."""
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n"
        f"  name: {name}\n  title: {title}\nspec:\n  type: service\n"
        f"  lifecycle: production\n  owner: {owner}\n"
    )


@dataclass(slots=True)
class Bed:
    """The estate, its emulator, and a configuration (developers collected) for it."""

    estate: Estate
    emulator: RunningEmulator
    token: str
    folder: Path
    config_file: Path
    config: Config
    _runs: Iterator[int] = field(default_factory=itertools.count)

    def sync(self, state: Path | None, *, full: bool = False) -> tuple[str, SyncResult, str]:
        """One sync into a new NDJSON file: its text, the result and the summary."""
        output = self.folder / f"run-{next(self._runs)}.ndjson"
        stderr = io.StringIO()
        result = run_sync(
            self.config,
            SyncOptions(),
            output=str(output),
            output_format="ndjson",
            stderr=stderr,
            progress=False,
            state=state,
            full=full,
            # One moment for every run: synced_at then says nothing about which run read an
            # entity, so the outputs of runs with and without a state can be compared bytewise.
            nightly=NightlyOptions(started=SYNCED_AT),
        ).result
        return output.read_text(encoding="utf-8"), result, stderr.getvalue()

    def repository(self, organization: str, project: str, name: str) -> Repository:
        """A repository of the estate, by names."""
        return find_repository(self.estate, organization, project, name)

    def push(
        self, repository: Repository, path: str, content: str | None, *, branch: str = "main"
    ) -> None:
        """Commit one change (``content`` None: delete ``path``) through the emulator's push
        API, as a person would: the listing's size, Search and content ids follow."""
        branch = repository.default_branch or branch
        # A protected branch takes pull requests only: this stands for a completed one.
        repository.protected_branches = frozenset()
        tip = repository.history.branch_tip(branch)
        if content is None:
            change = {"changeType": "delete", "item": {"path": path}}
        else:
            exists = tip is not None and path in tip.tree
            change = {
                "changeType": "edit" if exists else "add",
                "item": {"path": path},
                "newContent": {"content": content, "contentType": "rawtext"},
            }
        body = {
            "refUpdates": [
                {"name": f"refs/heads/{branch}", "oldObjectId": tip.commit_id if tip else ZERO_ID}
            ],
            "commits": [{"comment": "a change between runs", "changes": [change]}],
        }
        organization = repository.organization.name
        url = (
            f"{self.emulator.base_url}/{organization}/{repository.project.id}"
            f"/_apis/git/repositories/{repository.id}/pushes"
        )
        answer = httpx.post(url, params={"api-version": "7.1"}, json=body, auth=("", self.token))
        assert answer.status_code == 201, answer.text


def write_config(folder: Path, base_url: str, *, extra: str = "") -> Path:
    """A configuration for the sample estate (developers of the last 400 days collected)."""
    config_file = folder / "catalog-bridge.yaml"
    config_file.write_text(
        "profiles:\n"
        "  - name: nightly\n"
        '    organizations: ["*"]\n'
        f"    api_url: {base_url}/\n"
        f"    token_env: {TOKEN_ENV}\n"
        "    developers_days: 400\n"
        "    backstage:\n"
        "      attributes: [catalog_name, title, category, lifecycle, owner, application]\n"
        + extra,
        encoding="utf-8",
    )
    return config_file


def full_token(estate: Estate) -> str:
    """The sample estate's token that sees every organization."""
    return next(
        t.value for t in estate.tokens.values() if not t.revoked and t.organizations is None
    )


@contextmanager
def serving_bed(folder: Path, options: EmulatorOptions | None = None) -> Iterator[Bed]:
    """The sample estate on loopback and a configuration for it, until the block ends."""
    loaded = load_estate(sample_estate_path())
    token = full_token(loaded.estate)
    with run_in_thread(loaded.estate, options=options or loaded.options) as emulator:
        config_file = write_config(folder, emulator.base_url)
        config = load_config(config_file, environ={TOKEN_ENV: token})
        yield Bed(loaded.estate, emulator, token, folder, config_file, config)
