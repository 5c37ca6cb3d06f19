"""How the emulator behaves beyond the estate: deployment layout, faults, latency, throttling.

Everything is off by default. The same options can be given in code or in the ``options:``
section of an estate file (:func:`options_from_node` reads that section).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from bridge.emulator.validation import Node
from bridge.errors import EmulatorError

CLOUD_CEILING = "7.1"
CLOUD_PREVIEW_CEILING = "7.2"  # the cloud previews its next version (reference §5)
ONPREM_CEILING = "6.0"  # Azure DevOps Server 2020


@dataclass(frozen=True, slots=True)
class FaultOptions:
    """Seeded fault and latency injection.

    Each ``*_rate`` is the probability (0..1) that a request gets that fault; at most one
    fault hits a request. Decisions come from one random generator seeded with ``seed`` and
    drawn once per eligible request, so the same requests in the same order meet the same
    faults. ``routes`` restricts faults and latency to requests whose route name (such as
    ``git.items``) or path matches one of these ``fnmatch`` patterns; empty means all.
    """

    seed: int = 0
    server_error_rate: float = 0.0
    server_error_statuses: tuple[int, ...] = (500, 503)
    reset_rate: float = 0.0
    truncate_rate: float = 0.0
    stall_rate: float = 0.0
    stall_seconds: float = 60.0
    retry_after_rate: float = 0.0
    retry_after_seconds: int = 1
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    routes: tuple[str, ...] = ()

    @property
    def any_fault(self) -> bool:
        """Whether any fault kind has a non-zero rate."""
        return (
            self.server_error_rate
            + self.reset_rate
            + self.truncate_rate
            + self.stall_rate
            + self.retry_after_rate
        ) > 0


@dataclass(frozen=True, slots=True)
class RateLimitOptions:
    """A per-token sliding-window budget, shaped like Azure DevOps throttling.

    Each request costs one unit. From ``warn_fraction`` of ``budget`` on, answers carry the
    ``X-RateLimit-*`` headers; past the budget the next ``delay_band`` requests are held for
    ``delay_seconds`` each (``X-RateLimit-Delay``); beyond that requests are refused with 429,
    ``Retry-After`` and ``TF400733`` until enough usage has left the window. Refused
    requests do not count.
    """

    budget: int = 200
    window_seconds: float = 300.0
    warn_fraction: float = 0.8
    delay_band: int = 50
    delay_seconds: float = 0.1
    resource: str = "Core"


@dataclass(frozen=True, slots=True)
class EmulatorOptions:
    """Deployment layout, api-version ceiling, fault injection and rate limiting.

    ``layout="cloud"`` serves ``/{org}/...``; ``"onprem"`` serves
    ``/{virtual_directory}/{collection}/...`` (no virtual directory when it is empty) with an
    api-version ceiling of 6.0 unless ``api_ceiling`` says otherwise.
    """

    layout: Literal["cloud", "onprem"] = "cloud"
    virtual_directory: str = "tfs"
    api_ceiling: str | None = None
    faults: FaultOptions = field(default_factory=FaultOptions)
    rate_limit: RateLimitOptions | None = None

    @property
    def ceiling(self) -> str:
        """The highest api-version served."""
        if self.api_ceiling:
            return self.api_ceiling
        return ONPREM_CEILING if self.layout == "onprem" else CLOUD_CEILING

    @property
    def preview_ceiling(self) -> str:
        """The highest api-version served in ``-preview`` form: the cloud's next version,
        else the ceiling (a server, or a ceiling set on purpose, previews nothing newer)."""
        if self.layout == "cloud" and not self.api_ceiling:
            return CLOUD_PREVIEW_CEILING
        return self.ceiling


def options_from_node(node: Node) -> EmulatorOptions:
    """Read an ``options:`` section (keys as the dataclass fields) into options."""
    table = node.mapping({"layout", "virtual_directory", "api_ceiling", "faults", "rate_limit"})
    layout = table.text_at("layout", "cloud")
    if layout not in ("cloud", "onprem"):
        table.child("layout").fail(f"expected 'cloud' or 'onprem', got {layout!r}")
    faults_node = table.node("faults")
    limit_node = table.node("rate_limit")
    return EmulatorOptions(
        layout="onprem" if layout == "onprem" else "cloud",
        virtual_directory=table.text_at("virtual_directory", "tfs").strip("/"),
        api_ceiling=_ceiling(table.node("api_ceiling")),
        faults=_faults(faults_node) if faults_node else FaultOptions(),
        rate_limit=_rate_limit(limit_node) if limit_node else None,
    )


def _ceiling(node: Node | None) -> str | None:
    """An api-version such as ``6.0`` (YAML may read it as a number)."""
    if node is None:
        return None
    value = f"{node.value:.1f}" if isinstance(node.value, float) else node.value
    if not isinstance(value, str) or re.fullmatch(r"\d+\.\d+", value) is None:
        node.fail(f"expected an api-version such as '6.0', got {node.value!r}")
    return value


def _faults(node: Node) -> FaultOptions:
    table = node.mapping(
        {
            "server_error_rate",
            "reset_rate",
            "truncate_rate",
            "stall_rate",
            "retry_after_rate",
            "seed",
            "server_error_statuses",
            "stall_seconds",
            "retry_after_seconds",
            "latency_ms",
            "latency_jitter_ms",
            "routes",
        }
    )
    defaults = FaultOptions()
    statuses_node = table.node("server_error_statuses")
    statuses = defaults.server_error_statuses
    if statuses_node is not None:
        statuses = tuple(_status(item) for item in statuses_node.sequence())
    return FaultOptions(
        seed=table.integer("seed", 0),
        server_error_statuses=statuses,
        stall_seconds=table.number("stall_seconds", defaults.stall_seconds),
        retry_after_seconds=table.integer("retry_after_seconds", 1),
        latency_ms=table.number("latency_ms", 0.0),
        latency_jitter_ms=table.number("latency_jitter_ms", 0.0),
        routes=tuple(table.texts("routes")),
        server_error_rate=table.number("server_error_rate", 0.0, maximum=1.0),
        reset_rate=table.number("reset_rate", 0.0, maximum=1.0),
        truncate_rate=table.number("truncate_rate", 0.0, maximum=1.0),
        stall_rate=table.number("stall_rate", 0.0, maximum=1.0),
        retry_after_rate=table.number("retry_after_rate", 0.0, maximum=1.0),
    )


def with_fault_overrides(
    options: EmulatorOptions, faults: str | None = None, *, latency_ms: float | None = None
) -> EmulatorOptions:
    """``options`` with fault settings from a command line on top of its own.

    ``faults`` is ``key=number,...`` with the keys of an estate file's ``options.faults``
    (``server_error_rate=0.1,seed=7``); ``latency_ms`` sets the injected latency. Values are
    checked as in an estate file; errors start with ``--faults``.
    """
    merged: dict[str, Any] = {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in dataclasses.asdict(options.faults).items()
    }
    for pair in (faults or "").split(","):
        if not pair.strip():
            continue
        key, equals, raw = pair.partition("=")
        if not equals:
            raise EmulatorError(f"--faults: expected key=number, got {pair.strip()!r}")
        merged[key.strip()] = _number(raw.strip())
    if latency_ms is not None:
        merged["latency_ms"] = latency_ms
    return dataclasses.replace(options, faults=_faults(Node(merged, "", "--faults")))


def _number(text: str) -> int | float | str:
    """A command-line value as the number it spells (left as text for the check to refuse)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _status(node: Node) -> int:
    if not isinstance(node.value, int) or not 500 <= node.value <= 599:
        node.fail(f"expected an HTTP status from 500 to 599, got {node.value!r}")
    return node.value


def _rate_limit(node: Node) -> RateLimitOptions:
    table = node.mapping(
        {"budget", "window_seconds", "warn_fraction", "delay_band", "delay_seconds", "resource"}
    )
    defaults = RateLimitOptions()
    return RateLimitOptions(
        budget=table.integer("budget", defaults.budget, minimum=1),
        window_seconds=table.number("window_seconds", defaults.window_seconds),
        warn_fraction=table.number("warn_fraction", defaults.warn_fraction, maximum=1.0),
        delay_band=table.integer("delay_band", defaults.delay_band),
        delay_seconds=table.number("delay_seconds", defaults.delay_seconds),
        resource=table.text_at("resource", defaults.resource),
    )
