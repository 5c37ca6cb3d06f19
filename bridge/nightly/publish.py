"""One published output's nightly bookkeeping, shared by ``sync`` and ``merge``.

A :class:`Publication` loads the previous run's entities (within the run's scope), stamps
each entity it is handed (``stale``, ``synced_at``), and at the end carries the stale
entities of failed organizations and projects over, computes the change report, applies the
shrink guard, writes the report and JUnit files, and says what the exit code is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from bridge.errors import EXIT_OK, EXIT_PROBLEMS, InputError, ShrinkError
from bridge.nightly.annotations import logging_commands
from bridge.nightly.guards import (
    DEFAULT_FAIL_ON,
    carry_stale,
    check_shrink,
    fail_on_matches,
    stamp,
    timestamp,
)
from bridge.nightly.junit import render_junit
from bridge.nightly.previous import (
    Entity,
    Previous,
    PreviousEntities,
    entity_key,
    load_previous,
)
from bridge.nightly.report import (
    REPORT_FORMATS,
    Comparison,
    FailedScope,
    Report,
    render_oneline,
)
from bridge.nightly.shard import Scope
from bridge.sync.output import STDOUT, write_text_atomically


@dataclass(frozen=True, slots=True)
class NightlyOptions:
    """The nightly options of ``sync`` and ``merge``."""

    previous: str | None = None  # the previous output; default: the output being replaced
    report: str | None = None  # where to write the change report
    report_format: str = "md"  # a key of REPORT_FORMATS
    junit: str | None = None  # where to write the JUnit file
    annotate: bool = False  # print Azure Pipelines logging commands on standard output
    max_shrink: float | None = None  # a fraction; None: no guard
    accept_shrink: bool = False
    fail_on: frozenset[str] | None = None  # None: DEFAULT_FAIL_ON
    started: datetime | None = None  # synced_at of what changed; default: now
    state: PreviousEntities | None = None  # a sync's state run, instead of the previous output


@dataclass(slots=True)
class Conclusion:
    """How a publication ended: its report, and the shrink guard's refusal if any."""

    report: Report
    refused: ShrinkError | None
    matched: list[str]  # --fail-on conditions met

    @property
    def exit_code(self) -> int:
        """1 when a ``--fail-on`` condition is met, else 0 (the refusal is raised)."""
        return EXIT_PROBLEMS if self.matched else EXIT_OK


class Publication:
    """The entities of one output on their way out."""

    def __init__(
        self, options: NightlyOptions, scope: Scope, output: str | None, *, readable: bool
    ) -> None:
        """``output``: the destination; ``readable``: whether its format can be read back as
        the previous entities (not a table)."""
        self.options = options
        self.output = output if output not in (None, STDOUT) else None
        if options.previous is not None or options.state is not None:
            self.previous = load_previous(options.state, options.previous, scope.covers)
        else:
            self.previous = self._replaced(readable, scope)
        self.started = timestamp(options.started or datetime.now(UTC))
        # The report is computed as the entities pass; only the JUnit file lists them all.
        self._comparison = Comparison(self.previous)
        self._junit: list[Entity] | None = [] if options.junit is not None else None

    def _replaced(self, readable: bool, scope: Scope) -> Previous:
        """The entities of the output about to be replaced (those within ``scope``): the
        previous run's by default. A file that is not an output of catalog-bridge (or a
        table) gives none (the report says there was nothing to compare with): it is replaced
        all the same, as before there were nightly runs; ``--previous`` names a file that
        must be one."""
        if self.output is None or not readable:
            return Previous()
        try:
            return load_previous(None, self.output, scope.covers)
        except InputError:
            return Previous()

    def read(self, entity: Entity) -> Entity:
        """Stamp an entity read this run (``stale``, ``synced_at``) and count it in the
        report."""
        before = self.previous.get(entity_key(entity))  # decoded once, for both
        return self._count(stamp(entity, before, self.started), before)

    def keep(self, entity: Entity) -> Entity:
        """Count an entity already stamped (a shard's) in the report."""
        return self._count(entity, self.previous.get(entity_key(entity)))

    def _count(self, entity: Entity, before: Entity | None) -> Entity:
        self._comparison.add(entity, before)
        if self._junit is not None:
            self._junit.append(entity)
        return entity

    def conclude(
        self,
        failures: Sequence[FailedScope],
        write: Callable[[Entity], None],
        catalogs: Sequence[Mapping[str, Any]] = (),
    ) -> Conclusion:
        """Carry stale entities over (through ``write``), compute the report, apply the
        shrink guard and write the report and JUnit files. ``catalogs``: the outcomes of
        the catalog repositories (``backstage.catalog``) the report lists."""
        stale, failed = carry_stale(self.previous, set(self._comparison.seen), failures)
        for entity in stale:
            write(self.keep(entity))
        report = self._comparison.finish(failed)
        report.catalogs = [dict(catalog) for catalog in catalogs]
        options = self.options
        refused = None
        try:
            check_shrink(
                len(self.previous),
                report.current,
                options.max_shrink,
                accept=options.accept_shrink,
                where=self.output or "standard output",
            )
        except ShrinkError as error:
            refused = error
        if options.report is not None:
            text = REPORT_FORMATS[options.report_format](report)
            write_text_atomically(options.report, text)
        if options.junit is not None and self._junit is not None:
            write_text_atomically(options.junit, render_junit(self._junit, report.failed))
        matched = fail_on_matches(report, options.fail_on or DEFAULT_FAIL_ON)
        if options.fail_on is not None and not options.fail_on:
            matched = []
        return Conclusion(report, refused, matched)

    def announce(
        self, conclusion: Conclusion, *, published: bool, stdout: TextIO, stderr: TextIO
    ) -> None:
        """The one-line report on ``stderr`` (when there is something to compare with or a
        report was asked for); with ``annotate``, the logging commands on ``stdout``
        (``published``: whether the output was replaced)."""
        if conclusion.report.has_previous or self.options.report is not None:
            stderr.write(render_oneline(conclusion.report) + "\n")
        if self.options.annotate:
            markdown = self.options.report if self.options.report_format == "md" else None
            for line in logging_commands(
                conclusion.report,
                summary=None if markdown is None else Path(markdown),
                published=published,
                failed_run=bool(conclusion.matched),
            ):
                stdout.write(line)
            stdout.flush()
