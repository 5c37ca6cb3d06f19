"""``catalog-bridge emulator``: what it prints on start-up, and its --faults/--latency flags."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bridge.emulator import parse_estate
from bridge.emulator.options import EmulatorOptions, FaultOptions, with_fault_overrides
from bridge.errors import EmulatorError
from bridge.secrets import MASK, redact
from tests.emulator.conftest import API, auth

ESTATE = """
tokens:
  - {name: plain, value: plain-token-0123456789, organizations: [contoso], scopes: [code.read]}
  - {name: from-env, value_env: EMULATOR_TEST_TOKEN}
  - {name: old, value: old-token-0123456789, revoked: true}
organizations:
  - name: contoso
    projects: [{name: P, repositories: [{name: r, files: {README.md: "# r"}}]}]
options:
  faults: {latency_ms: 3, seed: 5}
"""
SECRET = "value-from-the-environment-0123456789"


def _start(folder: Path, *flags: str) -> subprocess.Popen[str]:
    estate = folder / "estate.yaml"
    estate.write_text(ESTATE)
    return subprocess.Popen(
        [sys.executable, "-m", "bridge", "emulator", "--estate", str(estate), *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "EMULATOR_TEST_TOKEN": SECRET, "PYTHONUNBUFFERED": "1"},
    )


def test_prints_the_base_url_then_the_tokens_and_applies_fault_flags(tmp_path: Path) -> None:
    child = _start(tmp_path, "--faults", "server_error_rate=1", "--latency", "0")
    try:
        assert child.stdout is not None
        lines = [child.stdout.readline().rstrip("\n") for _ in range(4)]
        base_url = lines[0]
        assert base_url.startswith("http://127.0.0.1:")
        assert lines[1:] == [
            "token plain: plain-token-0123456789 (user plain@emulator.example; "
            "organizations: contoso; scopes: code.read)",
            # A value read from the environment may be a real secret: named, never shown.
            "token from-env: $EMULATOR_TEST_TOKEN (user from-env@emulator.example; "
            "organizations: all; scopes: all)",
            "token old: old-token-0123456789 (user old@emulator.example; organizations: all; "
            "scopes: all; revoked: answers 401)",
        ]
        # --faults server_error_rate=1: every API answer is an injected 5xx.
        answer = httpx.get(
            f"{base_url}/contoso/_apis/git/repositories", params=API, auth=auth(SECRET)
        )
        assert answer.status_code in (500, 503)
    finally:
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=20) == 0
    assert child.stdout is not None and SECRET not in child.stdout.read()
    # Printing the emulator's fake tokens registers nothing away: they are still redacted
    # from any message that leaves the process.
    parse_estate(ESTATE, environ={"EMULATOR_TEST_TOKEN": SECRET})
    assert redact("plain-token-0123456789") == MASK


def test_bad_fault_flags_are_clear_errors(tmp_path: Path) -> None:
    child = _start(tmp_path, "--faults", "reset_rate=2")
    _, error = child.communicate(timeout=20)
    assert child.returncode == 3
    assert error == (
        "catalog-bridge: error: --faults: reset_rate: must be between 0 and 1.0, got 2\n"
    )


def test_fault_overrides_merge_with_the_estate_options() -> None:
    options = EmulatorOptions(faults=FaultOptions(seed=5, latency_ms=3, routes=("git.items",)))
    changed = with_fault_overrides(options, "reset_rate=0.25, seed=9", latency_ms=40)
    assert changed.faults == FaultOptions(
        seed=9, latency_ms=40, reset_rate=0.25, routes=("git.items",)
    )
    assert with_fault_overrides(options, latency_ms=0).faults.latency_ms == 0
    for text, message in (
        ("seed", "--faults: expected key=number, got 'seed'"),
        ("seed=x", "--faults: seed: expected an integer, got the string 'x'"),
        ("nope=1", "--faults: nope: unknown key"),
    ):
        with pytest.raises(EmulatorError, match="^" + message.replace("(", r"\(")):
            with_fault_overrides(options, text)
