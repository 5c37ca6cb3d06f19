"""The request and response values exchanged between the socket layer and the emulator app.

They carry no socket state, so the same app serves real loopback connections and in-process
calls (:mod:`bridge.emulator.transport`) alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


class Disruption(Enum):
    """How the transport layer must misbehave instead of (or before) answering normally."""

    RESET = "reset"  # close the connection without answering
    TRUNCATE = "truncate"  # promise the full Content-Length, send half the body, close
    STALL = "stall"  # say nothing for a long time, then answer


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request as the emulator sees it.

    ``headers`` keys are lower-case. ``target`` is the raw request target (path and query,
    still percent-encoded); ``scheme`` and the ``Host`` header give the base URL that
    response bodies link to. ``path`` (percent-encoded, without the query) and ``query``
    (parameters keyed by lower-cased name: Azure DevOps ignores their case) are parsed from
    ``target`` once, when the request is made.
    """

    method: str
    target: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    scheme: str = "http"
    path: str = field(init=False, repr=False, compare=False)
    query: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.target)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        object.__setattr__(self, "path", parts.path)
        object.__setattr__(self, "query", {name.lower(): value for name, value in pairs})

    @property
    def segments(self) -> list[str]:
        """The decoded path segments (``/a/b%20c/`` gives ``["a", "b c"]``)."""
        return [unquote(part) for part in self.path.split("/") if part]

    @property
    def base_url(self) -> str:
        """``scheme://host[:port]`` as the client addressed the server."""
        return f"{self.scheme}://{self.headers.get('host', 'localhost')}"

    def json(self) -> Any:
        """The body parsed as JSON (raises ``ValueError`` when it is not JSON)."""
        return json.loads(self.body.decode("utf-8-sig"))


@dataclass(slots=True)
class Response:
    """One HTTP response; ``disruption`` asks the transport to misbehave (fault injection)."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    disruption: Disruption | None = None
    stall_seconds: float = 0.0

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def set_header(self, name: str, value: str) -> None:
        """Replace every value of header ``name`` with ``value``."""
        wanted = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != wanted]
        self.headers.append((name, value))


def json_response(
    payload: Any,
    status: int = 200,
    *,
    api_version: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
) -> Response:
    """A JSON response with the content type Azure DevOps sends (api-version appended)."""
    content_type = JSON_CONTENT_TYPE + (f"; api-version={api_version}" if api_version else "")
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(status, [("Content-Type", content_type), *headers], body)
