"""Git objects by id: ``blobs/{sha1}`` (where an item's ``_links.blob`` points) and
``trees/{sha1}`` (a folder's ``objectId``, a commit's ``treeId``)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator, Mapping
from typing import Any

from bridge.emulator import api_errors
from bridge.emulator.context import Context
from bridge.emulator.estate import Repository
from bridge.emulator.history import GitTree, blob_id, git_trees
from bridge.emulator.messages import Response, json_response


def _snapshots(repo: Repository) -> Iterator[Mapping[str, bytes]]:
    """Each distinct tree snapshot of the repository (commits often share one)."""
    seen: set[int] = set()
    for commit in repo.history.commits.values():
        if id(commit.tree) not in seen:
            seen.add(id(commit.tree))
            yield commit.tree


def _object_not_found(sha: str, repo: Repository) -> api_errors.ApiError:
    return api_errors.not_found(
        f"The object {sha} could not be found in the repository {repo.name}.",
        "GitObjectNotFoundException",
    )


def _sha(ctx: Context) -> str:
    return ctx.params["sha"].lower()


def get_blob(ctx: Context) -> Response:
    """``…/blobs/{sha1}``: a ``GitBlobRef`` as JSON, else the bytes (or a zip)."""
    repo = ctx.repository()
    sha = _sha(ctx)
    content = next(
        (
            data
            for snapshot in _snapshots(repo)
            for data in snapshot.values()
            if blob_id(data) == sha
        ),
        None,
    )
    if content is None:
        raise _object_not_found(sha, repo)
    fmt = (ctx.text_param("$format") or "").lower()
    accept = ctx.request.headers.get("accept", "").lower()
    if fmt == "json" or (not fmt and "application/json" in accept):
        url = f"{ctx.links.repository(repo)}/blobs/{sha}"
        shape = {
            "objectId": sha,
            "size": len(content),
            "url": url,
            "_links": {"self": {"href": url}, "repository": {"href": ctx.links.repository(repo)}},
        }
        return json_response(shape, api_version=ctx.api_version)
    name = ctx.text_param("fileName") or sha
    if fmt == "zip" or (not fmt and "application/zip" in accept):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(name, content)
        return Response(200, [("Content-Type", "application/zip")], buffer.getvalue())
    headers = [("Content-Type", "application/octet-stream")]
    if ctx.flag_param("download"):
        headers.append(("Content-Disposition", f"attachment; filename={name}"))
    return Response(200, headers, content)


def _entries(
    ctx: Context, repo: Repository, trees: dict[str, GitTree], folder: str, *, recursive: bool
) -> list[dict[str, Any]]:
    """A tree's entries (``relativePath`` from the requested tree), its subtrees' after
    each subtree when ``recursive``."""
    base = ctx.links.repository(repo)
    found: list[dict[str, Any]] = []

    def walk(path: str, prefix: str) -> None:
        for entry in trees[path].entries:
            relative = prefix + entry.name
            found.append(
                {
                    "objectId": entry.object_id,
                    "relativePath": relative,
                    "mode": entry.mode.lstrip("0"),
                    "gitObjectType": entry.kind,
                    "url": f"{base}/{entry.kind}s/{entry.object_id}",
                    "size": entry.size,
                }
            )
            if recursive and entry.kind == "tree":
                walk(f"{path.rstrip('/')}/{entry.name}", relative + "/")

    walk(folder, "")
    return found


def get_tree(ctx: Context) -> Response:
    """``…/trees/{sha1}``: a ``GitTreeRef`` (``recursive=true`` lists the whole subtree)."""
    repo = ctx.repository()
    sha = _sha(ctx)
    for snapshot in _snapshots(repo):
        trees = git_trees(snapshot)
        folder = next((path for path, tree in trees.items() if tree.object_id == sha), None)
        if folder is not None:
            url = f"{ctx.links.repository(repo)}/trees/{sha}"
            shape = {
                "objectId": sha,
                "url": url,
                "treeEntries": _entries(
                    ctx, repo, trees, folder, recursive=ctx.flag_param("recursive")
                ),
                "size": trees[folder].size,
                "_links": {
                    "self": {"href": url},
                    "repository": {"href": ctx.links.repository(repo)},
                    "treeEntries": {"href": url},
                },
            }
            return json_response(shape, api_version=ctx.api_version)
    raise _object_not_found(sha, repo)
