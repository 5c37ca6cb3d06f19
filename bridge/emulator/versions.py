"""The api-version rules: where the version is read from and which versions are refused."""

from __future__ import annotations

import re

from bridge.emulator.api_errors import ApiError
from bridge.emulator.messages import Request

_VERSION = re.compile(r"(\d+)\.(\d+)(-preview(\.\d+)?)?", re.IGNORECASE)
_ACCEPT_VERSION = re.compile(r"api-version\s*=\s*([^;,\s]+)", re.IGNORECASE)


def requested_version(request: Request) -> str | None:
    """The api-version of a request: the query parameter, else the one in ``Accept``."""
    query = request.query.get("api-version")
    if query is not None:
        return query
    found = _ACCEPT_VERSION.search(request.headers.get("accept", ""))
    return found.group(1) if found else None


def _numbers(text: str) -> tuple[int, int]:
    found = _VERSION.fullmatch(text)
    assert found is not None  # only called on versions already checked
    return int(found.group(1)), int(found.group(2))


def check_version(
    request: Request, *, preview_only: bool, ceiling: str, preview_ceiling: str | None = None
) -> str:
    """Validate the requested api-version; return the version the answer states.

    A missing version is accepted on reads and location queries (the ceiling is served) and
    refused on writes; preview-only resources need ``-preview``. Versions above ``ceiling``
    are out of range, except that up to ``preview_ceiling`` (the cloud's next version,
    which the Node SDK asks for by default) they are served in their ``-preview`` form.
    """
    version = requested_version(request)
    if version is None:
        if request.method not in ("GET", "OPTIONS"):
            raise ApiError(
                400,
                f'No api-version was supplied for the "{request.method}" request. The version '
                'must be supplied either as part of the Accept header (e.g. "application/json; '
                "api-version=1.0\") or as a query parameter (e.g. '?api-version=1.0').",
                "VssVersionNotSpecifiedException",
            )
        return f"{ceiling}-preview" if preview_only else ceiling
    found = _VERSION.fullmatch(version)
    if found is None:
        raise ApiError(
            400,
            f"The requested api-version '{version}' is not in a valid format. Expected a "
            "version such as '7.1' or '7.1-preview.1'.",
            "VssInvalidApiVersionException",
        )
    highest = preview_ceiling or ceiling
    if _numbers(version) > _numbers(highest):
        raise ApiError(
            400,
            f"The requested REST API version of {version} is out of range for this server. "
            f"The latest REST API version this server supports is {highest}.",
            "VssVersionOutOfRangeException",
        )
    unreleased = _numbers(version) > _numbers(ceiling)
    if (preview_only or unreleased) and found.group(3) is None:
        raise ApiError(
            400,
            f'The requested version "{version}" of the resource is under preview. The '
            "-preview flag must be supplied in the api-version for such requests. For "
            f'example: "{version}-preview"',
            "VssInvalidPreviewVersionException",
        )
    return version
