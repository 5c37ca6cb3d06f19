"""Benchmark scripts: each prints its figures against the goals (``python -m benchmarks.NAME``)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridge.config import Config


def compile_project() -> None:
    """Write the project's bytecode, as an installed package has it: with
    PYTHONDONTWRITEBYTECODE set, every process a benchmark starts would compile ``bridge/``
    again and time that too."""
    import compileall

    compileall.compile_dir(Path(__file__).resolve().parent.parent / "bridge", quiet=1)


@contextlib.contextmanager
def emulator_process(estate: Path) -> Iterator[tuple[int, str]]:
    """Run ``catalog-bridge emulator --estate ESTATE`` as a separate process (its CPU is then
    not the measured command's); yields its pid and base URL (no trailing slash)."""
    emulator = subprocess.Popen(
        [sys.executable, "-m", "bridge", "emulator", "--estate", str(estate)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert emulator.stdout is not None
        yield emulator.pid, emulator.stdout.readline().split()[-1].rstrip("/")
    finally:
        emulator.terminate()
        emulator.wait()


def emulator_stats(base_url: str, *, reset: bool = False) -> dict[str, Any]:
    """The emulator's request counts (``/_emulator/stats``), or reset them (POST ``/reset``)."""
    request = urllib.request.Request(
        f"{base_url}/_emulator/stats{'/reset' if reset else ''}", method="POST" if reset else "GET"
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # loopback only
        data: dict[str, Any] = json.loads(response.read() or b"{}")
    return data


def emulator_config(
    folder: Path, base_url: str, name: str, *, organizations: str = "['*']", extra: str = ""
) -> Config:
    """Write and load a configuration of one profile ``name`` that reads ``organizations``
    from the emulator at ``base_url`` with its default token (``extra``: more profile lines)."""
    from bridge.config import load_config
    from bridge.emulator import DEFAULT_TOKEN_VALUE

    config = folder / "catalog-bridge.yaml"
    config.write_text(
        f"profiles:\n  - name: {name}\n    organizations: {organizations}\n"
        f"    api_url: {base_url}/\n    token_env: BENCHMARK_PAT\n{extra}    backstage: {{}}\n",
        encoding="utf-8",
    )
    return load_config(config, environ={"BENCHMARK_PAT": DEFAULT_TOKEN_VALUE})
