"""The JUnit report of a sync: one test case per repository's catalog check, one test
suite per organization, for ``PublishTestResults@2`` (``testResultsFormat: JUnit``).

``found`` passes; ``invalid`` fails with its errors; ``unreadable`` is an error; a missing
or skipped catalog file and a stale entity (not checked this run) are skipped. An
organization or project that could not be synced is an erroring test case of its suite.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any
from xml.etree import ElementTree as ET

from bridge.nightly.previous import Entity
from bridge.nightly.report import FailedScope


def _problems(entity: Entity, severity: str | None = None) -> str:
    catalog = entity["catalog"]
    return "\n".join(
        f"{catalog['path']}:{problem['line'] or 0}:{problem['column'] or 0}: "
        f"{problem['severity']} [{problem['rule']}] {problem['message']}"
        for problem in catalog["problems"]
        if severity is None or problem["severity"] == severity
    )


def _case(suite: ET.Element, entity: Entity, counts: dict[str, int]) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=f"{entity['organization']}.{entity['project']}",
        name=str(entity["name"]),
        file=str(entity["catalog"].get("path") or ""),
    )
    catalog: dict[str, Any] = entity["catalog"]
    status = catalog["status"]
    if entity.get("stale"):
        message = f"not checked this run (stale since {entity.get('synced_at')})"
        ET.SubElement(case, "skipped", message=message)
        counts["skipped"] += 1
    elif status == "invalid":
        errors = _problems(entity, "error")
        ET.SubElement(case, "failure", message=errors.split("\n", 1)[0]).text = _problems(entity)
        counts["failures"] += 1
    elif status == "unreadable":
        ET.SubElement(case, "error", message=str(catalog["reason"]))
        counts["errors"] += 1
    elif status in ("missing", "skipped"):
        ET.SubElement(case, "skipped", message=str(catalog["reason"]))
        counts["skipped"] += 1
    elif catalog["problems"]:
        ET.SubElement(case, "system-out").text = _problems(entity)


def render_junit(entities: Iterable[Entity], failed: Sequence[FailedScope] = ()) -> str:
    """The JUnit XML document (suites by ``profile/organization``, in name order)."""
    by_suite: dict[str, list[Entity]] = defaultdict(list)
    for entity in entities:
        by_suite[f"{entity['profile']}/{entity['organization']}"].append(entity)
    failures: dict[str, list[FailedScope]] = defaultdict(list)
    for scope in failed:
        failures[f"{scope.profile}/{scope.organization or '*'}"].append(scope)
    root = ET.Element("testsuites", name="catalog-bridge sync")
    for name in sorted(by_suite.keys() | failures.keys(), key=str.casefold):
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        suite = ET.SubElement(root, "testsuite", name=name)
        for scope in failures.get(name, ()):
            case = ET.SubElement(suite, "testcase", classname=name, name=f"sync {scope.where}")
            ET.SubElement(case, "error", message=scope.reason)
            counts["errors"] += 1
            counts["tests"] += 1
        for entity in by_suite.get(name, ()):
            _case(suite, entity, counts)
            counts["tests"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
