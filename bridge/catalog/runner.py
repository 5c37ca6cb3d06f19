"""The ``validate`` command's flow: find files, validate them, print, and decide the exit code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from typing import TextIO

from bridge.catalog.batch import validate_sources
from bridge.catalog.output import Summary, choose_format, render
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
    fmt = choose_format(output_format, environ)
    summary = Summary()
    # Reports are rendered where they are made (in the workers, for large runs).
    for text, counts in validate_sources(
        sources, options, jobs=jobs, transform=partial(render, fmt=fmt)
    ):
        stream.write(text)
        summary.merge(counts)
    if not summary.files:
        raise UsageError("no catalog files found (see --glob to match other file names)")
    if fmt != "json":  # JSON output stays one object per line
        stream.write(summary.line() + "\n")
    return EXIT_OK if summary.ok else EXIT_PROBLEMS
