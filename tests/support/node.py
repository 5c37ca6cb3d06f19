"""Install Node packages for tests into the project's .cache folder (once per content)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.shared import CACHE_DIR


def require_node() -> None:
    """Skip the calling test when node or npm is not installed."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for this test")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _npm(args: list[str], cwd: Path) -> None:
    result = subprocess.run(
        ["npm", *args, "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"npm {' '.join(args)} failed in {cwd}:\n{result.stderr[-4000:]}")


def install_folder(source: Path, name: str) -> Path:
    """Copy a folder holding package.json + package-lock.json and ``npm ci`` it (cached)."""
    require_node()
    digest = hashlib.sha256()
    for file in sorted(p for p in source.iterdir() if p.is_file()):
        digest.update(file.name.encode())
        digest.update(file.read_bytes())
    target = CACHE_DIR / f"{name}-{digest.hexdigest()[:12]}"
    with _locked(CACHE_DIR / f"{name}.lock"):
        if not (target / ".installed").exists():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target)
            _npm(["ci"], target)
            (target / ".installed").touch()
    return target


def install_package(spec: str, name: str) -> Path:
    """``npm install spec`` into a cached prefix folder; returns that folder."""
    require_node()
    target = CACHE_DIR / f"{name}-{hashlib.sha256(spec.encode()).hexdigest()[:12]}"
    with _locked(CACHE_DIR / f"{name}.lock"):
        if not (target / ".installed").exists():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            _npm(["install", "--prefix", str(target), spec], target)
            (target / ".installed").touch()
    return target


def run_ndjson(args: list[str], *, timeout: float, cwd: Path | None = None) -> list[dict[str, Any]]:
    """The JSON lines a ``node`` script prints (exit code 0 or 1; any other fails).

    The oracles end with process.exit(), which can cut off output still queued for a pipe;
    Node writes to files synchronously, so the output is collected in a file.
    """
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as output:
        result = subprocess.run(
            ["node", *args],
            cwd=cwd,
            stdout=output,
            stderr=subprocess.PIPE,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode not in (0, 1):
            raise RuntimeError(f"oracle failed ({result.returncode}): {result.stderr[-2000:]}")
        output.seek(0)
        return [json.loads(line) for line in output if line.strip()]
