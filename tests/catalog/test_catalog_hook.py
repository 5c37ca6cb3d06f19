"""The whole-catalog pre-commit hook (``catalog-bridge-catalog``): it checks the staged catalog,
never the working tree, and keeps each file's results by blob id so re-checks are cheap.

Its manifest entry and command are run directly; one run goes through the real ``pre-commit``
(it builds a hook environment, so it is the slow one)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.core import TyperGroup
from typer.main import get_command

from bridge.__main__ import catalog_hook
from bridge.catalog.gitreader import GitTreeReader
from bridge.catalog.processing import engine
from bridge.catalog.processing.engine import process_catalog
from bridge.catalog.processing.model import ProcessingOptions
from bridge.catalog.processing.output import render
from bridge.catalog.processing.rules import parse_rules
from bridge.catalog.validation import ValidationOptions
from bridge.cli import app
from bridge.gitrepo import INDEX, GitRepository
from tests.catalog.test_hook_startup import _RUN_AND_LIST_MODULES, NOT_FOR_THE_HOOK
from tests.support.git import git
from tests.support.shared import CACHE_DIR, PROJECT_ROOT

RULES = "Component,API,Location,Group"


def _location(name: str, *targets: str) -> str:
    lines = "".join(f"    - {target}\n" for target in targets)
    return (
        f"apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: {name}\n"
        f"spec:\n  targets:\n{lines}"
    )


def _component(name: str, owner: str = "group:platform") -> str:
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
        f"metadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n"
        f"  owner: {owner}\n"
    )


GROUP = (
    "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: platform\n"
    "spec:\n  type: team\n  children: []\n"
)
API = (
    "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: payments\nspec:\n"
    "  type: openapi\n  lifecycle: production\n  owner: group:platform\n"
    "  definition: 'openapi: 3.0.0'\n"
)


def _write(path: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text, encoding="utf-8")


def _commit_catalog(path: Path, *, group: bool = True) -> Path:
    """A committed catalog: a root Location, a Group (with ``group``), two Components and a
    Location that names an API file."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    targets = ["./components/*.yaml", "./apis/catalog-info.yaml"]
    _write(
        path,
        {
            "catalog-info.yaml": _location("root", *(["./teams/*.yaml"] * group), *targets),
            "components/api.yaml": _component("api"),
            "components/web.yaml": _component("web"),
            "apis/catalog-info.yaml": "# the APIs\n" + _location("apis", "./payments.yaml"),
            "apis/payments.yaml": API,
        },
    )
    if group:
        _write(path, {"teams/platform.yaml": GROUP})
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "catalog")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A committed catalog that passes the hook (with catalog.rules allowing Groups)."""
    return _commit_catalog(tmp_path / "catalog")


def _stage_mistakes(path: Path) -> None:
    """Stage a duplicate entity, a dangling owner and the deletion of a Location's target;
    then, in the working tree only, undo the dangling owner and break another file."""
    _write(path, {"components/api-copy.yaml": "# a copy\n" + _component("api")})
    _write(path, {"components/web.yaml": _component("web", owner="group:nobody")})
    git(path, "add", "components/api-copy.yaml", "components/web.yaml")
    git(path, "rm", "-q", "apis/payments.yaml")
    _write(path, {"components/web.yaml": _component("web")})  # a fix not staged
    _write(path, {"components/api.yaml": "kind: [broken\n"})  # a mistake not staged
    _write(path, {"components/untracked.yaml": _component("web")})  # never staged


def _manifest() -> dict[str, Any]:
    manifest = yaml.safe_load((PROJECT_ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))
    (hook,) = (entry for entry in manifest if entry["id"] == "catalog-bridge-catalog")
    return dict(hook)


def _run_hook(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The hook's command line as pre-commit runs it: the entry, then ``args``, no file
    names, from the repository's root."""
    program, *entry = shlex.split(_manifest()["entry"])
    assert program == "catalog-bridge"
    return _bridge(path, *entry, *args)


def _bridge(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``catalog-bridge args`` run from ``path``."""
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args],
        cwd=path,
        capture_output=True,
        text=True,
        check=False,
    )


def test_manifest_runs_the_staged_strict_catalog_on_every_commit() -> None:
    hook = _manifest()
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False
    # A commit that only deletes a target passes no file name: the hook must run anyway.
    assert hook["always_run"] is True
    assert shlex.split(hook["entry"]) == ["catalog-bridge", "catalog", "--staged", "--strict"]
    assert hook["args"] == ["catalog-info.yaml"]


def test_hook_passes_a_clean_staged_catalog(repo: Path) -> None:
    result = _run_hook(repo, "catalog-info.yaml", "--rules", RULES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "7 of 7 entities ingested" in result.stdout


def test_hook_fails_staged_mistakes_with_both_sides_and_ignores_the_working_tree(
    repo: Path,
) -> None:
    _stage_mistakes(repo)
    result = _run_hook(repo, "catalog-info.yaml", "--rules", RULES)
    assert result.returncode == 1, result.stderr
    out = result.stdout
    # The duplicate: where it is, and where the copy the catalog keeps is.
    assert (
        "components/api.yaml:1:1: error [conflict] component:default/api is also defined in "
        "components/api-copy.yaml:2;" in out
    )
    # The owner as staged, though the working tree has it fixed.
    assert "components/web.yaml:8:10: error [dangling-ref] spec.owner: no entity " in out
    assert "group:default/nobody" in out
    # The Location's target deleted in the index.
    assert (
        f"apis/payments.yaml: error [location-target-missing] file {repo}/apis/payments.yaml "
        "does not exist (fails location:default/apis in apis/catalog-info.yaml:2)" in out
    )
    # Neither the unstaged broken file nor the untracked duplicate is read.
    assert "[yaml" not in out and "untracked" not in out


def test_a_mistake_only_in_the_working_tree_does_not_fail_the_hook(repo: Path) -> None:
    _write(repo, {"components/api.yaml": "kind: [broken\n"})
    _write(repo, {"components/web.yaml": _component("web", owner="group:nobody")})
    (repo / "apis" / "payments.yaml").unlink()
    result = _run_hook(repo, "catalog-info.yaml", "--rules", RULES)
    assert result.returncode == 0, result.stdout


def test_staged_cannot_be_combined_with_another_ref(repo: Path) -> None:
    result = _run_hook(repo, "catalog-info.yaml", "--ref", "main")
    assert result.returncode == 2
    assert "--staged reads the index; it cannot be combined with --ref main" in result.stderr
    assert "Traceback" not in result.stderr


# -- the hook's command line skips the option parser ---------------------------------------


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        (["catalog", "--staged", "--strict", "all.yaml"], {}, ("all.yaml", None)),
        (["catalog", "--staged", "--strict", "r.yaml", "--rules", "API"], {}, ("r.yaml", "API")),
        (["catalog", "--staged", "--strict", "--rules=API", "r.yaml"], {}, ("r.yaml", "API")),
        (["catalog", "--staged", "--strict"], {}, None),
        (["catalog", "--staged", "--strict", "a.yaml", "b.yaml"], {}, None),
        (["catalog", "--staged", "--strict", "a.yaml", "--rules"], {}, None),
        (["catalog", "--staged", "--strict", "a.yaml", "--rules", "A", "--rules", "B"], {}, None),
        (["catalog", "--staged", "--strict", "a.yaml", "--format", "json"], {}, None),
        (["catalog", "--staged", "--strict", "a.yaml", "--help"], {}, None),
        (["catalog", "--strict", "--staged", "a.yaml"], {}, None),
        (["catalog", "--staged", "a.yaml"], {}, None),
        (["catalog", "--staged", "--strict", "a.yaml"], {"_CATALOG_BRIDGE_COMPLETE": "x"}, None),
    ],
)
def test_only_the_hook_catalog_command_line_skips_the_parser(
    argv: list[str], environ: dict[str, str], expected: tuple[str, str | None] | None
) -> None:
    assert catalog_hook(argv, environ) == expected


@pytest.mark.parametrize("root", ["catalog-info.yaml", "missing.yaml"])
def test_the_hook_command_line_behaves_as_the_full_parser(repo: Path, root: str) -> None:
    _stage_mistakes(repo)
    fast = _run_hook(repo, root, "--rules", RULES)
    # Another order of the same options goes through Typer.
    parsed = _bridge(repo, "catalog", "--strict", "--staged", root, "--rules", RULES)
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        parsed.returncode,
        parsed.stdout,
        parsed.stderr,
    )
    assert fast.returncode == (1 if root == "catalog-info.yaml" else 2)


def test_the_hook_command_line_loads_neither_typer_nor_the_sync_stack(repo: Path) -> None:
    _program, *entry = shlex.split(_manifest()["entry"])
    result = subprocess.run(
        [sys.executable, "-c", _RUN_AND_LIST_MODULES, *entry, "catalog-info.yaml"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    outcome = json.loads(result.stderr)
    assert outcome["code"] == 1  # the default rules refuse the Group
    hook_only = [name for name in NOT_FOR_THE_HOOK if name not in ("pathlib",)]
    assert [name for name in hook_only if name in outcome["modules"]] == []


def test_the_hook_command_line_uses_the_catalog_command_defaults() -> None:
    """Every option the hook path does not read defaults to what it passes: a new option must
    keep that true, or the hook path must learn about it."""
    group = get_command(app)
    assert isinstance(group, TyperGroup)
    defaults = {str(param.name): param.default for param in group.commands["catalog"].params}
    for read in ("root", "staged", "strict", "rules"):
        del defaults[read]
    library = ProcessingOptions()
    assert defaults == {
        "repo": None,
        "ref": None,
        "output_format": None,
        "local_placeholders": library.local_placeholders,
        "token_env": None,
        "cache": True,
        "config": None,
        "profile": None,
    }


# -- the cache ------------------------------------------------------------------------------


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The files the engine parses and validates (rather than finding them in the cache)."""
    calls: list[str] = []
    original = engine._parse_file

    def counting(path: str, *args: Any) -> Any:
        calls.append(path)
        return original(path, *args)

    monkeypatch.setattr(engine, "_parse_file", counting)
    yield calls


def _check(path: Path, validation: ValidationOptions | None = None) -> str:
    """The staged catalog processed with the cache, as NDJSON."""
    options = ProcessingOptions(
        rules=parse_rules(RULES),
        cache=True,
        absolute_root=str(path),
        validation=validation or ValidationOptions(),
    )
    with GitRepository(path) as repository:
        result = process_catalog(GitTreeReader(repository, INDEX), "catalog-info.yaml", options)
    return render(result, "json", strict=True)


def _shards(path: Path) -> list[Path]:
    return sorted((path / ".git" / "catalog-bridge" / "parsed").glob("*/*.pickle"))


