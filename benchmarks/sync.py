"""Benchmark: syncing 10,000 repositories against the emulator, as whole processes.

An emulated estate of 10,000 repositories in 5 organizations and 100 projects answers every
request after 25 ms (injected latency). The script runs ``catalog-bridge sync`` at
concurrency 16 and at concurrency 1 (the sequential baseline) and prints, for each: wall
time, requests made (counted by the emulator), the lower bound requests / concurrency x
latency and the ratio to it, and the peak memory (RSS) of the sync process; then the
speed-up and the request count against 2 x repositories + 2 x projects + project pages.

Run from the project root: ``python -m benchmarks.sync``. ``--quick`` uses a 1,000
repository estate and skips the sequential run (8 minutes at full size).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

TOKEN = "benchmark-token-0123456789"
LATENCY_MS = 25
CONCURRENCY = 16


@dataclass(frozen=True)
class Run:
    """One measured sync."""

    concurrency: int
    seconds: float
    requests: int
    entities: int
    peak_rss_mb: float
    cpu_seconds: float

    @property
    def lower_bound(self) -> float:
        return self.requests / self.concurrency * LATENCY_MS / 1000


def _stats(base_url: str, *, reset: bool = False) -> int:
    request = urllib.request.Request(
        f"{base_url}/_emulator/stats{'/reset' if reset else ''}", method="POST" if reset else "GET"
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # loopback only
        return int(json.loads(response.read() or b"{}").get("requests", 0))


def _sync(folder: Path, base_url: str, concurrency: int) -> Run:
    _stats(base_url, reset=True)
    output = folder / f"entities-{concurrency}.ndjson"
    command = [
        *(sys.executable, "-m", "bridge", "sync", "--config", str(folder / "config.yaml")),
        *("--output", str(output), "--concurrency", str(concurrency), "--no-progress"),
    ]
    start = time.perf_counter()
    process = subprocess.Popen(
        command, env=dict(os.environ, BENCHMARK_PAT=TOKEN), stderr=subprocess.PIPE, text=True
    )
    # Read stderr to its end first: a child that fills the pipe would never exit.
    summary = process.stderr.read() if process.stderr else ""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"sync failed:\n{summary}")
    with output.open() as lines:
        entities = sum(1 for _ in lines)
    cpu = usage.ru_utime + usage.ru_stime
    return Run(concurrency, seconds, _stats(base_url), entities, usage.ru_maxrss / 1024, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 repositories, no baseline")
    parser.add_argument("--skip-baseline", action="store_true", help="no sequential run")
    args = parser.parse_args()
    organizations, projects, repositories = (5, 20, 10) if args.quick else (5, 20, 100)
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        (folder / "estate.yaml").write_text(
            f"tokens:\n  - {{name: benchmark, value: {TOKEN}}}\norganizations: []\n"
            f"generate: {{seed: 11, organizations: {organizations}, "
            f"projects_per_organization: {projects}, repositories_per_project: {repositories}}}\n"
            f"options: {{faults: {{latency_ms: {LATENCY_MS}}}}}\n"
        )
        emulator = subprocess.Popen(
            [sys.executable, "-m", "bridge", "emulator", "--estate", str(folder / "estate.yaml")],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert emulator.stdout is not None
            base_url = emulator.stdout.readline().split()[-1].rstrip("/")
            (folder / "config.yaml").write_text(
                "profiles:\n  - name: benchmark\n    organizations: ['*']\n"
                f"    api_url: {base_url}/\n    token_env: BENCHMARK_PAT\n    backstage: {{}}\n"
            )
            runs = [_sync(folder, base_url, CONCURRENCY)]
            if not (args.quick or args.skip_baseline):
                runs.append(_sync(folder, base_url, 1))
        finally:
            emulator.terminate()
            emulator.wait()
    total = organizations * projects * repositories
    project_count = organizations * projects
    budget = 2 * total + 2 * project_count + organizations * math.ceil(projects / 100)
    print(
        f"estate: {total:,} repositories in {project_count} projects and {organizations} "
        f"organizations; {LATENCY_MS} ms latency per request"
    )
    for run in runs:
        print(
            f"concurrency {run.concurrency:>2}: {run.seconds:7.1f} s, {run.requests:,} requests, "
            f"{run.entities:,} entities, lower bound {run.lower_bound:.1f} s, "
            f"ratio {run.seconds / run.lower_bound:.2f}, peak RSS {run.peak_rss_mb:.0f} MB, "
            f"CPU {run.cpu_seconds:.1f} s"
        )
    print(
        f"requests: {runs[0].requests:,}; budget 2 x repositories + 2 x projects + project "
        f"pages = {budget:,}, plus 2 to list the organizations (disabled and empty "
        "repositories cost none)"
    )
    if len(runs) > 1:
        print(f"speed-up over the sequential baseline: {runs[1].seconds / runs[0].seconds:.1f}x")


if __name__ == "__main__":
    main()
