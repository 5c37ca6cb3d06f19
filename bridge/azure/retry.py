"""The retry policy: which budget a failing call has, and how long to wait between tries."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds for repeating a call after a transient failure.

    ``max_attempts`` counts the first try; ``max_elapsed`` (seconds) bounds the whole call,
    waits included. Waits use exponential backoff with full jitter: a uniform draw in
    ``[0, min(backoff_cap, backoff_base * 2**retry)]``. The defaults suit Azure DevOps, whose
    throttling window is five minutes; tests pass tiny values.
    """

    max_attempts: int = 6
    max_elapsed: float = 300.0
    backoff_base: float = 0.5
    backoff_cap: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_elapsed <= 0 or self.backoff_base < 0 or self.backoff_cap < 0:
            raise ValueError("retry durations must be positive")

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first retry)."""
        return rng.uniform(0.0, min(self.backoff_cap, self.backoff_base * 2.0**retry))
