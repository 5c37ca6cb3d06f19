"""``catalog-bridge sync`` on a real pseudo-terminal: the progress bar, ``--quiet``, ``--verbose``.

Every run is the real CLI process against the sample estate on loopback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.emulator import (
    EmulatorOptions,
    FaultOptions,
    RunningEmulator,
    load_estate,
    run_in_thread,
    sample_estate_path,
)
from tests.support.secrets import assert_no_secrets, secret_forms
from tests.support.terminal import TerminalRun, run_in_terminal

# The sample estate's full-access token (it reads all 28 repositories).
TOKEN = "demo-pat-all-access-0001"
BAR_LABEL = "repositories listed so far"
SUMMARY = "Synced 28 repositories from 2 organizations"
CURSOR_UP_ERASE_LINE = "\x1b[1A\x1b[2K"


def _serve(options: EmulatorOptions | None = None) -> Iterator[RunningEmulator]:
    loaded = load_estate(sample_estate_path())
    with run_in_thread(loaded.estate, options=options or loaded.options) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    yield from _serve()


def _sync(
    emulator: RunningEmulator,
    folder: Path,
    *options: str,
    stderr_tty: bool = True,
    token: str = TOKEN,
) -> TerminalRun:
    """``sync`` of the sample estate into a file, standard output always a terminal."""
    config = folder / "catalog-bridge.yaml"
    config.write_text(
        "profiles:\n  - name: sample\n    organizations: ['*']\n"
        f"    api_url: {emulator.base_url}/\n    token_env: SAMPLE_PAT\n    backstage: {{}}\n",
        encoding="utf-8",
    )
    environ = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    environ.update(SAMPLE_PAT=token, TERM="xterm-256color", COLUMNS="120")
    run = run_in_terminal(
        ["sync", "--config", str(config), "--output", str(folder / "out.ndjson"), *options],
        environ=environ,
        cwd=folder,
        stderr_tty=stderr_tty,
    )
    assert_no_secrets([run.terminal, run.stdout, run.stderr], secret_forms(token))
    if run.code == 0:
        assert len((folder / "out.ndjson").read_text(encoding="utf-8").splitlines()) == 28
    return run


def test_a_progress_bar_is_drawn_on_a_terminal_and_erased_before_the_summary(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    run = _sync(emulator, tmp_path)

    assert run.code == 0
    screen = run.terminal
    assert "━" in screen and "28/28" in screen  # the bar, complete
    bar_ends = screen.rindex(BAR_LABEL)
    summary = screen.index(SUMMARY)
    # Then the bar's line is erased (cursor up, erase line) and the summary takes its place.
    assert bar_ends < screen.index(CURSOR_UP_ERASE_LINE, bar_ends) < summary


def test_quiet_draws_no_bar_and_prints_no_summary_after_a_successful_run(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    run = _sync(emulator, tmp_path, "--quiet")

    assert run.code == 0
    assert run.terminal == ""


def test_quiet_still_prints_the_summary_of_a_run_that_failed(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    revoked = "demo-pat-revoked-0003"  # the sample estate's revoked token
    run = _sync(emulator, tmp_path, "--quiet", token=revoked)

    assert run.code == 4
    assert "Synced 0 repositories" in run.terminal and "Failed (1):" in run.terminal
    assert BAR_LABEL not in run.terminal


def test_no_bar_when_standard_error_is_not_a_terminal(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    run = _sync(emulator, tmp_path, stderr_tty=False)

    assert run.code == 0
    assert BAR_LABEL not in run.stderr and "\x1b[" not in run.stderr
    assert run.stderr.startswith(SUMMARY)


_REQUEST = re.compile(r"(GET|POST) http://127\.0\.0\.1:\d+/\S+ -> HTTP (\d{3}) in \d+ ms")
_RETRY = re.compile(r"retrying GET http://127\.0\.0\.1:\d+/\S+ in [\d.]+s \(attempt \d+ failed: ")


def test_verbose_logs_every_request_and_retry_without_the_token(tmp_path: Path) -> None:
    faults = FaultOptions(seed=7, server_error_rate=0.1, server_error_statuses=(503,))
    for emulator in _serve(EmulatorOptions(faults=faults)):
        run = _sync(emulator, tmp_path, "--verbose")

    assert run.code == 0
    lines = run.terminal.splitlines()
    requests = [match for line in lines if (match := _REQUEST.fullmatch(line))]
    retries = [line for line in lines if _RETRY.match(line)]
    totals = re.search(r"\((\d+) requests, (\d+) retr", run.terminal)
    assert totals is not None, run.terminal
    assert len(requests) == int(totals[1])
    assert len(retries) == int(totals[2]) > 0
    assert sum(match[2] == "503" for match in requests) == len(retries)
    assert BAR_LABEL not in run.terminal  # the request log replaces the bar


def test_quiet_and_verbose_together_are_a_usage_error(tmp_path: Path) -> None:
    run = run_in_terminal(["sync", "--quiet", "--verbose"], environ=os.environ, cwd=tmp_path)
    assert run.code == 2
    assert "--quiet and --verbose cannot be combined" in run.terminal
