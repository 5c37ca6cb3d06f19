"""The plan from entities: where each value comes from, and what gets no file."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.azure.models import Team
from bridge.config import GenerateSettings, TemplateRule, TypeRule
from bridge.generate import generation_plan, plan_generation
from bridge.generate.templates import TemplateError

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
ORG, PROJECT = "contoso", "Payments"


def entity(name: str, status: str = "missing", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": f"id-{name}",
        "name": name,
        "organization": ORG,
        "project": PROJECT,
        "url": f"https://dev.azure.com/{ORG}/{PROJECT}/_git/{name}",
        "default_branch": "main",
        "languages": {"Python": 100, "YAML": 1000},
        "freshness": "active",
        "last_commit_at": "2026-11-30T10:00:00Z",
        "catalog": {"status": status, "path": "/catalog-info.yaml"},
        "context": [],
    }
    return {**base, **fields}


def sibling(name: str, owner: str) -> dict[str, Any]:
    return entity(name, "found", context=[{"catalog_name": name, "owner": owner}])


TEAMS = {(ORG, PROJECT): [Team("t1", "Payments Team", None), Team("t2", "Checkout", None)]}


def _one(entities: list[dict[str, Any]], settings: GenerateSettings, teams: Any = TEAMS) -> Any:
    plan = generation_plan(entities, teams, settings, TEMPLATES)
    assert len(plan.files) == 1, plan.skipped
    return plan.files[0]


def test_owner_from_the_configuration_first_then_the_default_team() -> None:
    configured = GenerateSettings(owners={"payments": "group:default/money"})
    file = _one([entity("api")], configured)
    assert file.values["owner"].value == "group:default/money"
    assert file.values["owner"].source == "config: generate.owners.Payments"
    file = _one([entity("api")], GenerateSettings())
    assert file.values["owner"].value == "group:default/payments-team"
    assert file.values["owner"].source == "teams: Payments Team (default team)"


def test_owner_from_sibling_catalog_files_when_the_project_has_no_teams() -> None:
    entities = [
        entity("api"),
        sibling("a", "group:default/cards"),
        sibling("b", "group:default/cards"),
        sibling("c", "group:default/ledger"),
    ]
    file = _one(entities, GenerateSettings(), teams={})
    assert file.values["owner"].value == "group:default/cards"
    assert file.values["owner"].source == "siblings: 2 of 3 catalog files"


def test_no_owner_gives_no_file_and_a_reason_unless_a_fallback_is_configured() -> None:
    plan = generation_plan([entity("api")], {}, GenerateSettings(), TEMPLATES)
    assert plan.files == ()
    assert [s.reason for s in plan.skipped] == ["no owner could be inferred"]
    assert plan.skipped[0].values["owner"].value is None
    fallback = GenerateSettings(fallback_owner="group:default/platform")
    file = _one([entity("api")], fallback, teams={})
    assert file.values["owner"].source == "config: generate.fallback_owner"


def test_only_missing_catalog_files_are_generated() -> None:
    entities = [entity("api"), entity("old", "invalid"), entity("x", "skipped"), sibling("y", "z")]
    files = plan_generation(entities, TEAMS, GenerateSettings(), TEMPLATES)
    assert [f.repository for f in files] == ["api"]
    assert files[0].entity_ref == "component:default/api"
    assert files[0].path == "/catalog-info.yaml"


def test_type_and_template_from_languages_names_and_rules() -> None:
    settings = GenerateSettings()
    site = _one([entity("shop", languages={"HTML": 10, "CSS": 5})], settings)
    assert (site.template, site.values["type"].value) == ("website", "website")
    lib = _one([entity("money-sdk")], settings)
    assert (lib.template, lib.values["type"].source) == ("library", "name: matches *-sdk")
    ruled = dataclasses.replace(
        settings,
        type_rules=(TypeRule("documentation", name="*-docs"),),
        rules=(TemplateRule("library", language="python"),),
    )
    docs = _one([entity("api-docs")], ruled)
    assert docs.values["type"].value == "documentation"
    assert docs.values["type"].source == "config: generate.type_rules[0]"
    assert (docs.template, docs.values["template"].source) == (
        "library",
        "config: generate.rules[0]",
    )
    assert yaml.safe_load(docs.text)["spec"]["type"] == "documentation"


def test_lifecycle_from_freshness_and_the_host_annotation_off_the_cloud() -> None:
    dormant = entity(
        "api", freshness="dormant", url="https://ado.example.com/tfs/contoso/Payments/_git/api"
    )
    file = _one([dormant], GenerateSettings())
    assert file.values["lifecycle"].value == "deprecated"
    document = yaml.safe_load(file.text)
    annotations = document["metadata"]["annotations"]
    assert annotations["dev.azure.com/host-org"] == "ado.example.com/tfs/contoso"
    assert annotations["backstage.io/source-location"] == (
        "url:https://ado.example.com/tfs/contoso/Payments/_git/api/"
    )
    cloud = yaml.safe_load(_one([entity("api")], GenerateSettings()).text)
    assert "dev.azure.com/host-org" not in cloud["metadata"]["annotations"]


def test_a_template_giving_an_invalid_entity_is_reported_never_returned(tmp_path: Path) -> None:
    (tmp_path / "service").mkdir()
    (tmp_path / "service" / "catalog-info.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\n"
        'spec:\n  type: "${{ values.type }}"\n  owner: "${{ values.owner }}"\n',
        encoding="utf-8",
    )
    plan = generation_plan([entity("api")], TEAMS, GenerateSettings(), tmp_path)
    assert plan.files == ()
    assert "gives an invalid entity" in plan.skipped[0].reason
    assert "lifecycle" in plan.skipped[0].reason


def test_an_undefined_value_names_the_template_and_line(tmp_path: Path) -> None:
    (tmp_path / "service").mkdir()
    (tmp_path / "service" / "catalog-info.yaml").write_text(
        "kind: Component\nmetadata:\n  title: ${{ values.nope }}\n", encoding="utf-8"
    )
    with pytest.raises(TemplateError, match=r"service/catalog-info.yaml:3: cannot render"):
        generation_plan([entity("api")], TEAMS, GenerateSettings(), tmp_path)
