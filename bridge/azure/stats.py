"""Request counters for a sync's summary (shared by every client that is handed the same object)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class RequestStats:
    """How many HTTP requests were sent, repeated, throttled and paused for.

    Holds numbers only, never URLs (a broker URL carries the broker token).
    """

    requests: int = 0  # every HTTP request sent, repeats included
    retries: int = 0  # requests repeated after a transient failure
    throttled: int = 0  # 429 answers
    paused: int = 0  # Retry-After headers honoured (on any status)
