"""The nightly job end to end: two runs of ``sync`` against the emulator with changes pushed
in between; the change report, last-known-good entities, the shrink guard and ``--fail-on``;
sharded runs merged. Runs go through :func:`bridge.sync.command.sync_command` in this process
(the CLI's own code path below option parsing); the emulator's estate is changed in place
between runs, as pushes, renames and deletions would change Azure DevOps."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bridge.emulator import RunningEmulator, parse_estate, run_in_thread
from bridge.emulator.estate import Estate, Repository
from bridge.emulator.history import HEADS
from bridge.emulator.identity import Signature
from bridge.errors import EXIT_SHRUNK, ShrinkError, UsageError, exit_code_for
from bridge.nightly.guards import parse_fail_on
from bridge.nightly.merge import manifest_path, merge_command
from bridge.nightly.publish import NightlyOptions
from bridge.nightly.shard import parse_shard
from bridge.sync.command import sync_command
from bridge.sync.engine import SyncOptions
from bridge.sync.output import entity_schema
from tests.support.emulator import find_repository

PAT = "canary-pat-nightly-4e8a2c6b1d9f3057"
CONTOSO_PAT = "canary-pat-nightly-contoso-7b3d9f1e5a2c8064"


def component(name: str, owner: str) -> str:
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n"
        f"  name: {name}\nspec:\n  type: service\n  lifecycle: production\n"
        f"  owner: {owner}\n  system: payments\n"
    )


def repo(name: str, owner: str | None = None) -> str:
    """An estate file's repository line, with a catalog file when ``owner`` is given."""
    if owner is None:
        return f"{{name: {name}}}"
    return f"{{name: {name}, files: {{catalog-info.yaml: {json.dumps(component(name, owner))}}}}}"


ESTATE = f"""
tokens:
  - {{name: all, value: {PAT}}}
  - {{name: contoso-only, value: {CONTOSO_PAT}, organizations: [contoso]}}
organizations:
  - name: contoso
    projects:
      - name: Payments
        repositories:
          - {repo("payments-api", "group:default/payments")}
          - {repo("refunds", "group:default/payments")}
          - {repo("ledger", "group:default/finance")}
      - name: Web
        repositories:
          - {repo("site")}
  - name: fabrikam
    projects:
      - name: Retail
        repositories:
          - {repo("storefront", "group:default/retail")}
          - {repo("basket")}
generate:
  seed: 3
  organizations: 3
  projects_per_organization: 3
  repositories_per_project: 3
"""

NIGHT_1 = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
NIGHT_2 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


@dataclass
class Night:
    code: int
    stderr: str
    entities: list[dict[str, Any]]


@pytest.fixture
def estate() -> Estate:
    return parse_estate(ESTATE).estate


@pytest.fixture
def emulator(estate: Estate) -> Iterator[RunningEmulator]:
    with run_in_thread(estate, host="127.0.0.1") as running:
        yield running


