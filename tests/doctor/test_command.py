"""``catalog-bridge doctor`` as the CLI runs it: a configuration file in, a report and an exit
code out."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bridge.doctor import doctor_command
from bridge.emulator import RunningEmulator
from bridge.errors import EXIT_AUTH, UsageError
from tests.doctor.conftest import ALL_PATS, CONTOSO, FABRIKAM, FULL_PAT, REVOKED_PAT
from tests.integration.conftest import assert_no_secrets, secret_forms

CONFIG = """\
profiles:
  - name: main
    organizations: [{contoso}, {fabrikam}]
    api_url: {api}/
    token_env: DOCTOR_MAIN_PAT
  - name: stale
    organizations: [{contoso}]
    api_url: {api}/
    token_env: DOCTOR_STALE_PAT
"""
ENVIRON = {"DOCTOR_MAIN_PAT": FULL_PAT, "DOCTOR_STALE_PAT": REVOKED_PAT}


@pytest.fixture
def config_file(cloud: RunningEmulator, tmp_path: Path) -> str:
    path = tmp_path / "catalog-bridge.yaml"
    path.write_text(CONFIG.format(contoso=CONTOSO, fabrikam=FABRIKAM, api=cloud.base_url))
    return str(path)


def _doctor(config_file: str, output_format: str, **selection: list[str]) -> tuple[int, str]:
    stdout = io.StringIO()
    code = doctor_command(
        config_file=config_file,
        profiles=selection.get("profiles", []),
        organizations=selection.get("organizations", []),
        output_format=output_format,
        environ=ENVIRON,
        stdout=stdout,
        color=False,
    )
    assert_no_secrets([stdout.getvalue()], secret_forms(*ALL_PATS))
    return code, stdout.getvalue()


def test_the_table_of_every_profile_and_the_exit_code_of_its_worst_failure(
    config_file: str,
) -> None:
    code, table = _doctor(config_file, "table")
    assert code == EXIT_AUTH  # the stale profile's token is refused
    assert table.startswith("PROFILE ")
    assert "\x1b[" not in table
    assert "How to fix:\n  stale / contoso / token: " in table
    assert table.rstrip().endswith("some needed checks failed")


def test_json_for_the_selected_profile_and_organization(config_file: str) -> None:
    code, text = _doctor(config_file, "json", profiles=["main"], organizations=["FABRIKAM"])
    document = json.loads(text)
    assert code == 0 and document["ok"] is True and document["exit_code"] == 0
    [profile] = document["profiles"]
    assert profile["name"] == "main"
    assert [o["name"] for o in profile["organizations"]] == [FABRIKAM]


def test_an_organization_no_selected_profile_lists_is_a_usage_error(config_file: str) -> None:
    with pytest.raises(UsageError, match=r"--org 'fabrikam'.*configured: contoso\)"):
        _doctor(config_file, "table", profiles=["stale"], organizations=["fabrikam"])
