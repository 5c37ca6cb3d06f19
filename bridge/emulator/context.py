"""What a route handler gets: the request, the caller, and what the path addressed."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bridge.emulator import api_errors
from bridge.emulator.enums import QueryEnum
from bridge.emulator.estate import Estate, Organization, Project, Repository, Token
from bridge.emulator.links import Links
from bridge.emulator.messages import Request
from bridge.emulator.options import EmulatorOptions

_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def is_guid(text: str) -> bool:
    """Whether ``text`` is a GUID (so a path segment is an id rather than a name)."""
    return _GUID.fullmatch(text) is not None


@dataclass(slots=True)
class Context:
    """One request as a handler sees it; ``params`` holds the captured path segments."""

    request: Request
    estate: Estate
    token: Token
    api_version: str
    now: Callable[[], datetime]
    options: EmulatorOptions
    organization: Organization | None = None
    project: Project | None = None
    params: dict[str, str] = field(default_factory=dict)
    _links: Links | None = field(default=None, init=False, repr=False)

    @property
    def onprem(self) -> bool:
        """Whether the on-premises layout is served."""
        return self.options.layout == "onprem"

    @property
    def query(self) -> Mapping[str, str]:
        """The query parameters, keyed by lower-cased name."""
        return self.request.query

    @property
    def org(self) -> Organization:
        """The addressed organization (every non-root route has one)."""
        if self.organization is None:
            raise api_errors.not_found("This resource needs an organization in the path.")
        return self.organization

    @property
    def links(self) -> Links:
        """URL builder for the addressed organization (made once per request)."""
        if self._links is None:
            self._links = Links(
                self.request.base_url,
                self.org.name,
                onprem=self.onprem,
                virtual_directory=self.options.virtual_directory,
            )
        return self._links

    def repository(self, *, allow_disabled: bool = False) -> Repository:
        """The repository in the path; unknown (or disabled) ones answer TF401019.

        Without a project in the path only an id finds a repository, as in the service.
        """
        key = self.params["repository"]
        if self.project is not None:
            found = self.project.repository(key)
        else:
            found = self.org.repositories_by_id.get(key.lower()) if is_guid(key) else None
        if found is None or (found.is_disabled and not allow_disabled):
            raise api_errors.repository_not_found(key)
        return found

    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object; a 400 answer when it is not one."""
        try:
            body = self.request.json()
        except ValueError:
            raise api_errors.bad_request("The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise api_errors.bad_request("The request body must be a JSON object.")
        return body

    def int_param(self, *names: str, default: int) -> int:
        """The first present query parameter among ``names`` as a non-negative integer."""
        for name in names:
            raw = self.query.get(name.lower())
            if raw is not None and raw != "":
                if not raw.isdigit():
                    raise api_errors.bad_request(
                        f"The value '{raw}' of parameter '{name}' is not a non-negative integer."
                    )
                return int(raw)
        return default

    def text_param(self, *names: str) -> str | None:
        """The first present (non-empty) query parameter among ``names``."""
        for name in names:
            value = self.query.get(name.lower())
            if value:
                return value
        return None

    def enum_param(self, kind: QueryEnum, *names: str) -> str | None:
        """The first present query parameter among ``names`` as a member of ``kind``
        (lower-cased); a value the service would not bind answers 400."""
        for name in names:
            value = self.query.get(name.lower())
            if value:
                return kind.parse(name, value)
        return None

    def flag_param(self, name: str) -> bool:
        """Whether query parameter ``name`` is ``true`` (in any case)."""
        return self.query.get(name.lower(), "").lower() == "true"

    def continuation(self, kind: str) -> int:
        """The offset in the ``continuationToken`` parameter (0 without one); a token that
        :func:`continuation_token` did not make for ``kind`` answers 400."""
        raw = self.text_param("continuationToken")
        if raw is None:
            return 0
        try:
            prefix, _, number = base64.urlsafe_b64decode(raw.encode()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):  # binascii.Error is a ValueError
            prefix, number = "", ""
        if prefix != kind or not number.isdigit():
            raise api_errors.bad_request(f"The continuation token '{raw}' is not valid.")
        return int(number)


def continuation_token(kind: str, offset: int) -> str:
    """A token for the list ``kind`` that resumes at ``offset`` (read by
    :meth:`Context.continuation`); opaque like the service's, and the kind keeps tokens of
    different lists apart."""
    return base64.urlsafe_b64encode(f"{kind}:{offset}".encode()).decode()
