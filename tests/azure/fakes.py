"""Answers shaped like Azure DevOps' (and a Snyk Broker's), for httpx.MockTransport handlers."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, cast

import httpx

from bridge.azure import AzureDevOpsClient, RetryPolicy
from bridge.secrets import Secret

TOKEN = Secret("pat-for-tests-0123456789abcdefghij")
ORG = "fabrikam"
CLOUD = "https://dev.azure.com/fabrikam"

# Tiny waits keep retry tests fast; the attempt bound is what the tests exercise.
FAST = RetryPolicy(max_attempts=5, max_elapsed=10.0, backoff_base=0.001, backoff_cap=0.005)

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


def client(handler: Handler, **options: Any) -> AzureDevOpsClient:
    """A client for ``fabrikam`` on the cloud host whose network is ``handler``."""
    settings: dict[str, Any] = {"token": TOKEN, "retry": FAST}
    settings.update(options)
    organization = settings.pop("organization", ORG)
    return AzureDevOpsClient(
        organization, transport=httpx.MockTransport(cast(Any, handler)), **settings
    )


def in_turn(*answers: httpx.Response | Exception) -> Handler:
    """A handler that gives ``answers`` in order, one per request (raising the exceptions)."""
    pending = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        answer = pending.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler


class Always:
    """A handler that gives ``answer`` to every request (raising it if an exception) and counts."""

    def __init__(self, answer: httpx.Response | Exception) -> None:
        self.answer = answer
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    """A JSON answer the way Azure DevOps sends it."""
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={
            "content-type": "application/json; charset=utf-8; api-version=7.1",
            **(headers or {}),
        },
    )


def envelope(items: list[Any]) -> dict[str, Any]:
    return {"count": len(items), "value": items}


def azure_error(
    status: int,
    message: str,
    type_key: str = "GitItemNotFoundException",
    *,
    bom: bool = False,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """An Azure DevOps error body (``$id``, ``innerException``, ``message``, ``typeKey``...)."""
    body = {
        "$id": "1",
        "innerException": None,
        "message": message,
        "typeName": f"Microsoft.TeamFoundation.{type_key}, Microsoft.TeamFoundation",
        "typeKey": type_key,
        "errorCode": 0,
        "eventId": 3000,
    }
    raw = json.dumps(body).encode()
    return httpx.Response(
        status,
        content=(b"\xef\xbb\xbf" + raw) if bom else raw,
        headers={"content-type": "application/json; charset=utf-8", **(headers or {})},
    )


def throttled(retry_after: str | None = None) -> httpx.Response:
    """A 429 ``TF400733`` (blocked), with ``Retry-After`` when given."""
    return azure_error(
        429,
        "TF400733: The request has been canceled: Request was blocked due to exceeding usage "
        "of resource 'Core' in namespace 'User'.",
        "RequestBlockedException",
        headers={"Retry-After": retry_after} if retry_after is not None else None,
    )


def sign_in_page() -> httpx.Response:
    """The 203 HTML sign-in page Azure DevOps shows an unknown token."""
    html = "<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head></html>"
    return httpx.Response(203, text=html, headers={"content-type": "text/html; charset=utf-8"})


def project(number: int) -> dict[str, Any]:
    return {
        "id": f"00000000-0000-0000-0000-{number:012d}",
        "name": f"Project {number}",
        "url": f"{CLOUD}/_apis/projects/{number}",
        "state": "wellFormed",
        "revision": 3,
        "visibility": "private",
        "lastUpdateTime": "2024-04-11T21:11:29.787Z",
    }


def repository(name: str, project_name: str = "Project 1", **extra: Any) -> dict[str, Any]:
    """A live-shaped ``GitRepository`` (extra keys override or add)."""
    quoted_project, quoted_name = project_name.replace(" ", "%20"), name.replace(" ", "%20")
    data: dict[str, Any] = {
        "id": f"repo-{name}",
        "name": name,
        "url": f"{CLOUD}/p/_apis/git/repositories/repo-{name}",
        "project": {
            "id": "proj-1",
            "name": project_name,
            "state": "wellFormed",
            "visibility": "private",
        },
        "defaultBranch": "refs/heads/main",
        "size": 1024,
        "remoteUrl": f"https://{ORG}@dev.azure.com/{ORG}/{quoted_project}/_git/{quoted_name}",
        "sshUrl": f"git@ssh.dev.azure.com:v3/{ORG}/{quoted_project}/{quoted_name}",
        "webUrl": f"{CLOUD}/{quoted_project}/_git/{quoted_name}",
        "isDisabled": False,
        "isInMaintenance": False,
    }
    data.update(extra)
    return data


def commit(number: int) -> dict[str, Any]:
    return {
        "commitId": f"{number:040x}",
        "author": {
            "name": "Norman Paulk",
            "email": "np@example.com",
            "date": "2018-06-15T17:06:53Z",
        },
        "committer": {
            "name": "Norman Paulk",
            "email": "np@example.com",
            "date": "2018-06-15T17:06:53Z",
        },
        "comment": f"change {number}",
        "changeCounts": {"Add": 0, "Edit": 1, "Delete": 0},
        "url": f"{CLOUD}/_apis/git/repositories/r/commits/{number:040x}",
    }


def params(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)
