"""The Git state of one emulated repository: commits (with full tree snapshots), refs and pushes.

Blob, tree and commit ids are the ids Git computes (``git hash-object``, ``git write-tree``
with mode 100644 files, ``git commit-tree``): :func:`tree_body` and :func:`commit_body` give
the exact object contents, so the repository served over Git's smart HTTP protocol
(:mod:`bridge.emulator.git_http`) holds the very commits the REST API shows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bridge.emulator.identity import Identity, Signature

ZERO_ID = "0" * 40
HEADS = "refs/heads/"


def blob_id(content: bytes) -> str:
    """The Git blob id of ``content``."""
    return object_id("blob", content)


BLOB_MODE, TREE_MODE = "100644", "040000"


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One entry of a Git tree: a file (blob) or a folder (tree)."""

    name: str
    mode: str
    kind: str  # "blob" | "tree"
    object_id: str
    size: int


@dataclass(frozen=True, slots=True)
class GitTree:
    """A folder as a Git tree object: its id, its entries (Git's order) and its size."""

    object_id: str
    entries: tuple[TreeEntry, ...]
    size: int


def _subtree_entry(name: str, tree: GitTree) -> TreeEntry:
    return TreeEntry(name, TREE_MODE, "tree", tree.object_id, tree.size)


def git_trees(tree: Mapping[str, bytes]) -> dict[str, GitTree]:
    """Every folder of a snapshot (``/`` is the root) as the Git tree object it would be."""
    children: dict[str, dict[str, TreeEntry | None]] = {"/": {}}
    for path, content in tree.items():
        parts = path.strip("/").split("/")
        for depth in range(len(parts) - 1):
            folder = "/" + "/".join(parts[:depth])
            children.setdefault(folder if depth else "/", {})[parts[depth]] = None
            children.setdefault("/" + "/".join(parts[: depth + 1]), {})
        parent = "/" + "/".join(parts[:-1]) if len(parts) > 1 else "/"
        children[parent][parts[-1]] = TreeEntry(
            parts[-1], BLOB_MODE, "blob", blob_id(content), len(content)
        )
    trees: dict[str, GitTree] = {}
    # Deepest folders first, so that a folder's subtrees are known when it is hashed.
    for folder in sorted(children, key=lambda f: -f.count("/") if f != "/" else 1):
        entries = [
            blob or _subtree_entry(name, trees[f"{folder.rstrip('/')}/{name}"])
            for name, blob in children[folder].items()
        ]
        # Git orders entries by name, a folder's name compared as if it ended with "/".
        entries.sort(key=lambda e: e.name.encode() + (b"/" if e.kind == "tree" else b""))
        body = tree_body(entries)
        trees[folder] = GitTree(object_id("tree", body), tuple(entries), len(body))
    return trees


def object_id(kind: str, body: bytes) -> str:
    """The Git id of an object of ``kind`` (``blob``, ``tree``, ``commit``) holding ``body``."""
    header = f"{kind} {len(body)}\0".encode()
    return hashlib.sha1(header + body, usedforsecurity=False).hexdigest()


def tree_body(entries: Iterable[TreeEntry]) -> bytes:
    """The content of the Git tree object listing ``entries`` (already in Git's order)."""
    return b"".join(
        f"{e.mode.lstrip('0')} {e.name}".encode() + b"\0" + bytes.fromhex(e.object_id)
        for e in entries
    )


def _git_signature(signature: Signature) -> str:
    """``Name <email> seconds +hhmm`` as a Git commit records a person and a moment."""
    moment = signature.date if signature.date.tzinfo else signature.date.replace(tzinfo=UTC)
    offset = moment.utcoffset() or timedelta()
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    zone = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    return f"{signature.name} <{signature.email}> {int(moment.timestamp())} {zone}"


def commit_body(
    tree: str, parents: Iterable[str], author: Signature, committer: Signature, message: str
) -> bytes:
    """The content of the Git commit object (what ``git commit-tree`` writes)."""
    lines = [f"tree {tree}", *(f"parent {parent}" for parent in parents)]
    lines += [f"author {_git_signature(author)}", f"committer {_git_signature(committer)}"]
    # git commit ends a message with a newline; an empty one stays empty.
    text = message if not message or message.endswith("\n") else message + "\n"
    return ("\n".join(lines) + "\n\n" + text).encode()


def tree_id(tree: Mapping[str, bytes]) -> str:
    """The Git id of a whole snapshot's root tree."""
    return git_trees(tree)["/"].object_id


@dataclass(frozen=True, slots=True)
class Commit:
    """One commit; ``tree`` is the full snapshot (path with leading ``/`` -> bytes)."""

    commit_id: str
    tree_id: str
    parents: tuple[str, ...]
    author: Signature
    committer: Signature
    message: str
    tree: Mapping[str, bytes]
    changes: Mapping[str, str]  # path -> "add" | "edit" | "delete"
    push_id: int

    def change_counts(self) -> dict[str, int]:
        """``{"Add": n, "Edit": n, "Delete": n}`` as commit listings show them."""
        counts = {"Add": 0, "Edit": 0, "Delete": 0}
        for kind in self.changes.values():
            counts[kind.capitalize()] += 1
        return counts


