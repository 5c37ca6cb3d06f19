"""The provenance report: per repository, each inferred value and where it came from."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bridge.generate.infer import Provenance
from bridge.generate.plan import GeneratedFile, GenerationPlan, Skipped

_ORDER = (
    "name",
    "title",
    "description",
    "type",
    "lifecycle",
    "owner",
    "system",
    "project_repo",
    "host_org",
    "source_location",
    "template",
)


def _ordered(values: Mapping[str, Provenance]) -> list[tuple[str, Provenance]]:
    rank = {key: index for index, key in enumerate(_ORDER)}
    return sorted(values.items(), key=lambda item: (rank.get(item[0], len(_ORDER)), item[0]))


def _where(item: GeneratedFile | Skipped) -> str:
    return f"{item.organization}/{item.project}/{item.repository}"


def render_text(plan: GenerationPlan, written: Mapping[str, str] | None = None) -> str:
    """The report for people. ``written`` maps a repository id to where its file went."""
    lines: list[str] = []
    for file in plan.files:
        place = (written or {}).get(file.repository_id)
        lines.append(f"{_where(file)}: {file.entity_ref}" + (f" -> {place}" if place else ""))
        lines.extend(_value_lines(file.values))
    for skipped in plan.skipped:
        lines.append(f"{_where(skipped)}: no file: {skipped.reason}")
        lines.extend(_value_lines(skipped.values))
    count = len(plan.files)
    lines.append(
        f"{count} catalog file{'s' if count != 1 else ''} generated; "
        f"{len(plan.skipped)} repositor{'ies' if len(plan.skipped) != 1 else 'y'} without one."
    )
    return "\n".join(lines) + "\n"


def _value_lines(values: Mapping[str, Provenance]) -> list[str]:
    return [
        f"  {key}: {'-' if item.value is None else item.value}  [{item.source}]"
        for key, item in _ordered(values)
    ]


def _values_json(values: Mapping[str, Provenance]) -> dict[str, Any]:
    return {key: {"value": item.value, "source": item.source} for key, item in _ordered(values)}


def report_data(
    plan: GenerationPlan, written: Mapping[str, str] | None = None
) -> dict[str, Sequence[dict[str, Any]]]:
    """The report as JSON-ready data: ``files`` and ``skipped``."""
    return {
        "files": [
            {
                "organization": file.organization,
                "project": file.project,
                "repository": file.repository,
                "repository_id": file.repository_id,
                "path": file.path,
                "entity_ref": file.entity_ref,
                "template": file.template,
                "written_to": (written or {}).get(file.repository_id),
                "values": _values_json(file.values),
            }
            for file in plan.files
        ],
        "skipped": [
            {
                "organization": item.organization,
                "project": item.project,
                "repository": item.repository,
                "repository_id": item.repository_id,
                "reason": item.reason,
                "values": _values_json(item.values),
            }
            for item in plan.skipped
        ],
    }


def render_json(plan: GenerationPlan, written: Mapping[str, str] | None = None) -> str:
    """The report for machines: one JSON document (see :func:`report_data`)."""
    return json.dumps(report_data(plan, written), indent=2, ensure_ascii=False) + "\n"
