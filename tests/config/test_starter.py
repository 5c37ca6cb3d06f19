"""The starter file of `catalog-bridge init`: it loads, explains every key, is written safely."""

from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Any

import pytest

from bridge.config import ATTRIBUTES, load_config, starter_config, write_starter
from bridge.errors import ConfigError, UsageError


@pytest.fixture(autouse=True)
def pat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_DEVOPS_EXT_PAT", "env-token-value-0001")


def test_starter_file_loads(tmp_path: Path) -> None:
    path = write_starter(tmp_path / "catalog-bridge.yaml")
    config = load_config(path)
    assert config.notes == ()
    (profile,) = config.profiles
    assert profile.token is not None
    assert profile.broker is None
    assert profile.backstage is not None
    assert profile.backstage.attributes == ATTRIBUTES


def test_starter_file_explains_every_key() -> None:
    text = starter_config()
    keys = [
        "profiles", "name", "organizations", "api_url", "token_env", "token_file", "broker",
        "url", "backstage", "filename", "attributes", "fields", "concurrency", "allow_http",
        "ca_file", "developers_days",
    ]  # fmt: skip
    for key in keys:
        assert re.search(rf"^[ #]*-? ?{key}:", text, re.MULTILINE), key
    assert "CATALOG_BRIDGE_CONFIG" in text
    assert "SYSTEM_ACCESSTOKEN: $(System.AccessToken)" in text


def test_commented_examples_are_valid_when_uncommented(tmp_path: Path) -> None:
    # Example lines are "  # - name: ..." and "  #   key: ...": drop the "# " to enable them.
    text = re.sub(r"^  # (?=- |  )", "  ", starter_config(), flags=re.MULTILINE)
    path = tmp_path / "catalog-bridge.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match="defines: default, brokered, on-premises"):
        load_config(path, profiles=["nothing"])
    # The on-premises example's files do not exist here, so it is only checked, not resolved.
    config = load_config(path, profiles=["default", "brokered"], environ={
        "AZURE_DEVOPS_EXT_PAT": "env-token-value-0001",
        "SNYK_BROKER_TOKEN": "broker-token-value-0001",
    })  # fmt: skip
    brokered = config.profiles[1]
    assert brokered.broker is not None
    assert brokered.token is None


def test_starter_for_another_location_says_how_to_use_it(tmp_path: Path) -> None:
    assert starter_config("catalog-bridge.yaml") == starter_config()
    assert "--config catalog-bridge.yaml" not in starter_config()
    text = starter_config("ci/bridge.yaml")
    assert "--config ci/bridge.yaml" in text
    assert "CATALOG_BRIDGE_CONFIG=ci/bridge.yaml" in text


def test_a_line_break_in_the_path_cannot_spoil_the_file(tmp_path: Path) -> None:
    path = write_starter(tmp_path / "odd\nname.yaml")
    assert len(load_config(path).profiles) == 1


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_write_creates_a_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "catalog-bridge.yaml"
    assert write_starter(path) == path
    assert path.read_text() == starter_config(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert _leftovers(tmp_path) == []


def test_write_refuses_to_replace_a_file(tmp_path: Path) -> None:
    path = tmp_path / "catalog-bridge.yaml"
    path.write_text("mine\n")
    with pytest.raises(UsageError, match="already exists; use --force"):
        write_starter(path)
    assert path.read_text() == "mine\n"
    assert _leftovers(tmp_path) == []


def test_write_with_force_replaces_and_keeps_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "catalog-bridge.yaml"
    path.write_text("mine\n")
    path.chmod(0o600)
    write_starter(path, force=True)
    assert path.read_text() == starter_config(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _leftovers(tmp_path) == []


def test_a_file_appearing_during_the_write_is_not_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "catalog-bridge.yaml"
    real_mkstemp = tempfile.mkstemp

    def racing_mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        result = real_mkstemp(*args, **kwargs)
        path.write_text("written meanwhile\n")  # another process wins the name
        return result

    monkeypatch.setattr(tempfile, "mkstemp", racing_mkstemp)
    with pytest.raises(UsageError, match="already exists"):
        write_starter(path)
    assert path.read_text() == "written meanwhile\n"
    assert _leftovers(tmp_path) == []


def test_write_into_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot write"):
        write_starter(tmp_path / "missing" / "catalog-bridge.yaml")
    assert os.listdir(tmp_path) == []
