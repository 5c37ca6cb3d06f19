"""A :class:`~bridge.catalog.reader.CatalogReader` over a git tree at a ref.

Kept apart from ``reader.py`` so that validating files on disk (the pre-commit hook's path)
never loads the git layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from bridge.catalog.reader import folders, join
from bridge.gitrepo import INDEX, GitRepository, TreeEntry

# How many symbolic links one read may pass through, as the kernel's ELOOP limit does.
_MAX_LINKS = 40


class GitTreeReader:
    """The files of a git tree at a ref (``:`` for the staged index), read from the object
    database: no checkout, and the working tree is never touched.

    Symbolic links are followed inside the tree; one that leaves it, loops or leads nowhere
    is listed and unreadable, as on disk.
    """

    def __init__(self, repository: GitRepository, ref: str | None = None) -> None:
        """``ref`` None reads the branch ``HEAD`` points at (a fetched cache's HEAD is the
        remote's default branch)."""
        self.repository = repository
        self.ref = ref if ref is not None else repository.default_ref()
        self.commit = repository.resolve(self.ref)
        self._files: dict[str, TreeEntry] = dict(repository.files(self.ref))
        self._prefetched: dict[str, bytes | int] = {}  # blob id -> content (or its size)
        self._dirs = folders(self._files) | {""}

    @property
    def label(self) -> str:
        where = "the index" if self.ref == INDEX else f"{self.ref} ({self.commit[:12]})"
        return f"{self.repository.path} at {where}"

    def files(self) -> Iterator[str]:
        return iter(self._files)

    def is_file(self, path: str) -> bool:
        return self._entry(path) is not None

    def is_dir(self, path: str) -> bool:
        return path in self._dirs

    def read(self, path: str, max_bytes: int) -> bytes | int:
        entry = self._entry(path)
        if entry is None:
            if path in self._files:
                raise OSError(f"{path}: a symbolic link that loops or leads out of the tree")
            raise FileNotFoundError(path)
        known = self._prefetched.get(entry.blob)
        if isinstance(known, bytes) and len(known) <= max_bytes:
            return known
        if isinstance(known, int) and known > max_bytes:
            return known
        return self.repository.read(entry.blob, max_bytes)

    def prefetch(self, paths: Iterable[str], max_bytes: int) -> None:
        """Read these files' blobs in one batch, so later reads cost no round trip to git."""
        blobs = [entry.blob for entry in map(self._entry, paths) if entry is not None]
        self._prefetched.update(self.repository.read_many(blobs, max_bytes))

    @property
    def cache_dir(self) -> Path:
        return self.repository.cache_dir

    def content_id(self, path: str) -> str | None:
        entry = self._entry(path)
        return entry.blob if entry is not None else None

    def _entry(self, path: str) -> TreeEntry | None:
        """The blob a path leads to, following symbolic links inside the tree."""
        for _ in range(_MAX_LINKS):
            entry = self._files.get(path)
            if entry is None or not entry.symlink:
                return entry
            target = self.repository.read_text(entry.blob)
            followed = join(path, target)
            if followed is None:
                return None
            path = followed
        return None
