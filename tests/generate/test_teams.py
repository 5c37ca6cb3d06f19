"""``AzureDevOpsClient.teams``: a project's teams in one request, the default team first."""

from __future__ import annotations

import asyncio

from bridge.azure import AzureDevOpsClient
from bridge.azure.models import Team
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
