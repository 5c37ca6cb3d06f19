"""Snyk Broker: the relay URL form, and the failures a broker makes itself.

Through a broker every call goes to ``{broker_url}/broker/{broker_token}/{path}``, where the
path has no organization segment (the broker client's origin already names the one
organization it serves). The broker client adds the Azure DevOps token, so none is sent from
here. The broker token sits in the URL path, so it is registered as a secret and redacted from
every message.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

import httpx

from bridge.azure.endpoints import OrgEndpoints, origin_and_path, require_secure, segment
from bridge.azure.failures import RETRYABLE_STATUSES, Failure, Where, json_object, make_error
from bridge.errors import AuthenticationError, BrokerBlockedError, BrokerError, ConfigError
from bridge.secrets import Secret, register

# x-broker-failure value -> (what it means, what to do, worth retrying)
_FAILURES: dict[str, tuple[str, str | None, bool]] = {
    "no-connection": (
        "no Snyk Broker client is connected for this broker token",
        "start the broker client with this BROKER_TOKEN and check it reaches the broker server",
        False,
    ),
    "connection-not-ready": (
        "the Snyk Broker client is connected but not ready yet",
        None,
        True,
    ),
    "bad-request": (
        "the broker server refused the request: the broker client's connection lacks version "
        "or capability metadata",
        "upgrade the broker client",
        False,
    ),
    "error-forwarding-to-primary": (
        "the broker server could not forward the request to its primary server",
        None,
        True,
    ),
}

# Body codes of a broker client that could not complete the downstream call.
_DOWNSTREAM: dict[str, tuple[str, str | None, bool]] = {
    "DOWNSTREAM_TIMEOUT": ("the broker client timed out waiting for Azure DevOps", None, True),
    "DOWNSTREAM_UNREACHABLE": (
        "the broker client could not reach Azure DevOps",
        "check AZURE_REPOS_HOST and the broker client's network access",
        True,
    ),
    "DOWNSTREAM_ERROR": ("the broker client failed calling Azure DevOps", None, True),
    "BODY_TOO_LARGE": (
        "the answer was too large for the broker to relay",
        "the broker client limits the size of the answers it relays",
        False,
    ),
}

_RELAYED_AUTH_HINT = (
    "the broker client's Azure DevOps token (AZURE_REPOS_TOKEN) was refused; renew it in the "
    "broker client's configuration"
)


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    """A Snyk Broker relaying one organization: the broker server URL and the broker token."""

    url: str
    token: Secret

    def __post_init__(self) -> None:
        if not isinstance(self.token, Secret):
            raise TypeError("the broker token must be wrapped in a Secret")


def broker_endpoints(
    settings: BrokerSettings, organization: str | None, *, allow_http: bool = False
) -> OrgEndpoints:
    """Every service of ``organization`` behind the broker (no profile/accounts service)."""
    try:
        url = httpx.URL(settings.url.strip())
    except httpx.InvalidURL as error:
        raise ConfigError(f"invalid broker URL: {error}") from None
    require_secure(url, allow_http=allow_http, what="broker URL")
    origin, path = origin_and_path(url)
    token = segment(settings.token.reveal())
    register(token)  # the percent-encoded form appears in URLs too
    base = f"{origin}{path}/broker/{token}"
    return OrgEndpoints.one_base(organization, base, profile=None, web=None)


def catalog_rule_hint(file_path: str) -> str:
    """What the broker client must accept so that ``file_path`` can be read through it."""
    name = file_path.lstrip("/")
    base = posixpath.basename(name)
    values = ", ".join(dict.fromkeys((name, f"/{name}", f"**/{base}", f"**%2F{base}")))
    return (
        "add an accept rule to the broker client (accept.json): GET "
        "/:project/_apis/git/repositories/:repo/items with a 'valid' check on query "
        f"parameter 'path' allowing {values}; a blocked read is not a missing file"
    )


def classify_broker(
    response: httpx.Response, where: Where, *, method: str, path: str, blocked_hint: str | None
) -> Failure | None:
    """The Failure for an answer the broker made itself; None for a relayed Azure answer."""
    status = response.status_code
    kind = response.headers.get("x-broker-failure")
    if kind is not None:
        message, hint, retryable = _FAILURES.get(
            kind, (f"the Snyk Broker failed ({kind})", None, status in RETRYABLE_STATUSES)
        )
        return Failure(
            make_error(BrokerError, message, where, code=kind, status=status, hint=hint),
            retryable=retryable,
            repeatable=kind == "connection-not-ready",  # nothing was forwarded
        )
    body = json_object(response)
    if body is None:
        return None
    code = body.get("code")
    if status == 401 and (code == "FILTER_BLOCKED" or body.get("message") == "blocked"):
        reason = body.get("reason")
        message = f"the Snyk Broker client's accept rules blocked {method} /{path}"
        if isinstance(reason, str):
            message += f" ({reason})"
        hint = blocked_hint or "add an accept rule for this request to the broker client"
        return Failure(
            make_error(
                BrokerBlockedError, message, where, code="FILTER_BLOCKED", status=status, hint=hint
            )
        )
    if isinstance(code, str) and code in _DOWNSTREAM:
        message, hint, retryable = _DOWNSTREAM[code]
        return Failure(
            make_error(BrokerError, message, where, code=code, status=status, hint=hint),
            retryable=retryable,
        )
    return None


def relayed(failure: Failure) -> Failure:
    """A relayed Azure answer: a refused token is the broker client's, not ours."""
    if isinstance(failure.error, AuthenticationError):
        failure.error.hint = _RELAYED_AUTH_HINT
    return failure
