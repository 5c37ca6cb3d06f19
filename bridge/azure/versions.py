"""REST api-versions: what each resource asks for, and stepping down to a server's ceiling.

Every request starts at 7.1 (with ``-preview`` where the resource is preview-only). An Azure
DevOps Server older than 2022.1 answers 400 ``VssVersionOutOfRangeException`` naming the
highest version it supports; that ceiling is remembered per server base URL, so only the first
request to a server pays for the discovery.
"""

from __future__ import annotations

import re

DEFAULT = "7.1"
CONNECTION_DATA = "7.1-preview"  # preview-only resource
LANGUAGE_METRICS = "7.1-preview.1"  # preview-only resource
GRAPH_USERS = "7.1-preview.1"  # preview-only resource

OUT_OF_RANGE = "VssVersionOutOfRangeException"

Version = tuple[int, int]

_SUPPORTED = re.compile(r"supports is (\d+)\.(\d+)")
_NUMBER = re.compile(r"^(\d+)\.(\d+)")


def number(version: str) -> Version:
    """The ``(major, minor)`` of an api-version such as ``7.1-preview.1``."""
    match = _NUMBER.match(version)
    if match is None:
        raise ValueError(f"not an api-version: {version!r}")
    return int(match[1]), int(match[2])


def supported_by_server(message: str) -> Version | None:
    """The ceiling a ``VssVersionOutOfRangeException`` message names ("... supports is 6.0.")."""
    match = _SUPPORTED.search(message)
    return (int(match[1]), int(match[2])) if match else None


def capped(version: str, ceiling: Version | None) -> str:
    """``version`` lowered to ``ceiling`` when above it, keeping any ``-preview`` suffix."""
    if ceiling is None or number(version) <= ceiling:
        return version
    return f"{ceiling[0]}.{ceiling[1]}{_NUMBER.sub('', version)}"


class VersionCeilings:
    """The api-version ceiling learnt for each server base URL."""

    __slots__ = ("_by_base",)

    def __init__(self) -> None:
        self._by_base: dict[str, Version] = {}

    def version_for(self, base: str, wanted: str) -> str:
        """The api-version to send to ``base`` for a resource that wants ``wanted``."""
        return capped(wanted, self._by_base.get(base))

    def learn(self, base: str, ceiling: Version) -> None:
        """Remember that the server at ``base`` supports at most ``ceiling``."""
        self._by_base[base] = ceiling
