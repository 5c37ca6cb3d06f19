"""The pre-commit hook: its manifest read directly, and one run through the real ``pre-commit``
installed from this checkout (that run builds a hook environment, so it is the slow one)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import git
import pytest
import yaml

from tests.catalog.test_cli_validate import INVALID, VALID
from tests.support.shared import CACHE_DIR, PROJECT_ROOT


def _hook() -> dict[str, Any]:
    manifest = yaml.safe_load((PROJECT_ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))
    (hook,) = (entry for entry in manifest if entry["id"] == "catalog-bridge-validate")
    return dict(hook)


@pytest.mark.parametrize(
    ("path", "picked"),
    [
        ("catalog-info.yaml", True),
        ("catalog-info.yml", True),
        ("services/payments/catalog-info.yaml", True),
        ("services/notes.yaml", False),
        ("my-catalog-info.yaml", False),
        ("catalog-info.yaml.bak", False),
        ("catalog-info.json", False),
    ],
)
def test_manifest_picks_catalog_info_files_in_any_folder(path: str, picked: bool) -> None:
    # pre-commit matches `files` with re.search against the path from the repository root.
    assert (re.search(_hook()["files"], path) is not None) is picked


def test_manifest_entry_is_the_installed_validate_command(repo: Path) -> None:
    hook = _hook()
    assert hook["language"] == "python" and hook.get("pass_filenames", True)
    program, *arguments = shlex.split(hook["entry"])
    assert (program, arguments) == ("catalog-bridge", ["validate"])
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert project["scripts"][program] == "bridge.__main__:main"
    # The entry point pre-commit installs is `python -m bridge`'s main; run it as the hook would,
    # with the file names appended, from the repository's root.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bridge",
            *arguments,
            "catalog-info.yaml",
            "services/catalog-info.yaml",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert 'services/catalog-info.yaml:4:9: error [field-format] "metadata.name"' in result.stdout
    assert "2 files, 2 documents: 1 valid, 1 invalid" in result.stdout


def _try_repo(repo: Path, *files: str) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    # Hook environments are cached between runs; a fresh clone builds one on first use.
    environment["PRE_COMMIT_HOME"] = str(CACHE_DIR / "pre-commit")
    for variable in ("GITHUB_ACTIONS", "TF_BUILD"):
        environment.pop(variable, None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "try-repo",
            str(PROJECT_ROOT),
            "catalog-bridge-validate",
            "--verbose",
            "--files",
            *files,
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        env=environment,
        timeout=900,
        check=False,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "catalogs"
    repository = git.Repo.init(path)
    (path / "catalog-info.yaml").write_text(VALID)
    (path / "services").mkdir()
    (path / "services" / "catalog-info.yaml").write_text(INVALID)
    (path / "services" / "notes.yaml").write_text("not: [a catalog file\n")
    repository.index.add(["catalog-info.yaml", "services/catalog-info.yaml", "services/notes.yaml"])
    return path


@pytest.mark.slow
def test_hook_fails_an_invalid_catalog_file_with_the_message(repo: Path) -> None:
    result = _try_repo(
        repo, "catalog-info.yaml", "services/catalog-info.yaml", "services/notes.yaml"
    )
    assert result.returncode == 1
    assert "Failed" in result.stdout
    assert (
        'services/catalog-info.yaml:4:9: error [field-format] "metadata.name" is not valid'
        in result.stdout
    )
    # The default `files:` pattern only picks catalog-info.yaml: notes.yaml is not checked.
    assert "notes.yaml" not in result.stdout
    assert "2 files, 2 documents: 1 valid, 1 invalid" in result.stdout
