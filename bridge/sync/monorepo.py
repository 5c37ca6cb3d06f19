"""A monorepo of catalogs merged into sync: the Components of a profile's catalog repository
(``backstage.catalog``) as application context of the repositories they describe.

The catalog is fetched and processed once per run and profile, as a freshly started Backstage
would ingest it from its root Location. Each ingested Component names its repository by its
``dev.azure.com/project-repo`` annotation (``dev.azure.com/host-org`` picks the organization),
else by the first Azure Repos URL among its ``backstage.io/source-location``,
``backstage.io/view-url`` and ``backstage.io/managed-by-location`` annotations. The engine
asks :meth:`MonorepoCatalog.entries` for every repository it syncs; what matched nothing or
several repositories is reported at the end (:meth:`MonorepoCatalog.outcome`).

The context is computed from a fresh processing every run and added after the engine built
(or reused) the repository's own entries, so an incremental run never misses a change of the
catalog repository.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from bridge import gitrepo
from bridge.azure.urls import normalize_repository_url
from bridge.catalog.gitreader import GitTreeReader
from bridge.catalog.processing.engine import process_catalog
from bridge.catalog.processing.model import CatalogEntity, ProcessingOptions
from bridge.catalog.processing.runner import check_root
from bridge.config import BackstageSettings, CatalogSettings, Profile
from bridge.sync.entity import ORIGIN_CATALOG, ORIGIN_REPOSITORY, attributes_of

_PROJECT_REPO = "dev.azure.com/project-repo"
_HOST_ORG = "dev.azure.com/host-org"
_URL_ANNOTATIONS = (
    "backstage.io/source-location",
    "backstage.io/view-url",
    "backstage.io/managed-by-location",
)


@dataclass(frozen=True, slots=True)
class RepositoryKey:
    """The repository a Component names: its organization (None: any), project and name,
    compared case-insensitively as Azure DevOps does."""

    organization: str | None
    project: str
    name: str

    def matches(self, organization: str, project: str, name: str) -> bool:
        """Whether this key names the repository ``organization/project/name``."""
        return (
            (self.organization is None or self.organization.casefold() == organization.casefold())
            and self.project.casefold() == project.casefold()
            and self.name.casefold() == name.casefold()
        )


def key_from_url(text: str) -> RepositoryKey | None:
    """The repository an Azure Repos URL names, or None for any other URL.

    Takes ``url:`` prefixes (Backstage's location references), cloud
    (``dev.azure.com/{org}``), legacy (``{org}.visualstudio.com``) and on-premises
    (``/tfs/{collection}``) forms, percent-encoded names, and drops a query (``?path=``) and
    web-UI suffixes; ``/{org}/_git/{repo}`` names the project named like the repository.
    """
    url = text.strip().removeprefix("url:")
    if not url.lower().startswith(("https://", "http://")):
        return None
    parts = [unquote(part) for part in urlsplit(normalize_repository_url(url)).path.split("/")]
    parts = [part for part in parts if part]
    if "_git" not in parts:
        return None
    at = parts.index("_git")
    if at + 1 >= len(parts) or at == 0:
        return None
    name, before = parts[at + 1], parts[:at]
    if len(before) == 1:
        return RepositoryKey(before[0], name, name)
    return RepositoryKey(before[-2], before[-1], name)


def key_of(entity: Mapping[str, Any]) -> tuple[RepositoryKey | None, str | None]:
    """The repository a Component describes and the annotation that says so."""
    metadata = entity.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    if not isinstance(annotations, dict):
        return None, None
    project_repo = annotations.get(_PROJECT_REPO)
    if isinstance(project_repo, str):
        parts = project_repo.split("/")
        if len(parts) == 2 and all(part.strip() for part in parts):
            organization = None
            host_org = annotations.get(_HOST_ORG)
            if isinstance(host_org, str) and "/" in host_org.strip("/"):
                # "<host>/<organization>" or "<host>/<virtual folder>/<collection>".
                organization = host_org.strip("/").rsplit("/", 1)[1]
            return RepositoryKey(organization, parts[0].strip(), parts[1].strip()), _PROJECT_REPO
    for annotation in _URL_ANNOTATIONS:
        value = annotations.get(annotation)
        key = key_from_url(value) if isinstance(value, str) else None
        if key is not None:
            return key, annotation
    return None, None


@dataclass(slots=True)
class CatalogComponent:
    """An ingested Component of the catalog repository and the repositories it was given to."""

    ref: str
    file: str
    line: int
    entity: dict[str, Any]
    key: RepositoryKey | None
    annotation: str | None  # the annotation the key came from
    repositories: list[str] = field(default_factory=list)  # organization/project/name


@dataclass(slots=True)
class MonorepoCatalog:
    """One profile's processed catalog repository."""

    profile: str
    settings: CatalogSettings
    commit: str
    components: list[CatalogComponent]
    errors: int  # processing errors (as `catalog-bridge catalog` lists them)
    dropped: int  # valid entities lost with their failed parent Location
    _by_name: dict[tuple[str, str], list[CatalogComponent]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for component in self.components:
            if component.key is not None:
                where = (component.key.project.casefold(), component.key.name.casefold())
                self._by_name.setdefault(where, []).append(component)

    def entries(
        self, organization: str, project: str, name: str, backstage: BackstageSettings
    ) -> list[dict[str, str]]:
        """The context entries of the Components describing ``organization/project/name``
        (each records that it was given to that repository)."""
        found = []
        for component in self._by_name.get((project.casefold(), name.casefold()), ()):
            assert component.key is not None
            if component.key.matches(organization, project, name):
                component.repositories.append(f"{organization}/{project}/{name}")
                entry = attributes_of(component.entity, backstage)
                entry.update(
                    source="Backstage",
                    origin=ORIGIN_CATALOG,
                    file=component.file,
                    commit=self.commit,
                    catalog_repository=self.settings.repository,
                    ref=component.ref,
                )
                found.append(entry)
        return found

    def outcome(self) -> MonorepoOutcome:
        """What the run made of the catalog: mapped, unmapped and ambiguous Components."""
        unmapped = [c for c in self.components if not c.repositories]
        ambiguous = [c for c in self.components if len(c.repositories) > 1]
        return MonorepoOutcome(
            self.profile,
            self.settings.repository,
            self.commit,
            components=len(self.components),
            mapped=sum(1 for c in self.components if len(c.repositories) == 1),
            errors=self.errors,
            dropped=self.dropped,
            unmapped=tuple(_unmapped(c) for c in unmapped),
            ambiguous=tuple(_ambiguous(c) for c in ambiguous),
        )


@dataclass(frozen=True, slots=True)
class MonorepoOutcome:
    """The report of one profile's catalog repository (the summary and change report show it).

    ``error`` is set, and the rest empty, when the catalog could not be read or processed.
    """

    profile: str
    repository: str
    commit: str | None
    components: int = 0
    mapped: int = 0
    errors: int = 0
    dropped: int = 0
    unmapped: tuple[dict[str, Any], ...] = ()
    ambiguous: tuple[dict[str, Any], ...] = ()
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The outcome as JSON values (the change report's ``catalogs`` items)."""
        return {
            "profile": self.profile,
            "repository": self.repository,
            "commit": self.commit,
            "components": self.components,
            "mapped": self.mapped,
            "processing_errors": self.errors,
            "dropped": self.dropped,
            "unmapped": list(self.unmapped),
            "ambiguous": list(self.ambiguous),
            "error": self.error,
        }


def _unmapped(component: CatalogComponent) -> dict[str, Any]:
    if component.key is None:
        reason = f"no {_PROJECT_REPO} annotation and no Azure Repos URL in " + ", ".join(
            _URL_ANNOTATIONS
        )
    else:
        key = component.key
        place = "/".join(part for part in (key.organization, key.project, key.name) if part)
        reason = f"{component.annotation} names {place}, which this run did not sync"
    return {"ref": component.ref, "file": component.file, "line": component.line, "reason": reason}


def _ambiguous(component: CatalogComponent) -> dict[str, Any]:
    return {
        "ref": component.ref,
        "file": component.file,
        "line": component.line,
        "repositories": sorted(component.repositories),
    }


def load_monorepo(profile: Profile, settings: CatalogSettings) -> MonorepoCatalog:
    """Fetch (a URL, with the profile's token and CA file) or open (a local path) the catalog
    repository and process it at ``settings.ref`` from ``settings.root``.

    Raises :class:`~bridge.errors.BridgeError` when it cannot be fetched, the ref or root
    does not exist, or it is not a git repository.
    """
    path = gitrepo.local_or_fetched(settings.repository, profile.token, ca_file=profile.ca_file)
    with gitrepo.GitRepository(path) as repository:
        ref = settings.ref or gitrepo.DEFAULT_REF
        commit = repository.resolve(ref)
        reader = GitTreeReader(repository, commit)
        root = check_root(reader, settings.root)
        options = ProcessingOptions(rules=settings.rules, absolute_root=str(Path(path).resolve()))
        result = process_catalog(reader, root, options)
    components = [_component(entity) for entity in result.ingested if entity.kind == "Component"]
    errors, dropped = len(result.errors), len(result.dropped)
    return MonorepoCatalog(profile.name, settings, commit, components, errors, dropped)


def _component(entity: CatalogEntity) -> CatalogComponent:
    data = entity.data()
    key, annotation = key_of(data)
    file = entity.file or ""
    return CatalogComponent(entity.ref, file, entity.line, data, key, annotation)


def with_provenance(
    entries: Iterable[Mapping[str, Any]], path: str | None, commit: str | None
) -> list[dict[str, Any]]:
    """A repository's own context entries, marked as read from its catalog file ``path`` at
    ``commit`` (entries of the catalog repository, reused from a previous run, are dropped:
    the catalog's are computed afresh)."""
    return [
        {**entry, "origin": ORIGIN_REPOSITORY, "file": path, "commit": commit}
        for entry in entries
        if entry.get("origin", ORIGIN_REPOSITORY) == ORIGIN_REPOSITORY
    ]


def merge_context(
    own: list[dict[str, Any]], catalog: list[dict[str, Any]], precedence: str
) -> tuple[list[dict[str, Any]], str | None]:
    """Both kinds of entries, those of the origin ``precedence`` names first, and the origin
    the summary counts for the repository (None: no context at all)."""
    if own and catalog:
        first, second = (catalog, own) if precedence == ORIGIN_CATALOG else (own, catalog)
        return [*first, *second], precedence
    if catalog:
        return catalog, ORIGIN_CATALOG
    return own, ORIGIN_REPOSITORY if own else None
