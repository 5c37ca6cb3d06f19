"""Code Search (``POST [{project}/]_apis/search/codesearchresults``) over default branches.

Query syntax: ``path:`` (exact path, folder prefix, or ``*``/``**`` glob), ``repo:``,
``proj:``, ``file:``, ``ext:`` and plain words (each must occur in the file, ignoring case);
body ``filters`` ``Project``, ``Repository``, ``Path`` and ``Branch``. As in the service only
default branches are indexed (disabled and empty repositories are not), ``$top`` is trimmed
to 1000 (``infoCode`` 8) and a ``$skip`` of 1000 or more is refused.
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from bridge.emulator import api_errors
from bridge.emulator.context import Context
from bridge.emulator.estate import Repository
from bridge.emulator.history import blob_id
from bridge.emulator.messages import Response, json_response

MAX_TOP = 1000
MAX_SKIP = 1000
_INFO_TOP_TRIMMED = 8


@dataclass(slots=True)
class _Query:
    paths: list[str] = field(default_factory=list)
    repositories: list[str] = field(default_factory=list)
    projects: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    extensions: list[str] = field(default_factory=list)
    branches: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)


def _like(value: str, patterns: list[str]) -> bool:
    """Case-insensitive match against any pattern (``*`` wildcards); no patterns match all."""
    value = value.lower()
    return not patterns or any(fnmatchcase(value, pattern.lower()) for pattern in patterns)


def _path_matches(path: str, patterns: list[str]) -> bool:
    if not patterns:
        return True
    lowered = path.lower()
    for pattern in patterns:
        wanted = "/" + pattern.lower().lstrip("/")
        if "*" in wanted or "?" in wanted:
            if fnmatchcase(lowered, wanted):
                return True
        elif lowered == wanted or lowered.startswith(wanted.rstrip("/") + "/"):
            return True
    return False


def _parse(body: dict[str, Any]) -> _Query:
    text = body.get("searchText")
    if not isinstance(text, str) or not text.strip():
        raise api_errors.bad_request("The searchText of a code search request cannot be empty.")
    try:
        tokens = shlex.split(text)
    except ValueError:
        tokens = text.split()
    query = _Query()
    targets = {
        "path": query.paths,
        "repo": query.repositories,
        "proj": query.projects,
        "file": query.files,
        "ext": query.extensions,
    }
    for token in tokens:
        name, colon, value = token.partition(":")
        if colon and name.lower() in targets:
            if value != "*":  # "repo:*" and "proj:*" mean "any"
                targets[name.lower()].append(value)
        else:
            query.words.append(token.lower())
    filters = body.get("filters") or {}
    if not isinstance(filters, dict):
        raise api_errors.bad_request("'filters' must be an object of string lists.")
    for key, target in (
        ("Project", query.projects),
        ("Repository", query.repositories),
        ("Path", query.paths),
        ("Branch", query.branches),
    ):
        values = filters.get(key) or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise api_errors.bad_request(f"'filters.{key}' must be a list of strings.")
        target.extend(values)
    return query


def _bound(body: dict[str, Any], key: str, default: int) -> int:
    value = body.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise api_errors.bad_request(f"'{key}' must be a non-negative integer.")
    return value


def _results(ctx: Context, query: _Query) -> list[dict[str, Any]]:
    repositories: Iterable[Repository] = (
        ctx.project.repositories if ctx.project is not None else ctx.org.repositories()
    )
    found = []
    for repo in repositories:
        branch = repo.default_branch
        if repo.is_disabled or branch is None:
            continue
        if not _like(repo.project.name, query.projects) or not _like(repo.name, query.repositories):
            continue
        if query.branches and branch not in query.branches:
            continue  # only default branches are indexed
        tip = repo.history.branch_tip(branch)
        if tip is None:
            continue
        for path, content in tip.tree.items():
            name = path.rsplit("/", 1)[-1]
            if not (
                _path_matches(path, query.paths)
                and _like(name, query.files)
                and _like(name.rsplit(".", 1)[-1] if "." in name else "", query.extensions)
            ):
                continue
            text = content.decode("utf-8", errors="replace").lower()
            offsets = [text.find(word) for word in query.words]
            if any(offset < 0 for offset in offsets):
                continue
            found.append(
                {
                    "fileName": name,
                    "path": path,
                    "matches": {
                        "content": [
                            {"charOffset": offset, "length": len(word)}
                            for offset, word in zip(offsets, query.words, strict=True)
                        ],
                        "fileName": [],
                    },
                    "collection": {"name": ctx.org.name},
                    "project": {"name": repo.project.name, "id": repo.project.id},
                    "repository": {"name": repo.name, "id": repo.id, "type": "git"},
                    "versions": [{"branchName": branch, "changeId": tip.commit_id}],
                    "contentId": blob_id(content),
                }
            )
    return found


def _order(body: dict[str, Any], results: list[dict[str, Any]]) -> None:
    fields = {
        "path": lambda r: (
            r["path"].lower(),
            r["project"]["name"].lower(),
            r["repository"]["name"].lower(),
        ),
        "filename": lambda r: (r["fileName"].lower(), r["path"].lower()),
    }
    order = body.get("$orderBy") or [{"field": "path", "sortOrder": "ASC"}]
    first = order[0] if isinstance(order, list) and order and isinstance(order[0], dict) else {}
    key = fields.get(str(first.get("field", "path")).lower(), fields["path"])
    results.sort(key=key, reverse=str(first.get("sortOrder", "ASC")).upper() == "DESC")


def code_search(ctx: Context) -> Response:
    """Search file paths and contents of the default branches in scope."""
    body = ctx.json_body()
    skip = _bound(body, "$skip", 0)
    top = _bound(body, "$top", 100)
    if skip >= MAX_SKIP:
        raise api_errors.bad_request(
            f"The value of $skip ({skip}) must be less than {MAX_SKIP}.", "ArgumentException"
        )
    if not ctx.org.search_installed:
        raise api_errors.not_found(
            "The Code Search extension is not installed in this organization."
        )
    info_code = 0
    if top > MAX_TOP:
        top, info_code = MAX_TOP, _INFO_TOP_TRIMMED
    query = _parse(body)
    results = _results(ctx, query)
    if ctx.org.search_info_code:
        results, info_code = [], ctx.org.search_info_code
    _order(body, results)
    payload: dict[str, Any] = {
        "count": len(results),
        "results": results[skip : skip + top],
        "infoCode": info_code,
    }
    if body.get("includeFacets"):
        projects = Counter(r["project"]["name"] for r in results)
        repositories = Counter(r["repository"]["name"] for r in results)
        payload["facets"] = {
            "Project": [
                {"name": n, "id": n, "resultCount": c} for n, c in sorted(projects.items())
            ],
            "Repository": [
                {"name": n, "id": n, "resultCount": c} for n, c in sorted(repositories.items())
            ],
        }
    return json_response(payload, api_version=ctx.api_version)
