"""The HTTP transport: h11's HTTP/1.1 state machine over plain asyncio streams.

httpx's default transport reaches sockets through anyio, and its connection pool re-examines
every connection for every queued request whenever a request starts or ends; httpcore's
HTTP/1.1 connection then takes anyio locks, opens tracing scopes and wraps the body in async
iterators several times per request. All of that costs more CPU than the rest of a request
here, where a sync of ten thousand repositories makes twenty thousand small requests and
the client's CPU per request is what a busy machine turns into wall time. This module keeps
only the protocol library, h11, under a simple pool: a stack of idle keep-alive connections
per origin, at most ``connections`` in use. Errors are httpx's, with the messages httpx's
own transport gives, so the client above sees the same exceptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import h11
import httpx

_log = logging.getLogger("bridge.azure.network")

_KEEPALIVE = 5.0  # seconds an idle connection is kept
_READ_SIZE = 64 * 1024

Headers = list[tuple[bytes, bytes]]
Timeouts = Mapping[str, float | None]  # httpx.Timeout.as_dict(): connect, read, write, pool


class _Connection:
    """One HTTP/1.1 connection: h11's state machine over an asyncio stream pair."""

    __slots__ = ("_h11", "_idle_until", "_reader", "_writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._h11 = h11.Connection(h11.CLIENT)
        self._idle_until = 0.0

    def reusable(self) -> bool:
        """Idle, not expired, and not closed by the server in the meantime."""
        return time.monotonic() < self._idle_until and not self._reader.at_eof()

    async def exchange(
        self, method: bytes, target: bytes, headers: Headers, body: bytes, timeouts: Timeouts
    ) -> tuple[h11.Response, bytes]:
        """Send one request and read its whole response (then see :meth:`reusable`)."""
        state = self._h11
        self._idle_until = 0.0  # in use; reusable again only once this exchange completes
        try:
            data = state.send(h11.Request(method=method, target=target, headers=headers)) or b""
            if body:
                data += state.send(h11.Data(data=body)) or b""
            data += state.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError as error:
            raise httpx.LocalProtocolError(str(error)) from error
        # A server may close early and still send a well-formed (error) answer: read it.
        with contextlib.suppress(httpx.WriteError):
            await self._write(data, timeouts.get("write"))
        read_timeout = timeouts.get("read")
        response: h11.Response | None = None
        chunks: list[bytes] = []
        while not isinstance(event := await self._next_event(read_timeout), h11.EndOfMessage):
            if isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif not isinstance(event, h11.InformationalResponse):  # a 1xx: the answer follows
                raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__} in an answer")
        assert response is not None  # h11 ends no message before its head
        if state.our_state is h11.DONE and state.their_state is h11.DONE:
            state.start_next_cycle()
            self._idle_until = time.monotonic() + _KEEPALIVE
        return response, b"".join(chunks)

    async def _next_event(self, timeout: float | None) -> h11.Event | type[h11.PAUSED]:
        state = self._h11
        while True:
            try:
                event = state.next_event()
            except h11.RemoteProtocolError as error:
                raise httpx.RemoteProtocolError(str(error)) from error
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]  # mypy does not narrow on `is`
            data = await self._read(timeout)
            if not data and state.their_state is h11.SEND_RESPONSE:
                # h11 would say "can't handle event type ConnectionClosed ...": say it plainly.
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
            state.receive_data(data)

    async def _read(self, timeout: float | None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(_READ_SIZE)
        except TimeoutError as error:
            raise httpx.ReadTimeout(str(error)) from error
        except OSError as error:
            raise httpx.ReadError(str(error)) from error

    async def _write(self, data: bytes, timeout: float | None) -> None:
        writer = self._writer
        try:
            writer.write(data)
            if not writer.transport.get_write_buffer_size():
                await writer.drain()  # all sent: nothing to wait for, no timer to set
                return
            async with asyncio.timeout(timeout):
                await writer.drain()
        except TimeoutError as error:
            raise httpx.WriteTimeout(str(error)) from error
        except OSError as error:
            raise httpx.WriteError(str(error)) from error

    def close(self) -> None:
        """Close the connection (no waiting: nothing more is sent on it)."""
        self._idle_until = 0.0
        self._writer.close()


_Key = tuple[bytes, bytes, int]  # scheme, host, port


@dataclass(frozen=True, slots=True)
class _Outgoing:
    """One request as the pool sends it."""

    key: _Key
    method: bytes
    target: bytes
    headers: Headers
    body: bytes
    timeouts: Timeouts


class _Pool:
    """Idle keep-alive connections per origin, and a bound on connections in use."""

    def __init__(self, verify: ssl.SSLContext | bool, connections: int) -> None:
        self._verify = verify
        self._slots = asyncio.Semaphore(connections)
        self._idle: dict[_Key, list[_Connection]] = {}

    async def _connect(self, key: _Key, timeout: float | None) -> _Connection:
        scheme, raw_host, port = key
        host = raw_host.decode("ascii")
        _log.debug("connecting to %s:%d", host, port)
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port)
        except TimeoutError as error:
            raise httpx.ConnectTimeout(str(error)) from error
        except OSError as error:
            _log.debug("connecting to %s:%d failed: %s", host, port, error)
            raise httpx.ConnectError(str(error)) from error
        if scheme == b"https":
            try:
                async with asyncio.timeout(timeout):
                    await writer.start_tls(self._tls(), server_hostname=host)
            except TimeoutError as error:
                writer.close()
                raise httpx.ConnectTimeout(str(error)) from error
            except OSError as error:  # ssl.SSLError included: kept as the cause
                writer.close()
                _log.debug("connecting to %s:%d failed: %s", host, port, error)
                raise httpx.ConnectError(str(error)) from error
        return _Connection(reader, writer)

    def _tls(self) -> ssl.SSLContext:
        verify = self._verify
        if isinstance(verify, ssl.SSLContext):
            return verify
        # httpx reads these when it builds the context: a change makes another one.
        return _default_tls(verify, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))

    def _reuse(self, key: _Key) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()  # most recently used first: least likely to have expired
            if connection.reusable():  # also catches a server that closed it
                return connection
            connection.close()
        return None

    async def send(self, request: _Outgoing) -> tuple[h11.Response, bytes]:
        """The response to ``request`` and its whole body."""
        key, timeouts = request.key, request.timeouts
        async with self._slots:
            connection = self._reuse(key) or await self._connect(key, timeouts.get("connect"))
            try:
                response, content = await connection.exchange(
                    request.method, request.target, request.headers, request.body, timeouts
                )
            except BaseException:
                connection.close()
                raise
            if connection.reusable():
                self._idle.setdefault(key, []).append(connection)
            else:
                connection.close()
            return response, content

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()


