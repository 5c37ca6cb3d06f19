"""Incremental sync: after any kind of change pushed to the emulator between two runs, the
incremental run's output equals a full (stateless) run's, byte for byte; and with nothing
changed it reads no catalog file, no commit and no language metrics."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bridge.config import load_config
from bridge.state.run import StateRun
from bridge.state.store import StateStore
from tests.state.support import (
    CATALOG_PATH,
    TOKEN_ENV,
    Bed,
    catalog,
    serving_bed,
    write_config,
)


@pytest.fixture
def bed(tmp_path: Path) -> Iterator[Bed]:
    with serving_bed(tmp_path) as started:
        yield started


def _edit(bed: Bed) -> None:
    repo = bed.repository("contoso", "Payments Platform", "payments-api")
    bed.push(repo, CATALOG_PATH, catalog("payments-api", title="Payments API v2"))


def _add(bed: Bed) -> None:
    repo = bed.repository("contoso", "Payments Platform", "payouts-ui")
    bed.push(repo, CATALOG_PATH, catalog("payouts-ui", owner="group:default/payouts"))


def _delete(bed: Bed) -> None:
    bed.push(bed.repository("contoso", "Payments Platform", "ledger"), CATALOG_PATH, None)


def _invalid(bed: Bed) -> None:
    repo = bed.repository("fabrikam", "Retail", "storefront")
    bed.push(repo, CATALOG_PATH, catalog("Not A Valid Name!"))


def _fixed(bed: Bed) -> None:
    repo = bed.repository("contoso", "Identity", "login-web")
    bed.push(repo, CATALOG_PATH, catalog("login-web"))


def _commit(bed: Bed) -> None:
    repo = bed.repository("contoso", "Identity", "identity-service")
    bed.push(repo, "/README.md", "a commit that leaves the catalog file alone\n")


def _first_push(bed: Bed) -> None:
    repo = bed.repository("contoso", "Payments Platform", "payments-sandbox")
    bed.push(repo, CATALOG_PATH, catalog("payments-sandbox"))


def _rename(bed: Bed) -> None:
    repo = bed.repository("fabrikam", "Retail", "checkout")
    repo.project.rename_repository(repo, "checkout-v2")


def _move(bed: Bed) -> None:
    repo = bed.repository("fabrikam", "Shared Services", "common-logging")
    target = repo.organization.project("Retail")
    assert target is not None
    repo.organization.move_repository(repo, target)


def _remove(bed: Bed) -> None:
    repo = bed.repository("fabrikam", "Retail", "basket-service")
    repo.project.remove_repository(repo)


def _disable(bed: Bed) -> None:
    bed.repository("fabrikam", "Shared Services", "http-client").is_disabled = True


def _enable(bed: Bed) -> None:
    bed.repository("contoso", "Payments Platform", "legacy-billing").is_disabled = False


def _rename_project(bed: Bed) -> None:
    organization = bed.estate.organization("contoso")
    assert organization is not None
    project = organization.project("Identity")
    assert project is not None
    organization.rename_project(project, "Identity Platform")


def _everything(bed: Bed) -> None:
    for change in (_edit, _add, _delete, _invalid, _commit, _rename, _move, _remove, _disable):
        change(bed)
    _rename_project(bed)


def _no_search(bed: Bed) -> None:
    organization = bed.estate.organization("contoso")
    assert organization is not None
    organization.search_installed = False
    _edit(bed)
    _delete(bed)


def _search_not_indexed(bed: Bed) -> None:
    organization = bed.estate.organization("fabrikam")
    assert organization is not None
    organization.search_info_code = 2  # account indexing has not started
    _invalid(bed)


CHANGES: dict[str, Callable[[Bed], None]] = {
    "catalog file edited": _edit,
    "catalog file added": _add,
    "catalog file deleted": _delete,
    "catalog file made invalid": _invalid,
    "catalog file fixed": _fixed,
    "new commit, catalog unchanged": _commit,
    "first push to an empty repository": _first_push,
    "repository renamed": _rename,
    "repository moved to another project": _move,
    "repository deleted": _remove,
    "repository disabled": _disable,
    "repository enabled again": _enable,
    "project renamed": _rename_project,
    "all of them at once": _everything,
    "Code Search not installed": _no_search,
    "Code Search not indexed yet (infoCode 2)": _search_not_indexed,
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_after_a_change_the_incremental_output_equals_a_full_run(
    bed: Bed, tmp_path: Path, change: Callable[[Bed], None]
) -> None:
    state = tmp_path / "state.db"
    first, primed, _ = bed.sync(state)
    assert not primed.incremental  # nothing recorded yet: a full run
    change(bed)
    incremental, result, _ = bed.sync(state)
    full, _, _ = bed.sync(None)
    assert result.incremental
    assert incremental != first  # the change shows
    assert incremental == full
    # And the run after converges too: nothing changed, the same output.
    again, _, _ = bed.sync(state)
    assert again == full


def test_with_nothing_changed_nothing_is_read_again(bed: Bed, tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    first, full, _ = bed.sync(state)
    second, incremental, summary = bed.sync(state)
    assert second == first
    reads = incremental.reads
    assert reads["catalog read"] == 0 and reads["catalog reused"] > 0
    assert reads["commit read"] == 0 and reads["commit list read"] == 0
    # Listings and one Code Search per organization: projects, repositories, search.
    assert incremental.stats.requests < full.stats.requests / 3
    assert "incremental: " in summary


def test_a_changed_catalog_file_is_the_only_one_read_again(bed: Bed, tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    bed.sync(state)
    _edit(bed)
    _, result, _ = bed.sync(state)
    assert result.reads["catalog read"] == 1
    assert result.reads["commit read"] == 1  # its size changed: the latest commit too


def test_without_search_every_file_is_read_and_the_summary_says_so_once(
    bed: Bed, tmp_path: Path
) -> None:
    state = tmp_path / "state.db"
    bed.sync(state)
    _no_search(bed)
    _, result, summary = bed.sync(state)
    notes = [line for line in summary.splitlines() if line.startswith("Note: ")]
    assert notes == [
        "Note: nightly: contoso: Code Search unavailable: The Code Search extension is not "
        "installed in this organization. (HTTP 404); every catalog file was read instead"
    ]
    # contoso's 13 readable catalog files (16 repositories, 3 disabled or empty) are read,
    # and fabrikam's one changed file.
    assert result.reads["catalog read"] == 14


def test_full_reads_everything(bed: Bed, tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    bed.sync(state)
    _, forced, _ = bed.sync(state, full=True)
    assert not forced.incremental
    assert sum(forced.reads.values()) == 0  # counted for incremental runs only


def test_a_full_refresh_is_due_full_refresh_days_after_the_last_full_run(
    bed: Bed, tmp_path: Path
) -> None:
    state = tmp_path / "state.db"
    bed.sync(state)
    with StateStore.open(state, read_only=True) as reader:
        started = reader.runs(1)[0].started_at
    moment = [started]
    with StateStore.open(state, clock=lambda: moment[0]) as store:

        def begin(days_later: float) -> bool:
            moment[0] = started + timedelta(days=days_later)
            run = StateRun.begin(
                store, bed.config.profiles, full=False, full_refresh_days=7, now=moment[0]
            )
            store.finish_run(run.run_id, {}, 0, [])
            return run.incremental

        assert begin(6.9)
        assert not begin(7.1)  # a full run: the next ones count from it
        assert begin(7.2)


def test_a_changed_configuration_reads_everything_again(bed: Bed, tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    bed.sync(state)
    # Fewer attributes: every stored entity was made under another configuration.
    write_config(tmp_path, bed.emulator.base_url)
    text = bed.config_file.read_text().replace(", application]", "]")
    bed.config_file.write_text(text)
    bed.config = load_config(bed.config_file, environ={TOKEN_ENV: bed.token})
    incremental, result, _ = bed.sync(state)
    full, _, _ = bed.sync(None)
    assert incremental == full
    assert result.reads["catalog reused"] == 0 and result.reads["commit reused"] == 0
