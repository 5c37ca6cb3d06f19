"""Helpers shared by the configuration tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from bridge.config import ConfigProblem, InvalidConfigError, load_config

# A made-up token in the classic Azure DevOps PAT format (52 characters, base32 alphabet).
LITERAL_PAT = "q7zjx2mkw4r5tplh3ncv6bsdy2fga7ueoi5kxw3jq4rtzm6nyphb"

WriteConfig = Callable[[str], Path]


def config_problems(path: Path, *, profiles: Sequence[str] | None = None) -> InvalidConfigError:
    """Load ``path`` expecting it to be invalid; the error, checked never to show the literal."""
    with pytest.raises(InvalidConfigError) as caught:
        load_config(path, profiles=profiles)
    error = caught.value
    # args[0] is the message before redaction: the literal must not be in it at all.
    assert LITERAL_PAT not in error.args[0]
    assert all(LITERAL_PAT not in problem.message for problem in error.problems)
    return error


def only_problem(path: Path, *, profiles: Sequence[str] | None = None) -> ConfigProblem:
    """The single problem of an invalid file."""
    error = config_problems(path, profiles=profiles)
    assert len(error.problems) == 1, error.problems
    return error.problems[0]
