"""propose with the real generation library behind its seam (the other tests hand-make files)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bridge.azure.client import AzureDevOpsClient
from bridge.azure.models import Team
from bridge.catalog.validation import validate_text
from bridge.emulator import RunningEmulator
from bridge.errors import EXIT_OK, AzureDevOpsError
from bridge.propose.command import ProposeRequest
from tests.propose.conftest import (
    BRANCH,
    estate_repository,
    pull_requests,
    run_propose,
    write_config,
)


def test_missing_files_are_generated_with_their_provenance(
    tmp_path: Path, emulator: RunningEmulator
) -> None:
    config = write_config(tmp_path, emulator, "{enabled: true}")
    code, _, err = run_propose(config, ProposeRequest(apply=True))
    assert code == EXIT_OK, err
    for name in ("cart", "checkout"):
        [pr] = pull_requests(emulator, "contoso", name)
        # The description lists each inferred value with its source: the owner came from
        # the project's default team, as the generation library infers it.
        assert "teams" in pr.description.lower(), pr.description
        history = estate_repository(emulator, "contoso", name).history
        proposed = history.commits[history.refs[f"refs/heads/{BRANCH}"]].tree["/catalog-info.yaml"]
        text = proposed.decode("utf-8")
        assert text.startswith("#")  # says it was generated, for the reviewer
        [document] = validate_text(text, location=f"file:{name}/catalog-info.yaml")
        assert document.ok, document
        entity = yaml.safe_load(text)
        assert entity["metadata"]["name"] == name
        assert entity["metadata"]["annotations"]["dev.azure.com/project-repo"] == f"Shop/{name}"
        assert entity["spec"]["owner"] == "group:default/shop-team"  # the default team


def test_a_project_whose_teams_cannot_be_read_is_skipped_with_the_reason(
    tmp_path: Path, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(client: AzureDevOpsClient, project: str) -> list[Team]:
        raise AzureDevOpsError("teams refused", project=project, status=403)

    monkeypatch.setattr(AzureDevOpsClient, "teams", refused)
    config = write_config(tmp_path, emulator, "{enabled: true}")
    _, out, _ = run_propose(config, ProposeRequest())
    assert "contoso/Shop: skipped: teams not read: teams refused (HTTP 403)\n" in out
