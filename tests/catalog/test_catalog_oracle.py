"""Differential test: ``catalog`` against the real Backstage processing (shared/oracle-catalog).

Every fixture tree, then generated trees, must give the same ingested entities, processing
errors (file, entity and Backstage's message), dropped entities and conflicts.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

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


# -- generated trees ---------------------------------------------------------------------------
# Location files point at entity files, at each other (cycles included), at missing files, at
# a glob, at folders (with and without a trailing /); entity files reuse a few names
# (duplicates within and across files), hold kinds the rules may refuse, invalid entities,
# YAML errors and nameless entities. Globs only match entities with unique names: node-glob's
# result order is not stable, and it decides which copy of a duplicate a glob brings in first.
_NAMES = ("alpha", "beta", "gamma")
_SPECS: dict[str, dict[str, object]] = {
    "Component": {"type": "service", "lifecycle": "production", "owner": "team-a"},
    "API": {"type": "openapi", "lifecycle": "production", "owner": "team-a", "definition": "x"},
    "Group": {"type": "team", "children": []},
    "System": {"owner": "team-a"},
    "Resource": {"type": "database", "owner": "team-a"},
}
_BROKEN_YAML = "---\nkind: Component\nkind: API\n"
_NAMELESS = "---\n" + json.dumps({"apiVersion": "backstage.io/v1alpha1", "kind": "Component"})
_RULES = (None, "Component,API,Location,Group", "Component,API,Location,Group,System,Resource")


def _entity(kind: str, name: str, valid: bool) -> dict[str, object]:
    spec = dict(_SPECS[kind])
    if not valid:
        spec.pop(next(iter(spec)))  # a required field missing
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }


@st.composite
def _trees(draw: st.DrawFn) -> tuple[dict[str, str], str | None]:
    entity_count = draw(st.integers(1, 4))
    location_count = draw(st.integers(0, 3))
    pool_count = draw(st.integers(0, 2))
    files: dict[str, str] = {}
    for index in range(entity_count):
        documents = [
            _entity(
                draw(st.sampled_from(sorted(_SPECS))),
                draw(st.sampled_from(_NAMES)),
                draw(st.booleans() | st.just(True)),
            )
            for _ in range(draw(st.integers(1, 2)))
        ]
        text = "---\n".join(json.dumps(d) + "\n" for d in documents)
        # Now and then a file the parser or the envelope check refuses.
        text += draw(st.sampled_from(["", "", "", _BROKEN_YAML, _NAMELESS]))
        files[f"ents/e{index}.yaml"] = text
    for index in range(pool_count):
        files[f"pool/p{index}.yaml"] = json.dumps(_entity("Component", f"pool-{index}", True))
    locations = ["catalog-info.yaml"] + [f"locs/l{i}.yaml" for i in range(location_count)]
    for index, location in enumerate(locations):
        up = "./" if location == "catalog-info.yaml" else "../"
        choices = [f"{up}ents/e{i}.yaml" for i in range(entity_count)]
        choices += [up + other for other in locations if other != location]
        choices += [f"./missing-{index}.yaml", f"{up}pool/*.yaml", f"{up}ents/", f"{up}pool"]
        targets = draw(st.lists(st.sampled_from(choices), min_size=1, max_size=4, unique=True))
        spec: dict[str, object] = {"targets": targets}
        if draw(st.booleans()):
            spec["presence"] = "optional"
        files[location] = json.dumps(
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Location",
                "metadata": {"name": f"loc-{index}"},
                "spec": spec,
            }
        )
    return files, draw(st.sampled_from(_RULES))


_EXAMPLES = int(os.environ.get("CATALOG_BRIDGE_FUZZ_EXAMPLES", "12"))


@settings(
    max_examples=_EXAMPLES,
    # Each example starts node (~2 s): no shrinking; the failure shows the tree.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    derandomize="CATALOG_BRIDGE_FUZZ_EXAMPLES" not in os.environ,
    deadline=None,
    database=None,
)
@given(tree=_trees())
def test_generated_tree_matches_oracle(tree: tuple[dict[str, str], str | None]) -> None:
    oracle = install_catalog_oracle()
    files, rules = tree
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder).resolve()
        for path, text in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, encoding="utf-8")
        root_file = root / "catalog-info.yaml"
        expected = outcome(oracle.run(root_file, rules), root)
        actual = outcome(bridge_lines(root_file, rules), root)
    assert actual == expected
