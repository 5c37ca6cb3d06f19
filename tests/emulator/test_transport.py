"""The in-process httpx transport: answers as over sockets, faults shaped like socket errors."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bridge.emulator import EmulatorApp, EmulatorOptions, EmulatorTransport, FaultOptions
from tests.emulator.conftest import ADMIN, API, auth, estate_file

BASE = "http://emulator.test"


def _get(
    options: EmulatorOptions | None, url: str, timeout: float = 5, **params: str
) -> httpx.Response:
    app = EmulatorApp(estate_file().estate, options)

    async def call() -> httpx.Response:
        transport = EmulatorTransport(app)
        async with httpx.AsyncClient(
            transport=transport, base_url=BASE, auth=auth(ADMIN), timeout=timeout
        ) as client:
            answer = await client.get(url, params={**API, **params})
            await answer.aread()
            return answer

    return asyncio.run(call())


def test_answers_in_process_and_links_to_the_requested_host() -> None:
    answer = _get(None, "/contoso/Payments/_apis/git/repositories")
    assert answer.status_code == 200
    repo = next(r for r in answer.json()["value"] if r["name"] == "payments-api")
    assert repo["webUrl"] == f"{BASE}/contoso/Payments/_git/payments-api"
    raw = _get(
        None, "/contoso/Payments/_apis/git/repositories/payments-api/items", path="/README.md"
    )
    assert raw.text == "# Payments API"


@pytest.mark.parametrize(
    ("faults", "error"),
    [
        ({"reset_rate": 1.0}, httpx.RemoteProtocolError),
        ({"truncate_rate": 1.0}, httpx.RemoteProtocolError),
        ({"stall_rate": 1.0, "stall_seconds": 30}, httpx.ReadTimeout),
    ],
)
def test_faults_raise_what_a_socket_would(faults: dict[str, float], error: type[Exception]) -> None:
    options = EmulatorOptions(faults=FaultOptions(**faults))  # type: ignore[arg-type]
    with pytest.raises(error):
        _get(options, "/contoso/_apis/projects", timeout=0.2)


def test_short_stalls_answer_late() -> None:
    options = EmulatorOptions(faults=FaultOptions(stall_rate=1.0, stall_seconds=0.05))
    assert _get(options, "/contoso/_apis/projects", timeout=5).status_code == 200
