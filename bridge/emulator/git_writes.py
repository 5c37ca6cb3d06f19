"""Git write routes: creating pushes (commits on a new or existing branch) and pull requests.

Writes keep the estate consistent: a pushed file is then served by ``items`` and listed by
``commits``, a created branch appears in ``refs``, a pull request in the PR listings.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Mapping
from typing import Any

from bridge.emulator import api_errors, shapes
from bridge.emulator.context import Context
from bridge.emulator.estate import PullRequest, Repository
from bridge.emulator.git_api import find_pull_request, push_shape
from bridge.emulator.history import HEADS, ZERO_ID, Commit, History, Push, RefUpdate
from bridge.emulator.identity import Identity, Signature
from bridge.emulator.messages import Response, json_response

DESCRIPTION_LIMIT = 4000
_OBJECT_ID = re.compile(r"[0-9a-f]{40}")


# What a commit object and its new trees add to a repository's size, roughly.
COMMIT_OBJECT_BYTES = 250


def _text(body: Mapping[str, Any], key: str, where: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise api_errors.bad_request(f"The value of '{where}{key}' must be a non-empty string.")
    return value


def _content(change: Mapping[str, Any], where: str) -> bytes:
    new = change.get("newContent")
    if not isinstance(new, dict) or not isinstance(new.get("content"), str):
        raise api_errors.bad_request(f"'{where}newContent.content' must be a string.")
    kind = str(new.get("contentType", "rawtext")).lower()
    if kind == "rawtext":
        return str(new["content"]).encode()
    if kind == "base64encoded":
        try:
            return base64.b64decode(new["content"], validate=True)
        except binascii.Error:
            raise api_errors.bad_request(
                f"'{where}newContent.content' is not valid base64."
            ) from None
    raise api_errors.bad_request(
        f"'{where}newContent.contentType' must be rawText or base64Encoded."
    )


def _apply(tree: dict[str, bytes], change: Any, where: str) -> tuple[str, str]:
    """Apply one change to ``tree``; returns ``(path, kind)`` for the commit's change list."""
    if not isinstance(change, dict) or not isinstance(change.get("item"), dict):
        raise api_errors.bad_request(f"'{where}item' must be an object with a path.")
    kind = str(change.get("changeType", "")).lower()
    path = "/" + _text(change["item"], "path", where + "item.").lstrip("/")
    exists = path in tree
    if kind == "add":
        if exists:
            raise api_errors.bad_request(f"The path '{path}' already exists and cannot be added.")
        tree[path] = _content(change, where)
    elif kind == "edit":
        if not exists:
            raise api_errors.bad_request(f"The path '{path}' does not exist and cannot be edited.")
        tree[path] = _content(change, where)
    elif kind == "delete":
        if not exists:
            raise api_errors.bad_request(f"The path '{path}' does not exist and cannot be deleted.")
        del tree[path]
    elif kind == "rename":
        source = "/" + _text(change, "sourceServerItem", where).lstrip("/")
        if source not in tree or exists:
            raise api_errors.bad_request(f"Cannot rename '{source}' to '{path}'.")
        tree[path] = tree.pop(source)
        return path, "add"
    else:
        raise api_errors.bad_request(
            f"'{where}changeType' must be add, edit, delete or rename, got '{kind}'."
        )
    return path, kind


def _signature(raw: Any, fallback: Identity, ctx: Context) -> Signature:
    if (
        isinstance(raw, dict)
        and isinstance(raw.get("name"), str)
        and isinstance(raw.get("email"), str)
    ):
        return Signature(raw["name"], raw["email"], ctx.now())
    return Signature(fallback.display_name, fallback.email, ctx.now())


def _base(history: History, ref: str, old: str) -> tuple[Commit | None, str]:
    """The parent of the first new commit and the old id to echo (zeros for a new branch)."""
    current = history.refs.get(ref)
    if current is not None:
        if old != current:
            raise api_errors.stale_ref(ref)
        return history.commits[current], current
    if old == ZERO_ID:
        return None, ZERO_ID
    parent = history.commits.get(old)
    if parent is None:
        raise api_errors.bad_request(
            f"TF401035: The object '{old}' does not exist.", "GitObjectNotFoundException"
        )
    return parent, ZERO_ID


