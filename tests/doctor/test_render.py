"""The table and JSON renderings of a report, and the exit code of each failure class."""

from __future__ import annotations

import json
import re

import pytest

from bridge.doctor import Check, DoctorReport, Status, render_json, render_table
from bridge.emulator import RunningEmulator
from bridge.errors import EXIT_AUTH, EXIT_OK, EXIT_PROBLEMS, EXIT_UNAVAILABLE
from tests.doctor.conftest import (
    ALL_PATS,
    CONTOSO,
    FABRIKAM,
    NO_ENTITLEMENTS_PAT,
    REVOKED_PAT,
    make_profile,
    run_doctor,
)
from tests.support.secrets import assert_no_secrets, secret_forms

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def mixed(cloud: RunningEmulator) -> DoctorReport:
    """Every status: a listing, passes, a missing scope, a refused token and its skips."""
    return run_doctor(
        make_profile(cloud.base_url, name="everything", organizations=["*"]),
        make_profile(cloud.base_url, name="partial", token=NO_ENTITLEMENTS_PAT),
        make_profile(cloud.base_url, name="stale", token=REVOKED_PAT),
    )


def _table_rows(table: str) -> tuple[str, list[str]]:
    """The header and the row lines of a rendered table (up to the first blank line)."""
    header, *rest = table.splitlines()
    return header, rest[: rest.index("")]


def test_the_table_aligns_its_columns(mixed: DoctorReport) -> None:
    header, rows = _table_rows(render_table(mixed))

    assert header.split() == ["PROFILE", "ORGANIZATION", "CHECK", "STATUS", "DETAIL"]
    check_at, status_at, detail_at = (header.index(h) for h in ("CHECK", "STATUS", "DETAIL"))
    assert len(rows) == len(mixed.checks)
    for row, check in zip(rows, mixed.checks, strict=True):
        assert row[check_at:status_at].rstrip() == check.name
        assert row[status_at:detail_at].rstrip() == check.status
        assert row[detail_at:] == check.detail
    # A profile and an organization are named on their first row only.
    assert [row[:check_at].split() for row in rows[:3]] == [
        ["everything", "*"],
        [CONTOSO],
        [],
    ]


def test_the_table_lists_a_hint_for_each_failure(mixed: DoctorReport) -> None:
    table = render_table(mixed)

    _, hints = table.split("How to fix:\n")
    hint_lines = [line for line in hints.splitlines() if line.startswith("  ")]
    assert len(mixed.failures) == 2  # the missing scope and the refused token
    assert hint_lines == [
        f"  {c.profile} / {c.organization} / {c.name}: {c.hint}" for c in mixed.failures
    ]
    assert table.rstrip().endswith("some needed checks failed")


def test_a_passing_report_has_no_hint_section(cloud: RunningEmulator) -> None:
    table = render_table(run_doctor(make_profile(cloud.base_url)))

    assert "How to fix" not in table
    assert table.rstrip().endswith(
        "7 checks: 7 ok, 0 failed, 0 warned, 0 skipped; all needed checks passed"
    )


def test_colours_only_when_asked(mixed: DoctorReport) -> None:
    plain = render_table(mixed)
    coloured = render_table(mixed, color=True)

    assert "\x1b" not in plain
    assert "\x1b[31mfail" in coloured and "\x1b[32mok" in coloured
    assert ANSI.sub("", coloured) == plain  # colour changes nothing else, alignment included


def test_json_groups_checks_by_profile_and_organization(mixed: DoctorReport) -> None:
    document = json.loads(render_json(mixed))

    assert document["ok"] is False
    assert document["exit_code"] == EXIT_AUTH
    assert sum(document["summary"].values()) == len(mixed.checks)
    assert document["summary"]["fail"] == 2
    profiles = {profile["name"]: profile for profile in document["profiles"]}
    assert list(profiles) == ["everything", "partial", "stale"]

    everything = profiles["everything"]
    assert [c["name"] for c in everything["checks"]] == ["organizations"]
    assert [o["name"] for o in everything["organizations"]] == [CONTOSO, FABRIKAM]
    assert everything["ok"] is True

    [partial] = profiles["partial"]["organizations"]
    assert partial["ok"] is False and profiles["partial"]["ok"] is False
    assert [c["name"] for c in partial["checks"]] == [
        "api",
        "token",
        "access-level",
        "scope:code-read",
        "scope:project-read",
        "scope:member-entitlement-read",
        "scope:analytics-read",
    ]
    for check in partial["checks"]:
        assert set(check) == {"name", "status", "detail", "hint"}
        assert (check["hint"] is not None) == (check["status"] == "fail")


def test_no_token_appears_in_any_rendering(mixed: DoctorReport) -> None:
    texts = [render_table(mixed), render_table(mixed, color=True), render_json(mixed)]
    texts += [repr(mixed)]
    assert_no_secrets(texts, secret_forms(*ALL_PATS))


def _report(*statuses_and_codes: tuple[Status, int]) -> DoctorReport:
    return DoctorReport(
        tuple(
            Check("p", "o", f"check-{index}", status, "detail", "hint", code)
            for index, (status, code) in enumerate(statuses_and_codes)
        )
    )


@pytest.mark.parametrize(
    ("checks", "expected"),
    [
        ([("ok", EXIT_OK), ("warn", EXIT_OK), ("skip", EXIT_OK)], EXIT_OK),
        ([("fail", EXIT_PROBLEMS)], EXIT_PROBLEMS),
        ([("fail", EXIT_PROBLEMS), ("fail", EXIT_UNAVAILABLE)], EXIT_UNAVAILABLE),
        ([("fail", EXIT_UNAVAILABLE), ("fail", EXIT_AUTH), ("fail", EXIT_PROBLEMS)], EXIT_AUTH),
    ],
    ids=["no-failure", "problems", "unavailable-over-problems", "auth-over-all"],
)
def test_the_most_important_failure_class_sets_the_exit_code(
    checks: list[tuple[Status, int]], expected: int
) -> None:
    report = _report(*checks)
    assert report.exit_code == expected
    assert report.ok is (expected == EXIT_OK)
