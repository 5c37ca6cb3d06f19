"""A small fault soak (the full one is ``python -m benchmarks.soak``): under injected faults
no entity is lost and every field that differs from a clean run says why."""

from __future__ import annotations

import pytest

from benchmarks.soak import Run, compare, harsh, mild, soak_estate, sync
from bridge.emulator import Estate


@pytest.fixture(scope="module")
def estate() -> Estate:
    return soak_estate(2)  # 20 repositories


@pytest.fixture(scope="module")
def clean(estate: Estate) -> Run:
    run = sync(estate, None)
    assert run.result.exit_code == 0
    assert all(entity["unavailable"] == [] for entity in run.entities)
    return run


def test_mild_faults_are_retried_away(estate: Estate, clean: Run) -> None:
    run = sync(estate, mild(3, stalls=False))
    comparison = compare(clean.entities, run.entities)
    assert sum(run.faults.values()) > 0  # the faults did happen
    assert (comparison.lost, comparison.duplicated, comparison.unaccounted) == ([], 0, [])


def test_harsh_faults_lose_nothing_and_name_every_degraded_field(
    estate: Estate, clean: Run
) -> None:
    run = sync(estate, harsh(10))
    comparison = compare(clean.entities, run.entities)
    assert (comparison.lost, comparison.duplicated, comparison.unaccounted) == ([], 0, [])
    # Each kind of per-repository read failed somewhere, and the entities say so.
    assert set(comparison.degraded) == {"last_commit_at", "languages", "developers", "catalog"}
    degraded = [entity for entity in run.entities if entity["unavailable"]]
    assert len(run.result.degraded) == len(degraded) > 0
    assert run.result.exit_code == 1