def write_config(folder: Path, emulator: RunningEmulator, organizations: str) -> Path:
    path = folder / "catalog-bridge.yaml"
    path.write_text(
        f"profiles:\n  - name: nightly\n    organizations: {organizations}\n"
        f"    api_url: {emulator.base_url}/\n    token_env: NIGHTLY_PAT\n"
        "    backstage: {}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def config(tmp_path: Path, emulator: RunningEmulator) -> Path:
    return write_config(tmp_path, emulator, "['*']")


def run(
    config: Path,
    output: Path,
    *,
    token: str = PAT,
    started: datetime = NIGHT_1,
    shard: str | None = None,
    split: tuple[str, ...] = (),
    **nightly: Any,
) -> Night:
    stderr = io.StringIO()
    options = SyncOptions(shard=parse_shard(shard, split)) if shard else SyncOptions()
    code = sync_command(
        config_file=str(config),
        profiles=(),
        options=options,
        output=str(output),
        output_format="ndjson",
        environ={"NIGHTLY_PAT": token},
        stderr=stderr,
        progress=False,
        nightly=NightlyOptions(started=started, **nightly),
    )
    return Night(code, stderr.getvalue(), read(output))


def read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def by_name(entities: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {entity["name"]: entity for entity in entities}


def push_file(repo: Repository, path: str, text: str) -> None:
    """A commit on the default branch writing ``path``, as a push would."""
    history = repo.writable_history()
    branch = repo.default_branch
    assert branch is not None
    tip = history.branch_tip(branch)
    assert tip is not None
    who = Signature("Ada", "ada@contoso.example", datetime.now(UTC))
    commit = history.add_commit(
        tip,
        {**tip.tree, path: text.encode()},
        {path: "edit" if path in tip.tree else "add"},
        author=who,
        committer=who,
        message=f"edit {path}",
        push_id=history.next_push_id(),
    )
    history.refs[HEADS + branch] = commit.commit_id


def remove(repo: Repository) -> None:
    repo.project.repositories.remove(repo)
    repo.project._by_name.pop(repo.name.lower())
    repo.organization.repositories_by_id.pop(repo.id)


def rename(repo: Repository, name: str) -> None:
    repo.project._by_name.pop(repo.name.lower())
    repo.name = name
    repo.project._by_name[name.lower()] = repo


def move(repo: Repository, estate: Estate, project: str) -> None:
    remove(repo)
    target = estate.organization(repo.organization.name)
    assert target is not None
    destination = target.project(project)
    assert destination is not None
    repo.project = destination
    destination.add_repository(repo)


def test_the_change_report_says_what_changed_and_fail_on_picks_what_fails(
    tmp_path: Path, config: Path, estate: Estate
) -> None:
    output = tmp_path / "entities.ndjson"
    first = run(config, output)
    assert first.code == 0, first.stderr
    validator = jsonschema.Draft202012Validator(entity_schema())
    for entity in first.entities:
        validator.validate(entity)
        assert (entity["stale"], entity["synced_at"]) == (False, "2026-12-06T02:00:00Z")

    push_file(
        find_repository(estate, "contoso", "Payments", "payments-api"),
        "/catalog-info.yaml",
        component("payments-api", "group:default/cards"),
    )
    push_file(
        find_repository(estate, "contoso", "Payments", "refunds"),
        "/catalog-info.yaml",
        component("Refunds Service!", "group:default/payments"),
    )
    rename(find_repository(estate, "contoso", "Payments", "ledger"), "general-ledger")
    move(find_repository(estate, "contoso", "Web", "site"), estate, "Payments")
    remove(find_repository(estate, "fabrikam", "Retail", "storefront"))

    report = tmp_path / "report.json"
    second = run(
        config,
        output,
        started=NIGHT_2,
        report=str(report),
        report_format="json",
        fail_on=parse_fail_on("new-invalid,owner-removed"),
    )
    assert second.code == 1  # refunds became invalid
    changes = json.loads(report.read_text(encoding="utf-8"))
    assert changes["has_previous"] is True
    assert changes["removed"] == ["fabrikam/Retail/storefront"]
    assert changes["renamed"] == [
        {"old": "contoso/Payments/ledger", "new": "contoso/Payments/general-ledger"}
    ]
    assert changes["moved"] == [{"old": "contoso/Web/site", "new": "contoso/Payments/site"}]
    assert {
        "repository": "contoso/Payments/refunds",
        "field": "catalog.status",
        "old": "found",
        "new": "invalid",
    } in changes["status_changes"]
    owner = {
        "repository": "contoso/Payments/payments-api",
        "field": "owner",
        "old": "group:default/payments",
        "new": "group:default/cards",
    }
    assert owner in changes["context_changes"]
    assert [p["repository"] for p in changes["new_problems"]] == ["contoso/Payments/refunds"]
    assert changes["failed"] == []
    assert "change report:" in second.stderr and "1 removed" in second.stderr
    # synced_at: this night's start for what changed, the previous one for the rest.
    entities = by_name(second.entities)
    assert entities["payments-api"]["synced_at"] == "2026-12-07T02:00:00Z"
    assert entities["basket"]["synced_at"] == "2026-12-06T02:00:00Z"

    # Nothing changed since: nothing fails, not even with every condition asked for.
    third = run(config, output, started=NIGHT_2, fail_on=parse_fail_on(",".join(FAIL_ALL)))
    assert third.code == 0, third.stderr
    assert output.read_text(encoding="utf-8") == "".join(
        json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n" for e in second.entities
    )


FAIL_ALL = ("new-invalid", "new-problems", "owner-removed", "context-changed", "removed")


def test_a_failed_organization_keeps_its_last_good_entities_marked_stale(
    tmp_path: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, emulator, "[contoso, fabrikam]")
    output = tmp_path / "entities.ndjson"
    first = run(config, output)
    assert first.code == 0, first.stderr
    before = {e["id"]: e for e in first.entities if e["organization"] != "contoso"}
    capsys.readouterr()
    markdown = tmp_path / "report.md"
    junit = tmp_path / "junit.xml"
    # This token sees contoso only: every other organization fails tonight.
    second = run(
        config,
        output,
        token=CONTOSO_PAT,
        started=NIGHT_2,
        report=str(markdown),
        junit=str(junit),
        annotate=True,
        fail_on=parse_fail_on("new-invalid"),
    )
    assert second.code == 0, second.stderr
    stale = {e["id"]: e for e in second.entities if e["stale"]}
    assert set(stale) == set(before)
    for key, entity in stale.items():
        assert entity == {**before[key], "stale": True}  # synced_at: the first night's
    assert len(second.entities) == len(first.entities)
    text = markdown.read_text(encoding="utf-8")
    assert "## Organizations and projects that failed" in text
    assert "| nightly: fabrikam |" in text
    assert '<testsuite name="nightly/fabrikam"' in junit.read_text(encoding="utf-8")
    commands = capsys.readouterr().out.splitlines()
    assert f"##vso[task.uploadsummary]{markdown.resolve()}" in commands
    assert commands[-1].startswith("##vso[task.complete result=SucceededWithIssues;]")
    assert any(
        line.startswith("##vso[task.logissue type=error;]nightly: fabrikam:") for line in commands
    )
    # Without --fail-on, a failed organization still fails the run, as before.
    assert run(config, output, token=CONTOSO_PAT, started=NIGHT_2).code == 1


def test_the_shrink_guard_keeps_the_previous_output(
    tmp_path: Path, config: Path, estate: Estate
) -> None:
    output = tmp_path / "entities.ndjson"
    first = run(config, output)
    assert first.code == 0
    published = output.read_bytes()
    # Every repository but fabrikam's is gone (as when a token loses sight of them).
    for organization in estate.organizations:
        if organization.name != "fabrikam":
            for repo in list(organization.repositories()):
                remove(repo)
    report = tmp_path / "report.md"
    with pytest.raises(ShrinkError) as refused:
        run(config, output, started=NIGHT_2, max_shrink=0.1, report=str(report))
    assert exit_code_for(refused.value) == EXIT_SHRUNK == 6
    assert "the previous output is kept" in str(refused.value)
    assert output.read_bytes() == published
    assert "## Removed" in report.read_text(encoding="utf-8")
    accepted = run(config, output, started=NIGHT_2, max_shrink=0.1, accept_shrink=True)
    assert accepted.code == 0
    assert len(accepted.entities) < len(first.entities)


@pytest.mark.parametrize(("count", "split"), [(1, ()), (2, ()), (3, ("contoso",))])
def test_merged_shards_equal_one_job_byte_for_byte(
    tmp_path: Path, config: Path, count: int, split: tuple[str, ...]
) -> None:
    single = tmp_path / "single.ndjson"
    assert run(config, single).code == 0
    shards = [tmp_path / f"shard-{index}.ndjson" for index in range(1, count + 1)]
    for index, shard in enumerate(shards, 1):
        night = run(config, shard, shard=f"{index}/{count}", split=split)
        assert night.code == 0, night.stderr
        assert manifest_path(shard).is_file()
    sizes = [len(read(shard)) for shard in shards]
    assert all(sizes) and sum(sizes) == len(read(single))
    merged = tmp_path / "merged.ndjson"
    stderr = io.StringIO()
    code = merge_command(
        [str(shard) for shard in shards],
        output=str(merged),
        output_format="ndjson",
        options=NightlyOptions(),
        stdout=io.StringIO(),
        stderr=stderr,
    )
    assert code == 0, stderr.getvalue()
    assert merged.read_bytes() == single.read_bytes()


def test_merge_refuses_gaps_and_overlaps(tmp_path: Path, config: Path) -> None:
    shards = [tmp_path / f"shard-{index}.ndjson" for index in (1, 2, 3)]
    for index, shard in enumerate(shards, 1):
        assert run(config, shard, shard=f"{index}/3").code == 0

    def merge(*paths: Path) -> int:
        return merge_command(
            [str(path) for path in paths],
            output=str(tmp_path / "merged.ndjson"),
            output_format="ndjson",
            options=NightlyOptions(),
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )

    with pytest.raises(UsageError, match=r"gap: shard 3/3 missing"):
        merge(shards[0], shards[1])
    with pytest.raises(UsageError, match=r"overlap: shard 1/3 given twice"):
        merge(shards[0], shards[0], shards[1], shards[2])
    # An output that is not a shard's.
    single = tmp_path / "single.ndjson"
    assert run(config, single).code == 0
    with pytest.raises(Exception, match="no shard record"):
        merge(single)
    assert not (tmp_path / "merged.ndjson").exists()


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("TF_BUILD", "SYSTEM_ACCESSTOKEN")}
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args],
        cwd=cwd,
        env={**environ, "NIGHTLY_PAT": PAT},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_command_line_wires_the_nightly_options(
    tmp_path: Path, config: Path, estate: Estate
) -> None:
    nightly = ("-c", str(config), "--report", "report.md", "--junit", "junit.xml")
    for index in (1, 2):
        shard = cli(
            "sync", *nightly, "--shard", f"{index}/2", "-o", f"s{index}.ndjson", cwd=tmp_path
        )
        assert shard.returncode == 0, shard.stderr
    merged = cli(
        "merge",
        "s1.ndjson",
        "s2.ndjson",
        "-o",
        "entities.ndjson",
        "--report",
        "all.json",
        "--report-format",
        "json",
        "--annotate",
        cwd=tmp_path,
    )
    assert merged.returncode == 0, merged.stderr
    assert "##vso[task.uploadsummary]" not in merged.stdout  # a JSON report is not a summary
    assert json.loads((tmp_path / "all.json").read_text("utf-8"))["has_previous"] is False
    for organization in estate.organizations:
        if organization.name != "fabrikam":
            for gone in list(organization.repositories()):
                remove(gone)
    shrunk = cli(
        "sync", "-c", str(config), "-o", "entities.ndjson", "--max-shrink", "10%", cwd=tmp_path
    )
    assert shrunk.returncode == 6, shrunk.stderr
    assert "catalog-bridge: error: entities.ndjson not replaced" in shrunk.stderr
    refused = cli("sync", "-c", str(config), "--annotate", cwd=tmp_path)
    assert refused.returncode == 2
    assert "--annotate prints logging commands on standard output" in refused.stderr
    bad = cli("sync", "-c", str(config), "--fail-on", "sometimes", cwd=tmp_path)
    assert bad.returncode == 2 and "choose from org-failed" in bad.stderr
