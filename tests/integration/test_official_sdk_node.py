"""Microsoft's Node client (``azure-devops-node-api`` from npm, installed into .cache/ on first
use) against the emulator over real HTTP on 127.0.0.1. It discovers locations per area
(``OPTIONS {collection}/_apis/{area}``), asks for the 7.2 previews by default, and sends
query enums as numbers."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from bridge.emulator import run_in_thread
from tests.emulator.conftest import ADMIN, estate_file
from tests.support.node import install_package

SDK = "azure-devops-node-api@17.0.1"
SCRIPT = Path(__file__).with_name("official_sdk.mjs")

pytestmark = [pytest.mark.node_sdk, pytest.mark.slow]


def test_node_sdk_reads_the_estate() -> None:
    folder = install_package(SDK, "azure-devops-node-api")
    estate = estate_file().estate
    project = estate.organizations[0].project("Payments")
    repository = project.repository("payments-api") if project else None
    assert repository is not None
    history = repository.history
    tip = history.branch_tip("main")
    assert tip is not None
    first = min(history.commits.values(), key=lambda commit: commit.author.date)
    with run_in_thread(estate) as emulator:
        done = subprocess.run(
            ["node", str(SCRIPT), str(folder)],
            env={**os.environ, "BASE": f"{emulator.base_url}/contoso", "TOKEN": ADMIN},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        routes = emulator.stats.snapshot()["by_route_status"]
    assert json.loads(done.stdout) == {
        "projects": ["Payments", "Identity"],
        "repositories": [
            "payments-api", "Payments Docs", "payments-sandbox", "legacy-billing",
            "payments-api-fork",
        ],
        "content": "print('pay')",
        "commitId": tip.commit_id,
        "latestProcessedChange": first.commit_id,
        "paths": ["/", "/README.md", "/catalog-info.yaml", "/src", "/src/app.py"],
        "teams": ["Payments Team", "Checkout"],
        "activePullRequests": 0,
    }  # fmt: skip
    # Locations were discovered per area (Location, core, git), then every call went where
    # they said.
    assert routes["location.options"] == {"200": 3}
    assert ADMIN not in done.stdout + done.stderr
