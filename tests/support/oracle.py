"""Run the reference Backstage oracle (``shared/oracle``: the real @backstage/catalog-model)."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.node import install_folder
from tests.support.shared import shared_path


@dataclass(frozen=True)
class Oracle:
    """An installed copy of the oracle."""

    folder: Path

    def run(self, files: Sequence[Path], *flags: str) -> list[dict[str, Any]]:
        """One JSON object per document of ``files`` (many files per node process)."""
        if not files:
            return []
        # The oracle ends with process.exit(), which can cut off output still queued for a
        # pipe; Node writes to files synchronously, so collect the output in a file.
        with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as output:
            result = subprocess.run(
                ["node", str(self.folder / "validate.mjs"), *flags, *map(str, files)],
                stdout=output,
                stderr=subprocess.PIPE,
                text=True,
                timeout=600,
                check=False,
            )
            if result.returncode not in (0, 1):
                raise RuntimeError(f"oracle failed ({result.returncode}): {result.stderr[-2000:]}")
            output.seek(0)
            return [json.loads(line) for line in output if line.strip()]


def install_oracle() -> Oracle:
    """Install the oracle once (cached in .cache/); skips when shared/ or node is missing."""
    return Oracle(install_folder(shared_path("oracle"), "oracle"))


def first_error(row: dict[str, Any]) -> str | None:
    """The error Backstage reports first for an oracle row."""
    errors = row.get("errors") or []
    return errors[0] if errors else None
