"""The state database: what nightly runs saw, kept from one run to the next.

One SQLite file (standard library, WAL journal) holds each repository's last entity and
what it was read from, each run (start, end, counts, requests, failures, configuration
digest), the history of each repository's entity, and each organization's last successful
sync. Everything a run records is committed in units (one repository, or the batch of a
:meth:`StateStore.transaction`), so a run killed at any point, even by SIGKILL, leaves the
database as it was after the last committed unit: SQLite's journal rolls the rest back.

Repositories are keyed ``profile/organization/repository_id``: the id survives a rename
or a move, so a renamed repository is the same repository.

One run at a time per state file: :meth:`StateStore.open` takes the advisory lock of
:mod:`bridge.sync.lock` and refuses a second run at once with
:class:`~bridge.errors.LockedError`. Reading (``catalog-bridge state``) takes no lock: WAL
lets it read while a run writes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from bridge.errors import InputError
from bridge.state.schema import MIGRATIONS, SCHEMA_VERSION
from bridge.sync.lock import FileLock, lock_file

Clock = Callable[[], datetime]


def repository_key(profile: str, organization: str, repository_id: str) -> str:
    """The state's key of a repository: ``profile/organization/repository_id``."""
    return f"{profile}/{organization}/{repository_id}"


def entity_key(entity: Mapping[str, Any]) -> str:
    """The key of an entity (see :func:`repository_key`)."""
    return repository_key(entity["profile"], entity["organization"], entity["id"])


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run as the state recorded it; ``finished_at`` None: still running, or killed."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    config_digest: str
    full: bool
    counts: dict[str, int]
    requests: int | None
    failures: list[str]


@dataclass(frozen=True, slots=True)
class StoredEntity:
    """A repository's last entity, what it was read from, and under which configuration.

    The entity and its read information stay JSON text until read (a new copy on each
    read: bind it once): a run holds every repository's, which decoded took 75 MB for
    10,000 repositories.
    """

    entity_text: str
    read_info_text: str
    project_id: str  # read_info's project_id ("" when it has none)
    config_digest: str
    read_at: datetime

    @property
    def entity(self) -> dict[str, Any]:
        """The entity, decoded."""
        value: dict[str, Any] = json.loads(self.entity_text)
        return value

    @property
    def read_info(self) -> dict[str, Any]:
        """What it was read from (free-form JSON, see :meth:`StateStore.record_entity`)."""
        value: dict[str, Any] = json.loads(self.read_info_text)
        return value


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """A repository's entity as one run changed it; ``entity`` None: it disappeared."""

    run_id: int
    recorded_at: datetime
    entity: dict[str, Any] | None


