"""Every generated file is valid in Backstage itself (the reference oracle: the real
@backstage/catalog-model), for the sample estate, a generated estate and hostile names."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.emulator import EstateFile, GenerationSpec, generate_estate, parse_estate
from bridge.emulator.options import EmulatorOptions
from tests.generate.conftest import HOSTILE_ESTATE, Served, serve_estate
from tests.support.oracle import Oracle

pytestmark = pytest.mark.oracle

# Mostly repositories without a catalog file, many with spaces in their names.
SPEC = GenerationSpec(
    seed=11,
    organizations=2,
    projects_per_organization=3,
    repositories_per_project=12,
    missing=0.6,
    invalid=0.1,
    multi_entity=0.1,
    spaces=0.4,
)


def _generated(served: Served, folder: Path) -> list[Path]:
    run = served.generate(folder, output=folder / "out")
    assert run.code == 0, run.stderr
    return sorted((folder / "out").rglob("*.yaml"))


def test_every_generated_file_is_valid_in_backstage(
    oracle: Oracle, sample: Served, tmp_path: Path
) -> None:
    files = _generated(sample, tmp_path / "sample")
    for served in serve_estate(parse_estate(HOSTILE_ESTATE, source="hostile")):
        files += _generated(served, tmp_path / "hostile")
    generated = EstateFile(generate_estate(SPEC), EmulatorOptions())
    for served in serve_estate(generated):
        files += _generated(served, tmp_path / "generated")
    assert len(files) > 60
    rows = oracle.run(files)
    assert {row["file"] for row in rows} == {str(file) for file in files}
    invalid = [(row["file"], row.get("errors")) for row in rows if row.get("errors")]
    assert invalid == []
