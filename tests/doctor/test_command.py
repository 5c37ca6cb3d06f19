"""``catalog-bridge doctor`` as the CLI runs it: a configuration file in, a report and an exit
code out."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from pathlib import Path

import pytest

from bridge.doctor import doctor_command
from bridge.errors import EXIT_AUTH, UsageError
from tests.doctor.conftest import (
    ALL_PATS,
    FABRIKAM,
    FULL_PAT,
    REVOKED_PAT,
    TWO_PROFILES_ENVIRON,
)
from tests.support.secrets import assert_no_secrets, secret_forms


def _doctor(
    config_file: Path,
    output_format: str,
    environ: Mapping[str, str] = TWO_PROFILES_ENVIRON,
    *,
    verbose: bool = False,
    **selection: list[str],
) -> tuple[int, str, str]:
    """Exit code, standard output and standard error of a doctor run."""
    stdout, stderr = io.StringIO(), io.StringIO()
    code = doctor_command(
        config_file=str(config_file),
        profiles=selection.get("profiles", []),
        organizations=selection.get("organizations", []),
        output_format=output_format,
        environ=environ,
        stdout=stdout,
        stderr=stderr,
        verbose=verbose,
    )
    assert_no_secrets([stdout.getvalue(), stderr.getvalue()], secret_forms(*ALL_PATS))
    return code, stdout.getvalue(), stderr.getvalue()


def test_the_table_of_every_profile_and_the_exit_code_of_its_worst_failure(
    two_profiles: Path,
) -> None:
    code, table, _ = _doctor(two_profiles, "table")
    assert code == EXIT_AUTH  # the stale profile's token is refused
    assert table.startswith("PROFILE ")
    assert "\x1b[" not in table
    assert "How to fix:\n  stale / contoso / token: " in table
    assert table.rstrip().endswith("some needed checks failed")


def test_json_for_the_selected_profile_and_organization(two_profiles: Path) -> None:
    code, text, _ = _doctor(two_profiles, "json", profiles=["main"], organizations=["FABRIKAM"])
    document = json.loads(text)
    assert code == 0 and document["ok"] is True and document["exit_code"] == 0
    [profile] = document["profiles"]
    assert profile["name"] == "main"
    assert [o["name"] for o in profile["organizations"]] == [FABRIKAM]


def test_an_organization_no_selected_profile_lists_is_a_usage_error(two_profiles: Path) -> None:
    with pytest.raises(UsageError, match=r"--org 'fabrikam'.*configured: contoso\)"):
        _doctor(two_profiles, "table", profiles=["stale"], organizations=["fabrikam"])


def test_the_configuration_notes_are_printed_as_sync_prints_them(two_profiles: Path) -> None:
    # In Azure Pipelines, an unset token variable falls back to the job token, with a note.
    environ = {"TF_BUILD": "True", "SYSTEM_ACCESSTOKEN": FULL_PAT, "DOCTOR_STALE_PAT": REVOKED_PAT}
    code, text, notes = _doctor(two_profiles, "json", environ, profiles=["main"])
    assert code == 0 and json.loads(text)["ok"] is True  # stdout stays pure JSON
    assert notes.startswith("note: profile 'main': DOCTOR_MAIN_PAT is not set; using ")
    assert "SYSTEM_ACCESSTOKEN" in notes and notes.endswith("\n")


def test_verbose_logs_each_request_on_standard_error(two_profiles: Path) -> None:
    code, _, log = _doctor(two_profiles, "table", verbose=True, profiles=["stale"])
    assert code == EXIT_AUTH
    # The stale token is refused at connectionData: one request, HTTP 401, nothing after it
    # (the other lines are the connections opened).
    [line] = [line for line in log.splitlines() if not line.startswith("connecting to ")]
    assert re.fullmatch(
        r"GET http://127\.0\.0\.1:\d+/contoso/_apis/connectionData -> HTTP 401 in \d+ ms", line
    )
    # Without --verbose, nothing is logged.
    assert _doctor(two_profiles, "table", profiles=["stale"])[2] == ""
