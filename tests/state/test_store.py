"""The state database: schema and migrations, the lock, what runs record and forget, and a
run killed (SIGKILL, a real process) at any point leaving a consistent database."""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bridge.emulator import EmulatorOptions, FaultOptions
from bridge.errors import InputError, LockedError
from bridge.state.command import runs_command
from bridge.state.schema import SCHEMA_VERSION
from bridge.state.store import StateStore, repository_key
from tests.state.support import SYNCED_AT, TOKEN_ENV, serving_bed


def _entity(name: str, project: str = "Payments") -> dict[str, Any]:
    return {"id": f"id-{name}", "name": name, "organization": "contoso", "project": project}


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_a_new_file_gets_the_current_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with StateStore.open(path):
        pass
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_newer_schema_and_a_file_that_is_no_database_are_refused_by_name(
    tmp_path: Path,
) -> None:
    newer = tmp_path / "newer.db"
    with StateStore.open(newer):
        pass
    with sqlite3.connect(newer) as db:
        db.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(InputError, match=r"newer.db: state schema version 99 .* newer"):
        StateStore.open(newer)
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database, just words that fill the header page " * 20)
    with pytest.raises(InputError, match=r"notes.txt: not a catalog-bridge state database"):
        StateStore.open(junk)


def test_a_second_run_on_the_same_state_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with StateStore.open(path):
        with pytest.raises(LockedError, match=r"cannot use the state file .*state.db: another"):
            StateStore.open(path)
        with StateStore.open(path, read_only=True) as reader:  # reading needs no lock
            assert reader.runs() == []
    with StateStore.open(path):  # released
        pass


def test_runs_entities_history_and_organizations(tmp_path: Path) -> None:
    clock = _Clock()
    with StateStore.open(tmp_path / "s.db", clock=clock) as store:
        run = store.begin_run("digest-1")
        api, web = (repository_key("p", "contoso", f"id-{name}") for name in ("api", "web"))
        store.record_entity(run, api, _entity("api"), {"project_id": "P1"})
        store.record_entity(run, web, _entity("web"), {"project_id": "P2"})
        store.finish_organization(run, "p", "contoso")
        store.finish_run(run, {"repositories": 2}, 7, [])
        assert store.last_run() is not None and store.last_run().requests == 7  # type: ignore[union-attr]
        assert store.organization_synced("p", "contoso") == clock.now

        clock.now += timedelta(days=1)
        second = store.begin_run("digest-1")
        assert store.last_run().id == run  # type: ignore[union-attr]  # not finished yet
        store.record_entity(second, api, _entity("api-renamed"), {"project_id": "P1"})
        # P2 could not be listed: web's last entity stays; the organization is not synced.
        store.finish_organization(second, "p", "contoso", ["P2"])
        store.finish_run(second, {"repositories": 1}, 3, ["p: contoso/Web: refused"])
        assert set(store.previous()) == {api, web}
        assert store.organization_synced("p", "contoso") == clock.now - timedelta(days=1)
        assert [entry.entity["name"] for entry in store.history(api) if entry.entity] == [
            "api",
            "api-renamed",
        ]

        third = store.begin_run("digest-1")
        store.record_entity(third, api, _entity("api-renamed"), {"project_id": "P1"})
        store.finish_organization(third, "p", "contoso")  # web is gone now
        store.finish_run(third, {"repositories": 1}, 3, [])
        assert set(store.previous()) == {api}
        assert [entry.entity for entry in store.history(web)][-1] is None
        assert len(store.history(api)) == 2  # unchanged in the third run: no entry
        assert [r.id for r in store.runs(2)] == [third, second]
        assert store.find("contoso/Payments/api-renamed") == [api]
        assert store.find("web") == [web]  # removed, still in its history


def test_prune_forgets_old_runs_but_keeps_the_last_one(tmp_path: Path) -> None:
    clock = _Clock()
    with StateStore.open(tmp_path / "s.db", clock=clock) as store:
        key = repository_key("p", "contoso", "id-api")
        for day in range(3):
            run = store.begin_run("d")
            store.record_entity(run, key, _entity(f"api-{day}"), {})
            store.finish_run(run, {}, 1, [])
            clock.now += timedelta(days=10)
        assert store.prune(keep_days=25) == 1  # the first run, 30 days old
        assert [r.id for r in store.runs()] == [3, 2]
        assert [e.run_id for e in store.history(key)] == [2, 3]
        clock.now += timedelta(days=100)
        assert store.prune(keep_days=1) == 1  # the last run stays
        assert [r.id for r in store.runs()] == [3]
        assert store.previous()[key].entity["name"] == "api-2"


def _rows(path: Path, sql: str) -> list[Any]:
    with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as db:
        try:
            return db.execute(sql).fetchall()
        except sqlite3.OperationalError:
            return []  # not created yet


def _wait_until(condition: Callable[[], bool], process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert process.poll() is None, "the run ended before the point to kill it at"
        assert time.monotonic() < deadline, "the run never reached the point to kill it at"
        time.sleep(0.01)  # polling the condition, not a wait for time to pass


KILL_POINTS: dict[str, Callable[[Path], bool]] = {
    "run begun, nothing recorded": lambda path: bool(_rows(path, "SELECT id FROM runs")),
    "some projects recorded": lambda path: bool(_rows(path, "SELECT key FROM entities")),
    "the first organization synced": lambda path: bool(
        _rows(path, "SELECT organization FROM organizations")
    ),
}


@pytest.mark.parametrize("point", KILL_POINTS.values(), ids=KILL_POINTS.keys())
def test_a_run_killed_at_any_point_leaves_a_consistent_state_and_the_next_converges(
    tmp_path: Path, point: Callable[[Path], bool]
) -> None:
    # Latency on every request gives the killer time to strike in the middle of the run.
    slow = EmulatorOptions(faults=FaultOptions(latency_ms=100))
    state = tmp_path / "state.db"
    with serving_bed(tmp_path, slow) as bed:
        primed, _, _ = bed.sync(state)
        with sqlite3.connect(state) as db:  # as if the first run had never been
            db.execute("DELETE FROM entities")
            db.execute("DELETE FROM organizations")
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "bridge", "sync", "--config", str(bed.config_file)),
                *("--state", str(state), "--output", str(tmp_path / "killed.ndjson"), "--quiet"),
                *("--run-started", SYNCED_AT.isoformat()),
            ],
            env={**os.environ, TOKEN_ENV: bed.token},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_until(
                lambda: len(_rows(state, "SELECT id FROM runs")) > 1 and point(state), process
            )
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        assert _rows(state, "PRAGMA integrity_check") == [("ok",)]
        with StateStore.open(state) as store:  # the killed run's lock died with it
            killed = store.runs(1)[0]
            assert killed.finished_at is None
            assert store.last_run() is not None and store.last_run().id < killed.id  # type: ignore[union-attr]
        listing = io.StringIO()
        runs_command(state, limit=1, out=listing)
        assert listing.getvalue().endswith(" interrupted (never finished)\n")
        after, result, _ = bed.sync(state)
        full, _, _ = bed.sync(None)
        assert after == full == primed
        assert result.incremental
