"""``sync --state`` / ``state:`` and ``catalog-bridge state runs|show|prune``, in a real
process against the emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bridge.errors import EXIT_LOCKED, EXIT_OK, EXIT_USAGE
from bridge.state.store import StateStore
from tests.state.support import TOKEN_ENV, Bed, serving_bed, write_config


def _cli(bed: Bed, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", *arguments],
        env={**os.environ, TOKEN_ENV: bed.token},
        capture_output=True,
        text=True,
        check=False,
    )


def test_state_in_the_configuration_runs_and_history(tmp_path: Path) -> None:
    with serving_bed(tmp_path) as bed:
        # `state:` in the configuration, a path relative to the configuration file.
        write_config(tmp_path, bed.emulator.base_url, extra="state:\n  path: nightly.db\n")
        config = str(bed.config_file)
        for _ in range(2):
            run = _cli(bed, "sync", "--config", config, "--output", str(tmp_path / "out.ndjson"))
            assert run.returncode == EXIT_OK, run.stderr
        assert "incremental: " in run.stderr
        assert (tmp_path / "nightly.db").is_file()

        runs = _cli(bed, "state", "runs", "--config", config)
        lines = runs.stdout.splitlines()
        assert runs.returncode == EXIT_OK and len(lines) == 2
        assert lines[0].startswith("#2 ") and " incremental, " in lines[0]
        assert lines[1].startswith("#1 ") and " full, " in lines[1]
        assert "28 repositories" in lines[0]

        show = _cli(
            bed, "state", "show", "contoso/Payments Platform/payments-api", "--config", config
        )
        assert show.returncode == EXIT_OK, show.stderr
        first, *history = show.stdout.splitlines()
        assert first.startswith("nightly/contoso/")
        assert len(history) == 1 and history[0].startswith("run #1 ")  # unchanged in run 2
        assert '"name": "payments-api"' in history[0]

        unknown = _cli(bed, "state", "show", "no-such-repository", "--config", config)
        assert unknown.returncode == EXIT_USAGE
        assert "no repository 'no-such-repository' in" in unknown.stderr

        pruned = _cli(
            bed, "state", "prune", "--keep-days", "0", "--state", str(tmp_path / "nightly.db")
        )
        assert pruned.returncode == EXIT_OK
        assert pruned.stdout == "Removed 1 run older than 0 days.\n"


def test_a_second_sync_on_the_same_state_exits_75_naming_the_file(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    with serving_bed(tmp_path) as bed, StateStore.open(state):
        run = _cli(bed, "sync", "--config", str(bed.config_file), "--state", str(state))
    assert run.returncode == EXIT_LOCKED
    assert f"cannot use the state file {state}: another catalog-bridge run" in run.stderr
    assert "Traceback" not in run.stderr


def test_state_commands_need_a_state_file(tmp_path: Path) -> None:
    with serving_bed(tmp_path) as bed:
        missing = _cli(bed, "state", "runs", "--state", str(tmp_path / "none.db"))
        assert missing.returncode != EXIT_OK
        assert "none.db: no such state file" in missing.stderr
        unset = _cli(bed, "state", "runs", "--config", str(bed.config_file))
        assert unset.returncode == EXIT_USAGE
        assert "give --state PATH, or set state.path in the configuration" in unset.stderr
