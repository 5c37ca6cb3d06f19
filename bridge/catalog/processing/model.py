"""What processing a catalog finds: typed results, independent of how they are printed."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from bridge.catalog.lint import MANAGED_BY
from bridge.catalog.problems import ERROR
from bridge.catalog.processing.relations import Reference, relation_pairs
from bridge.catalog.processing.rules import DEFAULT_RULES, KindRule
from bridge.catalog.validation import ValidationOptions

MANAGED_BY_LOCATION, MANAGED_BY_ORIGIN = MANAGED_BY
"""The annotations the catalog sets on every entity: the Location that emitted it, and the
root Location it came from."""

GENERATED_EMITTER = "provider:ConfigLocationProvider"
"""``emittedBy`` of the root Location, as Backstage's config location provider names itself."""


@dataclass(frozen=True, slots=True)
class ProcessingOptions:
    """How to process a catalog."""

    rules: tuple[KindRule, ...] = DEFAULT_RULES
    validation: ValidationOptions = field(default_factory=ValidationOptions)
    # Resolve relative placeholders through the reader (Backstage fails them in `file`
    # locations; this is a deviation for trees that are served by a `url` location).
    local_placeholders: bool = False
    # Where relative targets that do not start with "." resolve (Backstage: the backend's
    # working directory), relative to the reader's root.
    cwd: str = ""
    # The absolute path the reader's root stands for in Backstage's messages and location keys.
    absolute_root: str = "/"
    # Keep each file's parse and validation results in the reader's cache folder (by content).
    cache: bool = False
    # Files that count as catalog files when looking for orphans.
    orphan_globs: tuple[str, ...] = ("**/*.yaml", "**/*.yml")


@dataclass(slots=True)
class CatalogEntity:
    """An entity some Location emitted (ingested or not)."""

    ref: str
    kind: str
    namespace: str
    name: str
    file: str | None  # relative to the reader's root; None for the generated root Location
    line: int
    ingested: bool
    emitted_by: str
    location_key: str
    # The entity as written (placeholders unresolved), pickled where its file was parsed:
    # a run decodes only the Locations it follows, see data().
    written: bytes = field(repr=False)
    origin_location: str  # the root Location's key (the origin annotation)
    error_count: int = 0

    def data(self) -> dict[str, Any]:
        """The entity as the catalog stores it: as written (placeholders unresolved), with
        the two annotations the catalog sets, ``managed-by-origin-location`` and
        ``managed-by-location``. A new copy on each call."""
        entity: dict[str, Any] = pickle.loads(self.written)
        metadata = entity["metadata"]
        annotations = dict(metadata.get("annotations") or {})
        annotations[MANAGED_BY_ORIGIN] = self.origin_location
        annotations[MANAGED_BY_LOCATION] = self.location_key
        return {**entity, "metadata": {**metadata, "annotations": annotations}}


@dataclass(frozen=True, slots=True)
class CatalogError:
    """A processing error, with the file it is about and Backstage's message."""

    file: str | None
    line: int | None
    column: int | None
    entity_ref: str  # the entity Backstage attaches the error to
    entity_file: str | None
    stage: str  # parse, read, emit-envelope, preprocess, policy, validate, postprocess, rules
    name: str  # the JavaScript error class (InputError, NotFoundError, ...)
    message: str  # Backstage's text
    rule: str


@dataclass(frozen=True, slots=True)
class Dropped:
    """A valid child entity lost because its parent Location failed."""

    ref: str
    file: str | None
    line: int | None
    parent_ref: str
    parent_file: str | None
    exists_via_other_parent: bool


@dataclass(frozen=True, slots=True)
class Conflict:
    """The same entity ref from a second file: Backstage keeps the first and drops this one."""

    ref: str
    file: str | None
    line: int | None
    existing_file: str | None
    existing_line: int | None
    new_location_key: str
    existing_location_key: str
    emitted_by: str
    existing_emitted_by: str
    message: str  # Backstage's warning log text

    @property
    def same_parent(self) -> bool:
        """Both copies came from one Location run (e.g. one glob)."""
        return self.emitted_by == self.existing_emitted_by


class Relation(NamedTuple):
    """A relation an ingested entity produced (both directions are listed)."""

    # A NamedTuple: a catalog has a few relations per entity, and a frozen dataclass costs
    # three times as much to create (the whole-catalog hook re-creates them on every commit).

    source: str
    type: str
    target: str
    file: str | None
    source_exists: bool
    target_exists: bool


@dataclass(frozen=True, slots=True)
class IngestedSource:
    """An ingested entity read from a file, with the references it writes."""

    ref: str
    file: str
    index: int | None  # the document's index in its file
    references: list[Reference]


@dataclass(frozen=True, slots=True)
class CatalogProblem:
    """A finding beyond Backstage's own processing (a lint)."""

    severity: str
    rule: str
    file: str | None
    line: int | None
    column: int | None
    message: str

    @property
    def is_error(self) -> bool:
        """Whether this problem fails the run."""
        return self.severity == ERROR


@dataclass(slots=True)
class CatalogResult:
    """Everything processing a catalog found."""

    root: str
    root_ref: str
    entities: list[CatalogEntity] = field(default_factory=list)
    # The ingested entities read from files, with their references: what the relations are
    # derived from.
    sources: list[IngestedSource] = field(default_factory=list)
    errors: list[CatalogError] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    problems: list[CatalogProblem] = field(default_factory=list)
    files_read: set[str] = field(default_factory=set)
    _relations: list[Relation] | None = field(default=None, init=False, repr=False)

    @property
    def relations(self) -> list[Relation]:
        """Both directions of every reference of the ingested entities, once each (with the
        file of the first entity that made it). Derived when first asked for: only the JSON
        report lists them, and a catalog has several per entity."""
        if self._relations is None:
            ingested = {entity.ref for entity in self.entities if entity.ingested}
            seen: dict[tuple[str, str, str], str | None] = {}
            keep = seen.setdefault
            for source in self.sources:
                file = source.file
                for triple in relation_pairs(source.ref, source.references):
                    keep(triple, file)
            self._relations = [
                Relation(origin, kind, target, file, origin in ingested, target in ingested)
                for (origin, kind, target), file in seen.items()
            ]
        return self._relations

    @property
    def ingested(self) -> list[CatalogEntity]:
        """The entities a freshly started catalog holds."""
        return [entity for entity in self.entities if entity.ingested]

    @property
    def ok(self) -> bool:
        """No errors, conflicts, dropped entities or error-level problems."""
        return not (
            self.errors
            or self.conflicts
            or self.dropped
            or any(problem.is_error for problem in self.problems)
        )
