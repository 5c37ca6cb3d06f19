"""The sync engine as a library: what a run's result says, and the exit code it gives."""

from __future__ import annotations

import itertools

import pytest

from bridge.azure.models import LanguageShare
from bridge.errors import (
    EXIT_AUTH,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_UNAVAILABLE,
    AuthenticationError,
    BridgeError,
    ProjectNotFoundError,
    ServiceError,
)
from bridge.sync.engine import Degraded, Failure, SyncResult
from bridge.sync.entity import Unavailable, languages
from bridge.sync.summary import render_summary

SIGN_IN_PAGE = AuthenticationError(
    "Azure DevOps answered with its sign-in page", reason="unknown-token", status=203
)
REFUSED_CONNECTION = ServiceError("cannot connect to 127.0.0.1:9: connection refused")
VANISHED = ProjectNotFoundError("the project does not exist", code="TF200016", status=404)


def _failed(*errors: BridgeError) -> list[Failure]:
    return [Failure("p", f"org-{i}", None, error) for i, error in enumerate(errors)]


@pytest.mark.parametrize(
    ("errors", "code"),
    [
        ((SIGN_IN_PAGE, REFUSED_CONNECTION), EXIT_AUTH),
        ((REFUSED_CONNECTION, VANISHED), EXIT_UNAVAILABLE),
        ((VANISHED,), EXIT_PROBLEMS),
    ],
)
def test_when_every_organization_fails_the_code_does_not_depend_on_their_order(
    errors: tuple[BridgeError, ...], code: int
) -> None:
    for order in itertools.permutations(errors):
        result = SyncResult(failures=_failed(*order))
        assert result.synced_nothing
        assert result.exit_code == code


def test_synced_nothing_counts_repositories_not_organizations() -> None:
    # Projects were listed (the organization counts), yet no repository list was readable.
    result = SyncResult(organizations=2, failures=_failed(SIGN_IN_PAGE, SIGN_IN_PAGE))
    assert result.synced_nothing
    assert result.exit_code == EXIT_AUTH
    result.repositories = 1
    assert not result.synced_nothing
    assert result.exit_code == EXIT_PROBLEMS


def test_a_field_that_could_not_be_read_makes_the_run_exit_1() -> None:
    result = SyncResult(repositories=3)
    assert result.exit_code == EXIT_OK
    missing = (Unavailable("languages", "Service Unavailable (HTTP 503)"),)
    result.degraded.append(Degraded("p: contoso/Payments/api", missing))
    assert result.exit_code == EXIT_PROBLEMS


def test_languages_are_ordered_largest_first_whatever_the_service_order() -> None:
    shares = [
        LanguageShare("YAML", bytes=300, files=None, percentage=None),
        LanguageShare("Python", bytes=12000, files=None, percentage=None),
        LanguageShare("Shell", bytes=300, files=None, percentage=None),
    ]
    for order in itertools.permutations(shares):
        assert list(languages(order).items()) == [("Python", 12000), ("Shell", 300), ("YAML", 300)]


def test_the_summary_counts_and_names_degraded_repositories_in_a_stable_order() -> None:
    result = SyncResult(repositories=25)
    down = Unavailable("languages", "Service Unavailable (HTTP 503)")
    for index in reversed(range(25)):
        result.degraded.append(Degraded(f"p: contoso/Web/repo-{index:02}", (down,)))
    summary = render_summary(result)
    assert (
        "Fields that could not be read, in 25 repositories (null in their entities, named under "
        "`unavailable`):\n  25 languages: Service Unavailable (HTTP 503)\n"
        "  - p: contoso/Web/repo-00: languages\n"
    ) in summary
    assert "  - p: contoso/Web/repo-19: languages\n  - … and 5 more\n" in summary
    assert "repo-20" not in summary
