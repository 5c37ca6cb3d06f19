"""Safe automatic fixes: only the fixed lines change, every other byte is kept, and the
result is what Backstage and the lint layer accept."""

from __future__ import annotations

import difflib

from bridge.catalog.validation import ValidationOptions, validate_text
from bridge.propose.fixes import fix_catalog
from tests.propose.conftest import WEB_CATALOG

TWO_DOCUMENTS = """\
apiVersion: backstage.io/v1alpha1   # comment kept
kind: API
metadata: {name: orders,  title: "Orders"}
spec:
    type: openapi
    lifecycle: production
    owner: team-a
    definition: 'openapi: 3.0.0'
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
"""


def _changed(before: str, after: str) -> tuple[list[str], list[str]]:
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(True), after.splitlines(True)):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def test_the_fix_touches_only_the_fixed_lines() -> None:
    crlf = WEB_CATALOG.replace("\n", "\r\n")
    fixed = fix_catalog(crlf, project="Shop", repository="web")
    assert fixed is not None
    removed, added = _changed(crlf, fixed.text)
    assert removed == [
        "    backstage.io/source-location: https://dev.azure.com/contoso/Shop/_git/web\r\n"
    ]
    assert added == [
        "    backstage.io/source-location: url:https://dev.azure.com/contoso/Shop/_git/web\r\n",
        "    dev.azure.com/project-repo: Shop/web\r\n",
    ]
    assert len(fixed.fixes) == 2
    assert "url:" in fixed.fixes[0] and "Shop/web" in fixed.fixes[1]


def test_fixed_files_are_valid_without_the_fixed_findings() -> None:
    fixed = fix_catalog(WEB_CATALOG, project="Shop", repository="web")
    assert fixed is not None
    [report] = validate_text(fixed.text, location="catalog-info.yaml", options=ValidationOptions())
    assert report.ok
    assert not [p for p in report.problems if p.rule in ("location-ref", "ado-project-repo")]


def test_only_repository_kinds_get_the_annotation_and_flow_style_stays() -> None:
    fixed = fix_catalog(TWO_DOCUMENTS, project="Sales Ops", repository="orders: v2")
    assert fixed is not None
    removed, added = _changed(TWO_DOCUMENTS, fixed.text)
    assert removed == ['metadata: {name: orders,  title: "Orders"}\n']
    [line] = added
    assert line.startswith("metadata: {name: orders,") and "'Sales Ops/orders: v2'" in line
    assert fixed.fixes == (
        "dev.azure.com/project-repo of document 1: added `Sales Ops/orders: v2`, "
        "the repository it lives in",
    )


def test_nothing_to_fix_or_not_loadable_gives_none() -> None:
    good = WEB_CATALOG.replace("https://", "url:https://").replace(
        "  annotations:\n", "  annotations:\n    dev.azure.com/project-repo: Shop/web\n"
    )
    assert fix_catalog(good, project="Shop", repository="web") is None
    assert fix_catalog("kind: [unclosed\n", project="Shop", repository="web") is None
    # A plain text that is not a URL is not guessed at.
    odd = good.replace("url:https://dev.azure.com/contoso/Shop/_git/web", "somewhere")
    assert fix_catalog(odd, project="Shop", repository="web") is None
