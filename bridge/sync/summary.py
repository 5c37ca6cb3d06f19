"""The end-of-run summary of a sync."""

from __future__ import annotations

from bridge.errors import AzureDevOpsError, BridgeError
from bridge.sync.engine import SyncResult
from bridge.sync.entity import STATUSES


def _count(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count:,} {singular if count == 1 else plural or singular + 's'}"


def _detail(error: BridgeError) -> str:
    # The failure line names the place already.
    return error.detail() if isinstance(error, AzureDevOpsError) else str(error)


def render_summary(result: SyncResult) -> str:
    """A few lines for people: totals, statuses, organizations, failures, unreadable reasons."""
    stats = result.stats
    throttled = f", {stats.throttled:,} throttled" if stats.throttled else ""
    lines = [
        f"Synced {_count(result.repositories, 'repository', 'repositories')} from "
        f"{_count(result.organizations, 'organization')} in {result.seconds:.1f} s "
        f"({_count(stats.requests, 'request')}, {_count(stats.retries, 'retry', 'retries')}"
        f"{throttled}).",
        "  catalog files: "
        + ", ".join(f"{result.by_status.get(status, 0):,} {status}" for status in STATUSES),
    ]
    if result.by_organization:
        lines.append(
            "  by organization: "
            + ", ".join(
                f"{name} {count:,}" for name, count in sorted(result.by_organization.items())
            )
        )
    if result.unreadable:
        lines.append("Unreadable catalog files:")
        lines += [f"  {count:,}: {reason}" for reason, count in result.unreadable.most_common(5)]
    if result.failures:
        lines.append(f"Failed ({len(result.failures)}):")
        lines += [f"  {failure.where}: {_detail(failure.error)}" for failure in result.failures]
    return "\n".join(lines) + "\n"
