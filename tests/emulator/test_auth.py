"""Authentication and authorization: 203 sign-in page, 401 for revoked tokens and missing scopes."""

from __future__ import annotations

import base64
from collections.abc import Mapping

import httpx
import pytest

from bridge.emulator import RunningEmulator
from tests.emulator.conftest import ADMIN, API, FABRIKAM_ONLY, NO_PROJECTS, READER, REVOKED, auth

PROJECTS = "/contoso/_apis/projects"
METRICS = "/contoso/Payments/_apis/projectanalysis/languagemetrics"
PREVIEW = {"api-version": "7.1-preview.1"}


def _status(
    emulator: RunningEmulator, path: str, token: str, params: Mapping[str, str] = API
) -> int:
    """The HTTP status of a GET of ``path`` with ``token`` as the PAT."""
    return httpx.get(f"{emulator.base_url}{path}", params=params, auth=auth(token)).status_code


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic " + base64.b64encode(b":not-a-known-token").decode()},
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
        {"Authorization": "Token abc"},
    ],
    ids=["missing", "unknown", "malformed", "no-colon", "other-scheme"],
)
def test_unusable_credentials_get_the_sign_in_page(
    emulator: RunningEmulator, headers: dict[str, str]
) -> None:
    for method in ("GET", "POST"):
        answer = httpx.request(
            method, f"{emulator.base_url}{PROJECTS}", params=API, headers=headers
        )
        assert answer.status_code == 203
        assert answer.headers["content-type"] == "text/html; charset=utf-8"
        assert "<title>Azure DevOps Services | Sign In</title>" in answer.text


def test_any_user_name_is_accepted(emulator: RunningEmulator) -> None:
    for user in ("", "PAT", "someone@example.com"):
        answer = httpx.get(
            f"{emulator.base_url}{PROJECTS}", params=API, auth=httpx.BasicAuth(user, ADMIN)
        )
        assert answer.status_code == 200


def test_revoked_token_gets_401_with_headers(emulator: RunningEmulator) -> None:
    answer = httpx.get(f"{emulator.base_url}{PROJECTS}", params=API, auth=auth(REVOKED))
    assert answer.status_code == 401
    assert answer.content == b""
    assert answer.headers["www-authenticate"].startswith("Basic realm=")
    assert answer.headers["x-tfs-serviceerror"].startswith(
        "VS30063: You are not authorized to access"
    )
    assert REVOKED not in str(answer.headers)


def test_missing_scope_is_refused_like_a_revoked_token(emulator: RunningEmulator) -> None:
    # code.read only: repositories yes, projects and entitlements no.
    assert _status(emulator, "/contoso/_apis/git/repositories", NO_PROJECTS) == 200
    for path, params in [
        (PROJECTS, API),
        ("/contoso/_apis/userentitlements", API),
        (METRICS, PREVIEW),
    ]:
        answer = httpx.get(f"{emulator.base_url}{path}", params=params, auth=auth(NO_PROJECTS))
        assert answer.status_code == 401, path
        assert "x-tfs-serviceerror" in answer.headers
    # The reader has analytics but no member entitlement scope.
    assert _status(emulator, METRICS, READER, PREVIEW) == 200
    assert _status(emulator, "/contoso/_apis/userentitlements", READER) == 401


def test_token_limited_to_some_organizations(emulator: RunningEmulator) -> None:
    assert _status(emulator, "/fabrikam/_apis/projects", FABRIKAM_ONLY) == 200
    assert _status(emulator, PROJECTS, FABRIKAM_ONLY) == 401
    assert _status(emulator, "/fabrikam/_apis/projects", READER) == 401


def test_bearer_tokens(emulator: RunningEmulator) -> None:
    base = emulator.base_url
    known = httpx.get(f"{base}{PROJECTS}", params=API, headers={"Authorization": f"Bearer {ADMIN}"})
    assert known.status_code == 200
    unknown = httpx.get(f"{base}{PROJECTS}", params=API, headers={"Authorization": "Bearer nope"})
    assert unknown.status_code == 401
    assert unknown.headers["x-tfs-serviceerror"].startswith("TF400813:")
