"""``backstage.catalog``: a monorepo of catalogs merged into sync, against the emulator (its
git smart HTTP endpoint serves the catalog repository) and local git repositories."""

from __future__ import annotations

import io
import json
import re
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bridge.config import InvalidConfigError, load_config, starter_config
from bridge.emulator import RunningEmulator, parse_estate
from bridge.errors import EXIT_OK, EXIT_PROBLEMS
from bridge.nightly.publish import NightlyOptions
from bridge.nightly.report import Report, render_markdown
from bridge.state.store import StateStore
from bridge.sync.command import sync_command
from bridge.sync.engine import SyncOptions
from bridge.sync.monorepo import MonorepoOutcome, RepositoryKey, key_from_url, key_of
from bridge.sync.output import entity_schema
from tests.support.emulator import serving
from tests.support.secrets import assert_no_secrets, secret_forms

ADMIN = "monorepo-admin-token-0123456789"
CONTOSO_ONLY = "monorepo-contoso-token-0123456789"
ENV = "MONOREPO_PAT"


def _component(name: str, annotations: Mapping[str, str], **spec: str) -> str:
    entity = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name, "annotations": dict(annotations)},
        "spec": {"type": "service", "lifecycle": "production", "owner": f"group:{name}", **spec},
    }
    text: str = yaml.safe_dump(entity, sort_keys=False)
    return text


ROOT = """\
apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: root}
spec:
  targets: [./components/*.yaml, ./teams.yaml]
"""
# A Location of its own: a kind the rules refuse fails only this Location.
TEAMS = """\
apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: teams}
spec:
  target: ./groups.yaml
"""
GROUP = """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: platform}
spec: {type: team, children: []}
"""
CATALOG_FILES = {
    "catalog-info.yaml": ROOT,
    "teams.yaml": TEAMS,
    "groups.yaml": GROUP,
    # By annotation; the repository has its own catalog file too.
    "components/api.yaml": _component(
        "api-from-catalog", {"dev.azure.com/project-repo": "Payments/payments-api"}
    ),
    # By source-location: cloud, with the url: prefix, ?path= and a trailing slash.
    "components/worker.yaml": _component(
        "worker",
        {
            "backstage.io/source-location": (
                "url:https://dev.azure.com/contoso/Payments/_git/payments-worker/?path=/"
            )
        },
        type="website",
    ),
    # By view-url: the legacy host and a percent-encoded name.
    "components/ledger.yaml": _component(
        "ledger",
        {
            "backstage.io/view-url": (
                "https://contoso.visualstudio.com/DefaultCollection/Payments/_git/"
                "ledger%20svc?path=/README.md"
            )
        },
    ),
    # By source-location: on premises (/tfs/{collection}).
    "components/tools.yaml": _component(
        "tools",
        {
            "backstage.io/source-location": "https://ado.example.internal/tfs/fabrikam/Shared/_git/tools"
        },
    ),
    # Two organizations have Shared/common: ambiguous without host-org, one with it.
    "components/common.yaml": _component("common", {"dev.azure.com/project-repo": "Shared/common"}),
    "components/common-fabrikam.yaml": _component(
        "common-fabrikam",
        {
            "dev.azure.com/project-repo": "Shared/common",
            "dev.azure.com/host-org": "dev.azure.com/fabrikam",
        },
    ),
    # Nothing says which repository; a repository that does not exist.
    "components/orphan.yaml": _component("orphan", {}),
    "components/gone.yaml": _component("gone", {"dev.azure.com/project-repo": "Payments/gone"}),
}
OWN_FILE = _component("payments-api", {}, system="payments")


