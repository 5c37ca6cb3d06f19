"""A small HTTP/1.1 server on asyncio streams that feeds requests to the emulator app.

Keep-alive, ``Content-Length`` and chunked request bodies, optional TLS. It also carries out
the disruptions the app asks for: closing without an answer, sending a truncated body, or
stalling before answering.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from email.utils import formatdate
from http import HTTPStatus

from bridge.emulator import api_errors
from bridge.emulator.app import EmulatorApp
from bridge.emulator.messages import Disruption, Request, Response

MAX_BODY = 32 * 1024 * 1024
MAX_HEADERS = 100
IDLE_TIMEOUT = 120.0  # seconds a keep-alive connection may sit idle between requests

_log = logging.getLogger(__name__)


class _BadRequest(Exception):
    """The bytes on the wire are not an HTTP/1.x request."""


def _one_line(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class _DateHeader:
    """The ``Date`` header value, formatted at most once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def __call__(self) -> str:
        now = int(time.time())
        if now != self._second:
            self._second, self._value = now, formatdate(now, usegmt=True)
        return self._value


class HttpServer:
    """Serves ``app`` on ``host:port`` (port 0 picks a free one) until :meth:`close`."""

    def __init__(
        self,
        app: EmulatorApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self.ssl_context = ssl_context
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._closing = False
        self._date = _DateHeader()

    @property
    def scheme(self) -> str:
        """``https`` with TLS, else ``http``."""
        return "https" if self.ssl_context else "http"

    @property
    def port(self) -> int:
        """The port actually listened on."""
        if self._server is None:
            raise RuntimeError("the server is not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def base_url(self) -> str:
        """``scheme://host:port``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    async def start(self) -> None:
        """Bind and start accepting connections."""
        self._server = await asyncio.start_server(
            self._serve_connection,
            self.host,
            self.requested_port,
            ssl=self.ssl_context,
            backlog=1024,
        )

    async def close(self) -> None:
        """Stop accepting and drop every open connection."""
        if self._server is not None:
            self._server.close()
            self._closing = True
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self._server.wait_closed()

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None  # stream callbacks always run in a task
        self._connections.add(task)
        self.app.stats.record_connection()
        try:
            while True:
                try:
                    async with asyncio.timeout(IDLE_TIMEOUT):
                        request = await self._read_request(reader)
                except _BadRequest as problem:
                    await self._send(
                        writer, api_errors.bad_request(str(problem)).response(), keep_alive=False
                    )
                    return
                if request is None:
                    return
                response = await self._answer(request[0])
                if not await self._deliver(writer, response, keep_alive=request[1]):
                    return
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, ssl.SSLError):
            return  # the client went away or idled out: nothing to answer
        except asyncio.CancelledError:
            if not self._closing:
                raise
            # close() ended this connection (idle, or a stalled answer): end quietly. Python
            # 3.11's stream callback would otherwise log the cancellation as an error.
            return
        except ValueError:  # a line longer than the stream limit
            await self._send(
                writer, api_errors.bad_request("Line too long.").response(), keep_alive=False
            )
        finally:
            self._connections.discard(task)
            writer.close()

    async def _answer(self, request: Request) -> Response:
        try:
            return await self.app.handle(request)
        except Exception:
            _log.exception("emulator failed on %s %s", request.method, request.path)
            return api_errors.internal_error().response()

    async def _read_request(self, reader: asyncio.StreamReader) -> tuple[Request, bool] | None:
        """The next request and whether the client wants the connection kept open."""
        line = await reader.readline()
        if not line:
            return None  # clean close between requests
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _BadRequest("Malformed request line.")
        method, target, version = parts
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS):
            raw = await reader.readline()
            if raw in (b"\r\n", b"\n"):
                break
            if not raw.endswith(b"\n"):
                raise asyncio.IncompleteReadError(raw, None)
            name, colon, value = raw.decode("latin-1").partition(":")
            if not colon:
                raise _BadRequest("Malformed header line.")
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
        else:
            raise _BadRequest("Too many header lines.")
        body = await self._read_body(reader, headers)
        connection = headers.get("connection", "").lower()
        keep_alive = (
            "keep-alive" in connection if version == "HTTP/1.0" else "close" not in connection
        )
        return Request(method.upper(), target, headers, body, self.scheme), keep_alive

    async def _read_body(self, reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size_line = await reader.readline()
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise _BadRequest("Malformed chunk size.") from None
                if size == 0:
                    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass  # skip trailers
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise _BadRequest("Request body too large.")
                chunks.append(await reader.readexactly(size))
                await reader.readline()
        length = headers.get("content-length", "0")
        if not length.isdigit() or int(length) > MAX_BODY:
            raise _BadRequest("Invalid Content-Length.")
        return await reader.readexactly(int(length)) if int(length) else b""

    async def _deliver(
        self, writer: asyncio.StreamWriter, response: Response, *, keep_alive: bool
    ) -> bool:
        """Write the answer as asked; return whether the connection stays open."""
        if response.disruption is Disruption.RESET:
            writer.transport.abort()
            return False
        if response.disruption is Disruption.STALL:
            await asyncio.sleep(response.stall_seconds)
        keep_alive = keep_alive and response.disruption is None
        await self._send(
            writer,
            response,
            keep_alive=keep_alive,
            truncate=response.disruption is Disruption.TRUNCATE,
        )
        return keep_alive

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        response: Response,
        *,
        keep_alive: bool,
        truncate: bool = False,
    ) -> None:
        lines = [f"HTTP/1.1 {response.status} {_reason(response.status)}"]
        # No CR/LF may reach the wire from values that echo request data (file names).
        lines += [f"{name}: {_one_line(value)}" for name, value in response.headers]
        lines += [
            f"Content-Length: {len(response.body)}",
            f"Date: {self._date()}",
            f"Connection: {'keep-alive' if keep_alive else 'close'}",
        ]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")
        body = response.body[: len(response.body) // 2] if truncate else response.body
        writer.write(head + body)
        await writer.drain()
        if truncate:
            writer.transport.abort()  # the promised length never arrives
