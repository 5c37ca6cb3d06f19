"""Fixtures for the configuration tests: a clean environment and a config file writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config.support import WriteConfig

# Variables a developer's or CI's environment could set that would change the outcome.
_VARIABLES = (
    "AZURE_DEVOPS_EXT_PAT",
    "SNYK_BROKER_TOKEN",
    "SYSTEM_ACCESSTOKEN",
    "TF_BUILD",
    "CATALOG_BRIDGE_CONFIG",
    "ADO_PAT",
    "OTHER_PAT",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def write_config(tmp_path: Path) -> WriteConfig:
    """Write ``text`` as ``catalog-bridge.yaml`` in a temporary folder and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "catalog-bridge.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write
