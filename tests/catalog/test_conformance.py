"""The conformance suite: our verdict and first error equal the oracle's recorded ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.catalog.batch import validate_source
from bridge.catalog.sources import Source
from bridge.catalog.validation import ValidationOptions
from tests.support.compare import mismatch
from tests.support.conformance import FIXTURES, fixture_files, recorded, relative, summarize
from tests.support.oracle import Oracle

RECORDED = recorded()


@pytest.mark.parametrize("path", fixture_files(), ids=relative)
def test_matches_recorded_oracle_verdicts(path: Path) -> None:
    report = validate_source(Source(relative(path), str(path), str(FIXTURES)), ValidationOptions())
    expected = RECORDED[relative(path)]
    ours = {document.index: document for document in report.documents}
    assert sorted(ours, key=lambda index: -1 if index is None else index) == [
        row["index"] for row in expected
    ]
    problems = [
        f"document {row['index']}: {why}"
        for row in expected
        if (why := mismatch(ours.get(row["index"]), row))
    ]
    assert not problems, "\n".join(problems)


def test_every_stage_and_rule_is_exercised() -> None:
    firsts = [
        row["first_error"] for rows in RECORDED.values() for row in rows if row["first_error"]
    ]
    stages = {error.split(":", 1)[0] for error in firsts}
    assert stages == {"parse", "envelope", "placeholder", "policy", "validate", "relations"}
    valid = sum(row["ok"] for rows in RECORDED.values() for row in rows)
    assert valid >= 20 and len(firsts) >= 60


@pytest.mark.oracle
def test_recorded_verdicts_are_the_live_oracles(oracle: Oracle) -> None:
    live = summarize(oracle.run(fixture_files()))
    assert live == RECORDED
