"""Turning Azure DevOps answers into data or into the typed errors of :mod:`bridge.errors`.

Azure DevOps reports failures in several ways: a JSON error body whose message starts with a
``TFnnnnnn:``/``VSnnnnnn:`` code, a 401 with the reason in the ``X-TFS-ServiceError``
header, or a 203 HTML sign-in page that HTTP libraries take for success. This module reads
all of them, and decodes JSON bodies without ever crashing on HTML, truncated or non-JSON text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar
from urllib.parse import unquote

import httpx

from bridge.azure import versions
from bridge.errors import (
    ApiVersionError,
    AuthenticationError,
    AzureDevOpsError,
    BranchNotFoundError,
    ConflictError,
    EmptyRepositoryError,
    ItemNotFoundError,
    NotFoundError,
    ProjectNotFoundError,
    ProtocolError,
    RateLimitError,
    RepositoryNotFoundError,
    ServiceError,
)
from bridge.secrets import redact

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

_CODE = re.compile(r"^((?:TF|VS)\d+)(?=:)")
_BOM = "\ufeff"
_NUMBER_TAIL = re.compile(r"[-+.eE0-9]+")
_ESCAPE_TAIL = re.compile(r"\\?u[0-9a-fA-F]{0,4}")
_UNKNOWN_TOKEN_HINT = (
    "check that the profile's token is a current personal access token for this organization"
)

# Codes with a meaning of their own; anything else is mapped by HTTP status.
_BY_CODE: dict[str, tuple[type[AzureDevOpsError], str | None]] = {
    "TF401174": (ItemNotFoundError, None),
    "TF401175": (BranchNotFoundError, "the branch or version does not exist in the repository"),
    "VS403403": (EmptyRepositoryError, "the repository has no branches yet"),
    "TF401019": (RepositoryNotFoundError, "the repository is missing, disabled or not visible"),
    "TF200016": (ProjectNotFoundError, "check the project name and the token's access to it"),
    "VS800075": (ProjectNotFoundError, "check the project id and the token's access to it"),
    "TF401179": (ConflictError, "an active pull request for these branches already exists"),
    "TF401028": (ConflictError, "the branch moved since it was read; read it again and retry"),
    "TF400733": (RateLimitError, "Azure DevOps throttled this identity; try again later"),
}

E = TypeVar("E", bound=AzureDevOpsError)


@dataclass(frozen=True, slots=True)
class Where:
    """What a call is about, for error messages."""

    organization: str | None
    project: str | None = None
    repository: str | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed attempt: the error to raise and whether trying again may help.

    ``repeatable`` marks failures where the request certainly had no effect (refused before
    processing), so that even a request that changes something may be sent again.
    """

    error: AzureDevOpsError
    retryable: bool = False
    repeatable: bool = False
    ceiling: versions.Version | None = None  # set for VssVersionOutOfRangeException


@dataclass(frozen=True, slots=True)
class ErrorBody:
    """The useful part of an Azure DevOps JSON error body."""

    message: str
    type_key: str | None
    code: str | None


def make_error(
    cls: Callable[..., E],
    message: str,
    where: Where,
    *,
    code: str | None = None,
    status: int | None = None,
    hint: str | None = None,
) -> E:
    """An error of class ``cls`` located at ``where``.

    Texts are redacted here, not only when printed: ``repr()`` of an exception shows its raw
    arguments, and Azure DevOps error texts can echo what was sent.
    """
    return cls(
        redact(message),
        organization=where.organization,
        project=where.project,
        repository=where.repository,
        code=code,
        status=status,
        hint=redact(hint) if hint else None,
    )


def auth_error(
    message: str,
    where: Where,
    *,
    reason: str,
    code: str | None = None,
    status: int | None = None,
    hint: str | None = None,
) -> AuthenticationError:
    """An :class:`AuthenticationError` located at ``where`` (texts redacted, as above)."""
    return make_error(
        partial(AuthenticationError, reason=reason),
        message,
        where,
        code=code,
        status=status,
        hint=hint,
    )


def error_code(message: str) -> str | None:
    """The ``TFnnnnnn``/``VSnnnnnn`` code a message starts with."""
    match = _CODE.match(message)
    return match[1] if match else None


def without_code(message: str) -> str:
    """The message without its leading code (the error shows the code separately)."""
    code = error_code(message)
    return message[len(code) + 1 :].strip() if code else message.strip()


