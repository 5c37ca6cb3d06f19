"""Process a whole catalog from its root file, as a freshly started Backstage catalog would.

The loop follows Backstage 4.0.5 (``DefaultCatalogProcessingEngine`` with its orchestrator and
database layer): the root file becomes a generated Location; entities are processed breadth
first; an entity that passes its checks contributes the children its Location targets emit
(the first copy of a ref wins; the same file emitting it again replaces it; another file
claiming it is a conflict); an entity whose processing collects any error keeps none of its
output, so its children are dropped. Validation itself is :mod:`bridge.catalog.validation`'s.
"""

from __future__ import annotations

import gc
import pickle
import posixpath
import re
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from bridge.catalog.batch import PARALLEL_THRESHOLD, default_jobs, process_pool
from bridge.catalog.placeholders import PlaceholderContext
from bridge.catalog.problems import ERROR, WARNING, DocumentReport, Problem
from bridge.catalog.processing.cache import PICKLE_PROTOCOL, ParseCache, dumps, fingerprint
from bridge.catalog.processing.checks import lint_catalog
from bridge.catalog.processing.locations import TreeIndex, generated_name, resolve_target
from bridge.catalog.processing.model import (
    GENERATED_EMITTER,
    MANAGED_BY_LOCATION,
    MANAGED_BY_ORIGIN,
    CatalogEntity,
    CatalogError,
    CatalogProblem,
    CatalogResult,
    Conflict,
    Dropped,
    IngestedSource,
    ProcessingOptions,
)
from bridge.catalog.processing.relations import Reference, references
from bridge.catalog.processing.rules import allowed
from bridge.catalog.reader import CatalogReader
from bridge.catalog.sources import matches
from bridge.catalog.validation import validate_text

if TYPE_CHECKING:
    from concurrent.futures import Future

_CAUSE_FIELD = re.compile(r"; caused by spec\.[^:]+: ")
# Validation findings that the catalog engine reports in its own way.
_REPLACED_LINTS = frozenset(("duplicate-entity",))
# Files per task sent to a worker process: large tasks cost the main process less to send
# and collect (measured: 256 saves it a tenth of its time over 64 on 10,000 files), and every
# worker still gets several.
_CHUNK = 256
# Files read from the tree at once while workers validate: the first batch is small so that
# they start early, each next one twice as large so that few git processes are started.
_READ_BATCH = 512


@dataclass(slots=True)
class _Document:
    """One entity document of a catalog file, validated."""

    file: str
    report: DocumentReport  # its ``entity`` is None: the entity travels pickled, as ``written``
    ref: str
    # The entity as written, pickled where the file was parsed: sending, caching and loading
    # one bytes object costs a fraction of a tree of dicts, and a run decodes only the
    # Locations it follows.
    written: bytes
    # The references its relation fields write (parsed where the document is validated).
    references: list[Reference]


@dataclass(frozen=True, slots=True)
class _Failure:
    """A document the parser could not turn into an entity (Backstage: an error on the parent)."""

    file: str
    line: int | None
    column: int | None
    stage: str
    name: str
    message: str
    rule: str


@dataclass(slots=True)
class _Row:
    """An entity in the catalog's state (Backstage's ``refresh_state`` row)."""

    ref: str
    file: str | None
    line: int
    location_key: str
    emitted_by: str
    document: _Document | None  # None: the generated root Location
    processed: _Document | bool | None = False  # what was last processed (False: nothing)
    ok: bool = False
    errors: list[CatalogError] = field(default_factory=list)
    children: list[_Row] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """The entity's kind (the generated root is a Location)."""
        return "Location" if self.document is None else self.document.report.kind or ""


