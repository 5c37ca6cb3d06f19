"""One sync run's use of the state: what it may reuse, and what it records.

A run is *incremental* unless ``--full`` is given, no full run is recorded, or the last one
is older than ``full_refresh_days``. Even then, a repository's previous entity is reused
only if it was made under the same configuration (same digest): a change to the catalog
attributes, file name or developers window reads everything again.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bridge.config import Profile
from bridge.nightly.previous import Previous
from bridge.state.store import StateStore, StoredEntity, repository_key


def config_digest(profiles: Sequence[Profile], developers_days: int | None = None) -> str:
    """A digest of every setting that shapes an entity (never a token); ``developers_days``
    overrides the profiles' (``sync --developers``)."""
    settings = [
        {
            "name": profile.name,
            "api_url": profile.api_url,
            "organizations": list(profile.organizations),
            "developers_days": profile.developers_days
            if developers_days is None
            else developers_days,
            "backstage": None
            if profile.backstage is None
            else {
                "filename": profile.backstage.filename,
                "attributes": list(profile.backstage.attributes),
                "fields": {key: str(value) for key, value in profile.backstage.fields.items()},
            },
        }
        for profile in sorted(profiles, key=lambda profile: profile.name)
    ]
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(slots=True)
class StateRun:
    """A run recording into ``store``; ``incremental`` says whether it may reuse entities."""

    store: StateStore
    run_id: int
    digest: str
    incremental: bool
    # Every repository's last entity, whatever its configuration: read once, for reuse and
    # for the change report (previous_entities).
    _previous: dict[str, StoredEntity] = field(default_factory=dict)
    _by_project: dict[tuple[str, str, str], set[str]] = field(default_factory=dict)

    @classmethod
    def begin(
        cls,
        store: StateStore,
        profiles: Sequence[Profile],
        *,
        full: bool,
        full_refresh_days: int,
        now: datetime,
        developers_days: int | None = None,
    ) -> StateRun:
        """Start a run: incremental unless ``full`` or the last full run is too old."""
        digest = config_digest(profiles, developers_days)
        last_full = store.last_full_run()
        stale = last_full is None or last_full.started_at < now - timedelta(full_refresh_days)
        incremental = not full and not stale
        run = cls(store, store.begin_run(digest, full=not incremental), digest, incremental)
        run._previous = store.previous()
        if incremental:
            by_project: dict[tuple[str, str, str], set[str]] = defaultdict(set)
            for key, stored in run._previous.items():
                if stored.config_digest == digest:
                    profile, organization, _ = key.split("/", 2)
                    by_project[(profile, organization, stored.project_id)].add(key)
            run._by_project = dict(by_project)
        return run

    def previous(self, profile: str, organization: str, repository_id: str) -> StoredEntity | None:
        """The repository's previous entity, if this run may reuse it (an incremental run,
        and the entity made under the same configuration)."""
        stored = self._previous.get(repository_key(profile, organization, repository_id))
        if not self.incremental or stored is None or stored.config_digest != self.digest:
            return None
        return stored

    def previous_entities(self) -> Previous:
        """Every repository's last entity (what the change report compares with), from the
        rows :meth:`begin` read: the state is read once per run."""
        return Previous({key: stored.entity_text for key, stored in self._previous.items()})

    def previous_keys(self, profile: str, organization: str, project_id: str) -> set[str]:
        """The keys of the repositories the previous runs saw in a project."""
        return self._by_project.get((profile, organization, project_id), set())

    def record(self, entries: Sequence[tuple[str, Mapping[str, Any], Mapping[str, Any]]]) -> None:
        """Record ``(key, entity, read_info)`` entries as one unit (a project)."""
        with self.store.transaction():
            for key, entity, read_info in entries:
                self.store.record_entity(self.run_id, key, entity, read_info)
