"""HTTPS with a trustme test CA: trusted through the CA file, refused without it."""

from __future__ import annotations

import ssl
from collections.abc import Callable

import httpx
import pytest

from bridge.emulator import RunningEmulator
from tests.emulator.conftest import ADMIN, API, auth


def test_https_with_the_emulator_ca(
    serve: Callable[..., RunningEmulator], tmp_path: object
) -> None:
    emulator = serve(tls=True)
    assert emulator.base_url.startswith("https://127.0.0.1:")
    assert emulator.ca_pem_path is not None and emulator.ca_pem_path.read_text().startswith(
        "-----BEGIN CERTIFICATE-----"
    )
    trust = ssl.create_default_context(cafile=str(emulator.ca_pem_path))
    # The Snyk Broker client authenticates as user "PAT".
    with httpx.Client(
        base_url=emulator.base_url, verify=trust, auth=httpx.BasicAuth("PAT", ADMIN)
    ) as client:
        answer = client.get("/contoso/Payments/_apis/git/repositories", params=API)
    assert answer.status_code == 200
    assert answer.json()["value"][0]["webUrl"].startswith(emulator.base_url)
    localhost = emulator.base_url.replace("127.0.0.1", "localhost")
    assert (
        httpx.get(
            f"{localhost}/contoso/_apis/projects", params=API, verify=trust, auth=auth(ADMIN)
        ).status_code
        == 200
    )
    with pytest.raises(httpx.ConnectError):
        httpx.get(
            f"{emulator.base_url}/contoso/_apis/projects", params=API
        )  # system CAs do not know it


def test_ca_written_where_asked(serve: Callable[..., RunningEmulator], tmp_path: object) -> None:
    from pathlib import Path

    target = Path(str(tmp_path)) / "certs" / "ca.pem"
    emulator = serve(tls=True, ca_path=target)
    assert emulator.ca_pem_path == target and target.exists()
