"""``catalog-bridge doctor`` on a real (pseudo-)terminal: colours, and when it must not use them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.doctor.conftest import FULL_PAT
from tests.support.secrets import assert_no_secrets, secret_forms
from tests.support.terminal import run_in_terminal

GREEN = "\x1b[32m"


def _doctor(config: Path, **variables: str) -> str:
    environ = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "TERM")}
    environ.update({"TERM": "xterm-256color", "DOCTOR_MAIN_PAT": FULL_PAT, **variables})
    run = run_in_terminal(
        ["doctor", "--config", str(config), "--profile", "main"], environ=environ, cwd=config.parent
    )
    assert run.code == 0, run.terminal
    assert "all needed checks passed" in run.terminal
    assert_no_secrets([run.terminal], secret_forms(FULL_PAT))
    return run.terminal


def test_statuses_are_coloured_on_a_terminal(two_profiles: Path) -> None:
    assert f"{GREEN}ok" in _doctor(two_profiles)


@pytest.mark.parametrize(
    "variables",
    [{"NO_COLOR": "1"}, {"NO_COLOR": "false"}, {"TERM": "dumb"}],
    ids=["NO_COLOR=1", "NO_COLOR=false", "TERM=dumb"],
)
def test_no_colour_when_the_user_or_the_terminal_says_so(
    two_profiles: Path, variables: dict[str, str]
) -> None:
    assert "\x1b[" not in _doctor(two_profiles, **variables)
