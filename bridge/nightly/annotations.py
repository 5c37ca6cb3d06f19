"""Azure Pipelines logging commands: problems as annotations, the report in the summary tab,
and the job's result when some organizations failed but the output is usable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from bridge.nightly.report import Report

# Annotations beyond this many add noise, not information: the report lists them all.
MAX_ANNOTATIONS = 100


def _escape(text: str) -> str:
    """Escape a value as the agent unescapes it (``%``, CR, LF, and ``;``/``]`` in
    properties)."""
    for raw, escaped in (("%", "%AZP25"), ("\r", "%0D"), ("\n", "%0A"), (";", "%3B"), ("]", "%5D")):
        text = text.replace(raw, escaped)
    return text


def _issue(kind: str, message: str, **properties: object) -> str:
    props = "".join(f"{key}={_escape(str(value))};" for key, value in properties.items())
    message = message.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A")
    return f"##vso[task.logissue type={kind};{props}]{message}\n"


def logging_commands(
    report: Report, *, summary: Path | None, published: bool, failed_run: bool
) -> Iterator[str]:
    """The lines to print on standard output in a pipeline step: each failure and new
    problem as an annotation (with file and line), the Markdown ``summary`` uploaded to the
    summary tab, and ``SucceededWithIssues`` when something failed yet the output was
    ``published`` and the run did not fail (``failed_run``)."""
    issues = [
        _issue("error", f"{scope.where}: {scope.reason} ({scope.stale:,} entities kept stale)")
        for scope in report.failed
    ]
    for problem in report.new_problems:
        path = f"{problem.repository}{problem.path or ''}"
        location = {"sourcepath": path}
        if problem.line is not None:
            location["linenumber"] = str(problem.line)
        if problem.column is not None:
            location["columnnumber"] = str(problem.column)
        kind = "error" if problem.severity == "error" else "warning"
        message = f"{path}: [{problem.rule}] {problem.message}"
        issues.append(_issue(kind, message, code=problem.rule, **location))
    yield from issues[:MAX_ANNOTATIONS]
    if len(issues) > MAX_ANNOTATIONS:
        yield _issue("warning", f"{len(issues) - MAX_ANNOTATIONS:,} more: see the change report")
    if summary is not None:
        yield f"##vso[task.uploadsummary]{summary.resolve()}\n"
    if report.failed and published and not failed_run:
        yield "##vso[task.complete result=SucceededWithIssues;]some organizations failed\n"
