"""The request engine: every HTTP call to Azure DevOps (directly or through a broker).

For each call it picks the api-version (stepping down to a server's ceiling), waits for the
shared (host, identity) limiter, sends the request, applies throttling headers, turns the
answer into data or a typed error, and retries transient failures with exponential backoff and
full jitter within the retry policy's bounds. Nothing it logs or raises contains a token.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx

from bridge.azure import versions
from bridge.azure.broker import classify_broker, relayed
from bridge.azure.endpoints import OrgEndpoints, Service
from bridge.azure.failures import Failure, Where, classify, decode_json, make_error
from bridge.azure.limiter import HostLimiter, shared_limiter
from bridge.azure.network import AsyncioTransport
from bridge.azure.retry import RetryPolicy
from bridge.azure.stats import RequestStats
from bridge.errors import AzureDevOpsError, ServiceError, UntrustedCertificateError
from bridge.secrets import redact

_log = logging.getLogger("bridge.azure")


@dataclass(frozen=True, slots=True)
class Call:
    """One API call as the client describes it, before negotiation and retries.

    ``path`` is relative to the service base and already percent-encoded; ``scope`` names
    the PAT scope the call needs (for the message when the token is refused). ``idempotent``
    is False for calls that change something: those are repeated only when the failed
    attempt certainly had no effect. ``blocked_hint`` replaces the generic advice when a
    broker's accept rules block the call.
    """

    method: str
    service: Service
    path: str
    api_version: str
    where: Where
    scope: str
    params: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    idempotent: bool = True
    blocked_hint: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """A successful answer: the decoded JSON body and the response headers."""

    data: Any
    headers: httpx.Headers


class RequestEngine:
    """Sends :class:`Call` objects for one organization over one httpx transport.

    Requests go straight to the transport: httpx's client layer (cookies, hooks, URL
    merging) would add about 60 µs to each request and nothing this client uses.
    """

    __slots__ = (
        "_ceilings",
        "_concurrency",
        "_endpoints",
        "_extensions",
        "_fast",
        "_headers",
        "_identity",
        "_raw_headers",
        "_retry",
        "_rng",
        "_transport",
        "_via_broker",
        "stats",
    )

    def __init__(
        self,
        endpoints: OrgEndpoints,
        transport: httpx.AsyncBaseTransport,
        *,
        headers: Mapping[str, str],
        timeout: float,
        identity: str,
        via_broker: bool,
        concurrency: int,
        retry: RetryPolicy,
        stats: RequestStats,
    ) -> None:
        self._endpoints = endpoints
        self._transport = transport
        self._fast = transport if isinstance(transport, AsyncioTransport) else None
        self._headers = httpx.Headers(headers)
        self._raw_headers = self._headers.raw
        self._extensions = {"timeout": httpx.Timeout(timeout).as_dict()}
        self._identity = identity
        self._via_broker = via_broker
        self._concurrency = concurrency
        self._retry = retry
        self._rng = random.Random()
        self._ceilings = versions.VersionCeilings()
        self.stats = stats

    def api_version(self, base: str, version: str) -> str:
        """The api-version sent for ``version`` to ``base`` (after any step-down)."""
        return self._ceilings.version_for(base, version)

    async def aclose(self) -> None:
        """Close the connections."""
        await self._transport.aclose()

    async def send(self, call: Call) -> Reply:
        """Perform ``call``; returns its answer or raises an ``AzureDevOpsError``."""
        base = self._endpoints.base(call.service)
        url = self._endpoints.url(call.service, call.path)
        limiter = shared_limiter(urlsplit(base).netloc, self._identity, self._concurrency)
        deadline = time.monotonic() + self._retry.max_elapsed
        stepped_down = False
        tries = 0  # failed attempts that count against the retry policy
        while True:
            version = self._ceilings.version_for(base, call.api_version)
            outcome, retry_after = await self._attempt(call, url, version, limiter)
            if isinstance(outcome, Reply):
                return outcome
            ceiling = outcome.ceiling
            if ceiling is not None and not stepped_down and ceiling < versions.number(version):
                # Not a retry: the server told us which version it speaks.
                self._ceilings.learn(base, ceiling)
                stepped_down = True
                _log.info("%s speaks api-version %d.%d at most", redact(base), *ceiling)
                continue
            tries += 1
            wait = self._wait_before_retry(
                outcome,
                call,
                tries=tries,
                retry_after=retry_after,
                deadline=deadline,
                limiter=limiter,
            )
            if wait is None:
                raise _gave_up(outcome.error, tries)
            self.stats.retries += 1
            _log.info(
                "retrying %s %s in %.2fs (attempt %d failed: %s)",
                call.method,
                redact(url),
                wait,
                tries,
                outcome.error,
            )
            await asyncio.sleep(wait)

    async def _attempt(
        self, call: Call, url: str, version: str, limiter: HostLimiter
    ) -> tuple[Reply | Failure, float | None]:
        # The query is encoded here so httpx parses the URL once (it would parse it again to
        # merge parameters: measurable when a sync makes twenty thousand requests), and GETs
        # through the default transport skip that parse too.
        target = f"{url}?{_query(tuple(call.params.items()), version)}"
        fast = self._fast if call.body is None and call.method == "GET" else None
        try:
            async with limiter.slot():
                self.stats.requests += 1
                started = time.monotonic()
                if fast is not None:
                    response = await fast.get(target, self._raw_headers, self._extensions)
                else:
                    request = httpx.Request(
                        call.method,
                        target,
                        headers=self._headers,
                        json=call.body,
                        extensions=self._extensions,
                    )
                    response = await self._transport.handle_async_request(request)
                    await response.aread()  # already read by the default transport
                    response.request = request
        except httpx.TransportError as error:
            return _transport_failure(error, call.where, url), None
        retry_after = limiter.observe(response.headers)
        if retry_after is not None:
            self.stats.paused += 1
        if response.status_code == 429:
            self.stats.throttled += 1
        if _log.isEnabledFor(logging.DEBUG):  # --verbose
            elapsed = (time.monotonic() - started) * 1000
            _log.debug(
                "%s %s -> HTTP %d in %.0f ms",
                call.method,
                redact(url),
                response.status_code,
                elapsed,
            )
        return self._interpret(response, call), retry_after

    def _interpret(self, response: httpx.Response, call: Call) -> Reply | Failure:
        if self._via_broker:
            failure = classify_broker(
                response,
                call.where,
                method=call.method,
                path=call.path,
                blocked_hint=call.blocked_hint,
            )
            if failure is not None:
                return failure
        outcome: Reply | Failure
        status = response.status_code
        if 200 <= status < 300 and status != 203:
            data = decode_json(response, call.where)
            outcome = data if isinstance(data, Failure) else Reply(data, response.headers)
        else:
            outcome = classify(response, call.where, scope=call.scope)
        if self._via_broker and isinstance(outcome, Failure):
            outcome = relayed(outcome)
        return outcome

    def _wait_before_retry(
        self,
        failure: Failure,
        call: Call,
        *,
        tries: int,
        retry_after: float | None,
        deadline: float,
        limiter: HostLimiter,
    ) -> float | None:
        """Seconds this call waits before trying again, or None to give up."""
        if not failure.retryable or tries >= self._retry.max_attempts:
            return None
        if not (call.idempotent or failure.repeatable):
            return None
        backoff = self._retry.backoff(tries - 1, self._rng)
        own_wait = backoff
        if retry_after is not None:
            own_wait = 0.0  # the host-wide pause already holds this request back
        elif failure.error.status == 429:
            # Throttling is per identity: hold back every request to the host, not just this one.
            limiter.pause(backoff)
            own_wait = 0.0
        if time.monotonic() + max(own_wait, limiter.pause_remaining()) > deadline:
            return None
        return own_wait


@functools.lru_cache(maxsize=1024)
def _query(params: tuple[tuple[str, str], ...], version: str) -> str:
    """The encoded query string; most calls of a sync repeat a few (same path, same top)."""
    return urlencode({**dict(params), "api-version": version}, quote_via=quote, safe="/$")


def _untrusted_certificate(error: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate verification failure behind ``error`` (httpx wraps it twice), if any."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _transport_failure(error: httpx.TransportError, where: Where, url: str) -> Failure:
    """A request that got no complete answer: connection, timeout or protocol trouble."""
    host = httpx.URL(url).host
    detail = redact(str(error)) or type(error).__name__
    certificate = _untrusted_certificate(error)
    if certificate is not None:
        # Not transient: asking again meets the same certificate.
        reason = certificate.verify_message or certificate.reason or "verification failed"
        return Failure(
            make_error(
                UntrustedCertificateError,
                f"the TLS certificate of {host} is not trusted ({reason})",
                where,
                hint="if the server uses a private CA, make the client trust that CA's "
                "certificate; otherwise check the API URL's host name",
            )
        )
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        # Nothing reached the server, so even a write may be sent again.
        message, retryable, repeatable = f"could not connect to {host}: {detail}", True, True
    elif isinstance(error, httpx.TimeoutException):
        message, retryable, repeatable = f"timed out waiting for {host}", True, False
    elif isinstance(error, httpx.NetworkError | httpx.RemoteProtocolError):
        message, retryable, repeatable = (
            f"the connection to {host} broke off: {detail}",
            True,
            False,
        )
    else:
        message, retryable, repeatable = f"the request to {host} failed: {detail}", False, False
    return Failure(make_error(ServiceError, message, where), retryable, repeatable)


def _gave_up(error: AzureDevOpsError, tries: int) -> AzureDevOpsError:
    """``error``, noting how many attempts were made when there was more than one."""
    if tries > 1:
        error.message = f"{error.message}; gave up after {tries} attempts"
        error.args = (error.message,)
    return error
