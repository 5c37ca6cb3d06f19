"""The end-of-run summary of a sync."""

from __future__ import annotations

from collections import Counter

from bridge.sync.engine import SyncResult
from bridge.sync.entity import STATUSES

# Repositories named one by one under "Fields that could not be read"; the entities of the
# others say it all the same (`unavailable`).
_DEGRADED_SHOWN = 20


def _count(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count:,} {singular if count == 1 else plural or singular + 's'}"


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
    if result.incremental:
        lines.append(
            "  incremental: "
            + ", ".join(f"{count:,} {what}" for what, count in sorted(result.reads.items()))
        )
    if result.by_organization:
        lines.append(
            "  by organization: "
            + ", ".join(
                f"{name} {count:,}" for name, count in sorted(result.by_organization.items())
            )
        )
    lines += [f"Note: {note}" for note in sorted(result.notes)]
    if result.unreadable:
        lines.append("Unreadable catalog files:")
        lines += [f"  {count:,}: {reason}" for reason, count in result.unreadable.most_common(5)]
    if result.degraded:
        degraded = sorted(result.degraded, key=lambda repository: repository.where.casefold())
        reasons = Counter((entry.field, entry.reason) for item in degraded for entry in item.fields)
        lines.append(
            "Fields that could not be read, in "
            f"{_count(len(degraded), 'repository', 'repositories')} (null in their entities, "
            "named under `unavailable`):"
        )
        # The commonest first; ties by field and reason, so that the summary is stable.
        ranked = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
        lines += [f"  {count:,} {name}: {reason}" for (name, reason), count in ranked[:5]]
        for repository in degraded[:_DEGRADED_SHOWN]:
            names = ", ".join(entry.field for entry in repository.fields)
            lines.append(f"  - {repository.where}: {names}")
        if len(degraded) > _DEGRADED_SHOWN:
            lines.append(f"  - … and {len(degraded) - _DEGRADED_SHOWN:,} more")
    if result.failures:
        lines.append(f"Failed ({len(result.failures)}):")
        failures = sorted(result.failures, key=lambda failure: failure.where.casefold())
        lines += [f"  {failure.where}: {failure.error.detail()}" for failure in failures]
    return "\n".join(lines) + "\n"