def _body_text(response: httpx.Response) -> str | None:
    """The body as text without a BOM, or None if it is not UTF-8."""
    try:
        return response.content.decode("utf-8").lstrip(_BOM)
    except UnicodeDecodeError:
        return None


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The body as a JSON object if it is one (error bodies are read this leniently)."""
    text = _body_text(response)
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def parse_error_body(response: httpx.Response) -> ErrorBody | None:
    """The Azure DevOps error body (``{"$id", "message", "typeKey", ...}``), if there is one."""
    data = json_object(response)
    if data is None or not isinstance(data.get("message"), str):
        return None
    message: str = data["message"]
    type_key = data.get("typeKey")
    return ErrorBody(message, type_key if isinstance(type_key, str) else None, error_code(message))


def looks_like_html(response: httpx.Response) -> bool:
    """True for an HTML page (Azure's sign-in page, a proxy's login form)."""
    if "html" in response.headers.get("content-type", "").lower():
        return True
    return response.content.lstrip(_BOM.encode()).lstrip()[:1] == b"<"


def decode_json(response: httpx.Response, where: Where) -> Any | Failure:
    """The JSON body of a 2xx answer, or the Failure that explains why there is none."""
    if looks_like_html(response):
        return sign_in_page(response, where)
    status = response.status_code
    try:
        text = response.content.decode("utf-8").lstrip(_BOM)
        return json.loads(text)
    except UnicodeDecodeError as error:
        if error.reason == "unexpected end of data":
            return _ends_early(len(response.content), where, status)
        return Failure(
            make_error(ProtocolError, "the answer is not UTF-8 text", where, status=status)
        )
    except json.JSONDecodeError as error:
        if _cut_off(text, error):
            return _ends_early(len(text), where, status)
        return Failure(
            make_error(
                ProtocolError,
                f"the answer is not JSON ({error.msg} at character {error.pos})",
                where,
                status=status,
                hint="a proxy or the wrong API URL may be answering instead of Azure DevOps",
            )
        )


def _ends_early(length: int, where: Where, status: int) -> Failure:
    # A transfer that stopped early: the next attempt will most likely be complete.
    return Failure(
        make_error(
            ProtocolError, f"the answer's body ends early ({length} long)", where, status=status
        ),
        retryable=True,
    )


def _cut_off(text: str, error: json.JSONDecodeError) -> bool:
    """Whether ``text`` reads as the beginning of a JSON document that was cut short."""
    if text.lstrip()[:1] not in ("{", "["):
        return False
    rest = text[error.pos :].strip()
    if error.msg.startswith("Unterminated string"):
        return True
    if error.msg.startswith("Invalid \\uXXXX escape"):
        return _ESCAPE_TAIL.fullmatch(rest) is not None
    # Nothing left, or the start of a literal or number the parser could not finish.
    return (
        rest == ""
        or _NUMBER_TAIL.fullmatch(rest) is not None
        or any(word.startswith(rest) for word in ("true", "false", "null"))
    )


def sign_in_page(response: httpx.Response, where: Where) -> Failure:
    """A 203 / HTML answer: Azure DevOps did not recognise the token."""
    return Failure(
        auth_error(
            "Azure DevOps answered with its sign-in page instead of data: the token is "
            "missing, malformed or unknown",
            where,
            reason="unknown-token",
            status=response.status_code,
            hint=_UNKNOWN_TOKEN_HINT,
        )
    )


def classify(response: httpx.Response, where: Where, *, scope: str) -> Failure:
    """The Failure for a non-success Azure DevOps answer (``scope``: the PAT scope needed)."""
    status = response.status_code
    if 300 <= status < 400:
        return Failure(
            auth_error(
                "Azure DevOps redirected the request (towards a sign-in page) instead of "
                "answering; redirects are not followed",
                where,
                reason="unknown-token",
                status=status,
                hint=_UNKNOWN_TOKEN_HINT,
            )
        )
    if status == 203:
        return sign_in_page(response, where)
    body = parse_error_body(response)
    code = body.code if body else None
    if status == 401 or (status == 403 and code is None):
        return Failure(_rejected(response, where, scope=scope))
    if status == 400 and body is not None and body.type_key == versions.OUT_OF_RANGE:
        return Failure(
            make_error(
                ApiVersionError, body.message, where, status=status, hint="the server is too old"
            ),
            ceiling=versions.supported_by_server(body.message),
        )
    message = without_code(body.message) if body else f"unexpected HTTP {status} answer"
    cls: type[AzureDevOpsError]
    cls, hint = _BY_CODE.get(code or "", (_class_for_status(status), None))
    return Failure(
        make_error(cls, message, where, code=code, status=status, hint=hint),
        retryable=status in RETRYABLE_STATUSES,
        repeatable=status == 429,  # a blocked request was not carried out
    )


def _rejected(response: httpx.Response, where: Where, *, scope: str) -> AuthenticationError:
    """401 (or 403 without a TF code): a known token that is expired, revoked or lacks a scope."""
    detail = unquote(response.headers.get("x-tfs-serviceerror", "")).strip()
    message = "Azure DevOps rejected the token: it is expired or revoked, or lacks a scope"
    if detail:
        message += f" ({without_code(detail)})"
    return auth_error(
        message,
        where,
        reason="rejected",
        code=error_code(detail),
        status=response.status_code,
        hint=f"this call needs a token with the {scope} scope",
    )


def _class_for_status(status: int) -> type[AzureDevOpsError]:
    if status == 404:
        return NotFoundError
    if status == 409:
        return ConflictError
    if status == 429:
        return RateLimitError
    if status == 408 or status >= 500:
        return ServiceError
    return AzureDevOpsError
