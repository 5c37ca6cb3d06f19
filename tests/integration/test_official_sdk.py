"""Microsoft's own Python client (``azure-devops`` on PyPI) against the emulator, over real
HTTP on 127.0.0.1: location discovery first, then the calls a script would make."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from bridge.emulator import RunningEmulator, run_in_thread
from bridge.emulator.options import EmulatorOptions
from tests.emulator.conftest import ADMIN, REVOKED, estate_file

# The SDK caches location answers in a folder chosen when it is imported: keep it out of $HOME.
os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", tempfile.mkdtemp(prefix="azure-devops-sdk-"))
connection_module = pytest.importorskip("azure.devops.connection")
sdk_errors = pytest.importorskip("azure.devops.exceptions")
msrest_auth = pytest.importorskip("msrest.authentication")
msrest_errors = pytest.importorskip("msrest.exceptions")
git_models = pytest.importorskip("azure.devops.v7_1.git.models")

UNKNOWN_TOKEN = "not-a-token-of-this-estate"


@pytest.fixture(scope="module")
def cloud() -> Iterator[RunningEmulator]:
    with run_in_thread(estate_file().estate) as emulator:
        yield emulator


def _connect(base_url: str, token: str = ADMIN) -> Any:
    creds = msrest_auth.BasicAuthentication("", token)
    return connection_module.Connection(base_url=base_url, creds=creds)


def test_projects_repositories_items_commits_refs_and_teams(cloud: RunningEmulator) -> None:
    connection = _connect(f"{cloud.base_url}/contoso")
    core = connection.clients_v7_1.get_core_client()
    # The SDK drops the x-ms-continuationtoken header, but sends continuationToken (7.1: the
    # number of projects already returned) and $top.
    first = core.get_projects(top=1)
    second = core.get_projects(top=1, continuation_token=1)
    assert [p.name for p in first] == ["Payments"]
    assert [p.name for p in second] == ["Identity"]

    git = connection.clients_v7_1.get_git_client()
    repositories = {r.name: r for r in git.get_repositories("Payments")}
    assert set(repositories) >= {"payments-api", "Payments Docs", "legacy-billing"}
    assert repositories["legacy-billing"].is_disabled is True

    content = b"".join(
        git.get_item_content("payments-api", path="/catalog-info.yaml", project="Payments")
    )
    assert content.startswith(b"apiVersion: backstage.io/v1alpha1\nkind: Component")
    criteria = git_models.GitQueryCommitsCriteria(
        item_version=git_models.GitVersionDescriptor(version="main", version_type="branch")
    )
    commits = git.get_commits("payments-api", search_criteria=criteria, project="Payments")
    assert [c.comment for c in commits] == [
        "Update dependencies",
        "Add catalog file",
        "Initial commit",
    ]
    item = git.get_item(
        "payments-api",
        path="/src/app.py",
        project="Payments",
        include_content=True,
        latest_processed_change=True,
    )
    assert item.content == "print('pay')"
    assert item.commit_id == commits[0].commit_id  # read at the tip
    assert item.latest_processed_change.commit_id == commits[-1].commit_id  # added first

    refs = git.get_refs("payments-api", project="Payments", filter="heads/")
    assert {r.name for r in refs} == {"refs/heads/main", "refs/heads/develop"}

    root = git.get_items("payments-api", project="Payments", recursion_level="oneLevel")
    tree = git.get_tree("payments-api", root[0].object_id, project="Payments", recursive=True)
    assert {e.relative_path for e in tree.tree_entries} >= {"src", "src/app.py", "README.md"}
    readme = next(e for e in tree.tree_entries if e.relative_path == "README.md")
    blob = b"".join(git.get_blob_content("payments-api", readme.object_id, project="Payments"))
    assert blob == b"# Payments API"

    project = core.get_project("Payments")
    teams = core.get_teams(project.id)
    assert teams[0].name == project.default_team.name == "Payments Team"
    members = core.get_team_members_with_extended_properties(project.id, teams[0].id)
    assert [(m.identity.unique_name, m.is_team_admin) for m in members] == [
        ("grace@contoso.example", True),
        ("alan@contoso.example", False),
    ]


def test_push_and_pull_request(cloud: RunningEmulator) -> None:
    git = _connect(f"{cloud.base_url}/contoso").clients_v7_1.get_git_client()
    tip = git.get_refs("payments-api", project="Payments", filter="heads/main")[0].object_id
    push = git.create_push(
        {
            "refUpdates": [{"name": "refs/heads/sdk-change", "oldObjectId": tip}],
            "commits": [
                {
                    "comment": "Add a file through the SDK",
                    "changes": [
                        {
                            "changeType": "add",
                            "item": {"path": "/sdk.txt"},
                            "newContent": {"content": "hello", "contentType": "rawText"},
                        }
                    ],
                }
            ],
        },
        "payments-api",
        project="Payments",
    )
    assert push.ref_updates[0].old_object_id == "0" * 40
    pull_request = git.create_pull_request(
        {
            "sourceRefName": "refs/heads/sdk-change",
            "targetRefName": "refs/heads/main",
            "title": "SDK change",
        },
        "payments-api",
        project="Payments",
    )
    assert pull_request.status == "active"
    criteria = git_models.GitPullRequestSearchCriteria(status="active")
    active = git.get_pull_requests("payments-api", criteria, project="Payments")
    assert [p.pull_request_id for p in active] == [pull_request.pull_request_id]


def test_bad_tokens(cloud: RunningEmulator) -> None:
    """What the SDK makes of the service's two refusals, once it knows the locations (a
    first good call, as in any script): the 203 sign-in page for an unknown token fails
    only at deserialisation (reference §9.3), a revoked token's 401 is an authentication
    error. Neither message holds the token."""
    base = f"{cloud.base_url}/contoso"
    assert _connect(base).clients_v7_1.get_core_client().get_projects()
    unknown = _connect(base, UNKNOWN_TOKEN).clients_v7_1.get_core_client()
    with pytest.raises(msrest_errors.DeserializationError) as sign_in:
        unknown.get_projects()
    assert str(sign_in.value) == "Cannot deserialize content-type: text/html"
    revoked = _connect(base, REVOKED).clients_v7_1.get_core_client()
    with pytest.raises(sdk_errors.AzureDevOpsAuthenticationError) as refused:
        revoked.get_projects()
    assert str(refused.value).startswith(
        "The requested resource requires user authentication: http://127.0.0.1:"
    )
    for error in (sign_in.value, refused.value):
        assert UNKNOWN_TOKEN not in str(error) and REVOKED not in str(error)


def test_on_premises_layout() -> None:
    options = EmulatorOptions(layout="onprem")
    with run_in_thread(estate_file().estate, options=options) as server:
        connection = _connect(f"{server.base_url}/tfs/contoso")
        git = connection.clients_v7_1.get_git_client()
        # ResourceAreas is empty on a server: the SDK uses the collection URL for every area,
        # and negotiates its 7.1 clients down to the server's 6.0.
        names = {r.name for r in git.get_repositories("Identity")}
        assert names == {"identity-service"}
        projects = connection.clients_v7_1.get_core_client().get_projects()
        assert {p.name for p in projects} == {"Payments", "Identity"}
