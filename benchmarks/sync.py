"""Benchmark: syncing thousands of repositories against the emulator, as whole processes.

An emulated estate (5 organizations, 100 repositories per project; 10,000 repositories by
default, ``--repositories`` to choose) answers every request after 25 ms (injected latency).
The emulator is a separate process, so the CPU figures are the sync client's alone. The
script runs ``catalog-bridge sync`` at concurrency 16 (``--runs`` times) and at concurrency 1
(the sequential baseline) and prints, for each: wall time, requests made (counted by the
emulator), the physical bound requests / concurrency x latency and the ratio to it, the
client's CPU time per request (and the emulator's, for comparison) and the client's peak
memory (RSS); then each figure against its goal (PASS/FAIL), the speed-up and the request
count against 2 x repositories + 2 x projects + project pages.

Run from the project root: ``python -m benchmarks.sync``. ``--repositories 4000`` is the
issue's 4,000-repository case; ``--quick`` uses 1,000 repositories and skips the sequential
run (8 minutes at full size).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import compile_project, emulator_process, emulator_stats

TOKEN = "benchmark-token-0123456789"
LATENCY_MS = 25
CONCURRENCY = 16
ORGANIZATIONS = 5
REPOSITORIES_PER_PROJECT = 100
# Goals: wall time within 1.2x the physical bound at concurrency 16 (issue 7), and the
# client's CPU per request, which a busy machine turns into wall time, a quarter below the
# ~0.8 ms issue 7 measured (the emulator runs in its own process: its CPU is not counted).
GOAL_RATIO = 1.2
GOAL_CPU_MS = 0.6


@dataclass(frozen=True)
class Run:
    """One measured sync."""

    concurrency: int
    seconds: float
    requests: int
    entities: int
    peak_rss_mb: float
    cpu_seconds: float
    emulator_cpu_seconds: float | None  # None where /proc is not there to read it

    @property
    def lower_bound(self) -> float:
        return self.requests / self.concurrency * LATENCY_MS / 1000

    @property
    def ratio(self) -> float:
        return self.seconds / self.lower_bound

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_seconds * 1000 / self.requests


def _process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a running process, from /proc (Linux)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _sync(folder: Path, base_url: str, concurrency: int, emulator_pid: int) -> Run:
    emulator_stats(base_url, reset=True)
    emulator_before = _process_cpu(emulator_pid)
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
    emulator_after = _process_cpu(emulator_pid)
    emulator_cpu = (
        None
        if emulator_before is None or emulator_after is None
        else emulator_after - emulator_before
    )
    requests = int(emulator_stats(base_url).get("requests", 0))
    return Run(concurrency, seconds, requests, entities, usage.ru_maxrss / 1024, cpu, emulator_cpu)


def _verdict(value: float, goal: float) -> str:
    return "PASS" if value <= goal else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--repositories",
        type=int,
        default=10_000,
        help="estate size, a multiple of 500 (default 10,000; the issue's case is 4,000)",
    )
    parser.add_argument("--quick", action="store_true", help="1,000 repositories, no baseline")
    parser.add_argument("--skip-baseline", action="store_true", help="no sequential run")
    parser.add_argument("--runs", type=int, default=1, help="runs at concurrency 16 (median)")
    args = parser.parse_args()
    compile_project()
    total = 1000 if args.quick else args.repositories
    per_organization = ORGANIZATIONS * REPOSITORIES_PER_PROJECT
    if total <= 0 or total % per_organization:
        parser.error(f"--repositories must be a positive multiple of {per_organization}")
    projects = total // per_organization
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        (folder / "estate.yaml").write_text(
            f"tokens:\n  - {{name: benchmark, value: {TOKEN}}}\norganizations: []\n"
            f"generate: {{seed: 11, organizations: {ORGANIZATIONS}, "
            f"projects_per_organization: {projects}, "
            f"repositories_per_project: {REPOSITORIES_PER_PROJECT}}}\n"
            f"options: {{faults: {{latency_ms: {LATENCY_MS}}}}}\n"
        )
        with emulator_process(folder / "estate.yaml") as (emulator_pid, base_url):
            (folder / "config.yaml").write_text(
                "profiles:\n  - name: benchmark\n    organizations: ['*']\n"
                f"    api_url: {base_url}/\n    token_env: BENCHMARK_PAT\n    backstage: {{}}\n"
            )
            # Unmeasured: the emulator builds each generated repository's history on first
            # use (Azure DevOps has its data ready); measured runs then see a warm server.
            _sync(folder, base_url, CONCURRENCY, emulator_pid)
            runs = [
                _sync(folder, base_url, CONCURRENCY, emulator_pid) for _ in range(max(1, args.runs))
            ]
            baseline = None
            if not (args.quick or args.skip_baseline):
                baseline = _sync(folder, base_url, 1, emulator_pid)
    project_count = ORGANIZATIONS * projects
    budget = 2 * total + 2 * project_count + ORGANIZATIONS * math.ceil(projects / 100)
    print(
        f"estate: {total:,} repositories in {project_count} projects and {ORGANIZATIONS} "
        f"organizations; {LATENCY_MS} ms latency per request"
    )
    for run in [*runs, *([baseline] if baseline else [])]:
        print(
            f"concurrency {run.concurrency:>2}: {run.seconds:7.1f} s, {run.requests:,} requests, "
            f"{run.entities:,} entities, lower bound {run.lower_bound:.1f} s, "
            f"ratio {run.ratio:.2f}, peak RSS {run.peak_rss_mb:.0f} MB, "
            f"CPU {run.cpu_seconds:.1f} s = {run.cpu_ms_per_request:.3f} ms per request"
            + (
                ""
                if run.emulator_cpu_seconds is None
                else f" (emulator: {run.emulator_cpu_seconds * 1000 / run.requests:.3f} ms)"
            )
        )
    ratio = statistics.median(run.ratio for run in runs)
    cpu_ms = statistics.median(run.cpu_ms_per_request for run in runs)
    what = f"median of {len(runs)} runs" if len(runs) > 1 else "one run"
    print(
        f"goal: wall time / bound at concurrency {CONCURRENCY} <= {GOAL_RATIO}: "
        f"{ratio:.2f} ({what}) {_verdict(ratio, GOAL_RATIO)}"
    )
    print(
        f"goal: client CPU per request <= {GOAL_CPU_MS} ms: {cpu_ms:.3f} ms ({what}) "
        f"{_verdict(cpu_ms, GOAL_CPU_MS)}"
    )
    print(
        f"requests: {runs[0].requests:,}; budget 2 x repositories + 2 x projects + project "
        f"pages = {budget:,}, plus 2 to list the organizations (disabled and empty "
        "repositories cost none)"
    )
    if baseline is not None:
        print(f"speed-up over the sequential baseline: {baseline.seconds / runs[0].seconds:.1f}x")


if __name__ == "__main__":
    main()
