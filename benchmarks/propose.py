"""Benchmark: ``propose`` against the emulator, counted and timed.

1. A generated estate (default 10,000 repositories, half without a catalog file) is synced
   once in-process (not measured: ``benchmarks/sync.py`` measures syncs) and one proposal
   is planned per repository without a catalog file.
2. A dry run of the pull request step over all of them, every request answered after 25 ms:
   time and requests.
3. ``--apply`` over 500 of them at 25 ms: time and requests per pull request (goal: at most
   4), then the same run again: it must open nothing and make no write.

Until the generation library is part of the build, each proposal's file is a small valid
stand-in (the requests and the timing do not depend on its content). Prints the figures
and PASS/FAIL. Run from the project root: ``python -m benchmarks.propose`` (``--quick``:
1,000 repositories, 100 pull requests).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from bridge.azure.client import AzureDevOpsClient
from bridge.azure.retry import RetryPolicy
from bridge.config import BackstageSettings, Profile
from bridge.emulator import (
    DEFAULT_TOKEN_VALUE,
    EmulatorOptions,
    FaultOptions,
    GenerationSpec,
    generate_estate,
    run_in_thread,
)
from bridge.propose.plan import Proposal
from bridge.propose.pullrequests import Action, Outcome, PullRequestOptions, propose_all
from bridge.secrets import Secret
from bridge.sync.engine import SyncOptions, synchronize

LATENCY_MS = 25
CONCURRENCY = 16
GOAL_REQUESTS_PER_PULL_REQUEST = 4
BRANCH = "catalog-bridge/catalog-info"


def _stand_in(name: str) -> str:
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
        f"metadata:\n  name: {name}\n"
        "spec:\n  type: service\n  lifecycle: production\n  owner: group:default/team\n"
    )


def _proposals(entities: Sequence[Mapping[str, Any]]) -> list[Proposal]:
    return [
        Proposal(
            organization=entity["organization"],
            project=entity["project"],
            repository=entity["name"],
            repository_id=entity["id"],
            target=entity["default_branch"],
            path="/catalog-info.yaml",
            text=_stand_in(f"repo-{index}"),
        )
        for index, entity in enumerate(entities)
        if entity["catalog"]["status"] == "missing" and entity["default_branch"]
    ]


async def _entities(base_url: str, organizations: Sequence[str]) -> list[dict[str, Any]]:
    profile = Profile(
        name="benchmark",
        organizations=tuple(organizations),
        api_url=f"{base_url}/",
        token=Secret(DEFAULT_TOKEN_VALUE),
        backstage=BackstageSettings(),
        concurrency=CONCURRENCY,
    )
    entities: list[dict[str, Any]] = []
    await synchronize([profile], SyncOptions(), entities.append)
    return entities


async def _step(
    base_url: str, proposals: Sequence[Proposal], options: PullRequestOptions
) -> tuple[list[Outcome], int, float]:
    """Run the pull request step; outcomes, requests and seconds."""
    outcomes: list[Outcome] = []
    requests = 0
    start = time.perf_counter()
    by_org: dict[str, list[Proposal]] = {}
    for proposal in proposals:
        by_org.setdefault(proposal.organization, []).append(proposal)
    for organization, chosen in by_org.items():
        async with AzureDevOpsClient(
            organization,
            token=Secret(DEFAULT_TOKEN_VALUE),
            api_url=f"{base_url}/",
            concurrency=CONCURRENCY,
            retry=RetryPolicy(max_attempts=2),
        ) as client:
            outcomes += await propose_all(client, chosen, options, concurrency=CONCURRENCY)
            requests += client.stats.requests
    return outcomes, requests, time.perf_counter() - start


def _counts(outcomes: Sequence[Outcome]) -> str:
    return ", ".join(f"{n} {a}" for a, n in sorted(Counter(o.action for o in outcomes).items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 repositories, 100 PRs")
    arguments = parser.parse_args()
    total, applied = (1_000, 100) if arguments.quick else (10_000, 500)
    spec = GenerationSpec(
        organizations=1,
        projects_per_organization=total // 100,
        repositories_per_project=100,
        missing=0.5,
        invalid=0.0,
        multi_entity=0.0,
        empty=0.0,
        disabled=0.0,
    )
    estate = generate_estate(spec)
    organizations = [org.name for org in estate.organizations]
    # The sync reads from an emulator without latency; the same estate is then served with
    # 25 ms per request for the measured steps.
    with run_in_thread(estate) as fast:
        entities = asyncio.run(_entities(fast.base_url, organizations))
    proposals = _proposals(entities)
    slow = EmulatorOptions(faults=FaultOptions(latency_ms=LATENCY_MS))
    with run_in_thread(estate, options=slow) as emulator:
        dry = PullRequestOptions(branch=BRANCH)
        outcomes, requests, seconds = asyncio.run(_step(emulator.base_url, proposals, dry))
        print(
            f"dry run: {len(proposals)} repositories without a catalog file (of {len(entities)})"
            f": {seconds:.1f} s, {requests} requests "
            f"({requests / max(len(proposals), 1):.2f} per repository); {_counts(outcomes)}"
        )
        chosen = proposals[:applied]
        apply = PullRequestOptions(branch=BRANCH, apply=True)
        first, requests, seconds = asyncio.run(_step(emulator.base_url, chosen, apply))
        opened = sum(1 for o in first if o.action == Action.OPENED)
        per_pr = requests / max(opened, 1)
        print(
            f"--apply: {opened} pull requests opened in {seconds:.1f} s, {requests} requests "
            f"({per_pr:.2f} per pull request; goal <= {GOAL_REQUESTS_PER_PULL_REQUEST}) at "
            f"{LATENCY_MS} ms latency, concurrency {CONCURRENCY}"
        )
        second, again, seconds = asyncio.run(_step(emulator.base_url, chosen, apply))
        reopened = sum(1 for o in second if o.action != Action.UNCHANGED)
        print(
            f"--apply again: {seconds:.1f} s, {again} requests; {_counts(second)} "
            f"(nothing may be opened or pushed)"
        )
    passed = opened == len(chosen) and per_pr <= GOAL_REQUESTS_PER_PULL_REQUEST and reopened == 0
    print("PASS" if passed else "FAIL")
    if not passed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