def _estate() -> str:
    def repository(name: str, files: Mapping[str, str] | None = None) -> dict[str, Any]:
        return {"name": name, "files": dict(files or {"README.md": f"# {name}"})}

    estate = {
        "tokens": [
            {"name": "admin", "value": ADMIN},
            {"name": "contoso", "value": CONTOSO_ONLY, "organizations": ["contoso"]},
        ],
        "organizations": [
            {
                "name": "contoso",
                "projects": [
                    {
                        "name": "Payments",
                        "repositories": [
                            repository("payments-api", {"catalog-info.yaml": OWN_FILE}),
                            repository("payments-worker"),
                            repository("ledger svc"),
                        ],
                    },
                    {"name": "Shared", "repositories": [repository("common")]},
                ],
            },
            {
                "name": "fabrikam",
                "projects": [
                    {"name": "Shared", "repositories": [repository("common"), repository("tools")]},
                    {"name": "Platform", "repositories": [repository("catalog", CATALOG_FILES)]},
                ],
            },
        ],
    }
    text: str = yaml.safe_dump(estate, sort_keys=False)
    return text


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with serving(lambda: parse_estate(_estate(), source="monorepo").estate) as start:
        yield start()


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The fetched catalog repository goes to a cache of the test's own.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _config(folder: Path, emulator: RunningEmulator, catalog: str) -> Path:
    path = folder / "catalog-bridge.yaml"
    path.write_text(
        "profiles:\n"
        "  - name: mono\n"
        "    organizations: [contoso, fabrikam]\n"
        f"    api_url: {emulator.base_url}/\n"
        f"    token_env: {ENV}\n"
        "    allow_http: true\n"
        "    backstage:\n"
        "      attributes: [catalog_name, owner, category, application]\n"
        "      catalog:\n" + "".join(f"        {line}\n" for line in catalog.splitlines()),
        encoding="utf-8",
    )
    return path


class Synced:
    def __init__(self, code: int, output: Path, stderr: str, report: Path) -> None:
        self.code = code
        self.stderr = stderr
        text = output.read_text(encoding="utf-8") if output.exists() else ""
        self.entities = {
            f"{e['organization']}/{e['project']}/{e['name']}": e
            for e in (json.loads(line) for line in text.splitlines())
        }
        self.report = json.loads(report.read_text(encoding="utf-8")) if report.exists() else None


def _sync(folder: Path, config: Path, token: str = ADMIN, *, state: Path | None = None) -> Synced:
    output, report, stderr = folder / "out.ndjson", folder / "report.json", io.StringIO()
    code = sync_command(
        config_file=str(config),
        profiles=[],
        options=SyncOptions(),
        output=str(output),
        output_format="ndjson",
        environ={ENV: token},
        stderr=stderr,
        progress=False,
        state=str(state) if state else None,
        nightly=NightlyOptions(report=str(report), report_format="json"),
    )
    return Synced(code, output, stderr.getvalue(), report)


def _catalog_url(emulator: RunningEmulator) -> str:
    return f"{emulator.base_url}/fabrikam/Platform/_git/catalog"


def _catalog_entries(entity: Mapping[str, Any]) -> list[str]:
    return [e["catalog_name"] for e in entity["context"] if e["origin"] == "catalog"]


