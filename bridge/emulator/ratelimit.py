"""Azure-style throttling: headers near the limit, then delays, then 429 with ``Retry-After``."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from bridge.emulator.api_errors import ApiError
from bridge.emulator.messages import Response
from bridge.emulator.options import RateLimitOptions

# The namespace Azure DevOps names in TF400733 messages is an opaque GUID.
_NAMESPACE = "00000000-0000-0000-0000-000000000000"


@dataclass(slots=True)
class Admission:
    """What throttling does to one request: extra headers, a delay, or a refusal."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    delay: float = 0.0
    refusal: Response | None = None


class RateLimiter:
    """One sliding window of request times per identity (a token name)."""

    def __init__(
        self,
        options: RateLimitOptions,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.options = options
        self._clock = clock
        self._wall_clock = wall_clock
        self._windows: dict[str, deque[float]] = {}

    def admit(self, identity: str) -> Admission:
        """Account one request of ``identity`` and say how to treat it."""
        options = self.options
        now = self._clock()
        window = self._windows.setdefault(identity, deque())
        while window and window[0] <= now - options.window_seconds:
            window.popleft()
        block_at = options.budget + options.delay_band
        if len(window) >= block_at:
            # Usage must fall below block_at: wait until that many old requests expire.
            expires = window[len(window) - block_at] + options.window_seconds
            retry_after = max(1, math.ceil(expires - now))
            refusal = ApiError(
                429,
                "TF400733: The request has been canceled: Request was blocked due to exceeding "
                f"usage of resource '{options.resource}' in namespace '{_NAMESPACE}'.",
                "RequestBlockedException",
            ).response()
            refusal.headers += [
                ("Retry-After", str(retry_after)),
                *self._usage_headers(window, now),
            ]
            return Admission(refusal=refusal)
        window.append(now)
        admission = Admission()
        if len(window) >= options.warn_fraction * options.budget:
            admission.headers = self._usage_headers(window, now)
        if len(window) > options.budget:
            admission.delay = options.delay_seconds
            admission.headers.append(("X-RateLimit-Delay", f"{options.delay_seconds:.3f}"))
        return admission

    def _usage_headers(self, window: deque[float], now: float) -> list[tuple[str, str]]:
        options = self.options
        reset = self._wall_clock() + (window[-1] + options.window_seconds - now)
        return [
            ("X-RateLimit-Resource", options.resource),
            ("X-RateLimit-Limit", str(options.budget)),
            ("X-RateLimit-Remaining", str(max(0, options.budget - len(window)))),
            ("X-RateLimit-Reset", str(math.ceil(reset))),
        ]
