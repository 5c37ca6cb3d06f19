"""Request counters by route, by status and by injected fault, readable from any thread."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class Stats:
    """Counts requests as the app answers them, and connections as the server accepts them.

    The app runs on the server's event loop while tests and benchmarks read from their own
    thread, hence the lock around every access.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: Counter[tuple[str, int]] = Counter()  # by (route, status)
        self._faults: Counter[str] = Counter()
        self._delayed = 0
        self._connections = 0
        self._in_flight = 0
        self._max_in_flight = 0

    def request_started(self) -> None:
        """Note one more request being answered (admin requests are not counted)."""
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def request_finished(self) -> None:
        """Note that a request's answer is ready (or the request was dropped)."""
        with self._lock:
            self._in_flight -= 1

    def record_connection(self) -> None:
        """Count one accepted connection (keep-alive shows as many requests per connection)."""
        with self._lock:
            self._connections += 1

    def record(self, route: str, status: int) -> None:
        """Count one answered (or deliberately unanswered) request."""
        with self._lock:
            self._answers[route, status] += 1

    def record_fault(self, kind: str) -> None:
        """Count one injected fault."""
        with self._lock:
            self._faults[kind] += 1

    def record_delay(self) -> None:
        """Count one request held back by throttling."""
        with self._lock:
            self._delayed += 1

    def count(self, route: str | None = None, status: int | None = None) -> int:
        """Requests seen, optionally only for one route name and/or one status."""
        with self._lock:
            return sum(
                number
                for (seen_route, seen_status), number in self._answers.items()
                if (route is None or route == seen_route)
                and (status is None or status == seen_status)
            )

    def snapshot(self) -> dict[str, Any]:
        """Everything as JSON-ready data (what ``GET /_emulator/stats`` answers)."""
        with self._lock:
            by_route: Counter[str] = Counter()
            by_status: Counter[int] = Counter()
            by_route_status: dict[str, dict[str, int]] = {}
            for (route, status), number in sorted(self._answers.items()):
                by_route[route] += number
                by_status[status] += number
                by_route_status.setdefault(route, {})[str(status)] = number
            return {
                "requests": by_route.total(),
                "by_route": dict(by_route),
                "by_status": {str(k): v for k, v in sorted(by_status.items())},
                "by_route_status": by_route_status,
                "faults": dict(sorted(self._faults.items())),
                "throttle_delays": self._delayed,
                "connections": self._connections,
                # Requests being answered at once, now and at most since the last reset.
                "in_flight": self._in_flight,
                "max_in_flight": self._max_in_flight,
            }

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self._answers.clear()
            self._faults.clear()
            self._delayed = 0
            self._connections = 0
            self._max_in_flight = self._in_flight  # requests under way still count