class _Engine:
    def __init__(self, reader: CatalogReader, root: str, options: ProcessingOptions) -> None:
        self.reader = reader
        self.root = root
        self.options = options
        self.absolute_root = options.absolute_root.rstrip("/") or ""
        self.root_abs = self.absolute(root)
        self.cwd_abs = self.absolute(options.cwd) if options.cwd else self.absolute_root or "/"
        self.index = TreeIndex(reader.files())
        # Catalog files are YAML; the orphan lint reads every one the Locations do not.
        self.yaml_files = [path for path in self.index.files if matches(path, options.orphan_globs)]
        self.rows: dict[str, _Row] = {}
        self.queue: deque[str] = deque()
        self.files: dict[str, list[_Document | _Failure]] = {}  # parsed (maybe ahead of time)
        self.reached: set[str] = set()  # read because a Location points at them
        self.conflicts: dict[tuple[str, str, str], Conflict] = {}
        self.problems: list[CatalogProblem] = []
        self.cache = _open_cache(reader, options)
        self.from_cache: set[str] = set()  # files whose documents the cache held
        # The Location Backstage generates for the registered root file, pickled as the
        # documents' entities are.
        self.root_name = generated_name(self.root_abs)
        root_entity = {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Location",
            "metadata": {
                "name": self.root_name,
                "annotations": {
                    MANAGED_BY_LOCATION: f"file:{self.root_abs}",
                    MANAGED_BY_ORIGIN: f"file:{self.root_abs}",
                },
            },
            "spec": {"type": "file", "target": self.root_abs},
        }
        self.root_written = pickle.dumps(root_entity, protocol=PICKLE_PROTOCOL)

    # -- paths --------------------------------------------------------------------------------
    def absolute(self, path: str) -> str:
        """A tree path as the absolute path Backstage would see."""
        return f"{self.absolute_root}/{path}" if path else self.absolute_root or "/"

    def relative(self, absolute: str) -> str | None:
        """An absolute path as a tree path; None when it is outside the tree."""
        prefix = f"{self.absolute_root}/"
        return absolute[len(prefix) :] if absolute.startswith(prefix) else None

    def shown(self, absolute: str) -> str:
        """How a path appears in the report: relative to the tree when inside it."""
        relative = self.relative(absolute)
        return absolute if relative is None else relative

    # -- reading ------------------------------------------------------------------------------
    def read(self, path: str) -> list[_Document | _Failure]:
        """The documents of a catalog file (read once)."""
        cached = self.files.get(path)
        if cached is None:
            cached = self.files[path] = self._parse(path)
        return cached

    def _parse(self, path: str) -> list[_Document | _Failure]:
        data = self.reader.read(path, self.options.validation.max_bytes)
        reader = self.reader if self.options.local_placeholders else None
        return _parse_file(path, data, self.absolute(path), self.options, reader)

    def prevalidate(self, paths: list[str]) -> None:
        """Read every catalog file ahead, and on many files validate them on every core
        (the engine then finds them parsed).

        Batches of files are read while workers validate the previous ones. Placeholders read
        through the reader cannot cross into worker processes, so with ``local_placeholders``
        files are validated as Locations reach them.
        """
        if self.cache is not None:
            paths = [path for path in paths if not self._from_cache(path)]
        max_bytes = self.options.validation.max_bytes
        jobs = default_jobs()
        if jobs <= 1 or len(paths) < PARALLEL_THRESHOLD or self.options.local_placeholders:
            self.reader.prefetch(paths, max_bytes)
            return
        chunk = min(_CHUNK, -(-len(paths) // (jobs * 4)))
        with process_pool(jobs) as pool:
            pending: list[Future[bytes]] = []
            start, size = 0, _READ_BATCH
            while start < len(paths):
                batch = paths[start : start + size]
                start, size = start + size, size * 2
                self.reader.prefetch(batch, max_bytes)
                work = []
                for path in batch:
                    try:
                        work.append((path, self.reader.read(path, max_bytes), self.absolute(path)))
                    except OSError:
                        continue  # reported when a Location reaches it
                pending += [
                    pool.submit(_parse_chunk, work[index : index + chunk], self.options)
                    for index in range(0, len(work), chunk)
                ]
            for future in pending:
                self.files.update(pickle.loads(future.result()))

    def _from_cache(self, path: str) -> bool:
        """Whether the file's documents were found in the cache (then they are known)."""
        assert self.cache is not None
        blob = self.reader.content_id(path)
        items = self.cache.get(path, blob) if blob is not None else None
        if items is None:
            return False
        self.files[path] = items
        self.from_cache.add(path)
        return True

    def _keep(self) -> None:
        """Keep every file's documents in the cache for the next run."""
        if self.cache is None:
            return
        for path, items in self.files.items():
            blob = self.reader.content_id(path) if path not in self.from_cache else None
            if blob is not None:
                self.cache.put(path, blob, items)
        self.cache.save()

    # -- the processing loop ------------------------------------------------------------------
    def run(self) -> CatalogResult:
        self.prevalidate(self.yaml_files)
        root_ref = f"location:default/{self.root_name}"
        root_row = _Row(
            root_ref,
            self.root,
            1,
            f"file:{self.root_abs}",
            GENERATED_EMITTER,
            None,
        )
        self.rows[root_ref] = root_row
        self.queue.append(root_ref)
        while self.queue:
            row = self.rows[self.queue.popleft()]
            if row.processed is not False and row.processed is row.document:
                continue  # unchanged since it was processed: Backstage's result-hash short-cut
            self.process(row)
        self._keep()
        return self.result(root_ref)

    def process(self, row: _Row) -> None:
        row.processed = row.document
        row.errors = []
        row.children = []
        row.ok = False
        document = row.document
        if document is not None:
            if document.report.problems:
                self.problems.extend(self._lints(document))
            first = _first_backstage_error(document.report)
            if first is not None and first.stage != "relations":
                row.errors.append(self._entity_error(row, first))
                return
        if row.kind == "Location":
            self.read_location(row)
        if document is not None:
            first = _first_backstage_error(document.report)
            if first is not None:  # relations: thrown after the Location step
                row.errors.append(self._entity_error(row, first))
                return
        for child in row.children:
            if not allowed(child.kind, partial(self._entity, child), self.options.rules):
                own = self.absolute(row.file or self.root)
                row.errors.append(
                    CatalogError(
                        child.file,
                        child.line,
                        None,
                        row.ref,
                        row.file,
                        "rules",
                        "NotAllowedError",
                        f"Entity {child.ref} at file:{own}, originated at file:{self.root_abs}, "
                        "is not of an allowed kind for that location",
                        "catalog-rules",
                    )
                )
                return
        if row.errors:
            return
        row.ok = True
        self.add_children(row)

    def read_location(self, row: _Row) -> None:
        """Backstage's special Location step: read every target into the row's children."""
        spec = self._entity(row).get("spec") or {}
        own = self.absolute(row.file or self.root)
        kind = spec.get("type", "file")
        presence = spec.get("presence", "required")
        if kind != "file":
            if kind == "url":
                self.problems.append(
                    CatalogProblem(
                        WARNING,
                        "location-url",
                        row.file,
                        row.line,
                        None,
                        f"{row.ref}: url targets are read by Backstage over the network; "
                        "not followed here",
                    )
                )
            else:
                row.errors.append(
                    self._location_error(
                        row,
                        row.file,
                        "readLocation",
                        "InputError",
                        'Registered locations must be of an allowed type ["url"]',
                        rule="location-type",
                    )
                )
            return
        targets = [spec["target"]] if spec.get("target") else []
        targets += spec.get("targets") or []
        for target in targets:
            if target.endswith("/"):
                row.errors.append(
                    self._location_error(
                        row,
                        row.file,
                        "readLocation",
                        "InputError",
                        f"LocationEntityProcessor cannot handle file type location with target "
                        f"{own} that ends with a path separator",
                        rule="location-target-folder",
                    )
                )
                continue
            if not target.startswith((".", "/")) and row.document is not None:
                self.problems.append(
                    CatalogProblem(
                        WARNING,
                        "location-target-cwd",
                        row.file,
                        row.line,
                        None,
                        f'target "{target}" does not start with "." so Backstage resolves it '
                        "against the backend's working directory, not this file's folder",
                    )
                )
            self.read_target(row, resolve_target(own, target, self.cwd_abs), presence)

    def read_target(self, row: _Row, absolute: str, presence: str) -> None:
        """FileReaderProcessor: glob the target, read and parse every match."""
        pattern = self.relative(absolute)
        shown = self.shown(absolute)
        matches = self.index.glob(pattern) if pattern is not None else []
        if not matches:
            if presence != "optional":
                row.errors.append(
                    self._location_error(
                        row,
                        shown,
                        "read",
                        "NotFoundError",
                        f"file {absolute} does not exist",
                        rule="location-target-missing",
                    )
                )
            return
        for match in matches:
            if match.is_dir:
                row.errors.append(
                    self._location_error(
                        row,
                        shown,
                        "read",
                        "Error",
                        f"file {absolute} could not be read, Error: EISDIR: illegal operation "
                        "on a directory, read",
                        rule="location-target-folder",
                    )
                )
                return  # the read loop stops at its first failure
            self.reached.add(match.path)
            try:
                items = self.read(match.path)
            except OSError as error:
                row.errors.append(
                    self._location_error(
                        row,
                        shown,
                        "read",
                        "Error",
                        f"file {absolute} could not be read, {error.strerror or error}",
                        rule="file-unreadable",
                    )
                )
                return
            key = f"file:{self.absolute(match.path)}"
            for item in items:
                if isinstance(item, _Failure):
                    row.errors.append(
                        CatalogError(
                            item.file,
                            item.line,
                            item.column,
                            row.ref,
                            row.file,
                            item.stage,
                            item.name,
                            item.message,
                            item.rule,
                        )
                    )
                elif item.ref != row.ref:  # Backstage ignores a child that is its parent
                    row.children.append(self._child(item, key, row))

    def _written(self, row: _Row) -> bytes:
        """The row's entity as written, pickled."""
        return self.root_written if row.document is None else row.document.written

    def _entity(self, row: _Row) -> dict[str, Any]:
        """The row's entity as written (decoded on each call)."""
        value: dict[str, Any] = pickle.loads(self._written(row))
        return value

    def _child(self, document: _Document, key: str, parent: _Row) -> _Row:
        return _Row(
            document.ref,
            document.file,
            document.report.line,
            key,
            parent.ref,
            document,
        )

    def add_children(self, parent: _Row) -> None:
        """Backstage's ``addUnprocessedEntities``: insert, replace (same location key), or
        refuse as a conflict."""
        for child in parent.children:
            existing = self.rows.get(child.ref)
            if existing is None:
                self.rows[child.ref] = child
                self.queue.append(child.ref)
            elif existing.location_key == child.location_key:
                existing.document = child.document
                existing.line = child.line
                existing.emitted_by = child.emitted_by
                self.queue.append(child.ref)
            else:
                conflict_key = (child.ref, child.location_key, existing.location_key)
                if conflict_key not in self.conflicts:
                    self.conflicts[conflict_key] = Conflict(
                        child.ref,
                        child.file,
                        child.line,
                        existing.file,
                        existing.line,
                        child.location_key,
                        existing.location_key,
                        parent.ref,
                        existing.emitted_by,
                        f"Detected conflicting entityRef {child.ref} already referenced by "
                        f"{existing.location_key} and now also {child.location_key}",
                    )

    # -- errors -------------------------------------------------------------------------------
    def _location_error(
        self, row: _Row, file: str | None, stage: str, name: str, message: str, *, rule: str
    ) -> CatalogError:
        line = row.line if file == row.file else None
        return CatalogError(file, line, None, row.ref, row.file, stage, name, message, rule)

    def _entity_error(self, row: _Row, problem: Problem) -> CatalogError:
        stage, message = _catalog_message(problem)
        return CatalogError(
            row.file,
            problem.line,
            problem.column,
            row.ref,
            row.file,
            stage,
            "InputError",
            message,
            problem.rule,
        )

    def _lints(self, document: _Document) -> Iterator[CatalogProblem]:
        """The validation warnings of a processed document (catalog-bridge's lint)."""
        for problem in document.report.problems:
            if problem.stage is not None:
                continue
            if problem.rule in _REPLACED_LINTS:
                yield CatalogProblem(
                    ERROR,
                    "duplicate-in-file",
                    document.file,
                    problem.line,
                    problem.column,
                    f"{problem.message}; Backstage silently keeps only the last copy",
                )
            else:
                yield CatalogProblem(
                    problem.severity,
                    problem.rule,
                    document.file,
                    problem.line,
                    problem.column,
                    problem.message,
                )

    # -- the result ---------------------------------------------------------------------------
    def result(self, root_ref: str) -> CatalogResult:
        result = CatalogResult(self.root, root_ref, files_read=set(self.reached))
        ingested = {ref for ref, row in self.rows.items() if row.ok}
        origin = f"file:{self.root_abs}"
        for row in self.rows.values():
            namespace, name = "default", self.root_name
            if row.document is not None:
                report = row.document.report
                namespace, name = report.namespace or "default", str(report.name)
            result.entities.append(
                CatalogEntity(
                    row.ref,
                    row.kind,
                    namespace,
                    name,
                    row.file,
                    row.line,
                    row.ok,
                    row.emitted_by,
                    row.location_key,
                    self._written(row),
                    origin,
                    len(row.errors),
                )
            )
            result.errors.extend(row.errors)
            if not row.ok:
                result.dropped.extend(
                    Dropped(
                        child.ref,
                        child.file,
                        child.line,
                        row.ref,
                        row.file,
                        child.ref in ingested,
                    )
                    for child in row.children
                )
        # Each ingested entity's references, parsed once for the relations and the lints.
        result.sources = [
            IngestedSource(
                row.ref, row.document.file, row.document.report.index, row.document.references
            )
            for row in self.rows.values()
            if row.ok and row.document is not None
        ]
        result.conflicts = list(self.conflicts.values())
        result.problems = self.problems
        result.problems.extend(lint_catalog(self.reader, self.yaml_files, result, self.options))
        return result


def _open_cache(
    reader: CatalogReader, options: ProcessingOptions
) -> ParseCache[list[_Document | _Failure]] | None:
    """The per-file cache of this tree, when it has one and the options allow it."""
    folder = reader.cache_dir
    # Placeholders read through the reader make a file's results depend on other files.
    if not options.cache or folder is None or options.local_placeholders:
        return None
    return ParseCache(folder / "parsed", fingerprint(options.validation, options.absolute_root))


def _parse_file(
    path: str,
    data: bytes | int,
    absolute: str,
    options: ProcessingOptions,
    reader: CatalogReader | None,
) -> list[_Document | _Failure]:
    """The documents of one catalog file, validated, as Backstage's parser yields them."""
    validation = options.validation
    if isinstance(data, int):
        message = (
            f"file {absolute} could not be read, the file is {data} bytes, over the "
            f"{validation.max_bytes}-byte limit"
        )
        return [_Failure(path, None, None, "read", "Error", message, "file-too-large")]
    # Backstage reads with Node's 'utf8': invalid bytes become U+FFFD.
    text = data.decode("utf-8", errors="replace")
    context = PlaceholderContext(
        posixpath.dirname(path),
        None,
        validation.strict_placeholders,
        validation.max_bytes,
        reader=reader,
        file_location=None if reader is not None else absolute,
    )
    reports = validate_text(
        text, location=f"file:{absolute}", placeholders=context, options=validation
    )
    items: list[_Document | _Failure] = []
    for report in reports:
        first = _first_backstage_error(report)
        if first is not None and first.stage == "parse":
            message = first.backstage or first.message
            items.append(
                _Failure(path, first.line, first.column, "parse", "Error", message, first.rule)
            )
        elif report.entity is not None and report.ref is not None:
            refs = list(references(report.entity, report.kind or "")) if first is None else []
            written = pickle.dumps(report.entity, protocol=PICKLE_PROTOCOL)
            report.entity = None  # sent once, as ``written``
            items.append(_Document(path, report, report.ref, written, refs))
        elif first is not None:  # the envelope: the collector refuses the entity
            # ajv's errors are TypeErrors; the collector's own annotations check is an Error.
            name = "Error" if first.path == ("metadata", "annotations") else "TypeError"
            message = first.backstage or first.message
            items.append(
                _Failure(path, first.line, first.column, "emit-envelope", name, message, first.rule)
            )
    return items


def _parse_chunk(chunk: list[tuple[str, bytes | int, str]], options: ProcessingOptions) -> bytes:
    """A worker process's share of :meth:`_Engine.prevalidate`: path -> documents, pickled as
    the cache pickles them (quicker for the main process to load than plain pickling)."""
    return dumps(
        {path: _parse_file(path, data, absolute, options, None) for path, data, absolute in chunk}
    )


def _first_backstage_error(report: DocumentReport) -> Problem | None:
    """The error Backstage reports for a document, if any."""
    for problem in report.problems:
        if problem.is_error and problem.stage is not None:
            return problem
    return None


def _catalog_message(problem: Problem) -> tuple[str, str]:
    """(stage, message) of an entity's error as the catalog's processing words it.

    ``validate`` reports the cause of an error as Backstage's validators word it; the
    processing engine wraps it in the error it throws (``; caused by Error: …``).
    """
    text = problem.backstage or problem.message
    if problem.stage == "placeholder":
        return (
            "preprocess",
            f"Processor PlaceholderProcessor threw an error while preprocessing; caused by Error: "
            f"{text}",
        )
    if problem.stage == "policy":
        return "policy", text.replace("; caused by ", "; caused by Error: ", 1)
    if problem.stage == "relations":
        return "postprocess", _CAUSE_FIELD.sub("; caused by Error: ", text, count=1)
    return "validate", text.replace("; caused by ", "; caused by TypeError: ", 1)


def process_catalog(reader: CatalogReader, root: str, options: ProcessingOptions) -> CatalogResult:
    """Process the catalog registered as ``file`` location ``root`` (a path in ``reader``)
    as a freshly started Backstage catalog would, plus catalog-bridge's lints."""
    with collector_paused():
        return _Engine(reader, root, options).run()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector for a whole-catalog run.

    The run allocates many small objects and frees none: the collector's passes over the
    growing heap cost a third of the time and would find nothing. A caller that prints the
    result keeps it paused until the result is freed, or the first collection afterwards
    walks every object of the result once more.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