CATALOG_FILES = [
    "apis/catalog-info.yaml",
    "apis/payments.yaml",
    "catalog-info.yaml",
    "components/api.yaml",
    "components/web.yaml",
    "teams/platform.yaml",
]


def test_a_second_run_reuses_every_file_and_reports_the_same(repo: Path, parsed: list[str]) -> None:
    first = _check(repo)
    assert sorted(parsed) == CATALOG_FILES
    assert _shards(repo)  # kept in the repository's git folder
    parsed.clear()
    assert _check(repo) == first
    assert parsed == []


def test_a_changed_blob_is_validated_again_and_the_catalog_recomputed(
    repo: Path, parsed: list[str]
) -> None:
    _check(repo)
    parsed.clear()
    _write(repo, {"components/web.yaml": _component("web", owner="group:nobody")})
    git(repo, "add", "components/web.yaml")
    report = _check(repo)
    assert parsed == ["components/web.yaml"]
    # The dangling reference depends on other files: recomputed, not cached.
    assert "group:default/nobody" in report
    # Renaming the Group makes the owners of unchanged (cached) files dangle.
    _write(repo, {"teams/platform.yaml": GROUP.replace("name: platform", "name: platforms")})
    git(repo, "add", "teams/platform.yaml")
    parsed.clear()
    report = _check(repo)
    assert parsed == ["teams/platform.yaml"]
    assert report.count("no entity group:default/platform in the catalog") == 2


