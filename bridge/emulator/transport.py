"""An ``httpx`` transport that calls the emulator app in-process (no sockets).

Faults look as they do over a real connection: a reset raises ``httpx.RemoteProtocolError``,
a truncated body raises it while the body is read, and a stall longer than the client's read
timeout raises ``httpx.ReadTimeout`` after that timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

from bridge.emulator.app import EmulatorApp
from bridge.emulator.messages import Disruption, Request


class _TruncatedStream(httpx.AsyncByteStream):
    """Yields part of a body, then fails like a connection closed mid-body."""

    def __init__(self, sent: bytes, promised: int) -> None:
        self._sent = sent
        self._promised = promised

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._sent:
            yield self._sent
        raise httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body: "
            f"received {len(self._sent)} bytes, expected {self._promised}"
        )


class EmulatorTransport(httpx.AsyncBaseTransport):
    """Route ``httpx.AsyncClient`` requests straight into ``app.handle``.

    Use any base URL (``http://emulator``); bodies link back to the host the request named.
    """

    def __init__(self, app: EmulatorApp) -> None:
        self.app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Translate, hand to the app, translate back (see the module doc for faults)."""
        body = await request.aread()
        target = request.url.raw_path.decode("ascii")  # what goes on an HTTP/1.1 request line
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in request.headers.raw
        }
        answer = await self.app.handle(
            Request(request.method, target, headers, body, request.url.scheme)
        )
        if answer.disruption is Disruption.RESET:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        if answer.disruption is Disruption.STALL:
            timeout = request.extensions.get("timeout", {}).get("read")
            if timeout is not None and timeout < answer.stall_seconds:
                await asyncio.sleep(timeout)
                raise httpx.ReadTimeout("timed out waiting for the emulator", request=request)
            await asyncio.sleep(answer.stall_seconds)
        response_headers = [*answer.headers, ("Content-Length", str(len(answer.body)))]
        if answer.disruption is Disruption.TRUNCATE:
            stream = _TruncatedStream(answer.body[: len(answer.body) // 2], len(answer.body))
            return httpx.Response(
                answer.status, headers=response_headers, stream=stream, request=request
            )
        return httpx.Response(
            answer.status, headers=response_headers, content=answer.body, request=request
        )
