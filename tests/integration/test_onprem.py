"""Azure DevOps Server 2020 (on-premises layout, api-version ceiling 6.0): the client learns
the ceiling from the first refusal and asks for 6.0 directly from then on."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from bridge.emulator import EmulatorOptions, RunningEmulator, parse_estate
from bridge.errors import NotFoundError
from tests.integration.conftest import ADMIN_PAT, CATALOG_PATH, make_client
from tests.support.emulator import CATALOG

pytestmark = pytest.mark.anyio

COLLECTION = "DefaultCollection"
ONPREM_ESTATE = f"""
tokens:
  - {{name: admin, value: {ADMIN_PAT}}}
organizations:
  - name: {COLLECTION}
    projects:
      - name: Line of Business
        repositories:
          - name: orders service
            files:
              catalog-info.yaml: {json.dumps(CATALOG)}
          - {{name: scratch, empty: true}}
      - name: Tools
        repositories:
          - {{name: build-scripts, files: {{README.md: "# Build"}}}}
"""


async def test_steps_down_once_then_speaks_6_0(serve: Callable[..., RunningEmulator]) -> None:
    estate = parse_estate(ONPREM_ESTATE, source="onprem-estate").estate
    emulator = serve(estate, options=EmulatorOptions(layout="onprem"))
    api_url = f"{emulator.base_url}/tfs/"
    async with make_client(emulator, organization=COLLECTION, api_url=api_url) as azure:
        who = await azure.connection_data()  # preview-only: 7.1-preview -> 6.0-preview
        projects = [p.name async for p in azure.projects()]
        repositories = [r async for r in azure.repositories()]
        by_project = [r.name async for r in azure.repositories("Line of Business")]
        found = await azure.file_content("Line of Business", "orders service", CATALOG_PATH)
        missing = await azure.file_content("Tools", "build-scripts", CATALOG_PATH)
        calls = azure.stats.requests

    assert who.deployment_type == "onPremises"
    assert projects == ["Line of Business", "Tools"]
    assert by_project == ["orders service", "scratch"]
    assert found is not None and found.text == CATALOG
    assert missing is None
    orders = next(r for r in repositories if r.name == "orders service")
    assert orders.web_url == (
        f"{emulator.base_url}/tfs/{COLLECTION}/Line%20of%20Business/_git/orders%20service"
    )
    snapshot = emulator.stats.snapshot()
    # Exactly one refusal (the first call), one repeat of it, and nothing else refused.
    assert snapshot["by_status"] == {"200": 5, "400": 1, "404": 1}
    assert snapshot["by_route_status"]["core.connectionData"] == {"200": 1, "400": 1}
    assert calls == 7  # six calls, one of them sent twice (at 7.1, then at 6.0)
    async with make_client(emulator, organization=COLLECTION, api_url=api_url) as fresh:
        # A new client has to learn the ceiling again (it is remembered per client).
        assert [p.name async for p in fresh.projects()] == projects
    assert emulator.stats.count(status=400) == 2


async def test_cloud_layout_is_not_served_under_the_virtual_directory(
    serve: Callable[..., RunningEmulator],
) -> None:
    estate = parse_estate(ONPREM_ESTATE, source="onprem-estate").estate
    emulator = serve(estate, options=EmulatorOptions(layout="onprem"))
    # Without /tfs/ the collection path does not exist on this server.
    async with make_client(emulator, organization=COLLECTION) as azure:
        with pytest.raises(NotFoundError, match="cannot be found"):
            [p async for p in azure.projects()]
