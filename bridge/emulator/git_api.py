"""Git read routes: repositories, items, commits, refs, pushes, pull requests, branch stats."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from bridge.emulator import api_errors, shapes
from bridge.emulator.context import Context, continuation_token
from bridge.emulator.enums import PULL_REQUEST_STATUS, RECURSION, VERSION_OPTIONS, VERSION_TYPE
from bridge.emulator.estate import PullRequest, Repository
from bridge.emulator.history import (
    HEADS,
    ZERO_ID,
    Commit,
    GitTree,
    History,
    Push,
    blob_id,
    git_trees,
)
from bridge.emulator.identity import format_timestamp
from bridge.emulator.messages import Response, json_response

PAGE = 100
_VERSION_KINDS = {"branch": "Branch", "tag": "Tag", "commit": "Commit"}


# --- repositories -------------------------------------------------------------------------


def list_repositories(ctx: Context) -> Response:
    """``[{project}/]_apis/git/repositories``: every repository in one unpaged envelope."""
    repositories: Iterable[Repository] = (
        ctx.project.repositories if ctx.project is not None else ctx.org.repositories()
    )
    links = ctx.links
    with_links = ctx.flag_param("includeLinks")
    value = [shapes.repository(repo, links, with_links=with_links) for repo in repositories]
    return json_response({"count": len(value), "value": value}, api_version=ctx.api_version)


def get_repository(ctx: Context) -> Response:
    """``…/git/repositories/{repo}``: one repository (disabled ones are still described)."""
    repo = ctx.repository(allow_disabled=True)
    shape = shapes.repository(repo, ctx.links, with_links=True)
    return json_response(shape, api_version=ctx.api_version)


# --- versions -----------------------------------------------------------------------------


def resolve_version(
    repo: Repository,
    history: History,
    version: str | None,
    kind: str | None,
    options: str | None = None,
) -> Commit:
    """The commit a version descriptor names (``kind`` and ``options`` as
    :data:`VERSION_TYPE` and :data:`VERSION_OPTIONS` read them); the default branch when
    there is none. ``firstParent`` and ``previousChange`` step back to the first parent
    (``HEAD^``): in these linear histories the change before a version is its parent."""
    kind = kind or "branch"
    if version is None:
        kind, version = "branch", repo.default_branch or ""
    found: Commit | None = None
    if kind == "branch":
        found = history.branch_tip(version)
    elif kind == "tag":
        commit_id = history.refs.get("refs/tags/" + version)
        found = history.commits.get(commit_id) if commit_id else None
    elif len(version) >= 7:
        matches = [c for cid, c in history.commits.items() if cid.startswith(version.lower())]
        found = matches[0] if len(matches) == 1 else None
    if found is not None and options in ("firstparent", "previouschange"):
        found = history.commits[found.parents[0]] if found.parents else None
    if found is None:
        raise api_errors.version_unresolvable(_VERSION_KINDS[kind], version, repo.name)
    return found


# --- items --------------------------------------------------------------------------------


def _normal_path(path: str) -> str:
    path = "/" + path.strip().lstrip("/")
    return path.rstrip("/") or "/"


def _item_url(ctx: Context, repo: Repository, path: str) -> str:
    query = f"path={quote(path)}&versionType=Branch&versionOptions=None"
    return f"{ctx.links.repository(repo)}/items?{query}"


def _item(
    ctx: Context,
    repo: Repository,
    history: History,
    commit: Commit,
    *,
    path: str,
    trees: dict[str, GitTree],
    latest_change: bool,
) -> dict[str, Any]:
    """A ``GitItem``: ``commitId`` is the commit it was read at (the spec's meaning); the
    commit that last changed it is ``latestProcessedChange``, when asked for."""
    content = commit.tree.get(path)
    folder = content is None
    shape: dict[str, Any] = {
        "objectId": trees[path].object_id if folder else blob_id(content or b""),
        "gitObjectType": "tree" if folder else "blob",
        "commitId": commit.commit_id,
        "path": path,
    }
    if folder:
        shape["isFolder"] = True
    if latest_change:
        changed = history.last_change(commit, path)
        shape["latestProcessedChange"] = shapes.commit_ref(changed, repo, ctx.links)
    shape["url"] = _item_url(ctx, repo, path)
    return shape


def _version_of(ctx: Context, prefix: str) -> tuple[str | None, str | None, str | None]:
    """``(version, versionType, versionOptions)`` of the descriptor ``{prefix}.*`` in the
    query (or the short ``version``/``versionType``/``versionOptions`` forms)."""
    return (
        ctx.text_param(f"{prefix}.version", "version"),
        ctx.enum_param(VERSION_TYPE, f"{prefix}.versionType", "versionType"),
        ctx.enum_param(VERSION_OPTIONS, f"{prefix}.versionOptions", "versionOptions"),
    )


def get_items(ctx: Context) -> Response:
    """``…/items``: one file as JSON, raw bytes or zip; or a folder listing (``scopePath``)."""
    repo = ctx.repository()
    if repo.is_empty:
        raise api_errors.no_branches(repo.name)
    history = repo.history
    version, kind, options = _version_of(ctx, "versionDescriptor")
    commit = resolve_version(repo, history, version, kind, options)
    latest = ctx.flag_param("latestProcessedChange")
    raw_path = ctx.text_param("path")
    if raw_path is None:
        scope = _normal_path(ctx.text_param("scopePath") or "/")
        level = ctx.enum_param(RECURSION, "recursionLevel") or "none"
        value = _items_under(
            ctx, repo, history, commit, scope=scope, level=level, latest_change=latest
        )
        return json_response({"count": len(value), "value": value}, api_version=ctx.api_version)
    ctx.enum_param(RECURSION, "recursionLevel")  # checked; nothing is below a file
    path = _normal_path(raw_path)
    content = commit.tree.get(path)
    if content is None:
        raise api_errors.item_not_found(path, repo.name, version or "", commit.commit_id)
    fmt = (ctx.text_param("$format") or "").lower()
    accept = ctx.request.headers.get("accept", "").lower()
    headers: list[tuple[str, str]] = []
    if ctx.flag_param("download"):
        headers.append(("Content-Disposition", f"attachment; filename={path.rsplit('/', 1)[-1]}"))
    if fmt == "json" or (not fmt and "application/json" in accept):
        item = _item(ctx, repo, history, commit, path=path, trees={}, latest_change=latest)
        item["_links"] = {
            "self": {"href": item["url"]},
            "repository": {"href": ctx.links.repository(repo)},
            "blob": {"href": f"{ctx.links.repository(repo)}/blobs/{item['objectId']}"},
        }
        if ctx.flag_param("includeContentMetadata"):
            item["contentMetadata"] = _content_metadata(path, content)
        if ctx.flag_param("includeContent"):
            item["content"] = content.decode("utf-8", errors="replace")
        return json_response(item, api_version=ctx.api_version, headers=headers)
    if fmt == "zip" or (not fmt and "application/zip" in accept):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(path.lstrip("/"), content)
        return Response(200, [("Content-Type", "application/zip"), *headers], buffer.getvalue())
    text = fmt == "text" or (not fmt and "text/plain" in accept)
    content_type = "text/plain; charset=utf-8" if text else "application/octet-stream"
    return Response(200, [("Content-Type", content_type), *headers], content)


def _content_metadata(path: str, content: bytes) -> dict[str, Any]:
    name = path.rsplit("/", 1)[-1]
    binary = b"\0" in content
    return {
        "encoding": 65001,
        "contentType": "application/octet-stream" if binary else "text/plain",
        "fileName": name,
        "extension": name.rsplit(".", 1)[-1] if "." in name else "",
        "isBinary": binary,
        "isImage": False,
    }


def _items_under(
    ctx: Context,
    repo: Repository,
    history: History,
    commit: Commit,
    *,
    scope: str,
    level: str,
    latest_change: bool,
) -> list[dict[str, Any]]:
    """The item at ``scope`` and those below it down to ``level`` (:data:`RECURSION`)."""
    trees = git_trees(commit.tree)
    paths = set(commit.tree) | set(trees)
    if scope not in paths:
        raise api_errors.item_not_found(scope, repo.name, "", commit.commit_id)
    prefix = scope.rstrip("/") + "/"
    below = sorted(p for p in paths if p.startswith(prefix) and p != scope)
    if level in ("onelevel", "onelevelplusnestedemptyfolders"):  # Git has no empty folders
        below = [p for p in below if "/" not in p[len(prefix) :]]
    elif level != "full":
        below = []
    return [
        _item(ctx, repo, history, commit, path=p, trees=trees, latest_change=latest_change)
        for p in [scope, *below]
    ]


_DESCRIPTOR_FIELDS = ("path", "version", "versionType", "versionOptions", "recursionLevel")


def _descriptor_text(descriptor: dict[str, Any], name: str) -> str | None:
    """A ``GitItemDescriptor`` field as text: enums come as names (Python SDK) or numbers
    (Node SDK); anything else is refused."""
    raw = descriptor.get(name)
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise api_errors.invalid_argument(f"The value {raw!r} of '{name}' is not valid.")
    return str(raw)


def items_batch(ctx: Context) -> Response:
    """``POST …/itemsbatch``: for each ``itemDescriptors`` entry, the items a listing with
    that path, version and recursion level gives (``value`` is a list of lists)."""
    repo = ctx.repository()
    if repo.is_empty:
        raise api_errors.no_branches(repo.name)
    body = ctx.json_body()
    descriptors = body.get("itemDescriptors")
    if not isinstance(descriptors, list) or not descriptors:
        raise api_errors.invalid_argument("itemDescriptors must hold at least one descriptor.")
    history = repo.history
    latest = body.get("latestProcessedChange") is True
    value = []
    for index, descriptor in enumerate(descriptors):
        if not isinstance(descriptor, dict):
            raise api_errors.invalid_argument(f"itemDescriptors[{index}] is not an object.")
        fields = {name: _descriptor_text(descriptor, name) for name in _DESCRIPTOR_FIELDS}
        options = fields["versionOptions"]
        options = VERSION_OPTIONS.parse("versionOptions", options) if options else None
        kind = fields["versionType"]
        kind = VERSION_TYPE.parse("versionType", kind) if kind is not None else None
        commit = resolve_version(repo, history, fields["version"], kind, options)
        level = fields["recursionLevel"]
        level = RECURSION.parse("recursionLevel", level) if level is not None else "none"
        scope = _normal_path(fields["path"] or "/")
        value.append(
            _items_under(ctx, repo, history, commit, scope=scope, level=level, latest_change=latest)
        )
    return json_response({"count": len(value), "value": value}, api_version=ctx.api_version)


# --- commits ------------------------------------------------------------------------------


def _date_param(ctx: Context, name: str) -> datetime | None:
    raw = ctx.text_param(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise api_errors.bad_request(
            f"The date '{raw}' of parameter '{name}' is not valid."
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def list_commits(ctx: Context) -> Response:
    """``…/commits``: newest first, ``searchCriteria.*`` filters, ``$top``/``$skip`` paging."""
    repo = ctx.repository()
    version, kind, options = _version_of(ctx, "searchCriteria.itemVersion")
    if repo.is_empty and version is None:
        return json_response({"count": 0, "value": []}, api_version=ctx.api_version)
    history = repo.history
    start = resolve_version(repo, history, version, kind, options)
    top = ctx.int_param("searchCriteria.$top", "$top", default=PAGE)
    skip = ctx.int_param("searchCriteria.$skip", "$skip", default=0)
    author = (ctx.text_param("searchCriteria.author") or "").lower()
    since = _date_param(ctx, "searchCriteria.fromDate")
    until = _date_param(ctx, "searchCriteria.toDate")
    item_path = ctx.text_param("searchCriteria.itemPath")
    wanted_path = _normal_path(item_path) if item_path else None
    selected = [
        commit
        for commit in history.log(start)
        if (
            not author
            or author in commit.author.name.lower()
            or author in commit.author.email.lower()
        )
        and (since is None or commit.author.date >= since)
        and (until is None or commit.author.date <= until)
        and (
            wanted_path is None
            or any(p == wanted_path or p.startswith(wanted_path + "/") for p in commit.changes)
        )
    ]
    if ctx.flag_param("searchCriteria.showOldestCommitsFirst"):
        selected.reverse()
    page = selected[skip : skip + top]
    links = ctx.links
    headers = []
    if skip + len(page) < len(selected):
        headers.append(("Link", f'<{links.repository(repo)}/commits>;rel="next"'))
    value = [shapes.commit_ref(commit, repo, links) for commit in page]
    return json_response(
        {"count": len(value), "value": value}, api_version=ctx.api_version, headers=headers
    )


def get_commit(ctx: Context) -> Response:
    """``…/commits/{commitId}``: one commit with its parents and full message."""
    repo = ctx.repository()
    commit = resolve_version(repo, repo.history, ctx.params["commit"], "commit")
    shape = shapes.commit_ref(commit, repo, ctx.links, full_comment=True)
    shape["treeId"] = commit.tree_id
    shape["parents"] = list(commit.parents)
    shape["push"] = {"pushId": commit.push_id}
    return json_response(shape, api_version=ctx.api_version)


# --- refs ---------------------------------------------------------------------------------


def _creator(history: History, ref: str) -> Push | None:
    return next(
        (
            push
            for push in history.pushes
            if any(u.name == ref and u.old_object_id == ZERO_ID for u in push.ref_updates)
        ),
        history.pushes[0] if history.pushes else None,
    )


def list_refs(ctx: Context) -> Response:
    """``…/refs``: ``filter`` prefix (without ``refs/``), ``$top`` + continuation token."""
    repo = ctx.repository()
    history = repo.history
    prefix = "refs/" + (ctx.text_param("filter") or "")
    contains = ctx.text_param("filterContains")
    names = sorted(
        name
        for name in history.refs
        if name.startswith(prefix) and (contains is None or contains in name)
    )
    start = ctx.continuation("refs")
    top = ctx.int_param("$top", default=PAGE if ctx.text_param("continuationToken") else 0)
    page = names[start : start + top] if top else names[start:]
    links = ctx.links
    headers = []
    if top and start + len(page) < len(names):
        headers.append(("x-ms-continuationtoken", continuation_token("refs", start + len(page))))
    value = []
    for name in page:
        pusher = _creator(history, name)
        shape: dict[str, Any] = {"name": name, "objectId": history.refs[name]}
        if pusher is not None:
            shape["creator"] = shapes.identity_ref(pusher.pushed_by, links)
        shape["url"] = f"{links.repository(repo)}/refs?filter={quote(name[5:], safe='')}"
        value.append(shape)
    return json_response(
        {"value": value, "count": len(value)}, api_version=ctx.api_version, headers=headers
    )


# --- pushes -------------------------------------------------------------------------------


def push_shape(ctx: Context, repo: Repository, push: Push, *, details: bool) -> dict[str, Any]:
    """A ``GitPush``; ``details`` adds ref updates and commits."""
    links = ctx.links
    url = f"{links.repository(repo)}/pushes/{push.push_id}"
    shape: dict[str, Any] = {
        "repository": shapes.repository(repo, links),
        "pushedBy": shapes.identity_ref(push.pushed_by, links),
        "pushId": push.push_id,
        "date": format_timestamp(push.date),
        "url": url,
    }
    if details:
        shape["refUpdates"] = [
            {
                "repositoryId": repo.id,
                "name": update.name,
                "oldObjectId": update.old_object_id,
                "newObjectId": update.new_object_id,
            }
            for update in push.ref_updates
        ]
    return shape


def list_pushes(ctx: Context) -> Response:
    """``…/pushes``: newest first, filtered by ref, dates or pusher, ``$top``/``$skip``."""
    repo = ctx.repository()
    ref = ctx.text_param("searchCriteria.refName")
    pusher = (ctx.text_param("searchCriteria.pusherId") or "").lower()
    since = _date_param(ctx, "searchCriteria.fromDate")
    until = _date_param(ctx, "searchCriteria.toDate")
    with_updates = ctx.flag_param("searchCriteria.includeRefUpdates")
    selected = [
        push
        for push in reversed(repo.history.pushes)
        if (ref is None or any(u.name == ref for u in push.ref_updates))
        and (not pusher or push.pushed_by.id == pusher)
        and (since is None or push.date >= since)
        and (until is None or push.date <= until)
    ]
    skip = ctx.int_param("$skip", default=0)
    page = selected[skip : skip + ctx.int_param("$top", default=PAGE)]
    value = [push_shape(ctx, repo, push, details=with_updates) for push in page]
    return json_response({"count": len(value), "value": value}, api_version=ctx.api_version)


def get_push(ctx: Context) -> Response:
    """``…/pushes/{pushId}``: one push with its ref updates and commits."""
    repo = ctx.repository()
    history = repo.history
    push_id = ctx.params["push"]
    push = next((p for p in history.pushes if str(p.push_id) == push_id), None)
    if push is None:
        raise api_errors.not_found(f"The push with id {push_id} could not be found.")
    shape = push_shape(ctx, repo, push, details=True)
    shape["commits"] = [
        shapes.commit_ref(history.commits[cid], repo, ctx.links) for cid in push.commit_ids
    ]
    return json_response(shape, api_version=ctx.api_version)


# --- pull requests ------------------------------------------------------------------------


def list_pull_requests(ctx: Context) -> Response:
    """``…/pullrequests`` (repository or project): ``searchCriteria.*`` and ``$top``/``$skip``."""
    if "repository" in ctx.params:
        repositories = [ctx.repository()]
    elif ctx.project is not None:
        repositories = [r for r in ctx.project.repositories if not r.is_disabled]
    else:
        repositories = [r for r in ctx.org.repositories() if not r.is_disabled]
    status = ctx.enum_param(PULL_REQUEST_STATUS, "searchCriteria.status") or "active"
    source = ctx.text_param("searchCriteria.sourceRefName")
    target = ctx.text_param("searchCriteria.targetRefName")
    creator = (ctx.text_param("searchCriteria.creatorId") or "").lower()
    selected = [
        (pr, repo)
        for repo in repositories
        for pr in reversed(repo.pull_requests)
        if (status in ("all", "notset") or pr.status == status)
        and (source is None or pr.source_ref == source)
        and (target is None or pr.target_ref == target)
        and (not creator or pr.created_by.id == creator)
    ]
    selected.sort(key=lambda pair: -pair[0].pull_request_id)
    skip = ctx.int_param("$skip", default=0)
    page = selected[skip : skip + ctx.int_param("$top", default=PAGE)]
    links = ctx.links
    value = [shapes.pull_request(pr, repo, links) for pr, repo in page]
    return json_response({"value": value, "count": len(value)}, api_version=ctx.api_version)


def get_pull_request(ctx: Context) -> Response:
    """``…/pullrequests/{id}``: one pull request."""
    repo = ctx.repository()
    pr = find_pull_request(repo, ctx.params["pull_request"])
    return json_response(shapes.pull_request(pr, repo, ctx.links), api_version=ctx.api_version)


def find_pull_request(repo: Repository, wanted: str) -> PullRequest:
    """The repository's pull request numbered ``wanted``; 404 ``TF401180`` if none."""
    pr = next((p for p in repo.pull_requests if str(p.pull_request_id) == wanted), None)
    if pr is None:
        raise api_errors.not_found(
            "TF401180: The requested pull request was not found.",
            "GitPullRequestNotFoundException",
        )
    return pr


# --- branch statistics --------------------------------------------------------------------


def branch_stats(ctx: Context) -> Response:
    """``…/stats/branches``: ahead/behind counts against the default branch (or a base)."""
    repo = ctx.repository()
    if repo.is_empty:
        raise api_errors.no_branches(repo.name, status=400)
    history = repo.history
    base_name = ctx.text_param("baseVersionDescriptor.version") or repo.default_branch or ""
    base_kind = ctx.enum_param(VERSION_TYPE, "baseVersionDescriptor.versionType")
    base = resolve_version(repo, history, base_name, base_kind)
    base_ancestors = history.ancestors(base)
    links = ctx.links

    def stats(branch: str, tip: Commit) -> dict[str, Any]:
        ancestors = history.ancestors(tip)
        return {
            "commit": shapes.commit_ref(tip, repo, links),
            "name": branch,
            "aheadCount": len(ancestors - base_ancestors),
            "behindCount": len(base_ancestors - ancestors),
            "isBaseVersion": branch == base_name,
        }

    name = ctx.text_param("name")
    if name is not None:
        tip = resolve_version(repo, history, name, "branch")
        return json_response(stats(name, tip), api_version=ctx.api_version)
    value = [
        stats(ref[len(HEADS) :], history.commits[commit_id])
        for ref, commit_id in sorted(history.refs.items())
        if ref.startswith(HEADS)
    ]
    return json_response({"count": len(value), "value": value}, api_version=ctx.api_version)