class StateStore:
    """The state database of one file; use :meth:`open` (a context manager)."""

    def __init__(
        self, path: Path, connection: sqlite3.Connection, lock: FileLock | None, clock: Clock
    ) -> None:
        self.path = path
        self._db = connection
        self._lock = lock
        self._clock = clock
        self._in_transaction = False
        self._digests: dict[int, str] = {}

    # -- opening and closing -------------------------------------------------------------------

    @classmethod
    def open(
        cls, path: str | Path, *, read_only: bool = False, clock: Clock | None = None
    ) -> StateStore:
        """Open (creating and migrating it if needed) the state at ``path``.

        A writer takes the file's lock: a second run gets :class:`LockedError` at once.
        ``read_only`` takes no lock, creates nothing and fails on a missing file. A file
        that is not a state database raises :class:`InputError` naming it.
        """
        path = Path(path)
        clock = clock or (lambda: datetime.now(UTC))
        if read_only and not path.is_file():
            raise InputError(f"{path}: no such state file (a `sync --state {path}` makes it)")
        lock = None
        if not read_only:
            try:
                lock = lock_file(path, purpose="use the state file")
            except OSError as error:
                raise InputError(f"{path}: cannot lock the state file: {error}") from None
        try:
            connection = _connect(path, read_only)
            store = cls(path, connection, lock, clock)
            if not read_only:
                store._migrate()
            else:
                store._check_version()
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        return store

    def close(self) -> None:
        """Close the database and release the lock; idempotent."""
        with suppress(sqlite3.Error):
            self._db.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------------

    def previous(self) -> dict[str, StoredEntity]:
        """Every repository's last entity, with what it was read from, by key."""
        rows = self._query(
            "SELECT key, entity, read_info, project_id, config_digest, read_at FROM entities"
        )
        return {
            key: StoredEntity(entity, info, project, digest, _time(read_at))
            for key, entity, info, project, digest, read_at in rows
        }

    def last_run(self) -> RunRecord | None:
        """The last run that finished (a killed run never finished)."""
        runs = self._runs("WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1", ())
        return runs[0] if runs else None

    def last_full_run(self) -> RunRecord | None:
        """The last finished run that read everything (``--full`` or a full refresh)."""
        runs = self._runs("WHERE finished_at IS NOT NULL AND full = 1 ORDER BY id DESC LIMIT 1", ())
        return runs[0] if runs else None

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """The last ``limit`` runs, newest first, killed ones included."""
        return self._runs("ORDER BY id DESC LIMIT ?", (limit,))

    def organization_synced(self, profile: str, organization: str) -> datetime | None:
        """When ``organization`` was last synced completely (every project), if ever."""
        rows = self._query(
            "SELECT synced_at FROM organizations WHERE profile = ? AND organization = ?",
            (profile, organization),
        )
        return _time(rows[0][0]) if rows else None

    def history(self, key: str) -> list[HistoryEntry]:
        """The entity of repository ``key`` each time a run changed it, oldest first."""
        rows = self._query(
            "SELECT run_id, recorded_at, entity FROM history WHERE key = ? ORDER BY run_id",
            (key,),
        )
        return [
            HistoryEntry(run_id, _time(at), None if entity is None else json.loads(entity))
            for run_id, at, entity in rows
        ]

    def find(self, query: str) -> list[str]:
        """The keys of the repositories ``query`` names: a key, a repository id,
        ``organization/project/name`` or a name (case-insensitive), also among removed ones."""
        wanted = query.strip().lower()
        found = set()
        rows = self._query(
            "SELECT key, entity FROM entities UNION ALL "
            "SELECT key, entity FROM history WHERE entity IS NOT NULL"
        )
        for key, text in rows:
            entity = json.loads(text)
            names = {
                key.lower(),
                str(entity.get("id", "")).lower(),
                str(entity.get("name", "")).lower(),
                "/".join(
                    str(entity.get(part, "")) for part in ("organization", "project", "name")
                ).lower(),
            }
            if wanted in names:
                found.add(key)
        return sorted(found)

    # -- writing ---------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit everything recorded inside the block as one unit (e.g. one project)."""
        if self._in_transaction:
            yield
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._in_transaction = True
        try:
            yield
        except BaseException:
            self._in_transaction = False
            self._db.execute("ROLLBACK")
            raise
        self._in_transaction = False
        self._db.execute("COMMIT")

    def begin_run(self, config_digest: str, *, full: bool = False) -> int:
        """Record the start of a run; its id is what the run records under."""
        with self.transaction():
            cursor = self._db.execute(
                "INSERT INTO runs (started_at, config_digest, full) VALUES (?, ?, ?)",
                (_text(self._clock()), config_digest, int(full)),
            )
        run_id = cursor.lastrowid
        assert run_id is not None
        self._digests[run_id] = config_digest
        return run_id

    def record_entity(
        self, run_id: int, key: str, entity: Mapping[str, Any], read_info: Mapping[str, Any]
    ) -> None:
        """Keep ``entity`` as repository ``key``'s last one, and what it was read from.

        ``read_info`` is free-form JSON (catalog content id, commits, sizes...); its
        ``project_id``, if any, is what :meth:`finish_organization` sweeps by. The history
        gets an entry when the entity differs from the one kept before.
        """
        now = _text(self._clock())
        text = _json(entity)
        with self.transaction():
            before = self._query("SELECT entity, changed_at FROM entities WHERE key = ?", (key,))
            changed = not before or before[0][0] != text
            profile, organization, _ = key.split("/", 2)
            self._db.execute(
                "INSERT OR REPLACE INTO entities (key, profile, organization, project_id, "
                "entity, read_info, config_digest, run_id, read_at, changed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    profile,
                    organization,
                    str(read_info.get("project_id") or ""),
                    text,
                    _json(read_info),
                    self._digest(run_id),
                    run_id,
                    now,
                    now if changed else before[0][1],
                ),
            )
            if changed:
                self._history(key, run_id, now, text)

    def finish_organization(
        self, run_id: int, profile: str, organization: str, failed_projects: Sequence[str] = ()
    ) -> None:
        """The run listed every project of ``organization``: forget its repositories the run
        did not see, except those of ``failed_projects`` (project ids whose repositories
        could not be listed: their last entities stay). With no failed project, the
        organization counts as synced now."""
        now = _text(self._clock())
        with self.transaction():
            placeholders = ",".join("?" * len(failed_projects))
            gone = self._query(
                "SELECT key FROM entities WHERE profile = ? AND organization = ? AND run_id != ?"
                f" AND project_id NOT IN ({placeholders})",
                (profile, organization, run_id, *failed_projects),
            )
            for (key,) in gone:
                self._db.execute("DELETE FROM entities WHERE key = ?", (key,))
                self._history(key, run_id, now, None)
            if not failed_projects:
                self._db.execute(
                    "INSERT OR REPLACE INTO organizations (profile, organization, synced_at, "
                    "run_id) VALUES (?, ?, ?, ?)",
                    (profile, organization, now, run_id),
                )

    def finish_run(
        self, run_id: int, counts: Mapping[str, int], requests: int, failures: Sequence[str]
    ) -> None:
        """Record the end of a run: its counts, requests made and failures (one line each)."""
        with self.transaction():
            self._db.execute(
                "UPDATE runs SET finished_at = ?, counts = ?, requests = ?, failures = ? "
                "WHERE id = ?",
                (
                    _text(self._clock()),
                    _json(dict(counts)),
                    requests,
                    _json(list(failures)),
                    run_id,
                ),
            )

    def prune(self, keep_days: int) -> int:
        """Forget runs started more than ``keep_days`` ago, and their history entries; the
        last finished run and every repository's last entity are always kept. Returns the
        number of runs removed."""
        cutoff = _text(self._clock() - timedelta(days=keep_days))
        last = self.last_run()
        keep = last.id if last is not None else -1
        with self.transaction():
            old = self._query(
                "SELECT id FROM runs WHERE started_at < ? AND id != ?", (cutoff, keep)
            )
            for (run_id,) in old:
                self._db.execute("DELETE FROM history WHERE run_id = ?", (run_id,))
                self._db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        return len(old)

    # -- plumbing --------------------------------------------------------------------------------

    def _history(self, key: str, run_id: int, now: str, text: str | None) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO history (key, run_id, recorded_at, entity) VALUES (?, ?, ?, ?)",
            (key, run_id, now, text),
        )

    def _digest(self, run_id: int) -> str:
        if run_id not in self._digests:
            rows = self._query("SELECT config_digest FROM runs WHERE id = ?", (run_id,))
            if not rows:
                raise ValueError(f"no run {run_id} in {self.path}")
            self._digests[run_id] = rows[0][0]
        return self._digests[run_id]

    def _runs(self, clause: str, parameters: tuple[Any, ...]) -> list[RunRecord]:
        rows = self._query(
            "SELECT id, started_at, finished_at, config_digest, full, counts, requests, failures "
            f"FROM runs {clause}",
            parameters,
        )
        return [
            RunRecord(
                id=row[0],
                started_at=_time(row[1]),
                finished_at=None if row[2] is None else _time(row[2]),
                config_digest=row[3],
                full=bool(row[4]),
                counts=json.loads(row[5]) if row[5] else {},
                requests=row[6],
                failures=json.loads(row[7]) if row[7] else [],
            )
            for row in rows
        ]

    def _query(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[Any]:
        try:
            return self._db.execute(sql, parameters).fetchall()
        except sqlite3.DatabaseError as error:
            raise InputError(f"{self.path}: the state database cannot be read: {error}") from None

    def _version(self) -> int:
        try:
            rows = self._db.execute("SELECT version FROM schema_version").fetchall()
        except sqlite3.OperationalError:
            return 0  # a new file: no table yet
        except sqlite3.DatabaseError as error:
            raise InputError(
                f"{self.path}: not a catalog-bridge state database ({error})"
            ) from None
        return int(rows[0][0]) if rows else 0

    def _check_version(self) -> None:
        version = self._version()
        if version > SCHEMA_VERSION:
            raise InputError(
                f"{self.path}: state schema version {version} was written by a newer "
                f"catalog-bridge (this one knows up to {SCHEMA_VERSION}); upgrade it"
            )
        if version < SCHEMA_VERSION:
            raise InputError(
                f"{self.path}: state schema version {version}; a `sync --state` upgrades it"
            )

    def _migrate(self) -> None:
        version = self._version()
        if version > SCHEMA_VERSION:
            self._check_version()
        for target in range(version + 1, SCHEMA_VERSION + 1):
            # executescript would commit on its own; each statement is run inside one
            # transaction with the version bump instead.
            with self.transaction():
                for statement in _statements(MIGRATIONS[target - 1]):
                    self._db.execute(statement)
                self._db.execute("UPDATE schema_version SET version = ?", (target,))


def _connect(path: Path, read_only: bool) -> sqlite3.Connection:
    try:
        if read_only:
            connection = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        else:
            connection = sqlite3.connect(path)
        connection.isolation_level = None  # transactions are explicit (BEGIN ... COMMIT)
        connection.execute("PRAGMA busy_timeout = 5000")
        if not read_only:
            # WAL: readers (`catalog-bridge state`) never block the run, and a killed
            # run's last transaction is either all in the log or not at all.
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as error:
        raise InputError(f"{path}: not a catalog-bridge state database ({error})") from None
    return connection


def _statements(script: str) -> list[str]:
    return [statement.strip() for statement in script.split(";") if statement.strip()]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
