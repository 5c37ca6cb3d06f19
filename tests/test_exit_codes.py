"""The exit codes are documented once: the README's table and every ``--help`` say the same."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_table() -> list[tuple[int, str]]:
    """The rows of the README's exit-code table, Markdown code marks and escapes removed."""
    section = README.read_text(encoding="utf-8").split("### Exit codes", 1)[1]
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", section.split("\n## ", 1)[0], re.MULTILINE)
    return [(int(code), meaning.replace("`", "").replace("\\|", "|")) for code, meaning in rows]


def help_exit_codes(*command: str) -> list[tuple[int, str]]:
    """The exit codes listed by ``catalog-bridge COMMAND --help``, as the user reads them."""
    environ = {**os.environ, "COLUMNS": "1000", "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "bridge", *command, "--help"],
        capture_output=True,
        text=True,
        env=environ,
        check=True,
    )
    listed = result.stdout.split("Exit codes:", 1)[1]
    return [
        (int(code), " ".join(meaning.split()))
        for code, meaning in re.findall(r"• (\d+): (.+)", listed)
    ]


def test_the_readme_says_invalid_catalog_files_do_not_fail_a_sync() -> None:
    meanings = dict(readme_table())
    assert "invalid catalog files do not fail a sync" in meanings[1]


@pytest.mark.parametrize("command", [(), ("sync",), ("doctor",)])
def test_help_lists_the_readme_table(command: tuple[str, ...]) -> None:
    assert help_exit_codes(*command) == readme_table()


def test_validate_help_lists_its_own_codes_with_the_readme_wording() -> None:
    table = dict(readme_table())
    assert help_exit_codes("validate") == [(code, table[code]) for code in (0, 1, 2)]
