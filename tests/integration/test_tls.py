"""HTTPS against the emulator's throw-away CA: trusted through an SSL context built from the
CA file; refused, once and with a plain explanation, without it."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme

from bridge.emulator import RunningEmulator
from bridge.errors import ServiceError
from tests.integration.conftest import CATALOG_PATH, ORG, make_client
from tests.support.emulator import CATALOG

pytestmark = pytest.mark.anyio


@pytest.fixture
def https(serve: Callable[..., RunningEmulator]) -> RunningEmulator:
    emulator = serve(tls=True)
    assert emulator.base_url.startswith("https://127.0.0.1:")
    return emulator


def _trusting(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


async def test_https_with_the_emulator_ca(https: RunningEmulator) -> None:
    assert https.ca_pem_path is not None
    async with make_client(https, verify=_trusting(https.ca_pem_path)) as azure:
        projects = [p.name async for p in azure.projects()]
        repositories = [r async for r in azure.repositories("Payments Platform")]
        found = await azure.file_content("Payments Platform", "payments-api", CATALOG_PATH)
    assert projects == ["Payments Platform", "Identity"]
    assert all(r.web_url and r.web_url.startswith(f"{https.base_url}/{ORG}/") for r in repositories)
    assert found is not None and found.text == CATALOG


async def _untrusted_failure(https: RunningEmulator, verify: ssl.SSLContext | bool) -> ServiceError:
    async with make_client(https, verify=verify) as azure:
        with pytest.raises(ServiceError) as caught:
            [p async for p in azure.projects()]
        assert azure.stats.requests == 1 and azure.stats.retries == 0  # not worth a retry
    return caught.value


@pytest.mark.parametrize("trust", ["system CAs", "another CA"])
async def test_an_untrusted_certificate_is_a_clear_error(
    https: RunningEmulator, trust: str, tmp_path: Path
) -> None:
    verify: ssl.SSLContext | bool = True
    if trust == "another CA":
        stranger = tmp_path / "stranger.pem"
        trustme.CA().cert_pem.write_to_path(str(stranger))
        verify = _trusting(stranger)
    error = await _untrusted_failure(https, verify)
    text = str(error)
    assert text.startswith(f"{ORG}: the TLS certificate of 127.0.0.1 is not trusted")
    assert "unable to get local issuer certificate" in text  # OpenSSL's reason, kept
    assert "CA" in (error.hint or "")
    for raw in ("[SSL", "_ssl.c", "Traceback", "SSLCertVerificationError", "ConnectError"):
        assert raw not in text
    assert https.stats.count() == 0  # nothing got past the handshake
