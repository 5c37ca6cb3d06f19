"""Git's smart HTTP protocol at ``/{org}/{project}/_git/{repo}``, read-only, for git clients.

Each emulated repository is mirrored, on its first Git request, as a real bare repository in
a temporary folder owned by the running emulator: every commit of its history is written (in
a pack indexed by ``git index-pack``) as objects whose contents
(:func:`~bridge.emulator.history.tree_body`, :func:`~bridge.emulator.history.commit_body`)
give the very ids the REST API shows, and its branches become ``packed-refs``. Every later
Git request brings the mirror up to date first, so commits pushed through the REST API are
fetched like any other. ``git http-backend`` (CGI) answers ``info/refs`` and
``git-upload-pack``; pushing over Git is refused.

Tokens follow the REST routes' rules: an unknown one gets the 203 sign-in page, a revoked one
(or one without ``vso.code`` or for another organization) a 401 with ``WWW-Authenticate``.
A request without credentials is challenged with a 401 too (the app does it), since git
sends credentials only when challenged.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import struct
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from bridge.emulator.auth import unauthorized
from bridge.emulator.estate import Estate, Repository, Token
from bridge.emulator.history import Commit, commit_body, git_trees, object_id, tree_body
from bridge.emulator.messages import Request, Response

_READ_SCOPE = "code.read"
_UPLOAD_PACK = "git-upload-pack"
_TEXT = [("Content-Type", "text/plain; charset=utf-8")]


@dataclass(frozen=True, slots=True)
class GitAddress:
    """A Git request's target: organization, project, repository and what follows ``{repo}``."""

    organization: str
    project: str
    repository: str
    tail: tuple[str, ...]


def split_git_path(
    segments: list[str], *, onprem: bool, virtual_directory: str
) -> GitAddress | None:
    """The Git address of a decoded path (``…/{org}/{project}/_git/{repo}/…``), or None.

    ``/{org}/_git/{repo}`` is Azure DevOps' shortcut for a repository named like its project.
    """
    lowered = [segment.lower() for segment in segments]
    if "_git" not in lowered:
        return None
    at = lowered.index("_git")
    head, rest = segments[:at], segments[at + 1 :]
    if onprem and virtual_directory:
        if not head or head[0].lower() != virtual_directory.lower():
            return None
        head = head[1:]
    if not rest or len(head) not in (1, 2):
        return None
    project = head[1] if len(head) == 2 else rest[0]
    return GitAddress(head[0], project, rest[0], tuple(rest[1:]))


def _text(status: int, message: str) -> Response:
    return Response(status, list(_TEXT), f"{message}\n".encode())


def _not_found(name: str) -> Response:
    return _text(
        404,
        f"TF401019: The Git repository with name or identifier {name} does not exist or you "
        "do not have permissions for the operation you are attempting.",
    )


def _service(request: Request, tail: tuple[str, ...]) -> str | None:
    """The Git service asked for (``git-upload-pack``, ``git-receive-pack``), else None."""
    lowered = tuple(part.lower() for part in tail)
    if lowered == ("info", "refs") and request.method == "GET":
        return request.query.get("service")
    if len(lowered) == 1 and lowered[0].startswith("git-") and request.method == "POST":
        return lowered[0]
    return None


class GitMirrors:
    """Bare Git repositories mirroring the emulated ones, built lazily, in a temporary folder
    removed with this object (or at exit)."""

    def __init__(self) -> None:
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._written: dict[str, set[str]] = {}  # repository id -> object ids on disk

    def close(self) -> None:
        """Remove every mirror."""
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None
            self._written.clear()

    async def serve(
        self, request: Request, caller: Token, estate: Estate, address: GitAddress
    ) -> Response:
        """Answer one Git request from an identified caller."""
        organization = estate.organization(address.organization)
        if organization is None:
            return _text(404, f"The organization '{address.organization}' does not exist.")
        if not caller.can_see(organization.name) or not caller.has_scope(_READ_SCOPE):
            return unauthorized(request)
        project = organization.project(address.project)
        repo = project.repository(address.repository) if project is not None else None
        if repo is None or repo.is_disabled:
            return _not_found(address.repository)
        service = _service(request, address.tail)
        if service is None:
            return _text(404, "Only Git's smart HTTP protocol is served here.")
        if service != _UPLOAD_PACK:
            return _text(
                403,
                "TF401027: You need the Git 'GenericContribute' permission to perform this "
                "action. The emulator serves Git read-only; push through the REST API.",
            )
        path = self.sync(repo)
        return await _http_backend(request, path, "/".join(address.tail))

    def sync(self, repo: Repository) -> Path:
        """Bring the repository's mirror up to date (commits, branches, HEAD); its path."""
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="emulator-git-")
        path = Path(self._scratch.name) / f"{repo.id}.git"
        env = _git_environment(Path(self._scratch.name))
        if not path.exists():
            _git(["init", "--bare", "--quiet", str(path)], env)
        stored = self._written.setdefault(repo.id, set())
        history = repo.history
        pack = _Pack(stored)
        for commit in history.commits.values():
            if commit.commit_id not in stored:
                pack.add_commit(commit)
        if pack.objects:
            # One pack per update: loose objects would cost a file each.
            _git([f"--git-dir={path}", "index-pack", "--stdin"], env, pack.data())
            stored.update(pack.ids)
        packed = "".join(f"{sha} {name}\n" for name, sha in sorted(history.refs.items()))
        _replace_if_changed(path / "packed-refs", "# pack-refs with: sorted\n" + packed)
        _replace_if_changed(path / "HEAD", f"ref: refs/heads/{repo.default_branch or 'main'}\n")
        return path


