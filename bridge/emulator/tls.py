"""Throw-away TLS material for HTTPS: a test CA and a server certificate made by trustme.

trustme is an optional extra (``catalog-bridge[tls]``), imported only when HTTPS is asked for.
Clients (and a Snyk Broker client) trust the server by trusting the CA PEM file written here.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from bridge.errors import EmulatorError

CA_FILE_NAME = "emulator-ca.pem"


@dataclass(frozen=True, slots=True)
class ServerTls:
    """The server's SSL context and the CA certificate clients must trust."""

    context: ssl.SSLContext
    ca_pem_path: Path


def server_tls(ca_pem_path: Path, host: str) -> ServerTls:
    """Make a CA and a certificate for 127.0.0.1, localhost and ``host``; write the CA PEM."""
    try:
        import trustme
    except ImportError:
        raise EmulatorError(
            "HTTPS needs the optional package trustme: pip install 'catalog-bridge[tls]'"
        ) from None
    names = list(dict.fromkeys(["127.0.0.1", "localhost", host]))
    authority = trustme.CA()
    certificate = authority.issue_cert(*names)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    try:
        ca_pem_path.parent.mkdir(parents=True, exist_ok=True)
        authority.cert_pem.write_to_path(str(ca_pem_path))
    except OSError as error:
        raise EmulatorError(
            f"cannot write the emulator CA certificate to {ca_pem_path}: {error}"
        ) from None
    return ServerTls(context, ca_pem_path)
