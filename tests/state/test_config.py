"""The ``state:`` block of the configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import DEFAULT_FULL_REFRESH_DAYS, InvalidConfigError, load_config
from tests.state.support import TOKEN_ENV, write_config


def test_state_is_off_by_default_and_a_relative_path_is_the_config_folders(
    tmp_path: Path,
) -> None:
    plain = load_config(write_config(tmp_path, "http://127.0.0.1:9"), environ={TOKEN_ENV: "t"})
    assert plain.state.path is None
    assert plain.state.full_refresh_days == DEFAULT_FULL_REFRESH_DAYS
    extra = "state:\n  path: state/nightly.db\n  full_refresh_days: 3\n"
    config = load_config(
        write_config(tmp_path, "http://127.0.0.1:9", extra=extra), environ={TOKEN_ENV: "t"}
    )
    assert config.state.path == tmp_path / "state" / "nightly.db"
    assert config.state.full_refresh_days == 3


def test_state_problems_are_named_with_their_key_and_line(tmp_path: Path) -> None:
    extra = "state:\n  path: nightly.db\n  full_refresh_days: 0\n  ful_refresh: 2\n"
    with pytest.raises(InvalidConfigError) as raised:
        load_config(
            write_config(tmp_path, "http://127.0.0.1:9", extra=extra), environ={TOKEN_ENV: "t"}
        )
    text = str(raised.value)
    assert "state.full_refresh_days" in text and "must be between 1 and 3650" in text
    assert "state.ful_refresh" in text
