"""Repository links: one canonical form for web and clone URLs of Azure DevOps repositories.

Azure DevOps hands out several spellings of the same repository (``remoteUrl`` with
``{org}@`` user-info, the legacy ``{org}.visualstudio.com`` host, upper-case hosts). Links
catalog-bridge writes must compare equal, so they all pass through :func:`normalize_repository_url`.
"""

from __future__ import annotations

import httpx

from bridge.azure.endpoints import CLOUD_API_URL, legacy_organization, origin_and_path, segment

_DEFAULT_COLLECTION = "/defaultcollection"


def normalize_repository_url(url: str) -> str:
    """Canonical https form of a repository web or clone URL.

    Lower-cases scheme and host, drops user-info, default ports, a trailing ``/``, the query
    and anything after the repository name; rewrites ``{org}.visualstudio.com`` (optionally
    ``/DefaultCollection``) to ``https://dev.azure.com/{org}``. Path case is kept (names are
    matched case-insensitively by Azure DevOps, but shown as written).
    """
    try:
        parsed = httpx.URL(url.strip())
    except httpx.InvalidURL:
        return url.strip()  # not ours to fix: keep it as Azure DevOps sent it
    base, path = origin_and_path(parsed)
    org = legacy_organization(parsed.host)
    if org is not None:
        lowered = path.lower()
        if lowered == _DEFAULT_COLLECTION or lowered.startswith(f"{_DEFAULT_COLLECTION}/"):
            path = path[len(_DEFAULT_COLLECTION) :]
        base, path = CLOUD_API_URL.rstrip("/"), f"/{org}{path}"
    parts = path.split("/")
    if "_git" in parts:
        # Keep "/_git/{repo}" and drop web-UI suffixes such as /pullrequest/1 or /commit/sha.
        end = parts.index("_git") + 2
        path = "/".join(parts[:end])
    return f"{base}{path}"


def repository_web_url(web_base: str, project: str, repository: str) -> str:
    """The browser URL of a repository under an organization's web base URL."""
    return f"{web_base}/{segment(project)}/_git/{segment(repository)}"
