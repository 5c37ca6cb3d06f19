"""Printing validation reports: text, JSON lines, GitHub and Azure Pipelines annotations."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridge.catalog.problems import DocumentReport, FileReport, Problem

FORMATS = ("text", "json", "github", "azure")
# One encoder for every document (json.dumps with options builds a new one per call).
_to_json = json.JSONEncoder(ensure_ascii=False).encode


def choose_format(requested: str | None, environ: Mapping[str, str]) -> str:
    """The explicit format, else the CI's own (GitHub Actions, Azure Pipelines), else text."""
    if requested:
        return requested
    if environ.get("GITHUB_ACTIONS") == "true":
        return "github"
    if environ.get("TF_BUILD", "").lower() == "true":
        return "azure"
    return "text"


@dataclass(slots=True)
class Summary:
    """Totals over a run."""

    files: int = 0
    documents: int = 0
    invalid: int = 0
    unreadable: int = 0  # files that could not be read or decoded at all
    errors: int = 0
    warnings: int = 0

    def __reduce__(self) -> tuple[type[Summary], tuple[int, ...]]:
        # Workers send one per file: plain arguments pickle faster than dataclass state.
        return Summary, (
            self.files,
            self.documents,
            self.invalid,
            self.unreadable,
            self.errors,
            self.warnings,
        )

    def add(self, report: FileReport) -> None:
        """Count one file's report."""
        self.files += 1
        for document in report.documents:
            errors = len(document.errors)
            self.errors += errors
            self.warnings += len(document.problems) - errors
            if document.index is None:
                self.unreadable += bool(errors)
                continue
            self.documents += 1
            if errors:
                self.invalid += 1

    def merge(self, other: Summary) -> None:
        """Add another summary's counts."""
        self.files += other.files
        self.documents += other.documents
        self.invalid += other.invalid
        self.unreadable += other.unreadable
        self.errors += other.errors
        self.warnings += other.warnings

    @property
    def ok(self) -> bool:
        """No errors anywhere."""
        return self.errors == 0

    def line(self) -> str:
        """One line for people."""
        valid = self.documents - self.invalid
        unreadable = f", {self.unreadable} unreadable" if self.unreadable else ""
        return (
            f"{_count(self.files, 'file')}, {_count(self.documents, 'document')}: "
            f"{valid} valid, {self.invalid} invalid{unreadable}; "
            f"{_count(self.errors, 'error')}, {_count(self.warnings, 'warning')}"
        )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' * (number != 1)}"


def _where(path: str, problem: Problem) -> str:
    if problem.line is None:
        return path
    return f"{path}:{problem.line}:{problem.column}"


def _problem_json(problem: Problem) -> dict[str, Any]:
    out: dict[str, Any] = {
        "line": problem.line,
        "column": problem.column,
        "rule": problem.rule,
        "message": problem.message,
    }
    if problem.stage is not None:
        out["stage"] = problem.stage
        out["backstage"] = problem.backstage
    return out


def document_json(path: str, document: DocumentReport) -> dict[str, Any]:
    """The JSON object for one document (``--format json``)."""
    out: dict[str, Any] = {
        "file": path,
        "index": document.index,
        "ok": document.ok,
        "apiVersion": document.api_version,
        "kind": document.kind,
        "namespace": document.namespace,
        "name": document.name,
        "ref": document.ref,
        "errors": [_problem_json(p) for p in document.errors],
        "warnings": [_problem_json(p) for p in document.warnings],
    }
    if document.empty:
        out["empty"] = True
    return out


def _escape_github(text: str, *, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _escape_azure(text: str, *, property_value: bool = False) -> str:
    text = text.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(";", "%3B").replace("]", "%5D")
    return text


def problem_line(fmt: str, path: str, problem: Problem) -> str:
    if fmt == "github":
        props = [f"file={_escape_github(path, property_value=True)}"]
        if problem.line is not None:
            props += [f"line={problem.line}", f"col={problem.column}"]
        props.append(f"title={_escape_github(problem.rule, property_value=True)}")
        return f"::{problem.severity} {','.join(props)}::{_escape_github(problem.message)}"
    if fmt == "azure":
        props = [
            f"type={problem.severity}",
            f"sourcepath={_escape_azure(path, property_value=True)}",
        ]
        if problem.line is not None:
            props += [f"linenumber={problem.line}", f"columnnumber={problem.column}"]
        props.append(f"code={_escape_azure(problem.rule, property_value=True)}")
        return f"##vso[task.logissue {';'.join(props)};]{_escape_azure(problem.message)}"
    return f"{_where(path, problem)}: {problem.severity} [{problem.rule}] {problem.message}"


def render(report: FileReport, fmt: str) -> tuple[str, Summary]:
    """What to print for one file (one JSON object per document, or one line per problem),
    and the file's counts for the summary. Runs in worker processes for large runs."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    lines: list[str] = []
    for document in report.documents:
        if fmt == "json":
            lines.append(_to_json(document_json(report.path, document)))
        else:
            lines.extend(problem_line(fmt, report.path, problem) for problem in document.problems)
    summary = Summary()
    summary.add(report)
    return ("\n".join(lines) + "\n" if lines else ""), summary
