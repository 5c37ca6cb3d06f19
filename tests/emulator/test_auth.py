"""Authentication and authorization: 203 sign-in page, 401 for revoked tokens and missing scopes."""

from __future__ import annotations

import base64

import httpx
import pytest

from bridge.emulator import RunningEmulator
from tests.emulator.conftest import ADMIN, API, FABRIKAM_ONLY, NO_PROJECTS, READER, REVOKED, auth

PROJECTS = "/contoso/_apis/projects"


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
    base = emulator.base_url
    # code.read only: repositories yes, projects and entitlements no.
    assert (
        httpx.get(
            f"{base}/contoso/_apis/git/repositories", params=API, auth=auth(NO_PROJECTS)
        ).status_code
        == 200
    )
    for path, params in [
        (PROJECTS, API),
        ("/contoso/_apis/userentitlements", API),
        (
            "/contoso/Payments/_apis/projectanalysis/languagemetrics",
            {"api-version": "7.1-preview.1"},
        ),
    ]:
        answer = httpx.get(f"{base}{path}", params=params, auth=auth(NO_PROJECTS))
        assert answer.status_code == 401, path
        assert "x-tfs-serviceerror" in answer.headers
    # The reader has analytics but no member entitlement scope.
    metrics = httpx.get(
        f"{base}/contoso/Payments/_apis/projectanalysis/languagemetrics",
        params={"api-version": "7.1-preview.1"},
        auth=auth(READER),
    )
    assert metrics.status_code == 200
    assert (
        httpx.get(
            f"{base}/contoso/_apis/userentitlements", params=API, auth=auth(READER)
        ).status_code
        == 401
    )


def test_token_limited_to_some_organizations(emulator: RunningEmulator) -> None:
    base = emulator.base_url
    assert (
        httpx.get(
            f"{base}/fabrikam/_apis/projects", params=API, auth=auth(FABRIKAM_ONLY)
        ).status_code
        == 200
    )
    assert httpx.get(f"{base}{PROJECTS}", params=API, auth=auth(FABRIKAM_ONLY)).status_code == 401
    assert (
        httpx.get(f"{base}/fabrikam/_apis/projects", params=API, auth=auth(READER)).status_code
        == 401
    )


def test_bearer_tokens(emulator: RunningEmulator) -> None:
    base = emulator.base_url
    known = httpx.get(f"{base}{PROJECTS}", params=API, headers={"Authorization": f"Bearer {ADMIN}"})
    assert known.status_code == 200
    unknown = httpx.get(f"{base}{PROJECTS}", params=API, headers={"Authorization": "Bearer nope"})
    assert unknown.status_code == 401
    assert unknown.headers["x-tfs-serviceerror"].startswith("TF400813:")
