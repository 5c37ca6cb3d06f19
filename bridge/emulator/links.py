"""The URLs that answers link to, built from the address the client used.

Cloud layout: ``{base}/{org}/...`` with ``remoteUrl`` carrying ``{org}@`` user-info.
On-premises layout: ``{base}/{vdir}/{collection}/...``. Names are percent-encoded.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from bridge.emulator.estate import Project, Repository


def encode(name: str) -> str:
    """One percent-encoded path segment (space -> ``%20``)."""
    return quote(name, safe="")


class Links:
    """URL builder for one organization (collection) as addressed by one request."""

    def __init__(
        self, base_url: str, organization: str, *, onprem: bool, virtual_directory: str
    ) -> None:
        self.base_url = base_url
        self.organization = organization
        self.onprem = onprem
        prefix = f"/{encode(virtual_directory)}" if onprem and virtual_directory else ""
        self.collection_url = f"{base_url}{prefix}/{encode(organization)}"

    def api(self, path: str) -> str:
        """An organization-level API URL (``path`` without the leading ``_apis/``)."""
        return f"{self.collection_url}/_apis/{path}"

    def project(self, project: Project) -> str:
        """The API URL of a project."""
        return self.api(f"projects/{project.id}")

    def repository(self, repository: Repository) -> str:
        """The API URL of a repository (addressed by ids, as the service does)."""
        return (
            f"{self.collection_url}/{repository.project.id}/_apis/git/repositories/{repository.id}"
        )

    def web(self, repository: Repository) -> str:
        """The web (and clone) URL of a repository."""
        project = encode(repository.project.name)
        return f"{self.collection_url}/{project}/_git/{encode(repository.name)}"

    def remote(self, repository: Repository) -> str:
        """The clone URL; in the cloud it carries ``{org}@`` user-info."""
        if self.onprem:
            return self.web(repository)
        parts = urlsplit(self.base_url)
        org, project = encode(self.organization), encode(repository.project.name)
        return (
            f"{parts.scheme}://{org}@{parts.netloc}/{org}/{project}/_git/{encode(repository.name)}"
        )

    def ssh(self, repository: Repository) -> str:
        """The SSH clone URL in the form each layout uses."""
        project, name = encode(repository.project.name), encode(repository.name)
        if self.onprem:
            host = urlsplit(self.base_url).hostname or "localhost"
            path = self.collection_url.removeprefix(self.base_url)
            return f"ssh://{host}:22{path}/{project}/_git/{name}"
        return f"git@ssh.dev.azure.com:v3/{encode(self.organization)}/{project}/{name}"

    def identity(self, identity_id: str) -> str:
        """The URL of an identity."""
        return self.api(f"Identities/{identity_id}")
