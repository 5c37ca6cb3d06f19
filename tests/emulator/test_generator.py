"""Generated estates: scale, exact mixes, determinism, realistic Backstage files, freshness."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bridge.catalog.formats import is_valid_object_name
from bridge.emulator import GenerationSpec, generate_estate
from bridge.emulator.estate import Repository
from bridge.errors import EmulatorError

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _documents(text: str) -> list[Any]:
    return [doc for doc in YAML(typ="safe").load_all(text) if doc is not None]


def _classify(repo: Repository) -> str:
    """What a catalog reader would conclude about a repository."""
    if repo.is_empty:
        return "empty"
    tip = repo.history.branch_tip(repo.default_branch or "")
    assert tip is not None
    content = tip.tree.get("/catalog-info.yaml")
    if content is None:
        return "missing"
    try:
        documents = _documents(content.decode())
    except YAMLError:
        return "invalid"
    if len(documents) > 1:
        return "multi_entity"
    (entity,) = documents
    if "owner" not in entity["spec"] or not is_valid_object_name(entity["metadata"]["name"]):
        return "invalid"
    return "valid"


def test_ten_thousand_repositories() -> None:
    spec = GenerationSpec(
        seed=11, organizations=5, projects_per_organization=100, repositories_per_project=20
    )
    estate = generate_estate(spec)
    assert len(estate.organizations) == 5
    assert all(len(org.projects) == 100 for org in estate.organizations)
    repositories = list(estate.repositories())
    assert len(repositories) == 10_000
    assert sum(repo.is_disabled for repo in repositories) == 200
    assert sum(repo.is_fork for repo in repositories) == 500
    assert sum(repo.is_empty for repo in repositories) == 200
    assert sum(" " in repo.name for repo in repositories) == 200
    assert len({repo.id for repo in repositories}) == 10_000


def test_exact_mix_of_catalog_files() -> None:
    spec = GenerationSpec(
        seed=4, organizations=2, projects_per_organization=10, repositories_per_project=50,
        invalid=0.15, multi_entity=0.1, missing=0.2, empty=0.05,
    )  # fmt: skip
    kinds = Counter(_classify(repo) for repo in generate_estate(spec).repositories())
    assert kinds == {"valid": 500, "invalid": 150, "multi_entity": 100, "missing": 200, "empty": 50}


def test_same_seed_same_estate_and_another_seed_differs() -> None:
    def fingerprint(seed: int) -> list[tuple[str, ...]]:
        spec = GenerationSpec(
            seed=seed,
            organizations=2,
            projects_per_organization=3,
            repositories_per_project=5,
            now=NOW,
        )
        rows = []
        for repo in generate_estate(spec).repositories():
            history = repo.history
            rows.append(
                (
                    repo.organization.name,
                    repo.project.name,
                    repo.name,
                    repo.id,
                    *sorted(history.commits),
                )
            )
        return rows

    assert fingerprint(9) == fingerprint(9)
    assert fingerprint(9) != fingerprint(10)


def test_catalog_files_are_realistic_backstage_yaml() -> None:
    spec = GenerationSpec(
        seed=2, organizations=1, projects_per_organization=20, repositories_per_project=20, now=NOW
    )
    valid, multi = [], []
    mistakes: Counter[str] = Counter()
    for repo in generate_estate(spec).repositories():
        kind = _classify(repo)
        if kind in ("empty", "missing"):
            continue
        tip = repo.history.branch_tip(repo.default_branch or "")
        assert tip is not None
        text = tip.tree["/catalog-info.yaml"].decode()
        if kind == "valid":
            valid.append(_documents(text)[0])
        elif kind == "multi_entity":
            multi.append(_documents(text))
        else:
            try:
                entity = _documents(text)[0]
            except YAMLError as error:
                mistakes["duplicate_key" if "duplicate key" in str(error) else "syntax_error"] += 1
            else:
                mistakes["missing_owner" if "owner" not in entity["spec"] else "bad_name"] += 1
    for entity in valid:
        assert entity["apiVersion"] == "backstage.io/v1alpha1" and entity["kind"] == "Component"
        assert is_valid_object_name(entity["metadata"]["name"]) and entity["metadata"]["title"]
        assert {"type", "lifecycle", "owner", "system"} <= set(entity["spec"])
    assert set(mistakes) == {"missing_owner", "bad_name", "syntax_error", "duplicate_key"}
    assert multi and all(2 <= len(docs) <= 3 for docs in multi)
    assert all(
        docs[0]["kind"] == "Component" and {d["kind"] for d in docs[1:]} <= {"API", "Resource"}
        for docs in multi
    )


def test_commit_dates_cover_every_freshness_class() -> None:
    spec = GenerationSpec(
        seed=8, organizations=1, projects_per_organization=5, repositories_per_project=40, now=NOW
    )
    ages = []
    authors_per_org: set[str] = set()
    for repo in generate_estate(spec).repositories():
        if repo.is_empty:
            continue
        history = repo.history
        tip = history.branch_tip(repo.default_branch or "")
        assert tip is not None
        commits = list(history.log(tip))
        assert 1 <= len(commits) <= 6
        assert [c.author.date for c in commits] == sorted(
            (c.author.date for c in commits), reverse=True
        )
        ages.append((NOW - tip.author.date).days)
        authors_per_org |= {c.author.email for c in commits}
    assert min(ages) < 30 and any(30 <= a < 180 for a in ages) and any(180 <= a < 365 for a in ages)
    assert max(ages) >= 365 and max(ages) <= 730
    members = {m.identity.email for m in generate_estate(spec).organizations[0].members}
    assert authors_per_org <= members  # commit authors are entitled users


def test_writes_to_a_generated_repository_persist() -> None:
    estate = generate_estate(
        GenerationSpec(seed=1, organizations=1, projects_per_organization=1, empty=0)
    )
    repo = next(iter(estate.repositories()))
    history = repo.writable_history()
    history.refs["refs/heads/feature"] = next(iter(history.commits))
    assert "refs/heads/feature" in repo.history.refs
    # Another estate from the same spec is untouched.
    other = next(
        iter(
            generate_estate(
                GenerationSpec(seed=1, organizations=1, projects_per_organization=1, empty=0)
            ).repositories()
        )
    )
    assert "refs/heads/feature" not in other.history.refs


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (GenerationSpec(invalid=0.6, missing=0.6), "must not exceed 1"),
        (GenerationSpec(fork=1.5), "generate.fork"),
        (GenerationSpec(organizations=-1), "generate.organizations"),
    ],
)
def test_impossible_specs(spec: GenerationSpec, message: str) -> None:
    with pytest.raises(EmulatorError, match=message):
        generate_estate(spec)


def test_every_generated_project_has_a_default_team_of_organization_members() -> None:
    estate = generate_estate(GenerationSpec(seed=3, organizations=1, projects_per_organization=4))
    organization = estate.organizations[0]
    members = {member.identity for member in organization.members}
    for project in organization.projects:
        (team,) = project.team_list()
        assert team.name == f"{project.name} Team"
        assert team.members and set(team.members) <= members
        assert team.admins == {team.members[0].id}
