"""``catalog --repo URL``: a remote catalog repository fetched from the emulator's git endpoint
and processed at its default branch, the token passed only through the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.emulator import RunningEmulator
from tests.emulator.conftest import ADMIN, REVOKED, estate_file
from tests.support.emulator import serving
from tests.support.secrets import assert_no_secrets, secret_forms

ENV = "CATALOG_REMOTE_PAT"


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with serving(lambda: estate_file().estate) as start:
        yield start()


def _bridge(
    cache: Path, token: str, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``catalog-bridge args`` with the user's cache in ``cache`` and ``token`` in ENV."""
    environment = {**os.environ, "XDG_CACHE_HOME": str(cache), ENV: token}
    for variable in ("GITHUB_ACTIONS", "TF_BUILD"):
        environment.pop(variable, None)
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )


def _catalog(
    emulator: RunningEmulator, cache: Path, token: str
) -> subprocess.CompletedProcess[str]:
    url = f"{emulator.base_url}/contoso/Payments/_git/payments-api"
    command = [
        "catalog",
        "catalog-info.yaml",
        "--repo",
        url,
        "--token-env",
        ENV,
        "--format",
        "json",
    ]
    return _bridge(cache, token, *command)


def test_a_remote_catalog_is_fetched_and_processed(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    result = _catalog(emulator, tmp_path / "cache", ADMIN)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    entities = [line for line in lines if line["type"] == "entity" and line["ingested"]]
    # The root Location Backstage makes for the root file, and the file's Component.
    assert sorted((e["kind"], e["file"]) for e in entities) == [
        ("Component", "catalog-info.yaml"),
        ("Location", "catalog-info.yaml"),
    ]
    assert "component:default/payments-api" in {e["ref"] for e in entities}
    # The bare copy is in the user's cache, and the token is nowhere in it.
    assert list((tmp_path / "cache" / "catalog-bridge" / "git").iterdir())
    stored = [
        file.read_bytes().decode("latin-1")
        for file in (tmp_path / "cache").rglob("*")
        if file.is_file()
    ]
    assert_no_secrets([*stored, result.stdout, result.stderr], secret_forms(ADMIN))


def test_a_refused_token_is_a_clean_error(emulator: RunningEmulator, tmp_path: Path) -> None:
    result = _catalog(emulator, tmp_path / "cache", REVOKED)
    assert result.returncode == 4, result.stderr
    assert "Traceback" not in result.stderr and "catalog-bridge: error:" in result.stderr
    assert_no_secrets([result.stdout, result.stderr], secret_forms(REVOKED))


def _profile(folder: Path, emulator: RunningEmulator, catalog: str) -> Path:
    config = folder / "catalog-bridge.yaml"
    config.write_text(
        "profiles:\n"
        "  - name: platform\n"
        "    organizations: [contoso]\n"
        f"    api_url: {emulator.base_url}/\n"
        "    allow_http: true\n"
        f"    token_env: {ENV}\n"
        "    backstage:\n"
        "      catalog:\n" + "".join(f"        {line}\n" for line in catalog.splitlines()),
        encoding="utf-8",
    )
    return config


def _by_profile(
    folder: Path, config: Path, *extra: str, token: str = ADMIN
) -> subprocess.CompletedProcess[str]:
    return _bridge(folder / "cache", token, "catalog", "--config", str(config), *extra, cwd=folder)


def test_a_profile_names_the_catalog_its_rules_and_its_token(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    url = f"{emulator.base_url}/contoso/Payments/_git/payments-api"
    # The profile's rules let only APIs in: its Component fails the root Location.
    config = _profile(tmp_path, emulator, f"repository: {url}\nrules: [API]")
    refused = _by_profile(tmp_path, config, "--profile", "platform", "--format", "json")
    assert refused.returncode == 1, refused.stderr
    errors = [json.loads(line) for line in refused.stdout.splitlines()]
    [error] = [line for line in errors if line["type"] == "error"]
    assert (
        error["name"] == "NotAllowedError" and "component:default/payments-api" in error["message"]
    )
    # The command line's --rules override the profile's; the token is the profile's.
    allowed = _by_profile(
        tmp_path, config, "--profile", "platform", "--rules", "Component,Location"
    )
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert_no_secrets([allowed.stdout, allowed.stderr], secret_forms(ADMIN))


def test_a_profile_without_a_catalog_is_a_usage_error(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    config = tmp_path / "catalog-bridge.yaml"
    config.write_text(
        "profiles:\n  - name: platform\n    organizations: [contoso]\n"
        f"    api_url: {emulator.base_url}/\n    token_env: {ENV}\n",
        encoding="utf-8",
    )
    result = _by_profile(tmp_path, config, "--profile", "platform")
    assert result.returncode == 2
    assert "the profile has no backstage.catalog" in result.stderr
