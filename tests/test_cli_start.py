"""What the command line loads and offers before any command runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_validate_does_not_import_the_progress_bar_library() -> None:
    # rich draws the progress bar of long commands; validate must not pay for it, also when
    # an option sends it through the full parser (the hook's bare paths skip the parser:
    # tests/catalog/test_hook_startup.py).
    template = "templates/service/catalog-info.yaml"
    result = _run("-X", "importtime", "-m", "bridge", "validate", "--strict", template)
    assert result.returncode == 0, result.stderr
    modules = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()]
    assert "bridge.cli" in modules
    assert not [name for name in modules if name.split(".")[0] == "rich"]


def test_shell_completion_is_offered_and_completes_options() -> None:
    # Completion is keyed to the installed command's name, not to `python -m bridge`.
    program = Path(sys.executable).parent / "catalog-bridge"
    if not program.exists():
        pytest.skip("catalog-bridge is not installed beside this Python")
    script = subprocess.run(
        [program, "--show-completion", "bash"], capture_output=True, text=True, check=False
    )
    assert script.returncode == 0, script.stderr
    assert "_CATALOG_BRIDGE_COMPLETE=complete_bash" in script.stdout
    # What that script asks the program when the user presses Tab after `sync --qu`.
    environ = {
        **os.environ,
        "_CATALOG_BRIDGE_COMPLETE": "complete_bash",
        "COMP_WORDS": "catalog-bridge sync --qu",
        "COMP_CWORD": "2",
    }
    completed = subprocess.run([program], capture_output=True, text=True, env=environ, check=False)
    assert completed.stdout.split() == ["--quiet"]