def test_a_corrupt_cache_is_ignored_and_rebuilt(repo: Path, parsed: list[str]) -> None:
    first = _check(repo)
    for shard in _shards(repo):
        shard.write_bytes(b"\x80\x05not a pickle")
    parsed.clear()
    assert _check(repo) == first
    assert sorted(parsed) == CATALOG_FILES
    parsed.clear()
    assert _check(repo) == first  # the rebuilt shards are read again
    assert parsed == []


def test_other_validation_options_do_not_reuse_the_results(repo: Path, parsed: list[str]) -> None:
    _check(repo)
    parsed.clear()
    _check(repo, ValidationOptions(strict_placeholders=True))
    assert sorted(parsed) == CATALOG_FILES


def test_without_cache_nothing_is_written(repo: Path) -> None:
    command = ["catalog", "catalog-info.yaml", "--staged", "--no-cache", "--rules", RULES]
    result = _bridge(repo, *command)
    assert result.returncode == 0, result.stdout
    assert not (repo / ".git" / "catalog-bridge").exists()


# -- through the real pre-commit --------------------------------------------------------------


@pytest.mark.slow
def test_real_pre_commit_rejects_the_staged_mistakes(tmp_path: Path) -> None:
    # try-repo runs the manifest's default args: Backstage's default catalog.rules, which
    # refuse Groups, so this catalog has none (its owners dangle before the mistakes too).
    repo = _commit_catalog(tmp_path / "catalog", group=False)
    _stage_mistakes(repo)
    environment = dict(os.environ)
    environment["PRE_COMMIT_HOME"] = str(CACHE_DIR / "pre-commit")
    for variable in ("GITHUB_ACTIONS", "TF_BUILD"):
        environment.pop(variable, None)
    # --all-files: pre-commit then leaves unstaged changes in place (a commit would hide them),
    # so it is the hook that must read the index.
    try_repo = ["try-repo", str(PROJECT_ROOT), "catalog-bridge-catalog", "--verbose", "--all-files"]
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", *try_repo],
        cwd=repo,
        capture_output=True,
        text=True,
        env=environment,
        timeout=900,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "Backstage catalog (whole, staged)" in out and "Failed" in out
    assert "also defined in components/api-copy.yaml:2;" in out
    assert "group:default/nobody" in out
    assert f"file {repo}/apis/payments.yaml does not exist" in out
    assert "[yaml" not in out and "untracked" not in out
