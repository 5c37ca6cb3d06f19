"""``catalog-bridge generate`` as a user runs it: its own process, the emulator on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.generate.conftest import TOKEN_ENV, Served


def _cli(*args: str, cwd: Path, token: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", "generate", *args],
        cwd=cwd,
        env={**os.environ, TOKEN_ENV: token},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_generate_output_writes_a_valid_catalog_and_prints_the_report(
    sample: Served, tmp_path: Path
) -> None:
    config = sample.config(tmp_path)
    result = _cli("--config", str(config), "--output", "out", cwd=tmp_path, token=sample.token)
    assert result.returncode == 0, result.stderr
    assert "5 catalog files generated" in result.stdout
    assert sample.token not in result.stdout + result.stderr
    check = subprocess.run(
        [sys.executable, "-m", "bridge", "validate", "--strict", "--glob", "**/*.yaml", "out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout
    assert "6 files, 6 documents: 6 valid" in check.stdout


def test_output_and_into_together_are_a_usage_error(sample: Served, tmp_path: Path) -> None:
    config = sample.config(tmp_path)
    args = ("--config", str(config), "--output", "a", "--into", "b")
    result = _cli(*args, cwd=tmp_path, token=sample.token)
    assert result.returncode == 2
    assert "give exactly one of --output DIR and --into CATALOG_REPO" in result.stderr
    assert "Traceback" not in result.stderr
