"""Printing a processed catalog: text, NDJSON (the processing oracle's line types and field
names, plus ``problem`` lines), GitHub and Azure Pipelines annotations."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bridge.catalog.output import problem_line
from bridge.catalog.problems import ERROR, WARNING, Problem
from bridge.catalog.processing.model import CatalogResult

_DROPPED = (
    "not ingested: its parent {parent} failed processing, so the catalog keeps none of the "
    "parent's output"
)


@dataclass(frozen=True, slots=True)
class Counts:
    """What a run found, for the summary line and the exit code."""

    entities: int
    ingested: int
    errors: int
    dropped: int
    conflicts: int
    problem_errors: int
    warnings: int

    @property
    def ok(self) -> bool:
        """Nothing that fails the run."""
        return not (self.errors or self.dropped or self.conflicts or self.problem_errors)


def counts(result: CatalogResult, *, strict: bool) -> Counts:
    """Totals; with ``strict`` every warning counts as an error."""
    problem_errors = sum(1 for p in result.problems if p.is_error or strict)
    return Counts(
        len(result.entities),
        len(result.ingested),
        len(result.errors),
        len(result.dropped),
        len(result.conflicts),
        problem_errors,
        len(result.problems) - problem_errors,
    )


def json_lines(result: CatalogResult, *, strict: bool) -> Iterator[dict[str, Any]]:
    """One object per entity, relation, error, dropped entity, conflict and problem, then
    the summary; field names as the processing oracle prints them."""
    for entity in sorted(result.entities, key=lambda e: e.ref):
        line: dict[str, Any] = {
            "type": "entity",
            "ref": entity.ref,
            "kind": entity.kind,
            "namespace": entity.namespace,
            "name": entity.name,
            "file": entity.file,
            "line": entity.line,
            "ingested": entity.ingested,
            "emittedBy": entity.emitted_by,
            "locationKey": entity.location_key,
        }
        if not entity.ingested:
            line["reason"] = "processing failed; not stored on a fresh catalog"
            line["errorCount"] = entity.error_count
        yield line
    for relation in sorted(result.relations, key=lambda r: (r.source, r.type, r.target)):
        yield {
            "type": "relation",
            "source": relation.source,
            "relation": relation.type,
            "target": relation.target,
            "file": relation.file,
            "sourceExists": relation.source_exists,
            "targetExists": relation.target_exists,
        }
    for error in sorted(result.errors, key=lambda e: (e.file or "", e.entity_ref, e.message)):
        yield {
            "type": "error",
            "file": error.file,
            "line": error.line,
            "column": error.column,
            "entityRef": error.entity_ref,
            "entityFile": error.entity_file,
            "stage": error.stage,
            "name": error.name,
            "message": error.message,
            "rule": error.rule,
        }
    for dropped in sorted(result.dropped, key=lambda d: (d.ref, d.file or "", d.parent_ref)):
        yield {
            "type": "dropped",
            "ref": dropped.ref,
            "file": dropped.file,
            "line": dropped.line,
            "parentRef": dropped.parent_ref,
            "parentFile": dropped.parent_file,
            "existsViaOtherParent": dropped.exists_via_other_parent,
            "message": _DROPPED.format(parent=dropped.parent_ref),
        }
    for conflict in sorted(result.conflicts, key=lambda c: (c.ref, c.file or "")):
        yield {
            "type": "conflict",
            "ref": conflict.ref,
            "file": conflict.file,
            "line": conflict.line,
            "existingFile": conflict.existing_file,
            "existingLine": conflict.existing_line,
            "newLocationKey": conflict.new_location_key,
            "existingLocationKey": conflict.existing_location_key,
            "emittedBy": conflict.emitted_by,
            "existingEmittedBy": conflict.existing_emitted_by,
            "sameParent": conflict.same_parent,
            "message": conflict.message,
        }
    for problem in result.problems:
        yield {
            "type": "problem",
            "severity": ERROR if strict else problem.severity,
            "rule": problem.rule,
            "file": problem.file,
            "line": problem.line,
            "column": problem.column,
            "message": problem.message,
        }
    totals = counts(result, strict=strict)
    yield {
        "type": "summary",
        "root": result.root,
        "entities": totals.entities,
        "ingested": totals.ingested,
        "relations": len(result.relations),
        "errors": totals.errors,
        "conflicts": totals.conflicts,
        "dropped": totals.dropped,
        "problems": len(result.problems),
    }


def _findings(result: CatalogResult, *, strict: bool) -> Iterator[tuple[str, Problem]]:
    """Everything to show people, as (file, problem) in the order of the file's lines."""
    found: list[tuple[str, Problem]] = []

    def problem(
        severity: str, rule: str, message: str, line: int | None, column: int | None
    ) -> Problem:
        # A finding with a line but no column points at the line's start.
        return Problem(severity, rule, message, line, column or (1 if line else None))

    # An error about another file (a missing target) also names the line of the entity it fails.
    lines = {entity.ref: entity.line for entity in result.entities} if result.errors else {}
    for error in result.errors:
        message = error.message
        if error.file != error.entity_file:
            line = lines.get(error.entity_ref)
            where = f"{error.entity_file}:{line}" if line else str(error.entity_file)
            message += f" (fails {error.entity_ref} in {where})"
        found.append(
            (error.file or "?", problem(ERROR, error.rule, message, error.line, error.column))
        )
    for dropped in result.dropped:
        note = " (it is in the catalog through another Location)"
        message = (
            f"{dropped.ref} is dropped: its parent {dropped.parent_ref} "
            f"({dropped.parent_file}) failed, so Backstage keeps none of its entities"
            f"{note if dropped.exists_via_other_parent else ''}"
        )
        found.append((dropped.file or "?", Problem(ERROR, "dropped", message, dropped.line, 1)))
    for conflict in result.conflicts:
        message = (
            f"{conflict.ref} is also defined in {conflict.existing_file}:"
            f"{conflict.existing_line}; Backstage keeps that copy and drops this one"
        )
        found.append((conflict.file or "?", Problem(ERROR, "conflict", message, conflict.line, 1)))
    for finding in result.problems:
        severity = ERROR if strict else finding.severity
        found.append(
            (
                finding.file or "?",
                problem(severity, finding.rule, finding.message, finding.line, finding.column),
            )
        )
    found.sort(key=lambda item: (item[0], item[1].line or 0, item[1].column or 0))
    return iter(found)


def render(result: CatalogResult, fmt: str, *, strict: bool = False) -> str:
    """The whole report in ``fmt`` (text, json, github or azure)."""
    if fmt == "json":
        return "".join(
            json.dumps(line, ensure_ascii=False) + "\n"
            for line in json_lines(result, strict=strict)
        )
    lines = [problem_line(fmt, file, problem) for file, problem in _findings(result, strict=strict)]
    if fmt == "text":
        lines.append(summary_line(result, strict=strict))
    return "".join(line + "\n" for line in lines)


def summary_line(result: CatalogResult, *, strict: bool) -> str:
    """One line for people."""
    totals = counts(result, strict=strict)
    return (
        f"{result.root}: {totals.ingested} of {totals.entities} entities ingested; "
        f"{_count(totals.errors, 'error')}, {totals.dropped} dropped, "
        f"{_count(totals.conflicts, 'conflict')}, "
        f"{_count(totals.problem_errors + totals.warnings, 'other problem')} "
        f"({_count(totals.warnings, WARNING)})"
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' * (number != 1)}"
