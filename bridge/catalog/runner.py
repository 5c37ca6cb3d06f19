"""The ``validate`` command's flow: find files, validate them, print, and decide the exit code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TextIO

from bridge.catalog.batch import validate_sources
from bridge.catalog.output import ReportWriter, choose_format
from bridge.catalog.sources import DEFAULT_GLOBS, discover
from bridge.catalog.validation import ValidationOptions
from bridge.errors import EXIT_OK, EXIT_PROBLEMS, UsageError


def run_validation(
    paths: Iterable[str],
    options: ValidationOptions,
    *,
    stream: TextIO,
    environ: Mapping[str, str],
    output_format: str | None = None,
    globs: Iterable[str] = (),
    jobs: int | None = None,
) -> int:
    """Validate ``paths`` and print the reports; returns the exit code (0 ok, 1 problems)."""
    sources = discover(paths, tuple(globs) or DEFAULT_GLOBS)
    if not sources:
        raise UsageError("no catalog files found (see --glob to match other file names)")
    writer = ReportWriter(stream, choose_format(output_format, environ))
    for report in validate_sources(sources, options, jobs=jobs):
        writer.write(report)
    summary = writer.finish()
    return EXIT_OK if summary.ok else EXIT_PROBLEMS
