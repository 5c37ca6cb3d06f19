"""Nightly job: the requests an incremental sync spends, against a full run's.

A generated estate (10,000 repositories: 2 organizations x 50 projects x 100 repositories) is
synced in this process through the real client over loopback, with a state file:

1. a full run (the state is empty);
2. an incremental run with nothing changed: goal <= 2% of the full run's requests;
3. an incremental run after pushes (through the real client's push API) to 1% of the
   repositories, half of them editing the catalog file, half committing another file:
   goal <= 2% of the full run's requests + 3 per changed repository.

``--verify`` also runs a stateless full sync after step 3 and checks that its output equals
the incremental run's, byte for byte. Run from the project root:
``python -m benchmarks.nightly`` (``--quick``: 1,000 repositories). It prints the figures and
PASS or FAIL per goal, and exits 1 on a FAIL.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import emulator_config
from bridge.azure import AzureDevOpsClient
from bridge.config import Config
from bridge.emulator import (
    DEFAULT_TOKEN_VALUE,
    Estate,
    GenerationSpec,
    generate_estate,
    run_in_thread,
)
from bridge.emulator.estate import Repository
from bridge.nightly.publish import NightlyOptions
from bridge.secrets import Secret
from bridge.sync.command import run_sync
from bridge.sync.engine import SyncOptions, SyncResult

_SYNCED_AT = datetime(2026, 12, 1, tzinfo=UTC)

_CATALOG = "/catalog-info.yaml"


@dataclass(frozen=True, slots=True)
class Run:
    """One sync: its output file's text and what it did."""

    output: str
    result: SyncResult


def _estate(projects: int, repositories: int) -> Estate:
    spec = GenerationSpec(
        seed=10,
        organizations=2,
        projects_per_organization=projects,
        repositories_per_project=repositories,
    )
    return generate_estate(spec)


def _sync(config: Config, folder: Path, name: str, state: Path | None) -> Run:
    output = folder / f"{name}.ndjson"
    result = run_sync(
        config,
        SyncOptions(),
        output=str(output),
        output_format="ndjson",
        stderr=io.StringIO(),
        progress=False,
        state=state,
        # One synced_at for every run, so a stateless run's output can equal a stateful one's.
        nightly=NightlyOptions(started=_SYNCED_AT),
    ).result
    return Run(output.read_text(encoding="utf-8"), result)


async def _push(base_url: str, repositories: list[Repository]) -> None:
    """Half the repositories get their catalog file edited, half another file committed."""
    for index, repository in enumerate(repositories):
        branch = repository.default_branch
        tip = repository.history.branch_tip(branch) if branch else None
        assert branch is not None and tip is not None
        repository.protected_branches = frozenset()  # stands for a completed pull request
        edit_catalog = index % 2 == 0 and _CATALOG in tip.tree
        path = _CATALOG if edit_catalog else "/NIGHTLY.md"
        content = tip.tree[_CATALOG].decode() + "# edited\n" if edit_catalog else "night\n"
        async with AzureDevOpsClient(
            repository.organization.name,
            token=Secret(DEFAULT_TOKEN_VALUE),
            api_url=base_url + "/",
        ) as client:
            await client.push_file(
                repository.project.name,
                repository.name,
                branch=branch,
                base_commit_id=tip.commit_id,
                path=path,
                content=content,
                comment="a change between nightly runs",
                change_type="edit" if path in tip.tree else "add",
            )


def _verdict(name: str, requests: int, goal: float) -> bool:
    ok = requests <= goal
    print(f"  {name}: {requests:,} requests (goal <= {goal:,.0f}): {'PASS' if ok else 'FAIL'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="1,000 repositories, not 10,000")
    parser.add_argument("--verify", action="store_true", help="compare with a stateless run")
    arguments = parser.parse_args()
    projects, per_project = (10, 50) if arguments.quick else (50, 100)
    estate = _estate(projects, per_project)
    total = 2 * projects * per_project
    with run_in_thread(estate) as emulator, tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        config = emulator_config(folder, emulator.base_url, "nightly")
        state = folder / "state.db"
        full = _sync(config, folder, "full", state)
        quiet = _sync(config, folder, "unchanged", state)
        changeable = [r for r in estate.repositories() if not r.is_disabled and not r.is_empty]
        changed = random.Random(10).sample(changeable, max(1, total // 100))
        asyncio.run(_push(emulator.base_url, changed))
        after = _sync(config, folder, "changed", state)
        requests = full.result.stats.requests
        print(
            f"{total:,} repositories; full run: {requests:,} requests in "
            f"{full.result.seconds:.1f} s"
        )
        print(f"  incremental, nothing changed: {quiet.result.seconds:.1f} s")
        print(
            f"  incremental, {len(changed):,} repositories changed: {after.result.seconds:.1f} s; "
            + ", ".join(f"{n:,} {what}" for what, n in sorted(after.result.reads.items()))
        )
        passed = [
            quiet.output == full.output,
            _verdict("nothing changed", quiet.result.stats.requests, 0.02 * requests),
            _verdict(
                f"{len(changed):,} changed",
                after.result.stats.requests,
                0.02 * requests + 3 * len(changed),
            ),
        ]
        if not passed[0]:
            print("  FAIL: the no-change run's output differs from the full run's")
        if arguments.verify:
            stateless = _sync(config, folder, "stateless", None)
            same = stateless.output == after.output
            print(f"  incremental output equals a full run's: {'PASS' if same else 'FAIL'}")
            passed.append(same)
    sys.exit(0 if all(passed) else 1)


if __name__ == "__main__":
    main()