@dataclass(frozen=True, slots=True)
class RefUpdate:
    """One ref moved by a push (``ZERO_ID`` as old id means the ref was created)."""

    name: str
    old_object_id: str
    new_object_id: str


@dataclass(frozen=True, slots=True)
class Push:
    """One push: who, when, which refs moved, which commits it brought."""

    push_id: int
    date: datetime
    pushed_by: Identity
    ref_updates: tuple[RefUpdate, ...]
    commit_ids: tuple[str, ...]


@dataclass(slots=True)
class History:
    """Commits, refs (full names such as ``refs/heads/main``) and pushes, oldest push first."""

    commits: dict[str, Commit] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    pushes: list[Push] = field(default_factory=list)

    def branch_tip(self, branch: str) -> Commit | None:
        """The commit a branch (short name) points at, or None when there is no such branch."""
        commit_id = self.refs.get(HEADS + branch)
        return self.commits[commit_id] if commit_id else None

    def log(self, start: Commit) -> Iterator[Commit]:
        """``start`` and its first-parent ancestors, newest first."""
        current: Commit | None = start
        while current is not None:
            yield current
            current = self.commits[current.parents[0]] if current.parents else None

    def ancestors(self, start: Commit) -> set[str]:
        """Ids of ``start`` and every commit reachable from it."""
        seen: set[str] = set()
        pending = [start.commit_id]
        while pending:
            commit_id = pending.pop()
            if commit_id not in seen:
                seen.add(commit_id)
                pending.extend(self.commits[commit_id].parents)
        return seen

    def last_change(self, start: Commit, path: str) -> Commit:
        """The newest commit, from ``start`` back, that last changed ``path`` (a file, or
        anything in a folder)."""
        folder = path.rstrip("/") + "/"
        for commit in self.log(start):
            if path in commit.changes or any(p.startswith(folder) for p in commit.changes):
                return commit
        return start

    def add_commit(
        self,
        parent: Commit | None,
        tree: Mapping[str, bytes],
        changes: Mapping[str, str],
        *,
        author: Signature,
        committer: Signature,
        message: str,
        push_id: int,
        snapshot_id: str | None = None,
    ) -> Commit:
        """Create and store a commit on top of ``parent`` (refs are not moved).

        ``snapshot_id`` is ``tree_id(tree)`` when the caller already knows it.
        """
        parents = (parent.commit_id,) if parent else ()
        snapshot_id = snapshot_id or tree_id(tree)
        # As in Git, two commits alike in every field (same second) are one object.
        commit_id = object_id(
            "commit", commit_body(snapshot_id, parents, author, committer, message)
        )
        commit = Commit(
            commit_id, snapshot_id, parents, author, committer, message, tree, changes, push_id
        )
        self.commits[commit_id] = commit
        return commit

    def copy(self) -> History:
        """An independent copy (commits are immutable and shared)."""
        return History(dict(self.commits), dict(self.refs), list(self.pushes))

    def next_push_id(self) -> int:
        """The id the next push gets (push ids count from 1 per repository)."""
        return len(self.pushes) + 1


def linear_history(
    files: Mapping[str, bytes],
    authored: list[tuple[Signature, str]],
    *,
    branch: str,
    extra_branches: tuple[str, ...] = (),
) -> History:
    """A history of ``authored`` commits (oldest first) on one branch ending at ``files``.

    The first commit adds every file and each later one edits the first file, so the tip
    holds ``files``; each commit arrives in a push of its own by its author.
    """
    history = History()
    parent: Commit | None = None
    first_path = min(files) if files else None
    snapshot_id = tree_id(files)  # every commit of such a history has the same tree
    pushers: dict[str, Identity] = {}
    for index, (signature, message) in enumerate(authored):
        if index == 0:
            changes = dict.fromkeys(files, "add")
        else:
            changes = {first_path: "edit"} if first_path else {}
        push_id = index + 1
        parent = history.add_commit(
            parent,
            files,
            changes,
            author=signature,
            committer=signature,
            message=message,
            push_id=push_id,
            snapshot_id=snapshot_id,
        )
        old = history.refs.get(HEADS + branch, ZERO_ID)
        history.refs[HEADS + branch] = parent.commit_id
        pusher = pushers.get(signature.email) or Identity.of(signature.name, signature.email)
        pushers[signature.email] = pusher
        update = RefUpdate(HEADS + branch, old, parent.commit_id)
        history.pushes.append(Push(push_id, signature.date, pusher, (update,), (parent.commit_id,)))
    if parent is not None:
        for extra in extra_branches:
            history.refs[HEADS + extra] = parent.commit_id
    return history
