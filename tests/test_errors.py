"""The exception tree: exit codes and token redaction."""

from __future__ import annotations

import itertools

import pytest

from bridge.errors import (
    EXIT_AUTH,
    EXIT_CONFIG,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_OUTPUT_CLOSED,
    EXIT_PRECEDENCE,
    EXIT_PROBLEMS,
    EXIT_TERMINATED,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    AuthenticationError,
    BridgeError,
    BrokerBlockedError,
    ConfigError,
    LockedError,
    OutputClosedError,
    RepositoryNotFoundError,
    ServiceError,
    Terminated,
    UsageError,
    combined_exit_code,
    exit_code_for,
    leading_error,
)
from bridge.secrets import Secret, redact


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UsageError("x"), EXIT_USAGE),
        (ConfigError("x", key="profiles[0]"), EXIT_CONFIG),
        (AuthenticationError("refused", reason="rejected"), EXIT_AUTH),
        (BrokerBlockedError("blocked"), EXIT_AUTH),
        (RepositoryNotFoundError("gone", code="TF401019", status=404), EXIT_PROBLEMS),
        (ServiceError("down", status=503), EXIT_UNAVAILABLE),
        (BridgeError("x"), EXIT_PROBLEMS),
        (ValueError("not ours"), EXIT_PROBLEMS),
    ],
)
def test_exit_codes(error: BaseException, code: int) -> None:
    assert exit_code_for(error) == code


def test_azure_error_names_place_code_and_status() -> None:
    error = RepositoryNotFoundError(
        "repository does not exist or is disabled",
        organization="contoso",
        project="Web",
        repository="api",
        code="TF401019",
        status=404,
    )
    assert str(error) == (
        "contoso/Web/api: repository does not exist or is disabled (TF401019, HTTP 404)"
    )


def test_config_error_names_key_path() -> None:
    error = ConfigError("must be a list", key="profiles[0].organizations", source="cb.yaml")
    assert str(error) == "cb.yaml: profiles[0].organizations: must be a list"


def test_secret_never_prints_and_is_redacted_everywhere() -> None:
    token = "canary-pat-7f3a9c1e5b"
    secret = Secret(token)
    assert token not in repr(secret)
    assert token not in str(secret)
    assert token not in f"{secret}"
    assert secret.reveal() == token
    assert (
        redact(f"GET https://broker/broker/{token}/_apis") == "GET https://broker/broker/***/_apis"
    )
    error = AuthenticationError(f"token {token} refused", reason="rejected", organization="o")
    assert token not in str(error)


# --- Several failures: one exit code, whatever their order ---------------------------------

REFUSED = AuthenticationError("sign-in page", reason="unknown-token", status=203)
UNREACHABLE = ServiceError("connection refused")
MISSPELT = RepositoryNotFoundError("gone", status=404)
BAD_CONFIG = ConfigError("ca_file: no such file")


@pytest.mark.parametrize(
    ("errors", "code"),
    [
        ((), EXIT_OK),
        ((MISSPELT,), EXIT_PROBLEMS),
        ((UNREACHABLE, MISSPELT), EXIT_UNAVAILABLE),
        ((UNREACHABLE, REFUSED), EXIT_AUTH),
        ((REFUSED, UNREACHABLE, MISSPELT), EXIT_AUTH),
        ((MISSPELT, REFUSED, BAD_CONFIG), EXIT_CONFIG),
        ((BAD_CONFIG, UsageError("x")), EXIT_USAGE),
    ],
)
def test_the_combined_exit_code_follows_the_precedence_in_any_order(
    errors: tuple[BaseException, ...], code: int
) -> None:
    for order in itertools.permutations(errors):
        assert combined_exit_code(order) == code


def test_the_precedence_lists_every_failure_code_once() -> None:
    assert EXIT_PRECEDENCE == (EXIT_USAGE, EXIT_CONFIG, EXIT_AUTH, EXIT_UNAVAILABLE, EXIT_PROBLEMS)


def test_leading_error_of_task_groups() -> None:
    nested = ExceptionGroup("jobs", [UNREACHABLE, ExceptionGroup("inner", [MISSPELT, REFUSED])])
    assert leading_error(nested) is REFUSED
    bug = KeyError("not ours")
    assert leading_error(ExceptionGroup("jobs", [REFUSED, bug])) is bug  # a bug must surface
    stop = KeyboardInterrupt()
    assert leading_error(BaseExceptionGroup("jobs", [bug, stop])) is stop


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (Terminated(), EXIT_TERMINATED),
        (KeyboardInterrupt(), EXIT_INTERRUPTED),
        (OutputClosedError("standard output was closed by its reader"), EXIT_OUTPUT_CLOSED),
        (LockedError("cannot write x: another run"), EXIT_LOCKED),
    ],
)
def test_stops_and_output_errors(error: BaseException, code: int) -> None:
    assert exit_code_for(error) == code
    assert (EXIT_INTERRUPTED, EXIT_OUTPUT_CLOSED, EXIT_TERMINATED) == (128 + 2, 128 + 13, 128 + 15)
