"""``AzureDevOpsClient.teams``: a project's teams in one request, the default team first."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bridge.azure import AzureDevOpsClient
from bridge.azure.models import Team
from bridge.errors import AzureDevOpsError
from bridge.secrets import Secret
from tests.generate.conftest import Served


def test_teams_of_a_project_in_one_request_default_team_first(sample: Served) -> None:
    async def read() -> list[Team]:
        async with AzureDevOpsClient(
            "contoso",
            token=Secret(sample.token),
            api_url=sample.emulator.base_url + "/",
            allow_http=True,
        ) as client:
            return await client.teams("Payments Platform")

    before = sample.emulator.stats.count("core.teams")
    teams = asyncio.run(read())
    assert sample.emulator.stats.count("core.teams") - before == 1
    assert teams[0].name == "Payments Platform Team"
    assert "Refunds" in [team.name for team in teams]
    assert [team.name for team in teams[1:]] == sorted(team.name for team in teams[1:])


def test_a_project_whose_teams_cannot_be_read_gets_a_note(
    sample: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(client: AzureDevOpsClient, project: str) -> list[Team]:
        raise AzureDevOpsError("teams refused", project=project, status=403)

    monkeypatch.setattr(AzureDevOpsClient, "teams", refused)
    run = sample.generate(tmp_path / "config", output=tmp_path / "out")
    assert "note: contoso/Payments Platform: teams not read: teams refused (HTTP 403)\n" in (
        run.stderr
    )
