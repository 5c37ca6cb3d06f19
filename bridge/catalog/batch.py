"""Validate many catalog files: one by one for a handful, on every core for thousands."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor

from bridge.catalog.placeholders import PlaceholderContext
from bridge.catalog.problems import DocumentReport, FileReport
from bridge.catalog.sources import Source, read
from bridge.catalog.validation import ValidationOptions, validate_text

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
        source.path.parent if source.path is not None else None,
        source.root,
        options.strict_placeholders,
        options.max_bytes,
    )
    location = f"file:{source.display}"
    report.documents = validate_text(text, location=location, placeholders=context, options=options)
    return report


def _validate_chunk(chunk: Sequence[Source], options: ValidationOptions) -> list[FileReport]:
    reports = [validate_source(source, options) for source in chunk]
    for report in reports:
        for document in report.documents:
            document.entity = None  # not needed by the caller; spares pickling it back
    return reports


def default_jobs() -> int:
    """Worker processes to use: the cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def validate_sources(
    sources: Sequence[Source], options: ValidationOptions, *, jobs: int | None = None
) -> Iterator[FileReport]:
    """Reports in the order of ``sources``, computed in parallel when there are many."""
    jobs = default_jobs() if jobs is None else jobs
    if jobs <= 1 or len(sources) < PARALLEL_THRESHOLD or any(s.path is None for s in sources):
        for source in sources:
            yield validate_source(source, options)
        return
    chunks = [sources[i : i + _CHUNK] for i in range(0, len(sources), _CHUNK)]
    methods = multiprocessing.get_all_start_methods()
    # fork shares the already-imported validator with the workers: no start-up cost.
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        for reports in pool.map(_validate_chunk, chunks, [options] * len(chunks)):
            yield from reports
