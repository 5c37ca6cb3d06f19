"""Locate the read-only ``shared/`` folder that sits next to the project checkout.

Tests read the public catalog corpus, the Backstage oracle and the Snyk Broker runner from
there at test time; nothing of it is copied into the project. ``CATALOG_BRIDGE_SHARED``
overrides the search.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = PROJECT_ROOT / ".cache"


def find_shared() -> Path | None:
    """The shared folder, or None when this checkout has none beside it."""
    env = os.environ.get("CATALOG_BRIDGE_SHARED")
    candidates = [Path(env)] if env else []
    candidates += [parent / "shared" for parent in PROJECT_ROOT.parents[:3]]
    for candidate in candidates:
        if (candidate / "reference").is_dir() or (candidate / "catalog-corpus").is_dir():
            return candidate
    return None


def shared_path(*parts: str) -> Path:
    """A path inside the shared folder; skips the calling test when it is absent."""
    shared = find_shared()
    if shared is None:
        pytest.skip("the shared/ folder (corpus, oracle, broker) is not beside this checkout")
    path = shared.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path
