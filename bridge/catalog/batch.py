"""Validate many catalog files: one by one for a handful, on every core for thousands."""

from __future__ import annotations

import collections
import gc
import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from bridge.catalog.placeholders import PlaceholderContext
from bridge.catalog.problems import DocumentReport, FileReport
from bridge.catalog.sources import Source, read
from bridge.catalog.validation import ValidationOptions, validate_text

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

# Below this many files a process pool costs more than it saves (a pre-commit hook run).
PARALLEL_THRESHOLD = 200
_CHUNK = 64


def validate_source(source: Source, options: ValidationOptions) -> FileReport:
    """Read and validate one file; unreadable files get a file-level problem."""
    text = read(source, options.max_bytes)
    report = FileReport(source.display)
    if not isinstance(text, str):
        report.documents.append(DocumentReport(None, 1, problems=[text]))
        return report
    context = PlaceholderContext(
        os.path.dirname(source.path) or "." if source.path is not None else None,
        source.root,
        options.strict_placeholders,
        options.max_bytes,
    )
    location = f"file:{source.display}"
    report.documents = validate_text(text, location=location, placeholders=context, options=options)
    return report


T = TypeVar("T")


def _validate_chunk(
    chunk: Sequence[tuple[str, str | None, str | None]],
    options: ValidationOptions,
    transform: Callable[[FileReport], T],
) -> list[T]:
    # Sources travel as plain tuples: pickling them is several times cheaper than pickling
    # dataclass instances, and the main process pickles every one.
    return [transform(validate_source(Source(*fields), options)) for fields in chunk]


def default_jobs() -> int:
    """Worker processes to use: the cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def process_pool(jobs: int) -> ProcessPoolExecutor:
    """A pool of ``jobs`` worker processes, forked where the platform can: fork shares the
    already-imported validator with the workers, so they cost no start-up."""
    # Imported here: a hook run on a few files should not pay for them.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    return ProcessPoolExecutor(max_workers=jobs, mp_context=context)


def validate_sources(
    sources: Iterable[Source],
    options: ValidationOptions,
    *,
    jobs: int | None = None,
    transform: Callable[[FileReport], T],
) -> Iterator[T]:
    """``transform(report)`` for each source, in order; in parallel when there are many.

    ``transform`` runs where the report is made, so a large run can send back rendered text
    instead of report objects. ``sources`` is consumed lazily.
    """
    jobs = default_jobs() if jobs is None else jobs
    pending = iter(sources)
    first = list(itertools.islice(pending, PARALLEL_THRESHOLD))
    if jobs <= 1 or len(first) < PARALLEL_THRESHOLD or any(s.path is None for s in first):
        for source in itertools.chain(first, pending):
            yield transform(validate_source(source, options))
        return
    # What is imported by now lives as long as the process: keep the collector from walking
    # it again in every worker (which would also copy the shared memory pages).
    gc.freeze()
    try:
        with process_pool(jobs) as pool:
            queued: collections.deque[Future[list[T]]] = collections.deque()
            everything = itertools.chain(first, pending)
            # Work starts with the first chunk while the rest of the tree is still listed.
            while chunk := list(itertools.islice(everything, _CHUNK)):
                fields = [(source.display, source.path, source.root) for source in chunk]
                queued.append(pool.submit(_validate_chunk, fields, options, transform))
                while queued and queued[0].done():
                    yield from queued.popleft().result()
            while queued:
                yield from queued.popleft().result()
    finally:
        gc.unfreeze()
