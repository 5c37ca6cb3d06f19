"""Seeded fault and latency injection (reproducible for a seed and a request order)."""

from __future__ import annotations

import random
from enum import Enum
from fnmatch import fnmatchcase

from bridge.emulator.api_errors import internal_error
from bridge.emulator.messages import Disruption, Response
from bridge.emulator.options import FaultOptions


class Fault(Enum):
    """The kinds of injected faults."""

    SERVER_ERROR = "server_error"
    RESET = "reset"
    TRUNCATE = "truncate"
    STALL = "stall"
    RETRY_AFTER = "retry_after"


class FaultInjector:
    """Decides, request by request, which fault (if any) and how much latency to inject."""

    def __init__(self, options: FaultOptions) -> None:
        self.options = options
        self._faults = random.Random(options.seed)
        # A separate stream, so that latency jitter does not shift the fault sequence.
        self._jitter = random.Random(options.seed + 1)
        self._rates = (
            (Fault.SERVER_ERROR, options.server_error_rate),
            (Fault.RESET, options.reset_rate),
            (Fault.TRUNCATE, options.truncate_rate),
            (Fault.STALL, options.stall_rate),
            (Fault.RETRY_AFTER, options.retry_after_rate),
        )

    def applies_to(self, route: str, path: str) -> bool:
        """Whether faults and latency apply to this route name or path."""
        patterns = self.options.routes
        return not patterns or any(
            fnmatchcase(route, pattern) or fnmatchcase(path, pattern) for pattern in patterns
        )

    def latency(self) -> float:
        """Seconds to hold the next request."""
        options = self.options
        jitter = (
            self._jitter.uniform(0, options.latency_jitter_ms) if options.latency_jitter_ms else 0
        )
        return (options.latency_ms + jitter) / 1000

    def draw(self) -> Fault | None:
        """The fault for the next eligible request (one draw per request)."""
        if not self.options.any_fault:
            return None
        roll = self._faults.random()
        for fault, rate in self._rates:
            if roll < rate:
                return fault
            roll -= rate
        return None

    def server_error(self) -> Response:
        """An injected 5xx answer, its status drawn from the configured list."""
        statuses = self.options.server_error_statuses
        status = statuses[self._faults.randrange(len(statuses))]
        return internal_error(status).response()

    def disrupt(self, fault: Fault, response: Response) -> Response:
        """Apply a fault that alters an otherwise normal answer (truncate, stall, Retry-After;
        a server error or a reset replaces the answer, so the app never asks for those)."""
        if fault is Fault.TRUNCATE:
            response.disruption = Disruption.TRUNCATE
        elif fault is Fault.STALL:
            response.disruption = Disruption.STALL
            response.stall_seconds = self.options.stall_seconds
        elif fault is Fault.RETRY_AFTER:
            response.set_header("Retry-After", str(self.options.retry_after_seconds))
        return response
