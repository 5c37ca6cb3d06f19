"""Differential test: ``catalog`` against the real Backstage processing (shared/oracle-catalog).

Every fixture tree, then generated trees, must give the same ingested entities, processing
errors (file, entity and Backstage's message), dropped entities and conflicts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.catalog_oracle import (
    CatalogOracle,
    bridge_lines,
    install_catalog_oracle,
    outcome,
)

pytestmark = pytest.mark.oracle

TREES = Path(__file__).parents[1] / "fixtures" / "catalogs"
# Each tree with the catalog.rules it is processed with (None: Backstage's default rules).
CASES = {
    "basic": None,
    "failures": None,
    "duplicates": None,
    "cwd": None,
    "rules-wide": "Component,API,Location,Group,System,Domain,User,Widget,Resource=database",
}


@pytest.fixture(scope="module")
def oracle() -> CatalogOracle:
    return install_catalog_oracle()


@pytest.mark.parametrize("tree", sorted(CASES))
def test_fixture_tree_matches_oracle(oracle: CatalogOracle, tree: str) -> None:
    root = (TREES / tree / "catalog-info.yaml").resolve()
    expected = outcome(oracle.run(root, CASES[tree]), root.parent)
    actual = outcome(bridge_lines(root, CASES[tree]), root.parent)
    assert actual.entities == expected.entities
    assert actual.errors == expected.errors
    assert actual.dropped == expected.dropped
    assert actual.conflicts == expected.conflicts
