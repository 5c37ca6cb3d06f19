"""The socket layer: keep-alive, chunked bodies, bad requests, concurrency, and the standalone
``serve_forever`` in a child process (as the CLI and benchmarks run it)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from bridge.emulator import EmulatorOptions, FaultOptions, RunningEmulator, sample_estate_path
from tests.emulator.conftest import ADMIN, API, auth, basic_header

PROJECTS = "/contoso/_apis/projects?api-version=7.1"


def _connect(emulator: RunningEmulator) -> socket.socket:
    parts = urlsplit(emulator.base_url)
    return socket.create_connection((parts.hostname, parts.port), timeout=5)


def _read_response(stream: socket.socket, buffer: bytearray) -> tuple[int, dict[str, str], bytes]:
    while b"\r\n\r\n" not in buffer:
        chunk = stream.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the headers")
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers["content-length"])
    while len(rest) < length:
        rest += stream.recv(65536)
    buffer[:] = rest[length:]
    return int(lines[0].split(" ")[1]), headers, rest[:length]


def _request(method: str, target: str, extra: str = "", body: bytes = b"") -> bytes:
    lines = [
        f"{method} {target} HTTP/1.1",
        "Host: emulator",
        f"Authorization: {basic_header(ADMIN)}",
    ]
    head = "\r\n".join(lines) + "\r\n" + extra + "\r\n"
    return head.encode() + body


def test_keep_alive_serves_several_requests_on_one_connection(emulator: RunningEmulator) -> None:
    with _connect(emulator) as stream:
        buffer = bytearray()
        for _ in range(3):
            stream.sendall(_request("GET", PROJECTS))
            status, headers, body = _read_response(stream, buffer)
            assert status == 200 and headers["connection"] == "keep-alive"
            assert json.loads(body)["count"] == 2
        stream.sendall(_request("GET", PROJECTS, "Connection: close\r\n"))
        status, headers, _ = _read_response(stream, buffer)
        assert status == 200 and headers["connection"] == "close"
        assert stream.recv(1) == b""  # the server closed


def test_chunked_request_body(emulator: RunningEmulator) -> None:
    payload = json.dumps({"searchText": "path:/catalog-info.yaml", "$top": 10}).encode()
    chunked = (
        b"".join(
            f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (payload[:10], payload[10:])
        )
        + b"0\r\n\r\n"
    )
    extra = "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n"
    with _connect(emulator) as stream:
        stream.sendall(
            _request(
                "POST", "/contoso/_apis/search/codesearchresults?api-version=7.1", extra, chunked
            )
        )
        status, _, body = _read_response(stream, bytearray())
    assert status == 200 and json.loads(body)["count"] == 2


def test_malformed_request_gets_400_and_a_close(emulator: RunningEmulator) -> None:
    with _connect(emulator) as stream:
        stream.sendall(b"NONSENSE\r\n\r\n")
        status, headers, _ = _read_response(stream, bytearray())
    assert status == 400 and headers["connection"] == "close"


def test_many_concurrent_keep_alive_connections_with_latency(
    serve: Callable[..., RunningEmulator],
) -> None:
    slow = serve(options=EmulatorOptions(faults=FaultOptions(latency_ms=25)))

    async def run() -> list[int]:
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
        async with httpx.AsyncClient(
            base_url=slow.base_url, auth=auth(ADMIN), limits=limits, timeout=30
        ) as client:
            gate = asyncio.Semaphore(32)

            async def one(index: int) -> int:
                async with gate:
                    path = "/contoso/Payments/_apis/git/repositories/payments-api/items"
                    answer = await client.get(
                        path, params={**API, "path": "/README.md", "n": str(index)}
                    )
                    return answer.status_code

            return await asyncio.gather(*(one(i) for i in range(320)))

    statuses = asyncio.run(run())
    assert statuses == [200] * 320
    assert slow.stats.count("git.items", 200) == 320
    # Connections were kept alive and reused. Not "<= 32": on a loaded machine the client may
    # replace a few pooled connections; without keep-alive there would be 320.
    assert slow.stats.snapshot()["connections"] <= 320 // 4


def _start_child(*arguments: str) -> subprocess.Popen[str]:
    code = (
        "import sys; from pathlib import Path; from bridge.emulator import serve_forever; "
        "serve_forever(Path(sys.argv[1]), tls=sys.argv[2] == 'tls')"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_serve_forever_in_a_child_process_until_sigterm() -> None:
    child = _start_child(str(sample_estate_path()), "plain")
    try:
        assert child.stdout is not None
        base_url = child.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        answer = httpx.get(
            f"{base_url}/_apis/accounts",
            params={**API, "memberId": "x"},
            auth=auth("demo-pat-all-access-0001"),
        )
        assert answer.status_code == 200
        projects = httpx.get(
            f"{base_url}/fabrikam/_apis/projects", params=API, auth=auth("demo-pat-all-access-0001")
        )
        assert [p["name"] for p in projects.json()["value"]] == ["Retail", "Shared Services"]
    finally:
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=20) == 0


def test_serve_forever_over_https_announces_the_ca() -> None:
    child = _start_child(str(sample_estate_path()), "tls")
    try:
        assert child.stdout is not None
        base_url = child.stdout.readline().strip()
        ca_line = child.stdout.readline().strip()
        assert base_url.startswith("https://127.0.0.1:") and ca_line.startswith("CA certificate: ")
        trust = ssl.create_default_context(cafile=ca_line.removeprefix("CA certificate: "))
        answer = httpx.get(
            f"{base_url}/contoso/_apis/projects",
            params=API,
            verify=trust,
            auth=httpx.BasicAuth("PAT", "demo-pat-all-access-0001"),
        )
        assert answer.status_code == 200
    finally:
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=20) == 0
