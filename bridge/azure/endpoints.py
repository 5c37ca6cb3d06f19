"""Where each Azure DevOps service of one organization lives.

A profile names an API URL (``https://dev.azure.com/`` by default) and organizations. For the
cloud host every service has its own host (``vssps.``, ``vsaex.``, ``almsearch.``,
``app.vssps.visualstudio.com``). Any other API URL (Azure DevOps Server, a custom proxy, the
project's emulator) serves every service under that one URL: ``{api_url}{org}/...`` for the
organization's services and ``{api_url}_apis/...`` for profile and accounts.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from bridge.errors import ConfigError
from bridge.secrets import redact

CLOUD_API_URL = "https://dev.azure.com/"

_CLOUD_HOST = "dev.azure.com"
_LEGACY_SUFFIX = ".visualstudio.com"
_CLOUD_PROFILE = "https://app.vssps.visualstudio.com"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Service(enum.Enum):
    """The Azure DevOps services catalog-bridge talks to."""

    CORE = "core"  # projects, git, connectionData, project analysis
    GRAPH = "graph"
    ENTITLEMENTS = "entitlements"
    SEARCH = "search"
    PROFILE = "profile"  # profile and accounts: not scoped to an organization


@dataclass(frozen=True, slots=True, repr=False)
class OrgEndpoints:
    """The base URL of every service for one organization (no trailing slash).

    A base is None where the service cannot be reached: the organization's services when no
    organization is given (only profile/accounts work then), profile/accounts through a Snyk
    Broker. ``web`` is the base of browser links (``{web}/{project}/_git/{repo}``), None when
    unknown (through a broker the base URL is the broker's, not Azure DevOps').
    """

    organization: str | None
    core: str | None
    graph: str | None
    entitlements: str | None
    search: str | None
    profile: str | None
    web: str | None

    @classmethod
    def one_base(
        cls, organization: str | None, base: str, *, profile: str | None, web: str | None
    ) -> OrgEndpoints:
        """Every service of ``organization`` under the one URL ``base`` (a server, a broker)."""
        return cls(
            organization=organization,
            core=base,
            graph=base,
            entitlements=base,
            search=base,
            profile=profile,
            web=web,
        )

    def base(self, service: Service) -> str:
        """The base URL of ``service``; ConfigError if it cannot be reached this way."""
        bases = {
            Service.CORE: self.core,
            Service.GRAPH: self.graph,
            Service.ENTITLEMENTS: self.entitlements,
            Service.SEARCH: self.search,
            Service.PROFILE: self.profile,
        }
        found = bases[service]
        if found is not None:
            return found
        if service is Service.PROFILE:
            raise ConfigError(
                f"organization {self.organization}: the organizations a token can see cannot "
                "be listed through a Snyk Broker (one broker serves one organization); name "
                "the organization instead of '*'"
            )
        raise ConfigError(f"the {service.value} service needs an organization name")

    def url(self, service: Service, path: str) -> str:
        """``path`` (relative, already percent-encoded) under the base of ``service``."""
        return f"{self.base(service)}/{path.lstrip('/')}"

    def __repr__(self) -> str:
        # A broker base URL carries the broker token in its path.
        return redact(
            f"OrgEndpoints(organization={self.organization!r}, core={self.core!r}, "
            f"profile={self.profile!r})"
        )


@functools.lru_cache(maxsize=65536)  # a sync encodes each name for every call about it
def segment(name: str) -> str:
    """One URL path segment: a project, repository or organization name, percent-encoded."""
    return quote(name, safe="")


def require_secure(url: httpx.URL, *, allow_http: bool, what: str) -> None:
    """Refuse plain ``http://`` except for loopback hosts or when explicitly allowed."""
    scheme = url.scheme.lower()
    if scheme not in ("http", "https") or not url.host:
        raise ConfigError(f"{what} must be an absolute https:// URL, not {redact(str(url))!r}")
    if scheme == "http" and url.host.lower() not in _LOOPBACK_HOSTS and not allow_http:
        raise ConfigError(
            f"{what} {redact(str(url))!r} uses plain http:// to a non-loopback host, which "
            "would send the token unencrypted; use https://, or opt in to plain http explicitly"
        )


def legacy_organization(host: str) -> str | None:
    """The organization a legacy ``{org}.visualstudio.com`` host names; None for other hosts."""
    host = host.lower()
    return host.removesuffix(_LEGACY_SUFFIX) if host.endswith(_LEGACY_SUFFIX) else None


def _origin(url: httpx.URL) -> str:
    """``scheme://host[:port]``: lower-case, without user-info or a default port."""
    scheme, host = url.scheme.lower(), url.host.lower()
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    port = "" if url.port in (None, _DEFAULT_PORTS.get(scheme)) else f":{url.port}"
    return f"{scheme}://{host}{port}"


def origin_and_path(url: httpx.URL) -> tuple[str, str]:
    """The origin (``scheme://host[:port]``) and the encoded path, no trailing ``/``."""
    return _origin(url), url.raw_path.decode("ascii").partition("?")[0].rstrip("/")


def resolve_endpoints(
    api_url: str, organization: str | None, *, allow_http: bool = False
) -> OrgEndpoints:
    """Resolve a profile's API URL plus an organization name to that organization's services.

    Without an organization only profile/accounts (the organizations a token can see) resolve.
    """
    if organization is not None and (not organization or "/" in organization):
        raise ConfigError(f"invalid organization name {organization!r}")
    try:
        url = httpx.URL(api_url.strip())
    except httpx.InvalidURL as error:
        raise ConfigError(f"invalid API URL {redact(api_url)!r}: {error}") from None
    require_secure(url, allow_http=allow_http, what="API URL")
    origin, path = origin_and_path(url)
    host = url.host.lower()
    legacy = legacy_organization(host)
    cloud = host == _CLOUD_HOST or legacy is not None
    if organization is None:
        profile = _CLOUD_PROFILE if cloud else f"{origin}{path}"
        return OrgEndpoints(None, None, None, None, None, profile=profile, web=None)
    org = segment(organization)
    if not cloud:
        root = f"{origin}{path}"
        base = f"{root}/{org}"
        return OrgEndpoints.one_base(organization, base, profile=root, web=base)
    if legacy is None:
        core = f"https://{_CLOUD_HOST}/{org}"
    elif legacy == organization.lower():
        # {org}.visualstudio.com[/DefaultCollection]: the organization is in the host name;
        # its other services are the cloud ones.
        core = f"{origin}{path}"
    else:
        raise ConfigError(
            f"API URL {api_url!r} belongs to organization {legacy!r}, not {organization!r}"
        )
    return OrgEndpoints(
        organization=organization,
        core=core,
        graph=f"https://vssps.{_CLOUD_HOST}/{org}",
        entitlements=f"https://vsaex.{_CLOUD_HOST}/{org}",
        search=f"https://almsearch.{_CLOUD_HOST}/{org}",
        profile=_CLOUD_PROFILE,
        web=core,
    )
