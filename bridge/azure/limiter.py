"""One limiter per (host, identity): bounded concurrency, host-wide pauses and pacing.

Azure DevOps meters usage per identity, so every client object that talks to the same host
with the same token shares one :class:`HostLimiter` (looked up with :func:`shared_limiter`).
The identity is a hash of the token, never the token. A ``Retry-After`` header (on any status)
or a 429 pauses every request to the host, and low ``X-RateLimit-Remaining`` spaces requests
out until ``X-RateLimit-Reset`` so that throttling is avoided rather than met.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
import weakref
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Self

from bridge.secrets import Secret

# Pace requests once fewer than this share of the rate-limit budget is left.
LOW_BUDGET_FRACTION = 0.1
# Azure delays a single request by at most 30 s; spacing requests further apart gains nothing.
MAX_SPACING = 30.0


class HostLimiter:
    """Admission control for one (host, identity), shared by every task and client using it."""

    __slots__ = ("_next_start", "_pace_until", "_paused_until", "_slots", "_spacing")

    def __init__(self, concurrency: int) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._slots = asyncio.Semaphore(concurrency)
        self._paused_until = 0.0  # time.monotonic() before which nothing is sent
        self._spacing = 0.0  # seconds between request starts while pacing
        self._pace_until = 0.0
        self._next_start = 0.0

    def slot(self) -> Self:
        """``async with limiter.slot()``: hold one of the concurrency slots, entered only once
        no pause is in force."""
        # The limiter is its own context manager: a generator-based one would cost a
        # generator and a wrapper per request.
        return self

    async def __aenter__(self) -> None:
        while True:
            await self._wait_for_turn()
            await self._slots.acquire()
            if self.pause_remaining() <= 0:
                return
            # A pause began while this task queued: wait it out without holding a slot.
            self._slots.release()

    async def __aexit__(self, *exc_info: object) -> None:
        self._slots.release()

    def pause(self, seconds: float) -> None:
        """Send nothing to this host for ``seconds`` (an existing longer pause stands)."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def pause_remaining(self) -> float:
        """Seconds until the current pause ends (0 when there is none)."""
        return max(0.0, self._paused_until - time.monotonic())

    def observe(self, headers: Mapping[str, str]) -> float | None:
        """Apply a response's throttling headers; returns the Retry-After seconds if any."""
        retry_after = parse_retry_after(headers.get("retry-after"))
        if retry_after is not None:
            self.pause(retry_after)
        remaining = _number(headers.get("x-ratelimit-remaining"))
        reset = _number(headers.get("x-ratelimit-reset"))
        if remaining is not None and reset is not None:
            self._pace(remaining, _number(headers.get("x-ratelimit-limit")), reset)
        return retry_after

    def _pace(self, remaining: float, limit: float | None, reset_epoch: float) -> None:
        until_reset = reset_epoch - time.time()
        low = remaining <= (limit * LOW_BUDGET_FRACTION if limit else 0.0)
        if not low or until_reset <= 0:
            self._spacing = 0.0
            return
        # Spread what is left of the budget evenly over the time until it resets.
        self._spacing = min(until_reset / (remaining + 1.0), MAX_SPACING)
        now = time.monotonic()
        self._pace_until = now + until_reset
        self._next_start = max(self._next_start, now + self._spacing)

    async def _wait_for_turn(self) -> None:
        while (wait := self.pause_remaining()) > 0:
            await asyncio.sleep(wait)
        now = time.monotonic()
        if self._spacing > 0 and now < self._pace_until:
            # The budget is back at the reset: no queued request waits past it, however many
            # are queued (otherwise N waiters would be spread over N * spacing seconds).
            start = min(max(now, self._next_start), self._pace_until)
            self._next_start = start + self._spacing
            await asyncio.sleep(start - now)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds (decimals tolerated) or an HTTP date."""
    if value is None:
        return None
    seconds = _number(value)
    if seconds is None:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return max(0.0, seconds)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        parsed = float(value.strip())
    except ValueError:
        return None
    return parsed if math.isfinite(parsed) else None


def identity_of(token: Secret) -> str:
    """A stable, non-reversible name for the identity a token stands for."""
    return hashlib.sha256(token.reveal().encode()).hexdigest()[:16]


# asyncio primitives belong to one event loop, so limiters are shared within a loop and
# dropped with it.
_registry: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, str], HostLimiter]
] = weakref.WeakKeyDictionary()


def shared_limiter(host: str, identity: str, concurrency: int) -> HostLimiter:
    """The limiter for ``host`` and ``identity`` in the running event loop.

    The first caller's ``concurrency`` sizes it; later callers share it as it is.
    """
    per_loop = _registry.setdefault(asyncio.get_running_loop(), {})
    key = (host.lower(), identity)
    limiter = per_loop.get(key)
    if limiter is None:
        limiter = per_loop[key] = HostLimiter(concurrency)
    return limiter
