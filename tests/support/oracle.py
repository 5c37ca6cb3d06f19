"""Run the reference Backstage oracle (``shared/oracle``: the real @backstage/catalog-model)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.node import install_folder, run_ndjson
from tests.support.shared import shared_path


@dataclass(frozen=True)
class Oracle:
    """An installed copy of the oracle."""

    folder: Path

    def run(self, files: Sequence[Path], *flags: str) -> list[dict[str, Any]]:
        """One JSON object per document of ``files`` (many files per node process)."""
        if not files:
            return []
        return run_ndjson(
            [str(self.folder / "validate.mjs"), *flags, *map(str, files)], timeout=600
        )


def install_oracle() -> Oracle:
    """Install the oracle once (cached in .cache/); skips when shared/ or node is missing."""
    return Oracle(install_folder(shared_path("oracle"), "oracle"))


def first_error(row: dict[str, Any]) -> str | None:
    """The error Backstage reports first for an oracle row."""
    errors = row.get("errors") or []
    return errors[0] if errors else None
