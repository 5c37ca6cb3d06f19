"""Large runs are validated by worker processes and report exactly what one process would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bridge.catalog.batch import PARALLEL_THRESHOLD
from tests.catalog.test_cli_validate import INVALID, VALID


def _validate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "TF_BUILD")}
    return subprocess.run(
        [sys.executable, "-m", "bridge", "validate", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )


def test_workers_report_what_one_process_reports(tmp_path: Path) -> None:
    count = PARALLEL_THRESHOLD + 57  # more than one chunk past the threshold, uneven
    for number in range(count):
        folder = tmp_path / f"team-{number:03d}"
        folder.mkdir()
        text = INVALID if number % 7 == 0 else VALID.replace("payments", f"service-{number}")
        (folder / "catalog-info.yaml").write_text(text)
    (tmp_path / "team-005" / "catalog-info.yaml").write_bytes(b"kind: x\n\x00")
    for output_format in ("text", "json"):
        single = _validate("--jobs", "1", "--format", output_format, ".", cwd=tmp_path)
        workers = _validate("--jobs", "2", "--format", output_format, ".", cwd=tmp_path)
        assert (workers.returncode, workers.stdout, workers.stderr) == (
            single.returncode,
            single.stdout,
            single.stderr,
        )
    summary = _validate("--jobs", "2", ".", cwd=tmp_path)
    assert summary.returncode == 1
    assert summary.stdout.splitlines()[-1] == (
        f"{count} files, {count - 1} documents: {count - 1 - 37} valid, 37 invalid, "
        "1 unreadable; 75 errors, 0 warnings"
    )
