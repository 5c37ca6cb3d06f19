"""The default transport against a real socket: what it sends, how it reads, when it reuses.

A raw HTTP/1.1 server on 127.0.0.1 records every request head and answers with the bytes
each test gives, so the wire format is checked exactly.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest

from bridge.azure import AzureDevOpsClient
from bridge.azure.network import AsyncioTransport
from bridge.errors import ServiceError
from tests.azure.fakes import FAST, TOKEN

pytestmark = pytest.mark.anyio

Answer = Callable[[bytes], bytes]  # request head -> raw response bytes


def _json_answer(body: object, *, extra: bytes = b"", close: bool = False) -> bytes:
    content = json.dumps(body).encode()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
    head += b"Connection: close\r\n" if close else b""
    return head + extra + b"Content-Length: %d\r\n\r\n" % len(content) + content


@dataclass
class _Server:
    """Request heads received, and how many connections were opened."""

    answer: Answer
    heads: list[bytes] = field(default_factory=list)
    connections: int = 0
    url: str = ""

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return  # the client closed the connection
                self.heads.append(head)
                reply = self.answer(head)
                writer.write(reply)
                await writer.drain()
                if b"Connection: close" in reply or not reply:
                    return
        finally:
            writer.close()


@asynccontextmanager
async def _server(answer: Answer) -> AsyncIterator[_Server]:
    state = _Server(answer)
    server = await asyncio.start_server(state.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    state.url = f"http://127.0.0.1:{port}/tfs/"
    async with server:
        yield state


class _ThroughHttpxRequest(httpx.AsyncBaseTransport):
    """The same transport reached the general way: an ``httpx.Request`` for every call."""

    def __init__(self) -> None:
        self.inner = AsyncioTransport(verify=True, connections=4)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _client(url: str, transport: httpx.AsyncBaseTransport | None = None) -> AzureDevOpsClient:
    return AzureDevOpsClient(
        "Fabrikam Labs", token=TOKEN, api_url=url, retry=FAST, transport=transport
    )


async def test_a_get_sends_exactly_what_an_httpx_request_would_send() -> None:
    # The fast GET path builds the request line and Host header itself: names that need
    # percent-encoding in the path and in the query must come out byte for byte the same.
    item = {"objectId": "1", "path": "/a b.yaml", "content": "x", "commitId": "c"}
    async with _server(lambda head: _json_answer(item)) as server:
        for transport in (None, _ThroughHttpxRequest()):
            async with _client(server.url, transport) as client:
                await client.file_content("Platform ü/Core", "api#1?%41", "/a b+c&d.yaml")
                await client.file_content("p", "r", "/x.yaml", branch="feature/ä")
    fast, general = server.heads[:2], server.heads[2:]
    assert len(server.heads) == 4
    assert fast == general
    assert fast[0].startswith(
        b"GET /tfs/Fabrikam%20Labs/Platform%20%C3%BC%2FCore/_apis/git/repositories/"
        b"api%231%3F%2541/items?path=/a%20b%2Bc%26d.yaml&"
    )
    assert b"\r\nHost: 127.0.0.1:" in fast[0]


async def test_keep_alive_connections_are_reused_until_the_server_says_close() -> None:
    empty = _json_answer({"value": [], "count": 0})
    answers = iter([empty, empty, empty, _json_answer({"value": []}, close=True), empty])
    async with _server(lambda head: next(answers)) as server, _client(server.url) as client:
        for _ in range(5):
            assert [r async for r in client.repositories("p")] == []
    # One connection for the first four requests (the fourth answer closed it), one more after.
    assert server.connections == 2


async def test_a_chunked_answer_after_an_informational_one_is_read_whole() -> None:
    body = json.dumps({"value": [{"id": "1", "name": "Core"}], "count": 1}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:7], body[7:]))
    answer = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
    )
    async with _server(lambda head: answer) as server, _client(server.url) as client:
        projects = [project async for project in client.projects()]
    assert [project.name for project in projects] == ["Core"]


async def test_an_answer_cut_off_mid_body_is_a_broken_connection_retried_then_reported() -> None:
    cut = b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{"value"'
    async with _server(lambda head: cut) as server, _client(server.url) as client:
        with pytest.raises(ServiceError, match="broke off") as caught:
            await client.latest_commit("p", "r")
    assert len(server.heads) == FAST.max_attempts
    assert "gave up after" in str(caught.value)


async def test_a_server_that_closes_without_answering_is_named_plainly() -> None:
    async with _server(lambda head: b"") as server, _client(server.url) as client:
        with pytest.raises(ServiceError, match="Server disconnected without sending a response"):
            await client.latest_commit("p", "r")
