"""The nightly Azure Pipelines template: valid against Microsoft's Azure Pipelines schema,
and, read as YAML, the schedule, tasks and variables the nightly job needs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from jsonschema import validators

from bridge.nightly.pipeline import TEMPLATE, pipeline_template
from tests.support.shared import PROJECT_ROOT, shared_path

Pipeline = dict[str, Any]


def _boolean(checker: Any, instance: object) -> bool:
    words = ("true", "false", "yes", "no", "on", "off", "y", "n")
    return isinstance(instance, bool) or (isinstance(instance, str) and instance.lower() in words)


def _number(checker: Any, instance: object) -> bool:
    if isinstance(instance, str):
        return re.fullmatch(r"-?\d+(\.\d+)?", instance) is not None
    return isinstance(instance, int | float) and not isinstance(instance, bool)


def schema_validator() -> jsonschema.Draft7Validator:
    """Microsoft's schema, reading scalars as Azure Pipelines does: every scalar is text,
    ``true`` a boolean and ``3`` a number where the schema asks for one."""
    schema = json.loads(
        shared_path("azure-pipelines-schema", "service-schema.json").read_text(encoding="utf-8")
    )
    base = jsonschema.Draft7Validator
    checker = base.TYPE_CHECKER.redefine_many(
        {"boolean": _boolean, "number": _number, "integer": _number}
    )
    validator: jsonschema.Draft7Validator = validators.extend(base, type_checker=checker)(schema)
    return validator


def as_text(text: str) -> Pipeline:
    loaded: Pipeline = yaml.load(text, Loader=yaml.BaseLoader)
    return loaded


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    loaded: Pipeline = yaml.safe_load(pipeline_template())
    return loaded


def test_the_template_is_valid_against_the_azure_pipelines_schema() -> None:
    validator = schema_validator()
    document = as_text(pipeline_template())
    assert [error.message[:200] for error in validator.iter_errors(document)] == []
    # The check can fail: an input PublishTestResults@2 does not have is refused.
    publish = document["jobs"][1]["steps"]
    tests = next(step for step in publish if step.get("task") == "PublishTestResults@2")
    tests["inputs"]["junitFiles"] = "junit.xml"
    assert list(validator.iter_errors(document))


def test_the_schedule_runs_every_night_whether_or_not_the_repository_changed(
    pipeline: Pipeline,
) -> None:
    (schedule,) = pipeline["schedules"]
    assert schedule["cron"] == "0 2 * * *"
    assert schedule["always"] is True
    assert (pipeline["trigger"], pipeline["pr"]) == ("none", "none")


def _steps(pipeline: Pipeline, job: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = next(j for j in pipeline["jobs"] if j["job"] == job)["steps"]
    return steps


def _tasks(steps: list[dict[str, Any]], task: str) -> list[dict[str, Any]]:
    return [step for step in steps if step.get("task") == task]


def test_shard_jobs_sync_with_the_job_token_and_the_previous_entities(pipeline: Pipeline) -> None:
    sync_job = next(j for j in pipeline["jobs"] if j["job"] == "sync")
    assert sync_job["strategy"] == {"parallel": "${{ parameters.shards }}"}
    steps = _steps(pipeline, "sync")
    (sync,) = [s for s in steps if "catalog-bridge sync" in s.get("script", "")]
    assert sync["env"] == {"SYSTEM_ACCESSTOKEN": "$(System.AccessToken)"}
    assert '--shard "$(System.JobPositionInPhase)/$(System.TotalJobsInPhase)"' in sync["script"]
    assert "--previous" in sync["script"]
    (previous,) = _tasks(steps, "DownloadPipelineArtifact@2")
    assert previous["inputs"]["artifactName"] == "catalog-state"
    assert previous["inputs"]["definition"] == "$(System.DefinitionId)"
    assert previous["continueOnError"] is True  # the first night has none
    (shard,) = _tasks(steps, "PublishPipelineArtifact@1")
    assert shard["inputs"]["artifact"] == "shard-$(System.JobPositionInPhase)"


def test_the_publish_job_merges_reports_and_publishes(pipeline: Pipeline) -> None:
    publish_job = next(j for j in pipeline["jobs"] if j["job"] == "publish")
    assert publish_job["dependsOn"] == "sync"
    steps = _steps(pipeline, "publish")
    (merge,) = [s for s in steps if "catalog-bridge merge" in s.get("script", "")]
    for option in ("--report", "--junit", "--annotate", '--max-shrink "$(MAX_SHRINK)"'):
        assert option in merge["script"]
    assert '--fail-on "$(FAIL_ON)"' in merge["script"]
    (junit,) = _tasks(steps, "PublishTestResults@2")
    assert junit["inputs"]["testResultsFormat"] == "JUnit"
    assert junit["condition"] == "succeededOrFailed()"
    artifacts = {task["inputs"]["artifact"] for task in _tasks(steps, "PublishPipelineArtifact@1")}
    assert artifacts == {"catalog-report", "catalog-state"}
    variables = {v["name"]: v["value"] for v in pipeline["variables"]}
    assert variables["MAX_SHRINK"] == "10%"
    assert variables["FAIL_ON"] == "new-invalid,owner-removed"


def test_init_writes_the_template(tmp_path: Path) -> None:
    target = tmp_path / "nightly.yml"
    result = subprocess.run(
        [sys.executable, "-m", "bridge", "init", "--pipeline", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert target.read_text(encoding="utf-8") == (PROJECT_ROOT / TEMPLATE).read_text("utf-8")
    again = subprocess.run(
        [sys.executable, "-m", "bridge", "init", "--pipeline", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 2
    assert "already exists; use --force" in again.stderr


def test_the_project_hook_does_not_take_the_template_for_a_catalog_file() -> None:
    config = yaml.safe_load((PROJECT_ROOT / ".pre-commit-config.yaml").read_text("utf-8"))
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    hook = hooks["catalog-bridge-validate"]
    assert re.search(hook["files"], TEMPLATE)
    assert re.search(hook["exclude"], TEMPLATE)
    assert re.search(hook["files"], "templates/service/catalog-info.yaml")
    assert not re.search(hook["exclude"], "templates/service/catalog-info.yaml")
