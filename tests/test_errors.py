"""The exception tree: exit codes and token redaction."""

from __future__ import annotations

import pytest

from bridge.errors import (
    EXIT_AUTH,
    EXIT_CONFIG,
    EXIT_PROBLEMS,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    AuthenticationError,
    BridgeError,
    BrokerBlockedError,
    ConfigError,
    RepositoryNotFoundError,
    ServiceError,
    UsageError,
    exit_code_for,
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