class AsyncioTransport(httpx.AsyncBaseTransport):
    """An httpx transport on h11 and asyncio streams.

    :meth:`get` is the sync's hot path: it sends a GET to a URL the client built without
    parsing it into an ``httpx.URL`` and ``httpx.Request`` (parsing checks every character of
    the URL: about a fifth of the client's CPU in a sync). Only the origin is parsed, once.
    """

    def __init__(self, *, verify: ssl.SSLContext | bool, connections: int) -> None:
        self._pool = _Pool(verify, connections)
        self._origins: dict[str, _Origin] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        outgoing = _Outgoing(
            _origin_key(url),
            request.method.encode("ascii"),
            url.raw_path,
            request.headers.raw,
            await request.aread(),
            request.extensions.get("timeout", {}),
        )
        return await self._send(outgoing, request)

    async def get(
        self, url: str, headers: Headers, extensions: Mapping[str, Any]
    ) -> httpx.Response:
        """GET ``url`` with ``headers`` (``Host`` is added), its body read.

        ``url`` must be absolute and already percent-encoded (as the client builds them from
        validated endpoints): its path and query are sent as they are, which is what httpx
        would send for it. The response has no ``request``.
        """
        end = url.find("/", url.find("//") + 2)
        origin_text, target = (url, "/") if end < 0 else (url[:end], url[end:])
        origin = self._origins.get(origin_text)
        if origin is None:
            origin = self._origins[origin_text] = _Origin(httpx.URL(origin_text))
        outgoing = _Outgoing(
            origin.key,
            b"GET",
            target.encode("ascii"),
            [origin.host_header, *headers],
            b"",
            extensions.get("timeout", {}),
        )
        return await self._send(outgoing, None)

    async def _send(self, outgoing: _Outgoing, request: httpx.Request | None) -> httpx.Response:
        try:
            response, content = await self._pool.send(outgoing)
        except httpx.TransportError as error:
            if request is not None:
                error.request = request
            raise
        return httpx.Response(
            response.status_code,
            headers=response.headers.raw_items(),
            content=content,
            extensions={
                "http_version": b"HTTP/" + response.http_version,
                "reason_phrase": response.reason,
            },
            request=request,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


@functools.cache
def _default_tls(verify: bool, cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """httpx's TLS settings, made once: loading the CA bundle takes ~50 ms of CPU, which a
    sync would otherwise pay per organization (and a plain http:// run not at all)."""
    return httpx.create_ssl_context(verify=verify)


def _origin_key(url: httpx.URL) -> _Key:
    """The pool's key for ``url``: scheme, host and port (the scheme's default if none)."""
    port = url.port or (443 if url.raw_scheme == b"https" else 80)
    return url.raw_scheme, url.raw_host, port


class _Origin:
    """What requests to one ``scheme://host[:port]`` need, parsed once by httpx."""

    __slots__ = ("host_header", "key")

    def __init__(self, url: httpx.URL) -> None:
        self.key = _origin_key(url)
        # What httpx.Request puts first: the Host header, from the URL's netloc.
        self.host_header = (b"Host", url.netloc)
