"""Pushes and pull requests change the estate consistently (items, commits, refs, PR lists)."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from bridge.emulator.git_writes import COMMIT_OBJECT_BYTES
from bridge.emulator.history import ZERO_ID
from tests.emulator.conftest import API, READER, auth

REPO = "/contoso/Payments/_apis/git/repositories/payments-api"
NEW_FILE = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: added\n"


def _tip(client: httpx.Client, repo: str = REPO, branch: str = "main") -> str:
    refs = client.get(f"{repo}/refs", params={**API, "filter": f"heads/{branch}"}).json()
    return str(refs["value"][0]["objectId"])


def _push(
    branch: str, old: str, changes: list[dict[str, Any]], comment: str = "Add catalog-info.yaml"
) -> dict[str, Any]:
    return {
        "refUpdates": [{"name": f"refs/heads/{branch}", "oldObjectId": old}],
        "commits": [{"comment": comment, "changes": changes}],
    }


def _add(path: str, content: str) -> dict[str, Any]:
    return {
        "changeType": "add",
        "item": {"path": path},
        "newContent": {"content": content, "contentType": "rawtext"},
    }


def test_push_creates_a_branch_and_the_file_becomes_readable(client: httpx.Client) -> None:
    base = _tip(client)
    answer = client.post(
        f"{REPO}/pushes",
        params=API,
        json=_push("add-catalog", base, [_add("/docs/new.yaml", NEW_FILE)]),
    )
    assert answer.status_code == 201
    push = answer.json()
    update = push["refUpdates"][0]
    assert update["oldObjectId"] == ZERO_ID  # a created branch echoes all zeros
    new_commit = push["commits"][0]
    assert update["newObjectId"] == new_commit["commitId"]
    assert new_commit["parents"] == [base]
    assert push["pushedBy"]["displayName"] == "Ada Admin"

    read = client.get(f"{REPO}/items", params={
        **API, "path": "/docs/new.yaml", "versionDescriptor.version": "add-catalog",
    })  # fmt: skip
    assert read.text == NEW_FILE
    assert (
        client.get(f"{REPO}/items", params={**API, "path": "/docs/new.yaml"}).status_code == 404
    )  # main unchanged
    commits = client.get(
        f"{REPO}/commits", params={**API, "searchCriteria.itemVersion.version": "add-catalog"}
    ).json()
    assert commits["value"][0]["commitId"] == new_commit["commitId"]
    assert commits["value"][0]["changeCounts"] == {"Add": 1, "Edit": 0, "Delete": 0}
    refs = client.get(f"{REPO}/refs", params={**API, "filter": "heads/"}).json()
    assert "refs/heads/add-catalog" in [ref["name"] for ref in refs["value"]]
    pushes = client.get(
        f"{REPO}/pushes", params={**API, "searchCriteria.refName": "refs/heads/add-catalog"}
    ).json()
    assert [p["pushId"] for p in pushes["value"]] == [push["pushId"]]
    stats = client.get(f"{REPO}/stats/branches", params={**API, "name": "add-catalog"}).json()
    assert stats["aheadCount"] == 1 and stats["behindCount"] == 0


def test_push_edits_an_existing_branch_and_rejects_a_stale_ref(client: httpx.Client) -> None:
    base = _tip(client, branch="develop")
    edit = {
        "changeType": "edit",
        "item": {"path": "/README.md"},
        "newContent": {
            "content": base64.b64encode(b"# New readme").decode(),
            "contentType": "base64Encoded",
        },
    }
    first = client.post(
        f"{REPO}/pushes", params=API, json=_push("develop", base, [edit], "Edit readme")
    )
    assert first.status_code == 201
    assert first.json()["refUpdates"][0]["oldObjectId"] == base
    read = client.get(f"{REPO}/items", params={**API, "path": "/README.md", "version": "develop"})
    assert read.text == "# New readme"

    stale = client.post(f"{REPO}/pushes", params=API, json=_push("develop", base, [edit]))
    assert stale.status_code == 409
    assert stale.json()["message"].startswith(
        "TF401028: The reference 'refs/heads/develop' has already been updated"
    )


def test_push_to_protected_branch_and_bad_pushes(client: httpx.Client) -> None:
    main = _tip(client)
    protected = client.post(
        f"{REPO}/pushes", params=API, json=_push("main", main, [_add("/x", "x")])
    )
    assert protected.status_code == 403 and protected.json()["message"].startswith("TF402455:")
    existing = client.post(
        f"{REPO}/pushes", params=API, json=_push("b", main, [_add("/README.md", "x")])
    )
    assert existing.status_code == 400
    unknown_base = client.post(
        f"{REPO}/pushes", params=API, json=_push("b", "1" * 40, [_add("/y", "y")])
    )
    assert unknown_base.status_code == 400
    no_version = client.post(f"{REPO}/pushes", json=_push("b", main, [_add("/y", "y")]))
    assert (
        no_version.status_code == 400
        and no_version.json()["typeKey"] == "VssVersionNotSpecifiedException"
    )
    # Nothing of the refused pushes landed.
    refs = client.get(f"{REPO}/refs", params=API).json()
    assert [ref["name"] for ref in refs["value"]] == ["refs/heads/develop", "refs/heads/main"]


def test_first_push_to_an_empty_repository(client: httpx.Client) -> None:
    sandbox = "/contoso/Payments/_apis/git/repositories/payments-sandbox"
    answer = client.post(
        f"{sandbox}/pushes",
        params=API,
        json=_push("main", ZERO_ID, [_add("/catalog-info.yaml", NEW_FILE)]),
    )
    assert answer.status_code == 201
    repo = client.get(sandbox, params=API).json()
    assert repo["defaultBranch"] == "refs/heads/main"
    assert repo["size"] == len(NEW_FILE) + COMMIT_OBJECT_BYTES  # the file and the commit
    assert (
        client.get(f"{sandbox}/items", params={**API, "path": "/catalog-info.yaml"}).text
        == NEW_FILE
    )


def test_pushes_need_code_write(emulator: Any) -> None:
    with httpx.Client(base_url=emulator.base_url, auth=auth(READER)) as reader:
        refused = reader.post(
            f"{REPO}/pushes", params=API, json=_push("x", ZERO_ID, [_add("/x", "x")])
        )
    assert refused.status_code == 401 and refused.content == b""


def test_pull_request_create_list_and_duplicate(client: httpx.Client) -> None:
    base = _tip(client)
    client.post(f"{REPO}/pushes", params=API, json=_push("feature", base, [_add("/f.txt", "f")]))
    body = {
        "sourceRefName": "refs/heads/feature",
        "targetRefName": "refs/heads/main",
        "title": "Add catalog-info.yaml",
        "description": "Proposed by catalog-bridge.",
    }
    created = client.post(f"{REPO}/pullrequests", params=API, json=body)
    assert created.status_code == 201
    pr = created.json()
    assert pr["status"] == "active" and pr["mergeStatus"] == "queued"
    assert pr["createdBy"]["displayName"] == "Ada Admin"
    assert pr["lastMergeSourceCommit"]["commitId"] == _tip(client, branch="feature")

    duplicate = client.post(f"{REPO}/pullrequests", params=API, json=body)
    assert duplicate.status_code == 409
    assert duplicate.json()["message"] == (
        "TF401179: An active pull request for the source and target branch already exists."
    )
    listed = client.get(f"{REPO}/pullrequests", params={
        **API,
        "searchCriteria.sourceRefName": "refs/heads/feature",
        "searchCriteria.status": "active",
    }).json()  # fmt: skip
    assert [p["pullRequestId"] for p in listed["value"]] == [pr["pullRequestId"]]
    project_wide = client.get("/contoso/Payments/_apis/git/pullrequests", params=API).json()
    assert project_wide["count"] == 1
    single = client.get(f"{REPO}/pullrequests/{pr['pullRequestId']}", params=API).json()
    assert single["title"] == "Add catalog-info.yaml"
    missing_branch = client.post(
        f"{REPO}/pullrequests", params=API, json={**body, "sourceRefName": "refs/heads/nope"}
    )
    assert missing_branch.status_code == 400
    too_long = client.post(
        f"{REPO}/pullrequests", params=API, json={**body, "description": "x" * 4001}
    )
    assert too_long.status_code == 400


def test_every_push_grows_the_repository_even_one_that_only_deletes(client: httpx.Client) -> None:
    # The listing's size is how a nightly sync sees pushes (bridge/state/signals.py).
    before = client.get(REPO, params=API).json()["size"]
    delete = {"changeType": "delete", "item": {"path": "/catalog-info.yaml"}}
    answer = client.post(
        f"{REPO}/pushes", params=API, json=_push("delete-only", _tip(client), [delete])
    )
    assert answer.status_code == 201
    after = client.get(REPO, params=API).json()["size"]
    assert after > before and after == before + COMMIT_OBJECT_BYTES
    hits = client.post(
        "/contoso/_apis/search/codesearchresults",
        params=API,
        json={"searchText": "path:/catalog-info.yaml repo:payments-api"},
    ).json()
    assert hits["count"] == 1  # Search sees the default branch only: the file is still there
