"""Shared fixtures."""

from __future__ import annotations

import pytest

from tests.support.oracle import Oracle, install_oracle


@pytest.fixture(scope="session")
def oracle() -> Oracle:
    """The reference Backstage implementation (skips when node/npm or shared/ are absent)."""
    return install_oracle()


@pytest.fixture(autouse=True)
def _isolated_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets a test registers are forgotten after it: redaction is process-wide, and a token
    one test registers (say, a run of x's) must not blank text in another."""
    from bridge import secrets

    monkeypatch.setattr(secrets, "_registered", set(secrets._registered))
