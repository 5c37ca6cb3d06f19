"""``catalog ROOT``: each processing behaviour on the fixture trees, without the oracle, plus
reading at a git ref and the command line (a real process, exit codes, formats)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bridge.catalog.batch import PARALLEL_THRESHOLD
from bridge.catalog.gitreader import GitTreeReader
from bridge.catalog.processing.engine import process_catalog
from bridge.catalog.processing.locations import TreeIndex
from bridge.catalog.processing.model import CatalogResult, ProcessingOptions
from bridge.catalog.processing.rules import KindRule, parse_rules
from bridge.catalog.reader import FolderReader
from bridge.errors import UsageError
from bridge.gitrepo import INDEX, GitRepository
from tests.support.git import git

TREES = Path(__file__).parents[1] / "fixtures" / "catalogs"
WIDE = "Component,API,Location,Group,System,Domain,User,Widget,Resource=database"


def process(tree: str, rules: str | None = None, **options: Any) -> CatalogResult:
    folder = (TREES / tree).resolve()
    processing = ProcessingOptions(absolute_root=str(folder), **options)
    if rules:
        processing = ProcessingOptions(
            absolute_root=str(folder), rules=parse_rules(rules), **options
        )
    return process_catalog(FolderReader(folder), "catalog-info.yaml", processing)


def ingested(result: CatalogResult) -> set[str]:
    return {entity.ref for entity in result.ingested}


def errors_by_file(result: CatalogResult) -> dict[str, str]:
    return {error.file or "": error.message for error in result.errors}


def rules_of(result: CatalogResult, rule: str) -> list[tuple[str | None, int | None]]:
    return [(p.file, p.line) for p in result.problems if p.rule == rule]


def test_root_becomes_a_generated_location_named_after_its_path() -> None:
    result = process("basic")
    absolute = (TREES / "basic" / "catalog-info.yaml").resolve()
    digest = hashlib.sha1(f"file:{absolute}".encode(), usedforsecurity=False).hexdigest()
    assert result.root_ref == f"location:default/generated-{digest}"
    root = next(e for e in result.entities if e.ref == result.root_ref)
    assert root.emitted_by == "provider:ConfigLocationProvider"
    assert root.ingested


def test_entity_data_is_as_written_with_the_catalogs_two_annotations() -> None:
    result = process("basic")
    folder = (TREES / "basic").resolve()
    origin = f"file:{folder}/catalog-info.yaml"
    orders = next(e for e in result.entities if e.ref == "component:default/orders")
    key = f"file:{folder}/services/orders/catalog-info.yaml"
    assert (orders.kind, orders.namespace, orders.name, orders.location_key) == (
        "Component",
        "default",
        "orders",
        key,
    )
    data = orders.data()
    assert data["metadata"] == {
        "name": "orders",
        "annotations": {
            "backstage.io/managed-by-origin-location": origin,
            "backstage.io/managed-by-location": key,
        },
    }
    assert data["spec"]["providesApis"] == ["orders-api"]
    data["spec"]["owner"] = "changed"  # each call is a new copy
    assert orders.data()["spec"]["owner"] == "group:default/team-ghost"
    root = next(e for e in result.entities if e.ref == result.root_ref)
    assert root.data()["spec"] == {"type": "file", "target": origin.removeprefix("file:")}
    assert root.data()["metadata"]["annotations"] == {
        "backstage.io/managed-by-location": origin,
        "backstage.io/managed-by-origin-location": origin,
    }


def test_globs_relative_targets_and_optional_presence() -> None:
    result = process("basic")
    assert ingested(result) >= {
        "component:default/orders",
        "component:default/billing",  # both through ./services/*/catalog-info.yaml
        "api:default/orders-api",
        "component:default/present",  # the optional Location's present target
    }
    # A glob's * skips dot folders; the optional Location's missing targets are silent.
    assert "component:default/hidden" not in {e.ref for e in result.entities}
    assert result.errors == []
    assert result.ok


def test_missing_required_target_fails_the_location_and_drops_its_other_children() -> None:
    result = process("failures")
    gone = (TREES / "failures" / "required" / "gone.yaml").resolve()
    assert errors_by_file(result)["required/gone.yaml"] == f"file {gone} does not exist"
    dropped = {(d.ref, d.parent_ref) for d in result.dropped}
    assert ("component:default/collateral", "location:default/required") in dropped
    assert "component:default/collateral" not in ingested(result)


def test_yaml_and_envelope_errors_in_a_target_fail_the_parent() -> None:
    result = process("failures")
    errors = errors_by_file(result)
    assert errors["yaml/broken.yaml"].startswith("YAML error at file:")
    assert errors["yaml/list.yaml"] == "Expected object at root, got object"
    assert errors["envelope/no-name.yaml"] == (
        "/metadata must have required property 'name' - missingProperty: name"
    )
    assert errors["envelope/annotations.yaml"] == "metadata.annotations must be a valid object"
    dropped = {d.ref for d in result.dropped}
    assert {"component:default/yaml-sibling", "component:default/envelope-sibling"} <= dropped


def test_target_ending_in_a_slash_names_the_locations_own_file() -> None:
    result = process("failures")
    own = (TREES / "failures" / "folder" / "catalog-info.yaml").resolve()
    assert errors_by_file(result)["folder/catalog-info.yaml"] == (
        f"LocationEntityProcessor cannot handle file type location with target {own} "
        "that ends with a path separator"
    )
    assert "component:default/folder-sibling" in {d.ref for d in result.dropped}


def test_a_target_that_is_a_folder_cannot_be_read() -> None:
    result = process("failures")
    assert "EISDIR" in errors_by_file(result)["dir-target/sub"]


def test_disallowed_kind_fails_the_parent_in_its_run_against_the_origin() -> None:
    result = process("failures")
    root = (TREES / "failures" / "catalog-info.yaml").resolve()
    own = root.parent / "rules" / "catalog-info.yaml"
    rejected = next(e for e in result.errors if e.stage == "rules")
    assert rejected.file == "rules/group.yaml"
    assert rejected.entity_ref == "location:default/rules"
    assert rejected.message == (
        f"Entity group:default/team-x at file:{own}, originated at file:{root}, "
        "is not of an allowed kind for that location"
    )
    # The allowed sibling goes down with it.
    assert "component:default/rules-sibling" in {d.ref for d in result.dropped}


def test_rules_widen_kinds_and_match_spec_type() -> None:
    result = process("rules-wide", WIDE)
    assert {"group:default/team-a", "system:default/payments", "domain:default/finance"} <= (
        ingested(result)
    )
    # Resource=database: the queue is refused, so the database beside it is dropped too.
    assert [e.file for e in result.errors if e.stage == "rules"] == ["infra/queue.yaml"]
    assert {d.ref for d in result.dropped} == {"resource:default/db", "resource:default/queue"}
    database = KindRule("Resource", "database")
    assert database.allows("resource", lambda: {"spec": {"type": "DataBase"}}) is True
    assert database.allows("resource", lambda: {"spec": {"type": "DB"}}) is False
    assert database.allows("Resource", lambda: {"spec": "database"}) is False

    def unread() -> dict[str, object]:
        raise AssertionError("the entity is read only for a rule with a spec type")

    assert KindRule("Resource").allows("RESOURCE", unread) is True
    assert database.allows("component", unread) is False


def test_entity_errors_lose_only_that_entity_with_backstages_message() -> None:
    result = process("failures")
    by_ref = {e.entity_ref: e for e in result.errors if e.file == "entities/all.yaml"}
    assert by_ref["component:default/no-lifecycle"].message == (
        "Processor BuiltinKindsEntityProcessor threw an error while validating the entity "
        "component:default/no-lifecycle; caused by TypeError: /spec must have required "
        "property 'lifecycle' - missingProperty: lifecycle"
    )
    assert by_ref["component:default/extra-root"].message == (
        "Policy check failed for component:default/extra-root; caused by Error: Unknown field "
        "status"
    )
    assert by_ref["component:default/kindless-dependency"].message == (
        "Processor BuiltinKindsEntityProcessor threw an error while postprocessing; caused by "
        'Error: Entity reference "db" had missing or empty kind (e.g. did not start with '
        '"component:" or similar)'
    )
    assert "component:default/entities-fine" in ingested(result)


def test_relative_placeholder_fails_in_a_file_location_as_in_backstage() -> None:
    result = process("failures")
    own = (TREES / "failures" / "entities" / "all.yaml").resolve()
    error = next(e for e in result.errors if e.entity_ref == "component:default/relative-text")
    assert error.message == (
        "Processor PlaceholderProcessor threw an error while preprocessing; caused by Error: "
        f"Placeholder $text could not form a URL out of {own} and ./notes.txt, "
        "TypeError: Invalid URL"
    )
    number = next(e for e in result.errors if e.entity_ref == "component:default/number-text")
    assert "expected a string value parameter" in number.message


def test_local_placeholders_read_through_the_reader() -> None:
    result = process("failures", local_placeholders=True)
    assert "component:default/relative-text" in ingested(result)


def test_conflicts_keep_the_first_copy_and_cycles_terminate() -> None:
    result = process("duplicates")
    (conflict,) = result.conflicts
    assert (conflict.ref, conflict.file, conflict.existing_file) == (
        "component:default/shared",
        "b/shared.yaml",
        "a/shared.yaml",
    )
    assert conflict.existing_line == 2
    # a/ points back at the root: processing ends, and the root is processed once.
    assert "location:default/duplicates-root" in ingested(result)


def test_duplicate_in_one_file_is_silently_replaced_by_the_later_copy() -> None:
    result = process("duplicates")
    twice = next(e for e in result.entities if e.ref == "component:default/twice")
    # The later copy (invalid) replaced the valid first one: the catalog holds neither.
    assert not twice.ingested
    assert twice.line == 8  # the second document (its "---" line)
    assert rules_of(result, "duplicate-in-file") == [("twice.yaml", 12)]


def test_dangling_references_case_only_references_and_orphans_are_warnings() -> None:
    result = process("basic")
    dangling = rules_of(result, "dangling-ref")
    assert ("services/billing/catalog-info.yaml", 9) in dangling  # system: payments
    assert rules_of(result, "ref-case") == [("services/billing/catalog-info.yaml", 10)]
    assert sorted(rules_of(result, "orphan-file")) == [
        ("services/.hidden/catalog-info.yaml", 2),
        ("stray/catalog-info.yaml", 2),
    ]
    assert all(not p.is_error for p in result.problems)


def test_dangling_reference_to_a_dropped_entity_says_so() -> None:
    result = process("rules-wide", WIDE)
    (problem,) = [p for p in result.problems if p.rule == "dangling-ref"]
    assert "resource:default/db" in problem.message
    assert "dropped" in problem.message


def test_target_without_leading_dot_resolves_against_the_working_directory() -> None:
    result = process("cwd")
    assert "component:default/from-cwd" in ingested(result)
    assert rules_of(result, "location-target-cwd") == [("nested/catalog-info.yaml", 2)]


# -- reading at a git ref ------------------------------------------------------------------------
@pytest.fixture
def repo(tmp_path: Path) -> Path:
    folder = tmp_path / "repo"
    shutil.copytree(TREES / "basic", folder)
    git(folder, "init", "-q", "-b", "main")
    git(folder, "add", ".")
    git(folder, "commit", "-q", "-m", "catalog")
    return folder


def test_catalog_at_a_ref_reads_the_commit_not_the_working_tree(repo: Path) -> None:
    (repo / "apis" / "orders-api.yaml").unlink()  # deleted in the working tree only
    before = git(repo, "status", "--porcelain")
    with GitRepository(repo) as repository:
        reader = GitTreeReader(repository, "main")
        options = ProcessingOptions(absolute_root=str(repo))
        result = process_catalog(reader, "catalog-info.yaml", options)
    assert "api:default/orders-api" in ingested(result)
    assert result.errors == []
    assert git(repo, "status", "--porcelain") == before


def test_catalog_of_the_index_sees_a_staged_deletion(repo: Path) -> None:
    git(repo, "rm", "-q", "apis/orders-api.yaml")
    with GitRepository(repo) as repository:
        reader = GitTreeReader(repository, INDEX)
        result = process_catalog(
            reader, "catalog-info.yaml", ProcessingOptions(absolute_root=str(repo))
        )
    assert [e.rule for e in result.errors] == ["location-target-missing"]
    assert not result.ok


def test_local_placeholders_read_the_blob_at_the_ref(repo: Path) -> None:
    (repo / "apis" / "spec.yaml").write_text("openapi: 3.0.0 # committed\n", encoding="utf-8")
    api = repo / "apis" / "orders-api.yaml"
    api.write_text(
        api.read_text(encoding="utf-8").replace(
            'definition: "openapi: 3.0.0"', "definition: {$text: ./spec.yaml}"
        ),
        encoding="utf-8",
    )
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "placeholder")
    (repo / "apis" / "spec.yaml").unlink()  # only the commit still has it
    with GitRepository(repo) as repository:
        reader = GitTreeReader(repository, "main")
        options = ProcessingOptions(absolute_root=str(repo), local_placeholders=True)
        result = process_catalog(reader, "catalog-info.yaml", options)
    assert "api:default/orders-api" in ingested(result)
    assert not [p for p in result.problems if p.rule.startswith("placeholder")]


# -- the command line ------------------------------------------------------------------------------
def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", "catalog", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parents[2])},
    )


def test_cli_warnings_pass_and_strict_fails() -> None:
    folder = TREES / "basic"
    ok = run("catalog-info.yaml", "--format", "text", cwd=folder)
    assert ok.returncode == 0, ok.stderr
    assert "warning [dangling-ref]" in ok.stdout
    assert ok.stdout.splitlines()[-1].startswith("catalog-info.yaml: 7 of 7 entities ingested")
    strict = run("catalog-info.yaml", "--strict", "--format", "text", cwd=folder)
    assert strict.returncode == 1
    assert "error [orphan-file]" in strict.stdout


def test_cli_json_lines_use_the_oracles_types_and_fields() -> None:
    completed = run("catalog-info.yaml", "--format", "json", cwd=TREES / "failures")
    assert completed.returncode == 1
    lines = [json.loads(line) for line in completed.stdout.splitlines()]
    types = {line["type"] for line in lines}
    assert types == {"entity", "relation", "error", "dropped", "problem", "summary"}
    dropped = next(line for line in lines if line["type"] == "dropped")
    assert {"ref", "file", "parentRef", "parentFile", "existsViaOtherParent"} <= set(dropped)
    problem = next(line for line in lines if line["type"] == "problem")
    assert {"rule", "file", "line", "column", "message"} <= set(problem)


def test_cli_conflict_fails_and_github_format_annotates_both_files() -> None:
    completed = run("catalog-info.yaml", "--format", "github", cwd=TREES / "duplicates")
    assert completed.returncode == 1
    assert "::error file=b/shared.yaml,line=2,col=1,title=conflict::" in completed.stdout
    assert "a/shared.yaml:2" in completed.stdout


def test_cli_reads_a_repository_at_a_ref(repo: Path, tmp_path: Path) -> None:
    (repo / "apis" / "orders-api.yaml").unlink()
    completed = run(
        "catalog-info.yaml", "--repo", str(repo), "--ref", "main", "--format", "json", cwd=tmp_path
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    refs = {json.loads(line).get("ref") for line in completed.stdout.splitlines()}
    assert "api:default/orders-api" in refs


def test_cli_usage_errors_name_the_problem(tmp_path: Path) -> None:
    missing = run("nope.yaml", cwd=TREES / "basic")
    assert missing.returncode == 2
    assert "nope.yaml: no such file" in missing.stderr
    rules = run("catalog-info.yaml", "--rules", ",", cwd=TREES / "basic")
    assert rules.returncode == 2
    assert "--rules" in rules.stderr
    assert "Traceback" not in missing.stderr + rules.stderr
    with pytest.raises(UsageError):
        parse_rules("=service")


def test_a_large_tree_validated_ahead_on_every_core_gives_the_same_result(tmp_path: Path) -> None:
    # Over PARALLEL_THRESHOLD YAML files, files are validated in worker processes first;
    # with local placeholders they are validated one by one as Locations reach them.
    (tmp_path / "many").mkdir()
    (tmp_path / "catalog-info.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: many}\n"
        "spec: {target: ./many/*.yaml}\n",
        encoding="utf-8",
    )
    for number in range(PARALLEL_THRESHOLD + 10):
        lifecycle = "" if number == 7 else "lifecycle: production, "
        (tmp_path / "many" / f"c{number:03d}.yaml").write_text(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
            f"metadata: {{name: c{number:03d}}}\n"
            f"spec: {{type: service, {lifecycle}owner: team-a}}\n",
            encoding="utf-8",
        )
    (tmp_path / "stray.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: stray}\n",
        encoding="utf-8",
    )
    ahead, one_by_one = (
        process_catalog(
            FolderReader(tmp_path),
            "catalog-info.yaml",
            ProcessingOptions(absolute_root=str(tmp_path), local_placeholders=local),
        )
        for local in (False, True)
    )
    # The components but c007, the "many" Location and the generated root.
    assert len(ahead.ingested) == PARALLEL_THRESHOLD + 10 - 1 + 2
    assert [e.entity_ref for e in ahead.errors] == ["component:default/c007"]
    assert rules_of(ahead, "orphan-file") == [("stray.yaml", 1)]
    assert {e.ref for e in ahead.ingested} == {e.ref for e in one_by_one.ingested}
    assert ahead.errors == one_by_one.errors
    assert ahead.problems == one_by_one.problems
    # At a git ref, forked workers read their share of the blobs from git themselves.
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "catalog")
    with GitRepository(tmp_path) as repository:
        at_ref = process_catalog(
            GitTreeReader(repository, "main"),
            "catalog-info.yaml",
            ProcessingOptions(absolute_root=str(tmp_path)),
        )
    assert at_ref.entities == ahead.entities
    assert at_ref.errors == ahead.errors
    assert at_ref.problems == ahead.problems
    assert at_ref.relations == ahead.relations


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        # What node-glob 14 (the catalog's FileReaderProcessor) returns in tree "basic".
        ("services/*", ["services/billing", "services/orders"]),
        (
            "services/**",
            [
                "services",
                "services/billing",
                "services/billing/catalog-info.yaml",
                "services/orders",
                "services/orders/catalog-info.yaml",
            ],
        ),
        (
            "**/catalog-info.yaml",
            [
                "catalog-info.yaml",
                "extras/catalog-info.yaml",
                "services/billing/catalog-info.yaml",
                "services/orders/catalog-info.yaml",
                "stray/catalog-info.yaml",
            ],
        ),
        (
            "{apis,extras}/*.yaml",
            ["apis/orders-api.yaml", "extras/catalog-info.yaml", "extras/present.yaml"],
        ),
        ("extras/+(present|x).yaml", ["extras/present.yaml"]),
        ("extras/!(present).yaml", ["extras/catalog-info.yaml"]),
        (
            "!(extras)/*.yaml",
            ["apis/orders-api.yaml", "docs/mkdocs.yaml", "stray/catalog-info.yaml"],
        ),
        ("extras/present.yaml", ["extras/present.yaml"]),
        ("extras/nothing-*.yaml", []),
    ],
)
def test_globs_match_what_node_glob_matches(pattern: str, expected: list[str]) -> None:
    index = TreeIndex(FolderReader(TREES / "basic").files())
    assert [match.path for match in index.glob(pattern)] == expected
