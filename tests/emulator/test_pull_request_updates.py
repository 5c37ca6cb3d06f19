"""Pull request updates (abandon, reactivate) and a push that moves its branch onto another
commit (``commits[0].parents``), as ``propose`` uses them."""

from __future__ import annotations

from typing import Any

import httpx

from tests.emulator.conftest import API

REPO = "/contoso/Payments/_apis/git/repositories/payments-api"


def _tip(client: httpx.Client, branch: str) -> str:
    refs = client.get(f"{REPO}/refs", params={**API, "filter": f"heads/{branch}"}).json()
    return str(next(r["objectId"] for r in refs["value"] if r["name"] == f"refs/heads/{branch}"))


def _push(
    client: httpx.Client, branch: str, old: str, path: str = "/new.txt", **commit: Any
) -> httpx.Response:
    change = {
        "changeType": "add",
        "item": {"path": path},
        "newContent": {"content": "new\n", "contentType": "rawtext"},
    }
    body = {
        "refUpdates": [{"name": f"refs/heads/{branch}", "oldObjectId": old}],
        "commits": [{"comment": "Add new.txt", "changes": [change], **commit}],
    }
    return client.post(f"{REPO}/pushes", params=API, json=body)


def test_a_pull_request_is_abandoned_and_reactivated(client: httpx.Client) -> None:
    assert _push(client, "topic", _tip(client, "develop")).status_code == 201
    body = {"sourceRefName": "refs/heads/topic", "targetRefName": "refs/heads/develop"}
    created = client.post(
        f"{REPO}/pullrequests", params=API, json={**body, "title": "T", "labels": [{"name": "x"}]}
    ).json()
    assert created["labels"] == [{"name": "x", "active": True}]
    url = f"{REPO}/pullrequests/{created['pullRequestId']}"
    abandoned = client.patch(url, params=API, json={"status": "abandoned"})
    assert abandoned.status_code == 200 and abandoned.json()["status"] == "abandoned"
    # Abandoned, it no longer blocks a new one; reactivating it then would duplicate it.
    other = client.post(f"{REPO}/pullrequests", params=API, json={**body, "title": "U"})
    assert other.status_code == 201
    refused = client.patch(url, params=API, json={"status": "active"})
    assert refused.status_code == 409 and "TF401179" in refused.text
    client.patch(
        f"{REPO}/pullrequests/{other.json()['pullRequestId']}",
        params=API,
        json={"status": "abandoned"},
    )
    reactivated = client.patch(url, params=API, json={"status": "active", "description": "D"})
    assert reactivated.json()["status"] == "active" and reactivated.json()["description"] == "D"
    assert client.patch(url, params=API, json={"status": "completed"}).status_code == 400
    missing = client.patch(f"{REPO}/pullrequests/99999", params=API, json={"status": "active"})
    assert missing.status_code == 404 and "TF401180" in missing.text


def test_a_push_with_parents_moves_the_branch_onto_that_commit(client: httpx.Client) -> None:
    # develop moves on first: the sample estate's develop and main start at one commit, and
    # commit ids are git's, so the same change on the same parent would be the same commit.
    assert _push(client, "develop", _tip(client, "develop"), path="/other.txt").status_code == 201
    develop = _tip(client, "develop")
    assert _push(client, "topic", develop).status_code == 201
    old = _tip(client, "topic")
    main = _tip(client, "main")
    moved = _push(client, "topic", old, parents=[main])
    assert moved.status_code == 201
    commit = moved.json()["commits"][0]
    assert commit["parents"] == [main]
    assert moved.json()["refUpdates"][0]["oldObjectId"] == old
    # The old tip still guards the ref: a second push from it is stale.
    stale = _push(client, "topic", old, parents=[main])
    assert stale.status_code == 409 and "TF401028" in stale.text
    unknown = _push(client, "topic", commit["commitId"], parents=["0" * 39 + "1"])
    assert unknown.status_code == 400 and "TF401035" in unknown.text
