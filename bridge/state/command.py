"""``catalog-bridge state``: the runs a state file recorded, a repository's history, pruning."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from bridge.config import load_config
from bridge.errors import EXIT_OK, EXIT_PROBLEMS, UsageError
from bridge.state.store import RunRecord, StateStore


def state_path(explicit: str | None, config_file: str | None, environ: Mapping[str, str]) -> Path:
    """``--state PATH``, else the configuration's ``state.path``; a usage error if neither."""
    if explicit:
        return Path(explicit)
    path = load_config(config_file, environ=environ).state.path
    if path is None:
        raise UsageError("no state file: give --state PATH, or set state.path in the configuration")
    return path


def runs_command(path: Path, *, limit: int, out: TextIO) -> int:
    """Print the last ``limit`` runs, newest first, one line each."""
    with StateStore.open(path, read_only=True) as store:
        records = store.runs(limit)
    if not records:
        out.write(f"No run recorded in {path}.\n")
    for run in records:
        out.write(_run_line(run) + "\n")
    return EXIT_OK


def _run_line(run: RunRecord) -> str:
    started = run.started_at.strftime("%Y-%m-%d %H:%M:%SZ")
    if run.finished_at is None:
        return f"#{run.id} {started} interrupted (never finished)"
    seconds = (run.finished_at - run.started_at).total_seconds()
    kind = "full" if run.full else "incremental"
    counts = ", ".join(f"{count:,} {what}" for what, count in sorted(run.counts.items()))
    line = f"#{run.id} {started} {kind}, {seconds:.1f} s, {run.requests or 0:,} requests: {counts}"
    if run.failures:
        line += f"; {len(run.failures)} failed: " + "; ".join(run.failures)
    return line


def show_command(path: Path, repository: str, *, out: TextIO) -> int:
    """Print the history of the repository ``repository`` names (key, id, org/project/name
    or name): each run that changed its entity, with the entity as JSON."""
    with StateStore.open(path, read_only=True) as store:
        keys = store.find(repository)
        if not keys:
            raise UsageError(f"no repository {repository!r} in {path}")
        if len(keys) > 1:
            raise UsageError(
                f"{repository!r} names {len(keys)} repositories; give one of: " + ", ".join(keys)
            )
        history = store.history(keys[0])
    out.write(f"{keys[0]}\n")
    for entry in history:
        when = entry.recorded_at.strftime("%Y-%m-%d %H:%M:%SZ")
        if entry.entity is None:
            out.write(f"run #{entry.run_id} {when}: removed\n")
        else:
            text = json.dumps(entry.entity, ensure_ascii=False, sort_keys=False)
            out.write(f"run #{entry.run_id} {when}: {text}\n")
    return EXIT_OK if history else EXIT_PROBLEMS


def prune_command(path: Path, *, keep_days: int, out: TextIO) -> int:
    """Forget runs older than ``keep_days`` days (see :meth:`StateStore.prune`)."""
    with StateStore.open(path) as store:
        removed = store.prune(keep_days)
    out.write(
        f"Removed {removed:,} run{'' if removed == 1 else 's'} older than {keep_days} days.\n"
    )
    return EXIT_OK
