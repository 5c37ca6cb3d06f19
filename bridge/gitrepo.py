"""Every use of git, behind one module: trees at a ref or in the index, and their blobs.

Reading goes straight to the object database (one ``git ls-tree``/``ls-files`` for a
listing, git's persistent ``cat-file --batch`` process for the blobs), so a catalog is read
as it is at a commit, a tag, a branch or in the staged index without a checkout and without
touching the working tree. The one write, :meth:`GitRepository.commit_on_branch`, commits
files a command wrote (``generate --into --commit-branch``) on a new branch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import git
from git.exc import GitCommandError, InvalidGitRepositoryError, NoSuchPathError

from bridge.errors import InputError, UsageError

INDEX = ":"
"""The ref meaning the staged index (what ``git commit`` would record)."""

# git's file modes: a symbolic link's blob holds the link's target; a gitlink (submodule)
# points at a commit of another repository and has no content here.
_SYMLINK = "120000"
_GITLINK = "160000"


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One file of a tree: its blob id and whether it is a symbolic link."""

    blob: str
    symlink: bool


class GitRepository:
    """A local git repository (a work tree or a bare clone), opened read-only."""

    def __init__(self, path: str | Path) -> None:
        try:
            self._repo = git.Repo(path)
        except (InvalidGitRepositoryError, NoSuchPathError):
            raise UsageError(f"{path}: not a git repository") from None
        self.path = Path(path)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """End git's helper processes (``cat-file --batch``)."""
        self._repo.close()

    def resolve(self, ref: str) -> str:
        """The commit id ``ref`` names (a branch, tag, commit or ``HEAD~2``-style expression).

        ``:`` (the index) has no commit: it resolves to itself.
        """
        if ref == INDEX:
            return INDEX
        try:
            return str(self._repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}"))
        except GitCommandError:
            raise UsageError(f"{self.path}: {ref!r} is not a commit, branch or tag") from None

    def files(self, ref: str) -> Mapping[str, TreeEntry]:
        """Every file of the tree at ``ref`` (``:`` for the index): path → entry, sorted.

        Paths use ``/`` and are relative to the repository's root. Submodules have no files
        here; files in conflict in the index are listed at their "ours" stage.
        """
        entries: dict[str, TreeEntry] = {}
        if ref == INDEX:
            # mode SP blob SP stage TAB path NUL
            for record in self._records(self._repo.git.ls_files("--stage", "-z")):
                meta, _, path = record.partition("\t")
                mode, blob, stage = meta.split(" ")
                if mode != _GITLINK and stage in ("0", "2"):
                    entries[path] = TreeEntry(blob, mode == _SYMLINK)
        else:
            commit = self.resolve(ref)
            # mode SP type SP blob TAB path NUL
            for record in self._records(self._repo.git.ls_tree("-r", "-z", "--full-tree", commit)):
                meta, _, path = record.partition("\t")
                mode, kind, blob = meta.split(" ")
                if kind == "blob":
                    entries[path] = TreeEntry(blob, mode == _SYMLINK)
        return dict(sorted(entries.items()))

    def commit_on_branch(self, branch: str, paths: Sequence[str], message: str) -> str:
        """Switch the work tree to a new ``branch`` made at ``HEAD`` (local changes are kept)
        and commit ``paths`` (relative to the root) only; returns the new commit's id.

        A branch that already exists, or a name git refuses, is a :class:`UsageError`.
        """
        git_cmd = self._repo.git
        try:
            git_cmd.check_ref_format("--branch", branch)
        except GitCommandError:
            raise UsageError(f"{self.path}: {branch!r} is not a valid branch name") from None
        if branch in (head.name for head in self._repo.heads):
            raise UsageError(f"{self.path}: branch {branch!r} already exists")
        try:
            git_cmd.switch("-c", branch)
            git_cmd.add("--", *paths)
            # --only: the staged changes of other files stay staged, out of this commit.
            git_cmd.commit("--only", "-m", message, "--", *paths)
        except GitCommandError as error:
            detail = (error.stderr or str(error)).strip()
            raise InputError(f"{self.path}: git could not commit on {branch!r}: {detail}") from None
        return self.resolve("HEAD")

    def size(self, blob: str) -> int:
        """A blob's size in bytes, read from its header (the content stays unread)."""
        return int(self._repo.odb.info(bytes.fromhex(blob)).size)

    def read(self, blob: str) -> bytes:
        """A blob's content."""
        try:
            return bytes(self._repo.odb.stream(bytes.fromhex(blob)).read())
        except (ValueError, OSError) as error:
            raise InputError(f"{self.path}: cannot read git object {blob}: {error}") from None

    @staticmethod
    def _records(output: str) -> Iterator[str]:
        # gitpython strips the trailing newline, not the trailing NUL of -z output.
        return (record for record in output.split("\0") if record)
