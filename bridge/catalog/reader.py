"""Where catalog bytes come from: a folder on disk, or a git tree at a ref.

The catalog engine asks a :class:`CatalogReader` for the files of a tree, for a file's bytes
and whether a path is a file or a folder; it never opens files itself. So the same engine
validates a working tree, a commit, a tag or the staged index, and ``$text``/``$json``/
``$yaml`` placeholders resolve through the same reader: a file is read as it is at that ref.

Paths are relative to the reader's root, with ``/``, without ``.`` or ``..`` parts
(:func:`join` builds them). A path that does not exist raises :class:`FileNotFoundError`; a
file that cannot be read raises another :class:`OSError` whose ``strerror`` says why.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pathlib import Path

# Folders a search of the disk skips: version control, dependencies, caches.
SKIPPED_DIRS = frozenset(
    (".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".cache")
)


class CatalogReader(Protocol):
    """A tree of catalog files, read-only."""

    @property
    def label(self) -> str:
        """Where the tree is, for messages: a folder, or ``repository@ref``."""
        ...

    def files(self) -> Iterator[str]:
        """Every regular file of the tree (symbolic links to files included), sorted."""
        ...

    def is_file(self, path: str) -> bool:
        """Whether ``path`` is a file that :meth:`read` can open."""
        ...

    def is_dir(self, path: str) -> bool:
        """Whether ``path`` is a folder of the tree (``""`` is the root)."""
        ...

    def read(self, path: str, max_bytes: int) -> bytes | int:
        """The file's bytes, or its size when that is over ``max_bytes`` (nothing read)."""
        ...

    def content_id(self, path: str) -> str | None:
        """An id that changes whenever the content does (a git blob id), if known cheaply."""
        ...

    def prefetch(self, paths: Iterable[str], max_bytes: int) -> None:
        """Hint: these files will be read (a reader may fetch them in one batch)."""
        ...

    @property
    def cache_dir(self) -> Path | None:
        """A folder where results computed from files may be kept between runs (keyed by
        :meth:`content_id`), or None when the tree has no such place."""
        ...


def folders(paths: Iterable[str]) -> set[str]:
    """Every folder that holds one of ``paths`` (``""``, the root, not included)."""
    found: set[str] = set()
    for path in paths:
        folder = path.rpartition("/")[0]
        # Going up stops at the first folder already known: its parents are known too.
        while folder and folder not in found:
            found.add(folder)
            folder = folder.rpartition("/")[0]
    return found


def join(base_file: str, target: str) -> str | None:
    """``target`` relative to the folder of ``base_file``, normalised; None if it leaves the
    tree (``../`` past the root, or an absolute path)."""
    if target.startswith("/") or "\\" in target:
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(base_file), target))
    if joined == ".":
        return ""
    if joined == ".." or joined.startswith("../"):
        return None
    return joined


class FolderReader:
    """The files below a folder on disk (a working tree), skipping :data:`SKIPPED_DIRS`."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        # A string, not a pathlib.Path: the hook's path stays free of pathlib's import.
        self.root = os.fspath(root)

    @property
    def label(self) -> str:
        return self.root

    def _path(self, path: str) -> str:
        return os.path.join(self.root, *path.split("/")) if path else self.root

    def files(self) -> Iterator[str]:
        return walk(self.root, skip=SKIPPED_DIRS)

    def is_file(self, path: str) -> bool:
        return os.path.isfile(self._path(path))

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(self._path(path))

    def read(self, path: str, max_bytes: int) -> bytes | int:
        return read_file(self._path(path), max_bytes)

    def content_id(self, path: str) -> str | None:
        return None  # the disk keeps no content id, and hashing would cost a full read

    def prefetch(self, paths: Iterable[str], max_bytes: int) -> None:
        pass  # reading a file from the disk is cheap on demand

    @property
    def cache_dir(self) -> Path | None:
        return None  # without content ids, nothing could be found again


def walk(folder: str, *, skip: frozenset[str] = frozenset(), prefix: str = "") -> Iterator[str]:
    """Relative paths (with ``/``) of the files below ``folder``, sorted; folders named in
    ``skip`` are not entered.

    Symbolic links to folders are not followed (a link cycle cannot trap the search). A link
    whose target cannot be reached (a loop, a missing target) is listed: reading it then says
    why it is unusable, rather than the file silently not being validated.
    """
    with os.scandir(folder) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            if entry.name not in skip:
                yield from walk(entry.path, skip=skip, prefix=f"{prefix}{entry.name}/")
        elif _is_file_or_broken_link(entry):
            yield prefix + entry.name


def _is_file_or_broken_link(entry: os.DirEntry[str]) -> bool:
    """Whether an entry is a file, or a symbolic link leading nowhere readable."""
    if not entry.is_symlink():
        return entry.is_file()
    try:
        return stat.S_ISREG(os.stat(entry.path).st_mode)
    except OSError:  # a loop (ELOOP) or a missing target
        return True


def read_file(path: str, max_bytes: int) -> bytes | int:
    """The file's bytes, or its size when it is over ``max_bytes``.

    Reads what ``fstat`` announces in one call (a buffered read of ``max_bytes`` would
    allocate a megabyte per file), and never more than ``max_bytes + 1`` bytes in total, so
    a file that grows or a device that never ends cannot exhaust memory.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if size > max_bytes:
            return size
        data = b""
        # One byte more than announced shows a file that grew; devices announce 0 and are
        # read in blocks. (os.read allocates what it is asked for: ask for what is there.)
        want = size + 1 if size else 65536
        while len(data) <= max_bytes:
            block = os.read(fd, min(max_bytes + 1 - len(data), want))
            if not block:
                return data
            data += block
        return len(data)
    finally:
        os.close(fd)
