"""The checkout itself: files a command writes by default are not committed by accident."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_output_is_ignored_by_git() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout")
    # `catalog-bridge demo` writes demo-entities.ndjson into the working directory.
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "demo-entities.ndjson"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
