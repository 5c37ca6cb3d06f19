"""The pre-commit hook's command line (``validate FILE...``) starts without the option parser
or the sync stack, and behaves exactly as the full command line does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.core import TyperGroup
from typer.main import get_command

from bridge.__main__ import hook_paths
from bridge.catalog.validation import ValidationOptions
from bridge.cli import app
from tests.catalog.test_cli_validate import INVALID, VALID

# Loaded by other commands only: a hook run that imports one of them pays for nothing.
NOT_FOR_THE_HOOK = (
    "typer",
    "click",
    "rich",
    "pydantic",
    "httpx",
    "httpcore",
    "asyncio",
    "pathlib",
    "git",  # gitpython: the trees and blobs a hook reads come from git's own commands
    "bridge.cli",
    "bridge.config",
    "bridge.doctor",
    "bridge.sync",
    "bridge.azure",
    "bridge.emulator",
)

_RUN_AND_LIST_MODULES = """
import json, sys
from bridge.__main__ import main
sys.argv = ["catalog-bridge", *sys.argv[1:]]
try:
    main()
except SystemExit as done:
    sys.stderr.write(json.dumps({"code": done.code, "modules": sorted(sys.modules)}))
"""


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "TF_BUILD")}


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", "validate", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=_environment(),
        check=False,
    )


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "catalog-info.yaml").write_text(VALID)
    (tmp_path / "bad.yaml").write_text(INVALID)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "catalog-info.yaml").write_text(VALID.replace("payments", "docs"))
    return tmp_path


def test_the_hook_command_line_loads_neither_the_parser_nor_the_sync_stack(files: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _RUN_AND_LIST_MODULES, "validate", "catalog-info.yaml", "bad.yaml"],
        cwd=files,
        capture_output=True,
        text=True,
        env=_environment(),
        check=False,
    )
    outcome = json.loads(result.stderr)
    assert outcome["code"] == 1
    assert "bad.yaml:4:9: error [field-format]" in result.stdout
    assert [name for name in NOT_FOR_THE_HOOK if name in outcome["modules"]] == []


@pytest.mark.parametrize(
    "paths",
    [
        ["catalog-info.yaml"],
        ["catalog-info.yaml", "bad.yaml", "docs"],
        ["missing.yaml"],
        ["bad.yaml", "missing.yaml"],
    ],
)
def test_the_hook_command_line_behaves_as_the_full_parser(files: Path, paths: list[str]) -> None:
    # "--format text" is the default, but an option sends the command line through Typer.
    fast, parsed = _run(*paths, cwd=files), _run("--format", "text", *paths, cwd=files)
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        parsed.returncode,
        parsed.stdout,
        parsed.stderr,
    )


def test_the_hook_command_line_uses_the_validate_command_defaults() -> None:
    """Every option of ``validate`` defaults to what the hook path passes (the library's
    defaults): a new option must keep that true, or the hook path must learn about it."""
    group = get_command(app)
    assert isinstance(group, TyperGroup)
    command = group.commands["validate"]
    defaults = {str(param.name): param.default for param in command.params}
    del defaults["paths"]
    library = ValidationOptions()
    expected: dict[str, object] = {"output_format": None, "glob": None, "jobs": None}
    expected |= {name: getattr(library, name) for name in defaults if hasattr(library, name)}
    assert defaults == expected


@pytest.mark.parametrize(
    ("argv", "environ", "paths"),
    [
        (["validate", "a.yaml", "b/"], {}, ["a.yaml", "b/"]),
        (["validate", "-"], {}, ["-"]),
        (["validate"], {}, None),
        (["validate", "--strict", "a.yaml"], {}, None),
        (["validate", "a.yaml", "--help"], {}, None),
        (["validate", "--", "-a.yaml"], {}, None),
        (["sync"], {}, None),
        (["validate", "a.yaml"], {"_CATALOG_BRIDGE_COMPLETE": "bash_complete"}, None),
    ],
)
def test_only_plain_validate_command_lines_skip_the_parser(
    argv: list[str], environ: dict[str, str], paths: list[str] | None
) -> None:
    assert hook_paths(argv, environ) == paths