_PACK_TYPES = {"commit": 1, "tree": 2, "blob": 3}


class _Pack:
    """New objects gathered into one Git pack (version 2, no deltas)."""

    def __init__(self, stored: set[str]) -> None:
        self._stored = stored
        self.ids: set[str] = set()
        self.objects: list[bytes] = []

    def add(self, kind: str, body: bytes) -> str:
        """Add an object unless the mirror or this pack has it; its id."""
        sha = object_id(kind, body)
        if sha not in self._stored and sha not in self.ids:
            self.ids.add(sha)
            self.objects.append(_pack_header(_PACK_TYPES[kind], len(body)) + zlib.compress(body))
        return sha

    def add_commit(self, commit: Commit) -> None:
        """Add a commit with its trees and blobs."""
        if commit.tree_id not in self._stored and commit.tree_id not in self.ids:
            for content in commit.tree.values():
                self.add("blob", content)
            for tree in git_trees(commit.tree).values():
                self.add("tree", tree_body(tree.entries))
        body = commit_body(
            commit.tree_id, commit.parents, commit.author, commit.committer, commit.message
        )
        written = self.add("commit", body)
        if written != commit.commit_id:
            raise RuntimeError(f"commit {commit.commit_id} would be written as {written}")

    def data(self) -> bytes:
        """The pack file: header, objects, SHA-1 trailer."""
        content = b"PACK" + struct.pack(">II", 2, len(self.objects)) + b"".join(self.objects)
        return content + hashlib.sha1(content, usedforsecurity=False).digest()


def _pack_header(kind: int, size: int) -> bytes:
    """A pack entry's header: type and size, 4 bits then 7 bits a byte, low bits first."""
    out = bytearray()
    byte = (kind << 4) | (size & 0x0F)
    size >>= 4
    while size:
        out.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    out.append(byte)
    return bytes(out)


def _git(args: list[str], env: dict[str, str], data: bytes | None = None) -> None:
    subprocess.run(["git", *args], input=data, check=True, capture_output=True, env=env)


def _replace_if_changed(target: Path, text: str) -> None:
    data = text.encode()
    if not target.exists() or target.read_bytes() != data:
        _atomic_write(target, data)


def _atomic_write(target: Path, data: bytes) -> None:
    # A git process serving another request may read the file at any moment.
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, target)


def _git_environment(home: Path) -> dict[str, str]:
    """A neutral environment: no user or system configuration reaches the mirrors."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "LC_ALL": "C",
    }


async def _http_backend(request: Request, repository: Path, tail: str) -> Response:
    """Run ``git http-backend`` for one request and turn its CGI answer into a response."""
    env = _git_environment(repository.parent) | {
        "GIT_PROJECT_ROOT": str(repository.parent),
        "GIT_HTTP_EXPORT_ALL": "1",
        "REQUEST_METHOD": request.method,
        "PATH_INFO": f"/{repository.name}/{tail}",
        "QUERY_STRING": request.target.partition("?")[2],
        "CONTENT_TYPE": request.headers.get("content-type", ""),
        "CONTENT_LENGTH": str(len(request.body)),
        "REMOTE_ADDR": "127.0.0.1",
    }
    if "content-encoding" in request.headers:  # git gzips large negotiation bodies
        env["HTTP_CONTENT_ENCODING"] = request.headers["content-encoding"]
    if "git-protocol" in request.headers:  # protocol v2 is asked for in this header
        env["GIT_PROTOCOL"] = request.headers["git-protocol"]
    process = await asyncio.create_subprocess_exec(
        "git",
        "http-backend",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    output, errors = await process.communicate(request.body)
    head, separator, body = output.partition(b"\r\n\r\n")
    if not separator:
        head, separator, body = output.partition(b"\n\n")
    if not separator:
        return _text(500, f"git http-backend failed: {errors.decode(errors='replace').strip()}")
    status = 200
    headers: list[tuple[str, str]] = []
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.split()[0])
        else:
            headers.append((name.strip(), value.strip()))
    return Response(status, headers, body)
