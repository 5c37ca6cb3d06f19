"""The lint layer: what Backstage accepts but breaks tools and plugins.

These findings never change Backstage's verdict; they are warnings, or errors under
``strict``. Annotation formats follow what the Azure DevOps plugins and the catalog expect
(see the README's rule table).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from bridge.catalog.problems import ERROR, WARNING, DocumentReport, Problem

if TYPE_CHECKING:
    from bridge.catalog.validation import ValidationOptions

PROJECT_REPO = "dev.azure.com/project-repo"
HOST_ORG = "dev.azure.com/host-org"
README_PATH = "dev.azure.com/readme-path"
BUILD_DEFINITION = "dev.azure.com/build-definition"
PROJECT = "dev.azure.com/project"
LOCATION_REF_ANNOTATIONS = ("backstage.io/source-location", "backstage.io/techdocs-ref")
MANAGED_BY = ("backstage.io/managed-by-location", "backstage.io/managed-by-origin-location")
DEFAULT_RULE_KINDS = ("Component", "API", "Location")


def _severity(options: ValidationOptions) -> str:
    return ERROR if options.strict else WARNING


def _finding(
    options: ValidationOptions,
    rule: str,
    message: str,
    path: tuple[str | int, ...],
    *,
    at_key: bool = False,
) -> Problem:
    return Problem(_severity(options), rule, message, path=path, at_key=at_key)


def _parts(value: str) -> list[str]:
    return value.split("/")


def _annotation_findings(
    annotations: dict[str, Any], options: ValidationOptions
) -> Iterable[Problem]:
    def at(key: str) -> tuple[str, ...]:
        return ("metadata", "annotations", key)

    for key in MANAGED_BY:
        if key in annotations:
            yield _finding(
                options,
                "managed-by-location",
                f"{key} is set by the catalog itself; this hand-written value will be overwritten",
                at(key),
                at_key=True,
            )
    value = annotations.get(PROJECT_REPO)
    if isinstance(value, str) and not (len(_parts(value)) == 2 and all(_parts(value))):
        yield _finding(
            options,
            "ado-project-repo",
            f'Invalid value for annotation "{PROJECT_REPO}"; expected format is: '
            f'<project-name>/<repo-name>, found: "{value}"',
            at(PROJECT_REPO),
        )
    value = annotations.get(HOST_ORG)
    if isinstance(value, str) and not (len(_parts(value)) in (2, 3) and all(_parts(value))):
        yield _finding(
            options,
            "ado-host-org",
            f'Invalid value for annotation "{HOST_ORG}"; expected format is: '
            f'<host-name>/<organization-name>, found: "{value}"',
            at(HOST_ORG),
        )
    value = annotations.get(README_PATH)
    if isinstance(value, str) and not (value.startswith("/") and value.lower().endswith(".md")):
        yield _finding(
            options,
            "ado-readme-path",
            f'"{README_PATH}" must be an absolute path of a Markdown file in the repository, '
            f'such as /docs/README.md; found: "{value}"',
            at(README_PATH),
        )
    has_project = PROJECT in annotations or PROJECT_REPO in annotations
    if BUILD_DEFINITION in annotations and not has_project:
        yield _finding(
            options,
            "ado-build-definition",
            f'Value for annotation "{PROJECT}" was not found (needed by "{BUILD_DEFINITION}")',
            at(BUILD_DEFINITION),
            at_key=True,
        )
    if PROJECT in annotations and BUILD_DEFINITION not in annotations:
        yield _finding(
            options,
            "ado-build-definition",
            f'Value for annotation "{BUILD_DEFINITION}" was not found (needed with "{PROJECT}")',
            at(PROJECT),
            at_key=True,
        )
    for key in LOCATION_REF_ANNOTATIONS:
        value = annotations.get(key)
        if not isinstance(value, str):
            continue
        kind, separator, target = value.partition(":")
        kind = kind.strip()
        if kind in ("http", "https"):
            yield _finding(
                options,
                "location-ref",
                f"{key} is a plain URL; prefix it with 'url:', e.g. 'url:{value}'",
                at(key),
            )
        elif not separator or kind not in ("url", "dir") or not target.strip():
            yield _finding(
                options,
                "location-ref",
                f"{key} must be a location reference starting with 'url:' or 'dir:' "
                f"(e.g. 'url:https://dev.azure.com/org/project/_git/repo' or 'dir:.'); "
                f'found: "{value}"',
                at(key),
            )


def lint_entity(
    entity: dict[str, Any], ref: str, location: str, options: ValidationOptions
) -> list[Problem]:
    """Lint findings for one entity that passed Backstage's envelope check."""
    findings: list[Problem] = []
    annotations = entity["metadata"].get("annotations")
    if isinstance(annotations, dict):
        findings.extend(_annotation_findings(annotations, options))
    kind = entity["kind"]
    if options.catalog_rules and kind.lower() not in (k.lower() for k in DEFAULT_RULE_KINDS):
        findings.append(
            _finding(
                options,
                "catalog-rules",
                f"Entity {ref} at {location} is not of an allowed kind for that location "
                f"(the default catalog.rules allow only {', '.join(DEFAULT_RULE_KINDS)})",
                ("kind",),
            )
        )
    return findings


def empty_document(line: int, options: ValidationOptions) -> Problem:
    """A document with no content (Backstage silently ignores it)."""
    return Problem(
        _severity(options),
        "empty-document",
        "empty YAML document; Backstage ignores it",
        line,
        1,
    )


def empty_file(options: ValidationOptions) -> Problem:
    """A file without any document (Backstage silently yields no entity)."""
    return Problem(
        _severity(options), "empty-file", "the file holds no YAML document: no entity", 1, 1
    )


def duplicate_entities(reports: list[DocumentReport], options: ValidationOptions) -> None:
    """Flag each document that defines an entity an earlier document of the file defines."""
    first_seen: dict[str, int] = {}
    for report in reports:
        ref = report.ref
        if ref is None or report.index is None:
            continue
        if ref in first_seen:
            report.problems.append(
                _finding(
                    options,
                    "duplicate-entity",
                    f"entity {ref} is also defined in document {first_seen[ref]} of this file",
                    ("metadata", "name"),
                )
            )
        else:
            first_seen[ref] = report.index
