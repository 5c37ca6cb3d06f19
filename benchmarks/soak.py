"""Fault soak: the sync against the emulator with seeded faults, compared with a clean run.

A generated estate (300 repositories, developers collected) is synced in this process through
the real client over loopback: once without faults, then once per seed with the emulator
injecting faults (5xx answers, connection resets, truncated bodies, stalls, ``Retry-After``
on 200) at that seed's rates. Nine seeds are mild (a few percent of every request); one is
harsh (85% of the per-repository reads, latest commit, developers, catalog file and
language metrics, fail). Each faulty run is compared with the clean run, entity by entity:

* entities lost: in the clean run but not in the faulty one (must be 0);
* fields unaccounted for: values that differ from the clean run without the entity saying
  why, in its ``unavailable`` list or by an ``unreadable`` catalog status (must be 0);
* degraded fields, named: what the entities do say could not be read, per field.

Run from the project root: ``python -m benchmarks.soak`` (``--quick``: 60 repositories). It
exits 1 if an invariant is broken.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import emulator_config
from bridge.azure import RetryPolicy
from bridge.emulator import (
    EmulatorOptions,
    Estate,
    FaultOptions,
    GenerationSpec,
    generate_estate,
    run_in_thread,
)
from bridge.sync.engine import SyncOptions, SyncResult, synchronize

Entity = dict[str, Any]

# Retries as in production, with short waits: the soak is about outcomes, not backoff.
_RETRY = RetryPolicy(max_attempts=6, max_elapsed=60.0, backoff_base=0.01, backoff_cap=0.1)
# A stalled answer is given up on after this long, then retried.
_TIMEOUT = 2.0
# The fields that follow from another: freshness is computed from the latest commit.
_DERIVED = {"freshness": "last_commit_at"}
# What an unreadable catalog file leaves unknown.
_CATALOG_FIELDS = ("catalog", "context")
# The per-repository reads the harsh seed hits.
PER_REPOSITORY = ("git.commits", "git.items", "analytics.languageMetrics")


def mild(seed: int, *, stalls: bool = True) -> FaultOptions:
    """A few percent of every request fails, in every way the emulator knows."""
    return FaultOptions(
        seed=seed,
        server_error_rate=0.05,
        reset_rate=0.03,
        truncate_rate=0.03,
        stall_rate=0.005 if stalls else 0.0,
        stall_seconds=10 * _TIMEOUT,
        retry_after_rate=0.01 if stalls else 0.0,
    )


def harsh(seed: int) -> FaultOptions:
    """85% of the per-repository reads fail (as in the report of issue 7)."""
    return FaultOptions(
        seed=seed,
        server_error_rate=0.45,
        reset_rate=0.25,
        truncate_rate=0.15,
        routes=PER_REPOSITORY,
    )


@dataclass
class Comparison:
    """A faulty run against the clean run."""

    entities: int
    lost: list[str] = field(default_factory=list)
    duplicated: int = 0
    unaccounted: list[str] = field(default_factory=list)
    degraded: Counter[str] = field(default_factory=Counter)  # field -> entities

    @property
    def holds(self) -> bool:
        """Nothing lost, duplicated or silently different."""
        return not (self.lost or self.duplicated or self.unaccounted)


def _place(entity: Entity) -> str:
    return f"{entity['profile']}: {entity['organization']}/{entity['project']}/{entity['name']}"


def compare(clean: list[Entity], faulty: list[Entity]) -> Comparison:
    """Entity by entity (profile and id), what differs and whether the entity says why."""
    expected = {(e["profile"], e["id"]): e for e in clean}
    got = {(e["profile"], e["id"]): e for e in faulty}
    comparison = Comparison(len(faulty), duplicated=len(faulty) - len(got))
    for key, before in expected.items():
        after = got.get(key)
        if after is None:
            comparison.lost.append(_place(before))
            continue
        excused = {entry["field"] for entry in after.get("unavailable", ())}
        comparison.degraded.update(excused)
        excused |= {derived for derived, source in _DERIVED.items() if source in excused}
        if after["catalog"]["status"] == "unreadable" != before["catalog"]["status"]:
            comparison.degraded["catalog"] += 1
            excused.update(_CATALOG_FIELDS)
        for name in sorted((before.keys() | after.keys()) - excused - {"unavailable"}):
            if before.get(name) != after.get(name):
                comparison.unaccounted.append(f"{_place(after)}: {name}")
    comparison.lost += [_place(e) for k, e in got.items() if k not in expected]
    return comparison


def soak_estate(repositories_per_project: int) -> Estate:
    """The soaked estate: 2 organizations of 5 projects (every kind of catalog file)."""
    spec = GenerationSpec(
        seed=7, organizations=2, projects_per_organization=5,
        repositories_per_project=repositories_per_project,
    )  # fmt: skip
    return generate_estate(spec)


@dataclass
class Run:
    """One sync: its entities (URLs relative to the emulator), result and injected faults."""

    entities: list[Entity]
    result: SyncResult
    faults: dict[str, int]
    seconds: float


def sync(estate: Estate, faults: FaultOptions | None) -> Run:
    """Sync every organization of ``estate`` served with ``faults``, developers collected."""
    options = EmulatorOptions(faults=faults or FaultOptions())
    with run_in_thread(estate, options=options) as emulator, tempfile.TemporaryDirectory() as d:
        names = ", ".join(organization.name for organization in estate.organizations)
        profiles = emulator_config(
            Path(d),
            emulator.base_url,
            "soak",
            organizations=f"[{names}]",
            extra="    developers_days: 365\n",
        ).profiles
        entities: list[Entity] = []
        start = time.perf_counter()
        result = asyncio.run(
            synchronize(profiles, SyncOptions(retry=_RETRY, timeout=_TIMEOUT), entities.append)
        )
        seconds = time.perf_counter() - start
        for entity in entities:
            entity["url"] = entity["url"].removeprefix(emulator.base_url)
        return Run(entities, result, emulator.stats.snapshot()["faults"], seconds)


def _line(name: str, run: Run, comparison: Comparison) -> str:
    result = run.result
    degraded = ", ".join(f"{k} {v}" for k, v in sorted(comparison.degraded.items())) or "none"
    injected = sum(run.faults.values())
    return (
        f"{name:>9}: {comparison.entities:,} entities, lost {len(comparison.lost)}, "
        f"unaccounted {len(comparison.unaccounted)}; degraded: {degraded}; "
        f"{injected:,} faults injected, {result.stats.retries:,} retries, "
        f"{len(result.failures)} failures, exit {result.exit_code}, {run.seconds:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 repositories")
    args = parser.parse_args()
    estate = soak_estate(6 if args.quick else 30)
    clean = sync(estate, None)
    total = len(clean.entities)
    clean_degraded = [e for e in clean.entities if e["unavailable"]]
    print(
        f"clean run: {total:,} entities, exit {clean.result.exit_code}, "
        f"{clean.result.stats.requests:,} requests, {clean.seconds:.1f} s"
    )
    seeds = [(f"seed {seed}", mild(seed)) for seed in range(1, 10)]
    seeds.append(("harsh 10", harsh(10)))
    broken = bool(clean_degraded or clean.result.exit_code)
    lost = unaccounted = 0
    for name, faults in seeds:
        run = sync(estate, faults)
        comparison = compare(clean.entities, run.entities)
        print(_line(name, run, comparison))
        for problem in (comparison.lost + comparison.unaccounted)[:10]:
            print(f"    {problem}")
        lost += len(comparison.lost)
        unaccounted += len(comparison.unaccounted)
        broken |= not comparison.holds
    print(
        f"total over {len(seeds)} seeds: {lost} entities lost (goal 0), {unaccounted} differing "
        f"fields unaccounted for (goal 0)"
    )
    if broken:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
