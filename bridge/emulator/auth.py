"""Who is calling: personal access tokens in ``Authorization``, and the two refusal shapes.

Azure DevOps refuses a missing, malformed or unknown token on GET and POST with **203** and
its HTML sign-in page, and an expired or revoked token (or one lacking the needed scope)
with **401**, an empty body, ``WWW-Authenticate`` and ``X-TFS-ServiceError``. Token values
never appear in any answer.
"""

from __future__ import annotations

import base64
import binascii

from bridge.emulator.estate import Estate, Token
from bridge.emulator.messages import Request, Response

SIGN_IN_TITLE = "Azure DevOps Services | Sign In"

_SIGN_IN_PAGE = f"""<!DOCTYPE html>
<html lang="en-US">
<head>
<meta charset="utf-8">
<title>{SIGN_IN_TITLE}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
</head>
<body>
<div id="signin">
<h1>Sign in to Azure DevOps</h1>
<p>You need to sign in to continue. This page is what Azure DevOps answers when a request
carries no usable credentials; an API client should treat it as an authentication failure.</p>
<form method="post" action="/_signin"><button type="submit">Sign in</button></form>
</div>
</body>
</html>
""".encode()


def token_value(request: Request) -> tuple[str, str] | None:
    """``(scheme, secret)`` from ``Authorization`` (Basic with any user name, or Bearer)."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and credentials:
        return "bearer", credentials
    if scheme.lower() != "basic" or not credentials:
        return None
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    _user, colon, secret = decoded.partition(":")
    return ("basic", secret) if colon and secret else None


def identify(request: Request, estate: Estate) -> Token | Response:
    """The calling token, or the answer that refuses the request."""
    presented = token_value(request)
    token = estate.token(presented[1]) if presented else None
    if token is None:
        if presented and presented[0] == "bearer":
            return unauthorized(
                request, "TF400813: The user '' is not authorized to access this resource."
            )
        return sign_in_page(request)
    if token.revoked:
        return unauthorized(request)
    return token


def sign_in_page(request: Request) -> Response:
    """203 with the HTML sign-in page (GET/POST); other methods get a plain 401."""
    if request.method not in ("GET", "POST"):
        return unauthorized(request)
    return Response(203, [("Content-Type", "text/html; charset=utf-8")], _SIGN_IN_PAGE)


def unauthorized(request: Request, message: str | None = None) -> Response:
    """401 with an empty body and the reason in ``X-TFS-ServiceError``."""
    reason = message or f"VS30063: You are not authorized to access {request.base_url}."
    headers = [
        ("WWW-Authenticate", f'Basic realm="{request.base_url}/"'),
        ("X-TFS-ServiceError", reason),
    ]
    return Response(401, headers, b"")
