"""Fixtures meant to be valid stay valid, with no warning, even under --strict."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.catalog.batch import validate_source
from bridge.catalog.sources import Source
from bridge.catalog.validation import ValidationOptions

ROOT = Path(__file__).resolve().parents[2]
VALID = sorted((ROOT / "tests" / "fixtures" / "valid").glob("*.yaml")) + sorted(
    (ROOT / "templates").glob("**/*.yaml")
)


@pytest.mark.parametrize("path", VALID, ids=lambda p: str(p.relative_to(ROOT)))
def test_is_valid_without_warnings_under_strict(path: Path) -> None:
    report = validate_source(
        Source(str(path), str(path), str(path.parent)), ValidationOptions(strict=True)
    )
    assert report.documents, "no document read"
    for document in report.documents:
        assert document.problems == [], document.problems
        assert document.ok
