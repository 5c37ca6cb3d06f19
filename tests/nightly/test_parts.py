"""The nightly parts on their own: reading previous outputs, the report's renderings, the
guards' parsing, JUnit, logging commands, and how shards split an estate."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import yaml

from bridge.errors import InputError, ShrinkError, UsageError
from bridge.nightly.annotations import MAX_ANNOTATIONS, logging_commands
from bridge.nightly.guards import (
    carry_stale,
    check_shrink,
    fail_on_matches,
    parse_fail_on,
    parse_share,
    stamp,
)
from bridge.nightly.junit import render_junit
from bridge.nightly.previous import Previous, entity_key, load_previous, read_entities
from bridge.nightly.report import (
    FailedScope,
    compute_report,
    render_json,
    render_markdown,
    render_oneline,
)
from bridge.nightly.shard import Scope, Shard, parse_shard
from tests.sync.test_schema import ERROR, WARNING, example_entity

Entity = dict[str, Any]


def entity(name: str) -> Entity:
    """An entity as the engine hands it over: before ``stale`` and ``synced_at``."""
    number = int(hashlib.sha256(name.encode()).hexdigest()[:12], 16) % 10**12
    made = example_entity(id=f"00000000-0000-4000-8000-{number:012d}", name=name)
    del made["stale"], made["synced_at"]
    return made


def keyed(*entities: Entity) -> dict[str, Entity]:
    return {entity_key(e): e for e in entities}


@pytest.mark.parametrize("fmt", ["ndjson", "json", "yaml"])
def test_the_previous_output_is_read_in_every_format_sync_writes(tmp_path: Path, fmt: str) -> None:
    entities = [entity("a"), entity("b")]
    if fmt == "ndjson":
        text = "".join(json.dumps(e) + "\n" for e in entities)
    elif fmt == "json":
        text = json.dumps(entities)
    else:
        text = yaml.safe_dump(entities)
    path = tmp_path / f"out.{fmt}"
    path.write_text(text, encoding="utf-8")
    assert load_previous(None, path) == keyed(*entities)
    assert len(keyed(*entities)) == 2
    # A shard's run keeps those within its scope only.
    assert load_previous(None, path, lambda e: e["name"] == "b") == keyed(entities[1])
    assert load_previous(None, tmp_path / "none.ndjson") == {}  # the first night


def test_a_previous_output_that_is_not_one_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "out.ndjson"
    path.write_text(json.dumps(entity("a")) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"out\.ndjson:2: not a catalog-bridge output"):
        read_entities(path)
    path.write_text('[{"name": "x"}]', encoding="utf-8")
    with pytest.raises(InputError, match="entity 1 is not a repository entity"):
        read_entities(path)
    path.write_text("\n" + json.dumps(entity("a")) + '\n\n{"name": "x"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"out\.ndjson:4: the line is not a repository entity"):
        read_entities(path)


def test_a_state_store_replaces_the_previous_output() -> None:
    class Store:
        def previous_entities(self) -> Previous:
            return Previous.of([entity("from-state")])

    assert [e["name"] for e in load_previous(Store(), None).values()] == ["from-state"]


def test_previous_entities_are_kept_as_text_and_read_as_new_copies() -> None:
    a, b = entity("a"), {**entity("b"), "organization": "fabrikam"}
    previous = Previous.of([a, b])
    assert previous == keyed(a, b) and len(previous) == 2 and entity_key(a) in previous
    previous[entity_key(a)]["name"] = "changed"  # a copy: the kept entity is as it was
    assert previous[entity_key(a)] == a
    assert "nobody" not in previous and previous.get("nobody") is None
    fabrikam = previous.where(lambda e: e["organization"] == "fabrikam")
    assert list(fabrikam) == [entity_key(b)] and fabrikam[entity_key(b)] == b


def test_synced_at_moves_only_when_the_entity_changed() -> None:
    before = {**entity("a"), "stale": False, "synced_at": "2026-12-01T02:00:00Z"}
    previous = keyed(before)
    same = stamp(entity("a"), previous[entity_key(before)], "2026-12-07T02:00:00Z")
    assert same["synced_at"] == "2026-12-01T02:00:00Z"
    changed = stamp({**entity("a"), "size": 1}, before, "2026-12-07T02:00:00Z")
    assert changed["synced_at"] == "2026-12-07T02:00:00Z"
    first = stamp(entity("a"), None, "2026-12-07T02:00:00Z")  # new this run
    assert (first["synced_at"], first["stale"]) == ("2026-12-07T02:00:00Z", False)


def test_only_the_failed_places_are_carried_over_as_stale() -> None:
    kept_org = {**entity("a"), "organization": "fabrikam", "synced_at": "2026-12-01T02:00:00Z"}
    other = {**entity("b"), "organization": "contoso"}
    stale, failed = carry_stale(
        keyed(kept_org, other), set(), [FailedScope("contoso", "fabrikam", None, "HTTP 503")]
    )
    assert stale == [{**kept_org, "stale": True}]
    assert failed[0].stale == 1


def test_the_report_renders_in_markdown_json_and_one_line() -> None:
    old = entity("a")
    new = {**entity("a"), "name": "a2"}
    new["catalog"] = {**new["catalog"], "status": "invalid", "problems": [ERROR, WARNING]}
    new["context"] = []
    report = compute_report(keyed(old, entity("gone")), [new], [FailedScope("p", "x", None, "no")])
    markdown = render_markdown(report)
    assert "## Renamed (1)" in markdown and "## Removed (1)" in markdown
    assert "| contoso/Payments/a2 | owner | group:default/payments | - |" in markdown
    assert "## New problems (1)" in markdown  # the warning was there before
    assert json.loads(render_json(report))["status_changes"][0]["new"] == "invalid"
    line = render_oneline(report)
    assert "1 removed" in line and "1 renamed" in line and "1 failed" in line
    assert fail_on_matches(report, parse_fail_on("new-invalid,owner-removed,removed")) == [
        "new-invalid",
        "owner-removed",
        "removed",
    ]
    assert fail_on_matches(report, parse_fail_on("none")) == []


def test_a_table_cell_cannot_break_the_markdown() -> None:
    old = entity("a")
    new = entity("a")
    new["context"] = [{**new["context"][0], "title": "A | B\nC"}]
    markdown = render_markdown(compute_report(keyed(old), [new]))
    assert "| A \\| B C |" in markdown


@pytest.mark.parametrize("text", ["", "sometimes", "new-invalid,later"])
def test_unknown_fail_on_conditions_are_refused(text: str) -> None:
    with pytest.raises(UsageError, match="--fail-on"):
        parse_fail_on(text)


def test_shares_and_the_shrink_guard() -> None:
    assert parse_share("10%") == pytest.approx(0.1)
    assert parse_share("0.25") == pytest.approx(0.25)
    for bad in ("110%", "ten", "-1"):
        with pytest.raises(UsageError):
            parse_share(bad)
    check_shrink(100, 90, 0.1, accept=False, where="out")  # exactly 10%: allowed
    with pytest.raises(ShrinkError, match="out not replaced"):
        check_shrink(100, 89, 0.1, accept=False, where="out")
    check_shrink(100, 0, 0.1, accept=True, where="out")
    check_shrink(0, 0, 0.1, accept=False, where="out")  # the first night


def test_junit_has_a_suite_per_organization_and_a_case_per_repository() -> None:
    good = entity("good")
    bad = entity("bad")
    bad["catalog"] = {**bad["catalog"], "status": "invalid", "problems": [ERROR]}
    stale = {**entity("old"), "organization": "fabrikam", "stale": True}
    xml = render_junit([good, bad, stale], [FailedScope("contoso", "fabrikam", None, "HTTP 503")])
    root = ET.fromstring(xml)
    suites = {suite.get("name"): suite for suite in root}
    assert set(suites) == {"contoso/contoso", "contoso/fabrikam"}
    contoso = suites["contoso/contoso"]
    assert (contoso.get("tests"), contoso.get("failures")) == ("2", "1")
    failure = contoso.find("testcase[@name='bad']/failure")
    assert failure is not None and "field-format" in (failure.text or "")
    fabrikam = suites["contoso/fabrikam"]
    assert (fabrikam.get("errors"), fabrikam.get("skipped")) == ("1", "1")


def test_logging_commands_escape_values_and_stop_at_a_limit(tmp_path: Path) -> None:
    old = entity("a")
    new = entity("a")
    problems = [{**ERROR, "message": f"bad; value] 100%\nline {i}"} for i in range(150)]
    new["catalog"] = {**new["catalog"], "status": "invalid", "problems": problems}
    report = compute_report(keyed(old), [new])
    lines = list(
        logging_commands(report, summary=tmp_path / "r.md", published=True, failed_run=True)
    )
    issues = [line for line in lines if line.startswith("##vso[task.logissue")]
    assert len(issues) == MAX_ANNOTATIONS + 1
    first = issues[0]
    assert "sourcepath=contoso/Payments/a/catalog-info.yaml;linenumber=4;columnnumber=9;" in first
    assert "bad; value] 100%AZP25%0Aline 0" in first and first.count("\n") == 1
    assert lines[-1] == f"##vso[task.uploadsummary]{(tmp_path / 'r.md').resolve()}\n"
    assert not any("task.complete" in line for line in lines)  # nothing failed


def test_every_organization_and_project_falls_in_exactly_one_shard() -> None:
    organizations = [f"org-{i}" for i in range(200)]
    for count in (2, 3, 7):
        shards = [parse_shard(f"{i}/{count}", ["org-0"]) for i in range(1, count + 1)]
        owners = Counter(
            index
            for organization in organizations[1:]
            for index, shard in enumerate(shards)
            if shard.owns("p", organization, None)
        )
        assert sum(owners.values()) == 199 and len(owners) == count
        for project in (f"project-{i}" for i in range(50)):
            assert sum(shard.owns("p", "ORG-0", project) for shard in shards) == 1
    # Stable: the same answer in every process (sha256, not hash()).
    assert parse_shard("2/3").takes_organization("p", "contoso") is Shard(2, 3).owns(
        "p", "Contoso", "x"
    )


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b"])
def test_bad_shards_are_refused(text: str) -> None:
    with pytest.raises(UsageError, match="--shard"):
        parse_shard(text)


def test_a_scope_covers_its_profiles_organizations_and_shard() -> None:
    scope = Scope(frozenset({"contoso"}), frozenset({"contoso"}))
    assert scope.covers(entity("a"))
    assert not scope.covers({**entity("a"), "organization": "fabrikam"})
    assert not scope.covers({**entity("a"), "profile": "other"})