def _rebased_parent(history: History, first: Any, parent: Commit | None) -> Commit | None:
    """The first commit's own ``parents`` (one id), if given: the branch is then moved onto
    that commit, as when a tool rebases its branch (``oldObjectId`` still guards the ref)."""
    parents = first.get("parents") if isinstance(first, dict) else None
    if not parents:
        return parent
    if not isinstance(parents, list) or len(parents) != 1 or not isinstance(parents[0], str):
        raise api_errors.bad_request("'commits[0].parents' must hold one commit id.")
    chosen = history.commits.get(parents[0].lower())
    if chosen is None:
        raise api_errors.bad_request(
            f"TF401035: The object '{parents[0]}' does not exist.", "GitObjectNotFoundException"
        )
    return chosen


def create_push(ctx: Context) -> Response:
    """``POST …/pushes``: commits on a new branch (from ``oldObjectId``) or an existing one."""
    repo = ctx.repository()
    body = ctx.json_body()
    updates, commits = body.get("refUpdates"), body.get("commits")
    if not isinstance(updates, list) or len(updates) != 1 or not isinstance(updates[0], dict):
        raise api_errors.bad_request("'refUpdates' must hold exactly one ref update.")
    if not isinstance(commits, list) or not commits:
        raise api_errors.bad_request("'commits' must hold at least one commit.")
    ref = _text(updates[0], "name", "refUpdates[0].")
    if not ref.startswith(HEADS):
        raise api_errors.bad_request(f"Only branches (refs/heads/...) can be pushed, got '{ref}'.")
    old = str(updates[0].get("oldObjectId", "")).lower()
    if _OBJECT_ID.fullmatch(old) is None:
        raise api_errors.bad_request(
            "'refUpdates[0].oldObjectId' must be a 40-character object id."
        )
    history = repo.history
    if ref in history.refs and ref[len(HEADS) :] in repo.protected_branches:
        raise api_errors.push_rejected_by_policy()
    parent, echoed_old = _base(history, ref, old)
    parent = _rebased_parent(history, commits[0], parent)
    # Validate and stage every commit before changing anything.
    tree = dict(parent.tree) if parent else {}
    staged = []
    for index, raw in enumerate(commits):
        where = f"commits[{index}]."
        if (
            not isinstance(raw, dict)
            or not isinstance(raw.get("changes"), list)
            or not raw["changes"]
        ):
            raise api_errors.bad_request(f"'{where}changes' must hold at least one change.")
        message = _text(raw, "comment", where)
        changes = dict(
            _apply(tree, change, f"{where}changes[{number}].")
            for number, change in enumerate(raw["changes"])
        )
        staged.append((dict(tree), changes, message, raw))
    return _commit_push(ctx, repo, ref, parent=parent, echoed_old=echoed_old, staged=staged)


def _commit_push(
    ctx: Context,
    repo: Repository,
    ref: str,
    *,
    parent: Commit | None,
    echoed_old: str,
    staged: list[tuple[dict[str, bytes], dict[str, str], str, dict[str, Any]]],
) -> Response:
    history = repo.writable_history()
    identity = ctx.token.identity
    push_id = history.next_push_id()
    created = []
    for tree, changes, message, raw in staged:
        author = _signature(raw.get("author"), identity, ctx)
        committer = _signature(raw.get("committer"), identity, ctx)
        parent = history.add_commit(
            parent,
            tree,
            changes,
            author=author,
            committer=committer,
            message=message,
            push_id=push_id,
        )
        created.append(parent)
    assert parent is not None  # at least one commit was staged
    history.refs[ref] = parent.commit_id
    push = Push(
        push_id,
        ctx.now(),
        identity,
        (RefUpdate(ref, echoed_old, parent.commit_id),),
        tuple(commit.commit_id for commit in created),
    )
    history.pushes.append(push)
    if repo.default_branch is None:
        repo.default_branch = ref[len(HEADS) :]  # the first push makes the default branch
    # Every commit stores objects (the commit, its trees), so any push grows the repository,
    # even one that only deletes: the listing's size is the signal a sync sees pushes by.
    repo.size += COMMIT_OBJECT_BYTES * len(staged) + sum(
        len(tree[path])
        for tree, changes, _, _ in staged
        for path, kind in changes.items()
        if kind != "delete"
    )
    links = ctx.links
    repo_url = links.repository(repo)
    shape = push_shape(ctx, repo, push, details=True)
    shape["commits"] = [
        {
            "treeId": commit.tree_id,
            "commitId": commit.commit_id,
            "author": shapes.signature(commit.author),
            "committer": shapes.signature(commit.committer),
            "comment": commit.message,
            "parents": list(commit.parents),
            "url": f"{repo_url}/commits/{commit.commit_id}",
        }
        for commit in created
    ]
    shape["_links"] = {
        "self": {"href": shape["url"]},
        "repository": {"href": repo_url},
        "commits": {"href": f"{shape['url']}/commits"},
        "pusher": {"href": links.identity(identity.id)},
        "refs": {"href": f"{repo_url}/refs/{ref}"},
    }
    return json_response(shape, 201, api_version=ctx.api_version)


