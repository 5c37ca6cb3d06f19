"""Shared fixtures."""

from __future__ import annotations

import pytest

from tests.support.oracle import Oracle, install_oracle


@pytest.fixture(scope="session")
def oracle() -> Oracle:
    """The reference Backstage implementation (skips when node/npm or shared/ are absent)."""
    return install_oracle()