def test_components_reach_the_repositories_they_name(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    config = _config(tmp_path, emulator, f"repository: {_catalog_url(emulator)}\nref: main")
    run = _sync(tmp_path, config)
    assert run.code == EXIT_OK, run.stderr
    entities = run.entities
    validator = jsonschema.Draft202012Validator(entity_schema())
    for entity in entities.values():
        assert [error.message for error in validator.iter_errors(entity)] == []
    assert _catalog_entries(entities["contoso/Payments/payments-worker"]) == ["worker"], run.stderr
    assert _catalog_entries(entities["contoso/Payments/ledger svc"]) == ["ledger"]
    assert _catalog_entries(entities["fabrikam/Shared/tools"]) == ["tools"]
    # host-org picks fabrikam's; without it, both organizations' repositories match.
    assert _catalog_entries(entities["fabrikam/Shared/common"]) == ["common-fabrikam", "common"]
    assert _catalog_entries(entities["contoso/Shared/common"]) == ["common"]
    assert _catalog_entries(entities["fabrikam/Platform/catalog"]) == []
    worker = entities["contoso/Payments/payments-worker"]["context"][0]
    commit = worker["commit"]
    assert worker == {
        "catalog_name": "worker",
        "owner": "group:worker",
        "category": "website",
        "source": "Backstage",
        "origin": "catalog",
        "file": "components/worker.yaml",
        "commit": commit,
        "catalog_repository": _catalog_url(emulator),
        "ref": "component:default/worker",
    }
    assert len(commit) == 40
    # Reported: the summary and the JSON change report name what found no repository or
    # several.
    assert (
        "8 Components, 5 mapped, 2 unmapped, 1 ambiguous, 1 processing error "
        "(1 entity dropped with a failed Location)"
    ) in run.stderr
    assert "unmapped: component:default/orphan (components/orphan.yaml:1)" in run.stderr
    assert (
        "unmapped: component:default/gone (components/gone.yaml:1): "
        "dev.azure.com/project-repo names Payments/gone, which this run did not sync"
    ) in run.stderr
    assert (
        "ambiguous: component:default/common (components/common.yaml:1): "
        "contoso/Shared/common, fabrikam/Shared/common"
    ) in run.stderr
    assert run.report is not None
    (catalog,) = run.report["catalogs"]
    assert catalog["commit"] == commit and catalog["error"] is None
    assert catalog["processing_errors"] == 1  # the Group: not in Backstage's default rules
    assert {item["ref"] for item in catalog["unmapped"]} == {
        "component:default/orphan",
        "component:default/gone",
    }
    assert [item["repositories"] for item in catalog["ambiguous"]] == [
        ["contoso/Shared/common", "fabrikam/Shared/common"]
    ]


@pytest.mark.parametrize(
    ("precedence", "origins", "counted"),
    [
        (None, ["catalog", "repository"], "the catalog repository's"),
        ("repository", ["repository", "catalog"], "their own file's"),
    ],
)
def test_a_repository_with_both_has_both_entries_and_the_precedence_is_counted(
    emulator: RunningEmulator,
    tmp_path: Path,
    precedence: str | None,
    origins: list[str],
    counted: str,
) -> None:
    extra = f"\nprecedence: {precedence}" if precedence else ""
    config = _config(tmp_path, emulator, f"repository: {_catalog_url(emulator)}{extra}")
    run = _sync(tmp_path, config)
    context = run.entities["contoso/Payments/payments-api"]["context"]
    assert [entry["origin"] for entry in context] == origins
    own = next(entry for entry in context if entry["origin"] == "repository")
    assert own["file"] == "/catalog-info.yaml" and own["catalog_name"] == "payments-api"
    assert own["commit"] == run.entities["contoso/Payments/payments-api"]["catalog"]["commit"]
    # payments-api has both; five repositories have only the catalog's.
    repository, catalog = (1, 5) if precedence == "repository" else (0, 6)
    assert (
        f"application context: {repository} repositor{'y' if repository == 1 else 'ies'} "
        f"from their own catalog file, {catalog} from a catalog repository; "
        f"1 has both, counted as {counted}"
    ) in run.stderr


def test_the_profile_rules_apply_to_the_catalog(emulator: RunningEmulator, tmp_path: Path) -> None:
    # Groups allowed: the teams Location no longer fails.
    rules = "rules: [Component, API, Location, Group]"
    config = _config(tmp_path, emulator, f"repository: {_catalog_url(emulator)}\n{rules}")
    state = tmp_path / "state.db"
    run = _sync(tmp_path, config, state=state)
    assert run.report is not None
    (catalog,) = run.report["catalogs"]
    assert (catalog["components"], catalog["processing_errors"]) == (8, 0)
    with StateStore.open(state) as store:
        recorded = store.last_run()
    assert recorded is not None
    assert {k: v for k, v in recorded.counts.items() if k.startswith("catalog components")} == {
        "catalog components": 8,
        "catalog components unmapped": 2,
        "catalog components ambiguous": 1,
    }
    assert "8 Components, 5 mapped, 2 unmapped, 1 ambiguous, 0 processing errors" in run.stderr
    # Only Components become context: the one kind sync maps to repositories.
    assert _catalog_entries(run.entities["contoso/Payments/payments-worker"]) == ["worker"]


def test_an_unreadable_catalog_fails_the_run_cleanly(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    # The token may read contoso, not the catalog repository in fabrikam.
    config = _config(tmp_path, emulator, f"repository: {_catalog_url(emulator)}")
    path = config.read_text(encoding="utf-8").replace("[contoso, fabrikam]", "[contoso]")
    config.write_text(path, encoding="utf-8")
    state = tmp_path / "state.db"
    run = _sync(tmp_path, config, CONTOSO_ONLY, state=state)
    assert run.code == EXIT_PROBLEMS
    with StateStore.open(state) as store:
        recorded = store.last_run()
    assert recorded is not None
    # The state's run record names it too (catalog-bridge state).
    (failure,) = recorded.failures
    assert failure.startswith(f"mono: catalog repository {_catalog_url(emulator)}: cannot fetch")
    assert f"Catalog repository {_catalog_url(emulator)} (profile mono) could not be read" in (
        run.stderr
    )
    # The repositories are synced all the same, with their own context only.
    assert run.entities and all(
        entry["origin"] == "repository"
        for entity in run.entities.values()
        for entry in entity["context"]
    )
    assert run.report is not None and run.report["catalogs"][0]["error"]
    assert "Traceback" not in run.stderr
    report = json.dumps(run.report)
    assert_no_secrets([run.stderr, report, *recorded.failures], secret_forms(CONTOSO_ONLY))


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(folder), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def _commit_catalog(folder: Path, owner: str) -> str:
    (folder / "components").mkdir(parents=True, exist_ok=True)
    (folder / "catalog-info.yaml").write_text(ROOT, encoding="utf-8")
    (folder / "teams.yaml").write_text(TEAMS, encoding="utf-8")
    (folder / "groups.yaml").write_text(GROUP, encoding="utf-8")
    component = _component(
        "worker", {"dev.azure.com/project-repo": "Payments/payments-worker"}, owner=owner
    )
    (folder / "components" / "worker.yaml").write_text(component, encoding="utf-8")
    _git(folder, "add", "-A")
    _git(folder, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", owner)
    return _git(folder, "rev-parse", "HEAD")


def test_a_local_catalog_at_a_ref_and_incremental_runs_see_its_changes(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    _git(catalog, "init", "-q", "-b", "main")
    first = _commit_catalog(catalog, "group:first")
    _git(catalog, "tag", "v1")
    second = _commit_catalog(catalog, "group:second")
    # A path relative to the configuration file, at a tag.
    config = _config(tmp_path, emulator, "repository: catalog\nref: v1")
    run = _sync(tmp_path, config)
    (entry,) = run.entities["contoso/Payments/payments-worker"]["context"]
    assert (entry["owner"], entry["commit"]) == ("group:first", first)
    assert entry["catalog_repository"] == str(catalog.absolute())
    # Its HEAD by default; the second run is incremental, yet sees the new commit, and the
    # entry is not doubled by the one the state kept.
    state = tmp_path / "state.db"
    config = _config(tmp_path, emulator, "repository: catalog")
    _git(catalog, "checkout", "-q", "v1")
    assert _sync(tmp_path, config, state=state).code == EXIT_OK
    _git(catalog, "checkout", "-q", "main")
    run = _sync(tmp_path, config, state=state)
    assert "incremental:" in run.stderr
    (entry,) = run.entities["contoso/Payments/payments-worker"]["context"]
    assert (entry["owner"], entry["commit"]) == ("group:second", second)
    own = run.entities["contoso/Payments/payments-api"]["context"]
    assert [e["origin"] for e in own] == ["repository"]  # reused from the state, once
    assert run.report is not None
    changes = {(c["repository"], c["field"], c["new"]) for c in run.report["context_changes"]}
    assert ("contoso/Payments/payments-worker", "owner", "group:second") in changes


def test_a_missing_local_catalog_is_a_failure_not_silence(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    config = _config(tmp_path, emulator, "repository: nowhere")
    run = _sync(tmp_path, config)
    assert run.code == EXIT_PROBLEMS
    assert "nowhere: not a git repository" in run.stderr


@pytest.mark.parametrize(
    ("url", "key"),
    [
        (
            "https://dev.azure.com/contoso/Payments/_git/api",
            RepositoryKey("contoso", "Payments", "api"),
        ),
        (
            "url:https://contoso@dev.azure.com/contoso/My%20Project/_git/my%20repo/?path=/x.yaml",
            RepositoryKey("contoso", "My Project", "my repo"),
        ),
        (
            "https://contoso.visualstudio.com/Payments/_git/api/pullrequest/3",
            RepositoryKey("contoso", "Payments", "api"),
        ),
        (
            "https://ado.example/tfs/Collection/Payments/_git/api",
            RepositoryKey("Collection", "Payments", "api"),
        ),
        ("https://dev.azure.com/contoso/_git/api", RepositoryKey("contoso", "api", "api")),
        ("https://github.com/contoso/api", None),
        ("file:/catalog/components/api.yaml", None),
        ("https://dev.azure.com/contoso/Payments/_git", None),
    ],
)
def test_repository_urls_name_their_repository(url: str, key: RepositoryKey | None) -> None:
    assert key_from_url(url) == key


def test_the_annotation_wins_over_urls_and_host_org_names_the_organization() -> None:
    entity = {
        "metadata": {
            "annotations": {
                "dev.azure.com/project-repo": "Payments/api",
                "dev.azure.com/host-org": "ado.example/tfs/Collection",
                "backstage.io/source-location": "url:https://dev.azure.com/x/y/_git/z",
            }
        }
    }
    assert key_of(entity) == (
        RepositoryKey("Collection", "Payments", "api"),
        "dev.azure.com/project-repo",
    )
    annotations = entity["metadata"]["annotations"]
    annotations["dev.azure.com/project-repo"] = "not-a-pair"
    assert key_of(entity) == (RepositoryKey("x", "y", "z"), "backstage.io/source-location")


def test_the_catalog_block_is_validated_with_key_paths(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    config = _config(
        tmp_path,
        emulator,
        "repository: https://dev.azure.com/contoso/Platform\n"
        "root: ../outside.yaml\nprecedence: mine\nrules: []\nbranch: main",
    )
    with pytest.raises(InvalidConfigError) as raised:
        load_config(config, environ={ENV: ADMIN})
    text = str(raised.value)
    for expected in (
        "line 10: profiles[0].backstage.catalog.repository: must be an Azure Repos URL",
        "line 11: profiles[0].backstage.catalog.root: must be a path inside",
        "line 12: profiles[0].backstage.catalog.precedence: unknown precedence 'mine'",
        "line 13: profiles[0].backstage.catalog.rules: name at least one kind",
        "line 14: profiles[0].backstage.catalog.branch: unknown key 'branch'",
    ):
        assert expected in text


def test_the_starter_files_catalog_example_is_valid(tmp_path: Path) -> None:
    # From "      # catalog:" on, "      #   key: ..." lines: drop the "# " to enable them.
    before, _, after = starter_config().partition("      # catalog:")
    block, _, rest = after.partition("\n\n")
    block = re.sub(r"^      # (?=  )", "      ", block, flags=re.MULTILINE)
    text = f"{before}      catalog:{block}\n\n{rest}"
    path = tmp_path / "catalog-bridge.yaml"
    path.write_text(text, encoding="utf-8")
    (profile,) = load_config(path, environ={"AZURE_DEVOPS_EXT_PAT": ADMIN}).profiles
    assert profile.backstage is not None
    catalog = profile.backstage.catalog
    assert catalog is not None
    assert (catalog.repository, catalog.ref, catalog.precedence) == (
        "https://dev.azure.com/my-organization/Platform/_git/catalog",
        "main",
        "catalog",
    )
    assert [rule.kind for rule in catalog.rules] == [
        "Component",
        "API",
        "Location",
        "Group",
        "System",
    ]


def test_the_markdown_report_lists_what_found_no_repository_or_several() -> None:
    outcome = MonorepoOutcome(
        "mono",
        "https://dev.azure.com/contoso/Platform/_git/catalog",
        "0" * 40,
        components=3,
        mapped=1,
        unmapped=({"ref": "component:default/a", "file": "a.yaml", "line": 4, "reason": "why"},),
        ambiguous=(
            {"ref": "component:default/b", "file": "b.yaml", "line": 1, "repositories": ["x", "y"]},
        ),
    )
    failed = MonorepoOutcome(
        "other", "/srv/catalog", None, error="/srv/catalog: not a git repository"
    )
    text = render_markdown(Report(catalogs=[outcome.as_json(), failed.as_json()]))
    assert "## Catalog repositories not read (1)" in text
    assert "| /srv/catalog | /srv/catalog: not a git repository |" in text
    assert "## Components mapped to no synced repository (1)" in text
    assert "| component:default/a | a.yaml:4 | why |" in text
    assert "## Components mapped to several repositories (1)" in text
    assert "| component:default/b | b.yaml:1 | x, y |" in text