def create_pull_request(ctx: Context) -> Response:
    """``POST …/pullrequests``: 201 with an active PR; 409 TF401179 for a duplicate."""
    repo = ctx.repository()
    body = ctx.json_body()
    source = _text(body, "sourceRefName", "")
    target = _text(body, "targetRefName", "")
    title = _text(body, "title", "")
    description = body.get("description") or ""
    if not isinstance(description, str) or len(description) > DESCRIPTION_LIMIT:
        raise api_errors.bad_request(
            f"The description must be a string of at most {DESCRIPTION_LIMIT} characters."
        )
    if source == target:
        raise api_errors.bad_request("The source and target branch of a pull request must differ.")
    history = repo.history
    source_commit, target_commit = history.refs.get(source), history.refs.get(target)
    if source_commit is None or target_commit is None:
        raise api_errors.bad_request(
            "TF401398: The pull request cannot be activated because the source and/or the "
            "target branch no longer exists, or the requested refs are not branches",
            "InvalidArgumentValueException",
        )
    if any(
        pr.status == "active" and pr.source_ref == source and pr.target_ref == target
        for pr in repo.pull_requests
    ):
        raise api_errors.duplicate_pull_request()
    reviewers = body.get("reviewers") or []
    reviewer_ids = tuple(
        str(reviewer["id"])
        for reviewer in reviewers
        if isinstance(reviewer, dict) and "id" in reviewer
    )
    labels = tuple(
        str(label["name"])
        for label in body.get("labels") or []
        if isinstance(label, dict) and "name" in label
    )
    pr = PullRequest(
        pull_request_id=repo.organization.next_pull_request_id(),
        title=title,
        description=description,
        source_ref=source,
        target_ref=target,
        created_by=ctx.token.identity,
        creation_date=ctx.now(),
        merge_id=str(uuid.uuid4()),
        source_commit=source_commit,
        target_commit=target_commit,
        is_draft=bool(body.get("isDraft", False)),
        reviewer_ids=reviewer_ids,
        labels=labels,
    )
    repo.pull_requests.append(pr)
    return json_response(shapes.pull_request(pr, repo, ctx.links), 201, api_version=ctx.api_version)


_PULL_REQUEST_STATUSES = ("active", "abandoned", "completed")


def update_pull_request(ctx: Context) -> Response:
    """``PATCH …/pullrequests/{id}``: title, description, draft flag and status (abandon,
    reactivate; completing is left to the web UI, so ``completed`` is refused here)."""
    repo = ctx.repository()
    pr = find_pull_request(repo, ctx.params["pull_request"])
    body = ctx.json_body()
    status = body.get("status")
    if status is not None:
        if status not in _PULL_REQUEST_STATUSES or status == "completed":
            raise api_errors.bad_request("'status' can only be set to active or abandoned here.")
        if status == "active" and any(
            other.status == "active"
            and other.source_ref == pr.source_ref
            and other.target_ref == pr.target_ref
            for other in repo.pull_requests
            if other is not pr
        ):
            raise api_errors.duplicate_pull_request()
        pr.status = status
    for key in ("title", "description"):
        if key in body:
            setattr(pr, key, _text(body, key, "") if key == "title" else str(body[key] or ""))
    if len(pr.description) > DESCRIPTION_LIMIT:
        raise api_errors.bad_request(
            f"The description must be a string of at most {DESCRIPTION_LIMIT} characters."
        )
    if "isDraft" in body:
        pr.is_draft = bool(body["isDraft"])
    pr.source_commit = repo.history.refs.get(pr.source_ref, pr.source_commit)
    return json_response(shapes.pull_request(pr, repo, ctx.links), api_version=ctx.api_version)
