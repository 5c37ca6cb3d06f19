"""The pre-commit hook through the real ``pre-commit``, installed from this checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import git
import pytest

from tests.catalog.test_cli_validate import INVALID, VALID
from tests.support.shared import CACHE_DIR, PROJECT_ROOT

pytestmark = pytest.mark.slow


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


def test_hook_passes_a_valid_catalog_file(repo: Path) -> None:
    result = _try_repo(repo, "catalog-info.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Backstage catalog files" in result.stdout and "Passed" in result.stdout


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
