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


# Unmapped and ambiguous Components named one by one; the change report lists them all.
_COMPONENTS_SHOWN = 10
_ORIGINS = {"catalog": "the catalog repository's", "repository": "their own file's"}


def _context(result: SyncResult) -> str:
    """Repositories with context, by the origin counted (``backstage.catalog.precedence``
    picks it for those that have both)."""
    context = result.context
    both = "".join(
        f"; {_count(context[f'both {origin}'], 'has', 'have')} both, counted as {_ORIGINS[origin]}"
        for origin in _ORIGINS
        if context[f"both {origin}"]
    )
    return (
        f"  application context: {_count(context['repository'], 'repository', 'repositories')} "
        f"from their own catalog file, {context['catalog']:,} from a catalog repository{both}"
    )


def _catalogs(result: SyncResult) -> list[str]:
    """The catalog repositories (``backstage.catalog``): the Components that found no
    repository or several, and those that could not be read."""
    lines = []
    for outcome in sorted(result.catalogs, key=lambda o: (o.profile, o.repository)):
        if outcome.error is not None:
            lines.append(
                f"Catalog repository {outcome.repository} (profile {outcome.profile}) could "
                f"not be read: {outcome.error}"
            )
            continue
        errors = _count(outcome.errors, "processing error")
        if outcome.dropped:
            dropped = _count(outcome.dropped, "entity", "entities")
            errors += f" ({dropped} dropped with a failed Location)"
        lines.append(
            f"Catalog repository {outcome.repository} at {outcome.commit} (profile "
            f"{outcome.profile}): {_count(outcome.components, 'Component')}, "
            f"{outcome.mapped:,} mapped, {len(outcome.unmapped):,} unmapped, "
            f"{len(outcome.ambiguous):,} ambiguous, {errors}"
        )
        for item in outcome.unmapped[:_COMPONENTS_SHOWN]:
            lines.append(
                f"  unmapped: {item['ref']} ({item['file']}:{item['line']}): {item['reason']}"
            )
        for item in outcome.ambiguous[:_COMPONENTS_SHOWN]:
            names = ", ".join(item["repositories"])
            lines.append(f"  ambiguous: {item['ref']} ({item['file']}:{item['line']}): {names}")
        hidden = max(0, len(outcome.unmapped) - _COMPONENTS_SHOWN)
        hidden += max(0, len(outcome.ambiguous) - _COMPONENTS_SHOWN)
        if hidden:
            lines.append(f"  … and {hidden:,} more (the change report lists them all)")
    return lines


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
    if result.catalogs:
        lines.append(_context(result))
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
    lines += _catalogs(result)
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
