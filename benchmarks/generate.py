"""Benchmark: generating the missing catalog files of 10,000 repositories, as whole processes.

An emulated estate of 10,000 repositories (5 organizations, 100 projects), half of them
without a catalog file. The script runs ``catalog-bridge sync`` once to count what a sync
costs, then ``catalog-bridge generate --output DIR`` and prints its wall time, CPU time,
peak memory, the files generated and the requests it made by route, then PASS when the
generation cost exactly the sync's requests plus at most one teams request per project
(FAIL otherwise; the exit code is 1 on FAIL).

Run from the project root: ``python -m benchmarks.generate``; ``--quick`` uses 1,000
repositories; ``--latency MS`` injects latency per request (default 0: the count is the
point, and the wall time is then mostly catalog-bridge's own work).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import emulator_process, emulator_stats

TOKEN = "benchmark-token-0123456789"
TEAMS_ROUTE = "core.teams"


@dataclass(frozen=True)
class Measured:
    """One measured command run."""

    name: str
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    requests: int
    by_route: dict[str, int]
    stdout: str


def _measure(name: str, base_url: str, args: list[str], *, allowed: tuple[int, ...]) -> Measured:
    emulator_stats(base_url, reset=True)
    start = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bridge", *args],
            env=dict(os.environ, BENCHMARK_PAT=TOKEN),
            stdout=output,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Read stderr to its end first: a child that fills the pipe would never exit.
        errors = process.stderr.read() if process.stderr else ""
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        output.seek(0)
        stdout = output.read()
    code = os.waitstatus_to_exitcode(status)
    if code not in allowed:
        raise SystemExit(f"{name} failed ({code}):\n{errors[-3000:]}")
    stats = emulator_stats(base_url)
    return Measured(
        name,
        seconds,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss / 1024,
        int(stats["requests"]),
        dict(stats["by_route"]),
        stdout,
    )


def generation(folder: Path, base_url: str) -> tuple[Measured, Measured]:
    """A sync (to count its requests), then ``generate --output``."""
    config = str(folder / "config.yaml")
    sync = _measure(
        "sync",
        base_url,
        ["sync", "--config", config, "--output", str(folder / "e.ndjson"), "--no-progress"],
        allowed=(0,),
    )
    generate = _measure(
        "generate",
        base_url,
        ["generate", "--config", config, "--output", str(folder / "catalogs"),
         "--report-format", "json"],
        allowed=(0, 1),
    )  # fmt: skip
    return sync, generate


def _report_generation(sync: Measured, generate: Measured, projects: int) -> bool:
    report = json.loads(generate.stdout)
    teams = generate.by_route.get(TEAMS_ROUTE, 0)
    print(
        f"sync:     {sync.seconds:6.1f} s, {sync.requests:,} requests, CPU {sync.cpu_seconds:.1f} s"
    )
    print(
        f"generate: {generate.seconds:6.1f} s, {generate.requests:,} requests "
        f"({teams} teams requests), CPU {generate.cpu_seconds:.1f} s, "
        f"peak RSS {generate.peak_rss_mb:.0f} MB; {len(report['files']):,} files generated, "
        f"{len(report['skipped'])} skipped; CPU beyond the sync's: "
        f"{generate.cpu_seconds - sync.cpu_seconds:+.1f} s"
    )
    extra = generate.requests - sync.requests
    same_routes = {k: v for k, v in generate.by_route.items() if k != TEAMS_ROUTE} == {
        k: v for k, v in sync.by_route.items() if k != TEAMS_ROUTE
    }
    passed = same_routes and extra == teams <= projects
    print(
        f"{'PASS' if passed else 'FAIL'}: generate made {extra:+,} requests beyond the sync "
        f"(goal: only the teams requests, at most one per project: {projects})"
    )
    return passed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 repositories")
    parser.add_argument("--latency", type=int, default=0, metavar="MS")
    args = parser.parse_args()
    organizations, projects, repositories = (5, 20, 10) if args.quick else (5, 20, 100)
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        (folder / "estate.yaml").write_text(
            f"tokens:\n  - {{name: benchmark, value: {TOKEN}}}\norganizations: []\n"
            f"generate: {{seed: 11, organizations: {organizations}, "
            f"projects_per_organization: {projects}, repositories_per_project: {repositories}, "
            "missing: 0.5, invalid: 0.05, multi_entity: 0.05}\n"
            f"options: {{faults: {{latency_ms: {args.latency}}}}}\n"
        )
        with emulator_process(folder / "estate.yaml") as (_, base_url):
            (folder / "config.yaml").write_text(
                "profiles:\n  - name: benchmark\n    organizations: ['*']\n"
                f"    api_url: {base_url}/\n    allow_http: true\n"
                "    token_env: BENCHMARK_PAT\n    backstage: {}\n"
            )
            print(
                f"estate: {organizations * projects * repositories:,} repositories in "
                f"{organizations * projects} projects, half without a catalog file; "
                f"{args.latency} ms latency per request"
            )
            sync, generate = generation(folder, base_url)
    # The pull-request half of issue 9's figures is benchmarks/propose.py.
    passed = _report_generation(sync, generate, organizations * projects)
    raise SystemExit(0 if passed else 1)


if __name__ == "__main__":
    main()
