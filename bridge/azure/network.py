"""The HTTP transport: httpcore's HTTP/1.1 connections over plain asyncio streams.

httpx's default transport reaches sockets through anyio, and its connection pool re-examines
every connection for every queued request whenever a request starts or ends. Both cost
more CPU than the rest of a request here, where a sync of ten thousand repositories makes
twenty thousand small requests (against the emulator on a 2-core machine: about 560
requests/s with httpx's transport). This module keeps httpcore's HTTP/1.1 protocol code
(``AsyncHTTP11Connection``) but gives it asyncio streams and a simple pool: a stack of idle
connections per origin, at most ``connections`` in use. Errors are mapped to httpx's, as
httpx's own transport does, so the client above sees the same exceptions.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

_log = logging.getLogger("bridge.azure.network")

# httpcore errors and the httpx errors the rest of the client handles.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.NetworkError, httpx.NetworkError),
)


class _Stream(httpcore.AsyncNetworkStream):
    """One TCP (or TLS) connection as asyncio streams."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as error:
            raise httpcore.ReadTimeout(str(error)) from error
        except OSError as error:
            raise httpcore.ReadError(str(error)) from error

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self._writer.write(buffer)
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except TimeoutError as error:
            raise httpcore.WriteTimeout(str(error)) from error
        except OSError as error:
            raise httpcore.WriteError(str(error)) from error

    async def aclose(self) -> None:
        self._writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(str(error)) from error
        except OSError as error:  # ssl.SSLError included: kept as the cause
            raise httpcore.ConnectError(str(error)) from error
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # httpcore asks whether an idle pooled connection was closed by the server.
            return self._reader.at_eof()
        names = {
            "ssl_object": "ssl_object",
            "socket": "socket",
            "client_addr": "sockname",
            "server_addr": "peername",
        }
        return self._writer.get_extra_info(names[info]) if info in names else None


class _Backend(httpcore.AsyncNetworkBackend):
    """Opens connections with ``asyncio.open_connection``."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=(local_address, 0) if local_address else None
                )
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(str(error)) from error
        except OSError as error:
            raise httpcore.ConnectError(str(error)) from error
        sock = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return _Stream(reader, writer)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.UnsupportedProtocol("unix sockets are not used")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _Pool:
    """Idle keep-alive connections per origin, and a bound on connections in use."""

    def __init__(self, ssl_context: ssl.SSLContext, connections: int) -> None:
        self._ssl_context = ssl_context
        self._slots = asyncio.Semaphore(connections)
        self._idle: dict[tuple[bytes, bytes, int], list[httpcore.AsyncHTTP11Connection]] = {}
        self._backend = _Backend()

    async def _connect(
        self, url: httpcore.URL, timeout: float | None
    ) -> httpcore.AsyncHTTP11Connection:
        port = url.port or (443 if url.scheme == b"https" else 80)
        host = url.host.decode("ascii")
        _log.debug("connecting to %s:%d", host, port)
        try:
            stream = await self._backend.connect_tcp(host, port, timeout=timeout)
            if url.scheme == b"https":
                stream = await stream.start_tls(
                    self._ssl_context, server_hostname=host, timeout=timeout
                )
        except httpcore.NetworkError as error:
            _log.debug("connecting to %s:%d failed: %s", host, port, error)
            raise
        origin = httpcore.Origin(url.scheme, url.host, port)
        return httpcore.AsyncHTTP11Connection(origin, stream, keepalive_expiry=_KEEPALIVE)

    def _reuse(self, key: tuple[bytes, bytes, int]) -> httpcore.AsyncHTTP11Connection | None:
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()  # most recently used first: least likely to have expired
            if not connection.has_expired():  # also catches a server that closed it
                return connection
        return None

    async def send(self, request: httpcore.Request) -> tuple[httpcore.Response, bytes]:
        """The response to ``request`` and its whole body."""
        url = request.url
        key = (url.scheme, url.host, url.port or 0)
        timeout = request.extensions.get("timeout", {}).get("connect")
        async with self._slots:
            connection = self._reuse(key) or await self._connect(url, timeout)
            try:
                response = await connection.handle_async_request(request)
                try:
                    body = await response.aread()
                finally:
                    await response.aclose()
            except BaseException:
                await connection.aclose()
                raise
            if connection.is_idle():
                self._idle.setdefault(key, []).append(connection)
            else:
                await connection.aclose()
            return response, body

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                await connection.aclose()
        self._idle.clear()


_KEEPALIVE = 5.0  # seconds an idle connection is kept


class AsyncioTransport(httpx.AsyncBaseTransport):
    """An httpx transport on httpcore's HTTP/1.1 connections and asyncio streams."""

    def __init__(self, *, verify: ssl.SSLContext | bool, connections: int) -> None:
        self._pool = _Pool(httpx.create_ssl_context(verify=verify), connections)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            # Bodies here are small JSON documents: read whole, inside the mapping, so a
            # connection cut mid-body surfaces as an httpx error like any other.
            response, body = await self._pool.send(core_request)
        except Exception as error:
            for core_error, httpx_error in _ERRORS:
                if isinstance(error, core_error):
                    raise httpx_error(str(error), request=request) from error
            raise
        return httpx.Response(
            response.status,
            headers=response.headers,
            content=body,
            extensions=response.extensions,
            request=request,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()
