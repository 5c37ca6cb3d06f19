"""Azure DevOps failures become the right typed errors, with place, code and status."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.azure.failures import Failure, Where, decode_json
from bridge.errors import (
    AuthenticationError,
    AzureDevOpsError,
    BranchNotFoundError,
    ConflictError,
    EmptyRepositoryError,
    ProjectNotFoundError,
    ProtocolError,
    RepositoryNotFoundError,
    ServiceError,
)
from tests.azure.fakes import Always, azure_error, client, envelope, in_turn, project, sign_in_page

pytestmark = pytest.mark.anyio


async def test_203_sign_in_page_means_an_unknown_token_and_is_not_retried() -> None:
    handler = Always(sign_in_page())
    async with client(handler) as azure:
        with pytest.raises(AuthenticationError) as caught:
            [p async for p in azure.projects()]
    assert caught.value.reason == "unknown-token"
    assert caught.value.status == 203
    assert caught.value.organization == "fabrikam"
    assert handler.calls == 1


async def test_html_on_a_200_is_an_unknown_token_never_an_empty_result() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html><body>Sign in</body></html>")

    async with client(handler) as azure:
        with pytest.raises(AuthenticationError) as caught:
            [r async for r in azure.repositories("p")]
    assert caught.value.reason == "unknown-token"


async def test_401_means_a_rejected_token_and_says_why_and_which_scope() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401,
            headers={
                "WWW-Authenticate": 'Basic realm="https://tfsprodcus14.visualstudio.com/"',
                "X-TFS-ServiceError": "VS30063%3A%20You%20are%20not%20authorized%20to%20access%20"
                "https%3A%2F%2Fdev.azure.com.",
            },
        )

    async with client(handler) as azure:
        with pytest.raises(AuthenticationError) as caught:
            [p async for p in azure.projects()]
    error = caught.value
    assert error.reason == "rejected"
    assert error.code == "VS30063"
    assert error.status == 401
    assert "expired or revoked" in str(error)
    assert "You are not authorized to access https://dev.azure.com." in str(error)
    assert "Project and Team (Read)" in str(error)


async def test_403_without_a_code_is_a_rejected_token_but_with_one_is_a_refusal() -> None:
    handler = in_turn(
        httpx.Response(403),
        azure_error(
            403,
            "TF402455: Pushes to this branch are not permitted; you must use a pull request.",
            "GitRefUpdateRejectedByPolicyException",
        ),
    )
    async with client(handler) as azure:
        with pytest.raises(AuthenticationError) as first:
            await azure.latest_commit("p", "r")
        with pytest.raises(AzureDevOpsError) as second:
            await azure.latest_commit("p", "r")
    assert first.value.reason == "rejected"
    assert not isinstance(second.value, AuthenticationError)
    assert second.value.code == "TF402455"


@pytest.mark.parametrize(
    ("status", "message", "type_key", "expected"),
    [
        (
            404,
            "VS403403: Cannot find any branches for the web repository.",
            "GitItemNotFoundException",
            EmptyRepositoryError,
        ),
        (
            404,
            "TF401019: The Git repository with name or identifier web does not exist or you do "
            "not have permissions for the operation you are attempting.",
            "GitRepositoryNotFoundException",
            RepositoryNotFoundError,
        ),
        (
            404,
            "TF200016: The following project does not exist: Shop. Verify that the name of the "
            "project is correct and that the project exists on the specified Azure DevOps Server.",
            "ProjectDoesNotExistWithNameException",
            ProjectNotFoundError,
        ),
        (
            404,
            "VS800075: The project with id 'vstfs:///Classification/TeamProject/0f1c' does not "
            "exist, or you do not have permission to access it.",
            "ProjectDoesNotExistException",
            ProjectNotFoundError,
        ),
        (
            404,
            "TF401175:The version descriptor <Branch: dev > could not be resolved to a version "
            "in the repository web",
            "GitUnresolvableToCommitException",
            BranchNotFoundError,
        ),
    ],
)
async def test_azure_codes_map_to_their_errors_with_the_place(
    status: int, message: str, type_key: str, expected: type[AzureDevOpsError]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return azure_error(status, message, type_key)

    async with client(handler) as azure:
        with pytest.raises(expected) as caught:
            await azure.file_content("Shop", "web", "/catalog-info.yaml")
    error = caught.value
    code = message.split(":", maxsplit=1)[0]
    assert type(error) is expected
    assert (error.organization, error.project, error.repository) == ("fabrikam", "Shop", "web")
    assert (error.code, error.status) == (code, status)
    # The code is shown once, in the details, not repeated from Azure's message.
    assert str(error).count(code) == 1
    assert str(error).startswith("fabrikam/Shop/web: ")


async def test_duplicate_pull_request_is_a_conflict_and_is_not_retried() -> None:
    handler = Always(
        azure_error(
            409,
            "TF401179: An active pull request for the source and target branch already exists.",
            "GitPullRequestExistsException",
        )
    )
    async with client(handler) as azure:
        with pytest.raises(ConflictError) as caught:
            await azure.create_pull_request(
                "p", "r", source_ref="add-catalog-info", target_ref="main", title="t"
            )
    assert caught.value.code == "TF401179"
    assert handler.calls == 1


async def test_a_409_without_a_code_is_still_a_conflict() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(409)

    async with client(handler) as azure:
        with pytest.raises(ConflictError):
            await azure.push_file(
                "p", "r", branch="b", base_commit_id="0" * 40, path="/x", content="", comment="c"
            )


async def test_an_error_body_with_a_bom_is_still_read() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return azure_error(
            400,
            "VS403403: Cannot find any branches for the reposynctest repository.",
            "ArgumentException",
            bom=True,
        )

    async with client(handler) as azure:
        with pytest.raises(EmptyRepositoryError):
            await azure.latest_commit("p", "reposynctest")


async def test_a_success_body_with_a_bom_is_still_read() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=b"\xef\xbb\xbf" + json.dumps(envelope([project(1)])).encode()
        )

    async with client(handler) as azure:
        assert [p.name async for p in azure.projects()] == ["Project 1"]


async def test_non_json_on_a_200_is_a_protocol_error_without_retries() -> None:
    handler = Always(httpx.Response(200, text="OK then", headers={"content-type": "text/plain"}))
    async with client(handler) as azure:
        with pytest.raises(ProtocolError, match="not JSON"):
            [p async for p in azure.projects()]
    assert handler.calls == 1


async def test_truncated_json_is_retried_and_the_complete_answer_used() -> None:
    full = json.dumps(envelope([project(1), project(2)])).encode()
    handler = in_turn(
        httpx.Response(200, content=full[: len(full) // 2]), httpx.Response(200, content=full)
    )
    async with client(handler) as azure:
        assert [p.name async for p in azure.projects()] == ["Project 1", "Project 2"]
        assert (azure.stats.requests, azure.stats.retries) == (2, 1)


async def test_always_truncated_json_gives_up_with_a_protocol_error() -> None:
    full = json.dumps(envelope([project(1)])).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=full[:-3])

    async with client(handler) as azure:
        with pytest.raises(ProtocolError, match="gave up after 5 attempts"):
            [p async for p in azure.projects()]
        assert azure.stats.requests == 5


async def test_a_non_json_error_body_is_mapped_by_status() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text="<h1>Internal Server Error</h1>")

    async with client(handler) as azure:
        with pytest.raises(ServiceError) as caught:
            [p async for p in azure.projects()]
    assert caught.value.status == 500


async def test_a_redirect_is_not_followed_and_means_an_unknown_token() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        return httpx.Response(302, headers={"Location": "https://login.microsoftonline.com/x"})

    async with client(handler) as azure:
        with pytest.raises(AuthenticationError) as caught:
            [p async for p in azure.projects()]
    assert caught.value.reason == "unknown-token"
    assert seen == ["dev.azure.com"]


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(body=st.dictionaries(st.text(), _JSON, min_size=1, max_size=4), cut=st.floats(0.0, 1.0))
def test_every_cut_off_json_object_is_detected_as_retryable(
    body: dict[str, Any], cut: float
) -> None:
    raw = json.dumps(body, ensure_ascii=False).encode()
    end = min(len(raw) - 1, max(1, int(len(raw) * cut)))
    outcome = decode_json(httpx.Response(200, content=raw[:end]), Where("org"))
    assert isinstance(outcome, Failure)
    assert isinstance(outcome.error, ProtocolError)
    assert outcome.retryable
