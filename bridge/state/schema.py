"""The state database's schema, as numbered migrations.

``MIGRATIONS[n]`` takes a database from version ``n`` to ``n + 1``; each runs in one
transaction together with the version bump, so a run killed while migrating leaves the
database at the version before. A database newer than this code is refused, never
downgraded.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1: runs, each repository's last entity and what it was read from, its history,
    # and each organization's last successful sync.
    """
    CREATE TABLE schema_version (version INTEGER NOT NULL);
    INSERT INTO schema_version (version) VALUES (0);
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        config_digest TEXT NOT NULL,
        full INTEGER NOT NULL,
        counts TEXT,
        requests INTEGER,
        failures TEXT
    );
    CREATE TABLE entities (
        key TEXT PRIMARY KEY,
        profile TEXT NOT NULL,
        organization TEXT NOT NULL,
        project_id TEXT NOT NULL,
        entity TEXT NOT NULL,
        read_info TEXT NOT NULL,
        config_digest TEXT NOT NULL,
        run_id INTEGER NOT NULL,
        read_at TEXT NOT NULL,
        changed_at TEXT NOT NULL
    );
    CREATE INDEX entities_by_organization ON entities (profile, organization);
    CREATE TABLE history (
        key TEXT NOT NULL,
        run_id INTEGER NOT NULL,
        recorded_at TEXT NOT NULL,
        entity TEXT,
        PRIMARY KEY (key, run_id)
    );
    CREATE INDEX history_by_run ON history (run_id);
    CREATE TABLE organizations (
        profile TEXT NOT NULL,
        organization TEXT NOT NULL,
        synced_at TEXT NOT NULL,
        run_id INTEGER NOT NULL,
        PRIMARY KEY (profile, organization)
    );
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
