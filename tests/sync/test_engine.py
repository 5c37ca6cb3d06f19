"""The sync engine as a library: what a run's result says, and the exit code it gives."""

from __future__ import annotations

import itertools

import pytest

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
from bridge.sync.entity import Unavailable

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
