"""Benchmark: how many repositories one job syncs per hour under Azure DevOps' rate limits,
measured on the emulator's rate-limit model (``bridge/emulator/ratelimit.py``), to know when
to shard the nightly job.

The model gives each token a sliding window: ``budget`` requests per ``window_seconds``
answered at once, the next ``delay_band`` held ``delay_seconds`` each, then 429 with
``Retry-After`` until usage leaves the window. Azure DevOps documents 200 TSTUs per 5
minutes; the model counts one unit per request, its defaults (200 per 300 s, 50 delayed by
0.1 s), so it is a pessimistic stand-in (a light request costs Azure less than one TSTU).
A 5-minute window makes a run long, so the window is shrunk ``--scale`` times (the same
budget per window, the delay shrunk alike) and the measured rate divided by the scale:
throughput under rate limiting is budget-bound, so it scales with the window.

Run from the project root: ``python -m benchmarks.throughput`` (about 2 minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from benchmarks import emulator_config
from bridge.emulator import (
    EmulatorOptions,
    GenerationSpec,
    RateLimitOptions,
    generate_estate,
    run_in_thread,
)
from bridge.sync.engine import SyncOptions, synchronize

_MODEL = RateLimitOptions()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repositories", type=int, default=600)
    parser.add_argument("--scale", type=float, default=15.0)
    arguments = parser.parse_args()
    per_project = 20
    spec = GenerationSpec(
        seed=11,
        organizations=1,
        projects_per_organization=max(1, arguments.repositories // per_project),
        repositories_per_project=per_project,
    )
    estate = generate_estate(spec)
    scaled = RateLimitOptions(
        budget=_MODEL.budget,
        window_seconds=_MODEL.window_seconds / arguments.scale,
        warn_fraction=_MODEL.warn_fraction,
        delay_band=_MODEL.delay_band,
        delay_seconds=_MODEL.delay_seconds / arguments.scale,
    )
    with (
        run_in_thread(estate, options=EmulatorOptions(rate_limit=scaled)) as emulator,
        tempfile.TemporaryDirectory() as folder,
    ):
        names = ", ".join(organization.name for organization in estate.organizations)
        profiles = emulator_config(
            Path(folder), emulator.base_url, "throughput", organizations=f"[{names}]"
        ).profiles
        start = time.perf_counter()
        result = asyncio.run(synchronize(profiles, SyncOptions(), lambda entity: None))
        seconds = time.perf_counter() - start
    stats = result.stats
    hour = 3600 / arguments.scale
    per_hour = result.repositories / seconds * hour
    print(
        f"{result.repositories:,} repositories, {stats.requests:,} requests "
        f"({stats.throttled:,} throttled, {stats.paused:,} pauses) in {seconds:.1f} s with a "
        f"{scaled.window_seconds:g} s window ({arguments.scale:g}x the model's "
        f"{_MODEL.window_seconds:g} s)"
    )
    print(
        f"one job, one token: {per_hour:,.0f} repositories per hour "
        f"({stats.requests / seconds * hour:,.0f} requests per hour; the model's ceiling is "
        f"{(_MODEL.budget + _MODEL.delay_band) * 3600 / _MODEL.window_seconds:,.0f})"
    )


if __name__ == "__main__":
    main()
