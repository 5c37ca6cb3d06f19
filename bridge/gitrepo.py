"""Every use of git, behind one module: trees at a ref or in the index, and their blobs.

Reading goes straight to the object database (one ``git ls-tree``/``ls-files`` for a
listing, git's persistent ``cat-file --batch`` process for the blobs), so a catalog is read
as it is at a commit, a tag, a branch or in the staged index without a checkout and without
touching the working tree. Everything here is read-only.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Mapping
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

    def size(self, blob: str) -> int:
        """A blob's size in bytes, read from its header (the content stays unread)."""
        return int(self._repo.odb.info(bytes.fromhex(blob)).size)

    def read(self, blob: str) -> bytes:
        """A blob's content."""
        try:
            return bytes(self._repo.odb.stream(bytes.fromhex(blob)).read())
        except (ValueError, OSError) as error:
            raise InputError(f"{self.path}: cannot read git object {blob}: {error}") from None

    def read_many(self, blobs: Iterable[str], max_bytes: int) -> dict[str, bytes | int]:
        """Many blobs in two ``git cat-file`` runs (sizes, then contents): blob id -> content,
        or its size when that is over ``max_bytes`` (not read).

        One process per batch instead of a round trip per blob: reading a catalog of
        thousands of files costs one pass over the object database.
        """
        wanted = sorted(set(blobs))
        if not wanted:
            return {}
        found: dict[str, bytes | int] = {}
        small = []
        for line in self._batch("--batch-check", wanted).decode("ascii").splitlines():
            blob, kind, size = line.split(" ")  # "<id> missing" has no size: git failed above
            if kind == "blob":
                if int(size) > max_bytes:
                    found[blob] = int(size)
                else:
                    small.append(blob)
        output = self._batch("--batch", small)
        position = 0
        while position < len(output):
            end = output.index(b"\n", position)
            blob, _, size = output[position:end].decode("ascii").split(" ")
            start = end + 1
            found[blob] = output[start : start + int(size)]
            position = start + int(size) + 1  # the content is followed by a newline
        return found

    def _batch(self, mode: str, blobs: list[str]) -> bytes:
        with tempfile.TemporaryFile() as ids:
            ids.write("".join(f"{blob}\n" for blob in blobs).encode("ascii"))
            ids.seek(0)
            try:
                return bytes(self._repo.git.cat_file(mode, istream=ids, stdout_as_string=False))
            except GitCommandError as error:
                raise InputError(f"{self.path}: cannot read git objects: {error.stderr}") from None

    @staticmethod
    def _records(output: str) -> Iterator[str]:
        # gitpython strips the trailing newline, not the trailing NUL of -z output.
        return (record for record in output.split("\0") if record)
