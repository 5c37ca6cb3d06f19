"""Per-file processing results kept between runs, keyed by the file's content (its git blob id).

Parsing and validating a catalog file is what a whole-catalog run spends its time on, and
a commit changes a handful of files: so each file's results are kept under (path, blob id),
and re-checking an unchanged catalog costs reading the tree. Only what depends on one file
alone is kept; Location resolution, conflicts and dangling references depend on other files
and are recomputed from these results on every run.

Results are grouped in 256 shard files by the blob id's first byte, so a commit rewrites a few
shards, not the whole cache. The folder is named after a fingerprint of everything else the
results depend on (catalog-bridge's version and code, the validation options, the absolute
path the tree stands for); a run with another fingerprint starts a new folder and removes the
others. A cache that cannot be read (corrupt, truncated, from another Python) is ignored and
rebuilt; one that cannot be written is skipped: the cache never fails a run. Shards are written
to a temporary file and renamed, so a reader never sees half a shard.

Shards are pickles: they hold the engine's own objects, and live in the repository's git
folder (or the user's cache for fetched repositories), which only the user can write: whoever
can write there can already run code through ``.git/hooks``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import Any, Generic, TypeVar

import bridge

T = TypeVar("T")

_FORMAT = "2"  # bump when the layout of a shard changes
PICKLE_PROTOCOL = 5
"""The pickle protocol of the cache and of what workers send."""

# The code whose results are cached: a change to any of it (a development checkout, an
# upgrade without a version bump) must not serve stale results.
_CODE = Path(__file__).resolve().parents[1]


def code_signature() -> str:
    """A digest of the catalog code's files (names, sizes and modification times)."""
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(_CODE):
        dirs[:] = sorted(name for name in dirs if name != "__pycache__")
        for name in sorted(files):
            stat = os.stat(os.path.join(folder, name))
            digest.update(f"{folder}/{name}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def fingerprint(*parts: object) -> str:
    """The fingerprint of results computed with ``parts`` (options, paths), this version of
    catalog-bridge and its code."""
    text = repr((_FORMAT, bridge.__version__, code_signature(), parts))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:32]


class _Pickler(pickle.Pickler):
    """Pickles slotted dataclasses as a call to the class with their fields.

    Their default pickling restores each one through ``dataclasses``' Python-level
    ``__setstate__``, which is most of the time loading a cached catalog takes.
    """

    _fields: dict[type, tuple[str, ...]] = {}  # noqa: RUF012 (a per-class memo)

    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        names = self._fields.get(kind)
        if names is None:
            names = ()
            if dataclasses.is_dataclass(kind) and hasattr(kind, "__slots__"):
                fields = dataclasses.fields(kind)
                if all(field.init for field in fields):  # the constructor takes every field
                    names = tuple(field.name for field in fields)
            self._fields[kind] = names
        if not names:
            return NotImplemented
        return kind, tuple(getattr(obj, name) for name in names)


def dumps(value: object) -> bytes:
    """``value`` pickled as the cache stores it (quicker to load than plain pickling)."""
    stream = io.BytesIO()
    _Pickler(stream, protocol=PICKLE_PROTOCOL).dump(value)
    return stream.getvalue()


class ParseCache(Generic[T]):
    """Results of per-file work, by (path, content id), kept in ``folder`` between runs.

    Use :meth:`get` and :meth:`put` during a run, then :meth:`save` once. ``hits`` and
    ``stored`` count what a run reused and what it added.
    """

    def __init__(self, folder: Path, key: str) -> None:
        self.root = folder
        self.folder = folder / key
        self._shards: dict[str, dict[tuple[str, str], T]] = {}
        self._used: set[tuple[str, str]] = set()
        self._dirty: set[str] = set()
        self.hits = 0
        self.stored = 0

    def get(self, path: str, content_id: str) -> T | None:
        """The results kept for this file's content, or None."""
        key = (path, content_id)
        value = self._shard(content_id).get(key)
        if value is not None:
            self._used.add(key)
            self.hits += 1
        return value

    def put(self, path: str, content_id: str, value: T) -> None:
        """Keep ``value`` for this file's content (written by :meth:`save`)."""
        key = (path, content_id)
        shard = self._shard(content_id)
        self._used.add(key)
        if key not in shard:
            shard[key] = value
            self._dirty.add(content_id[:2])
            self.stored += 1

    def save(self) -> None:
        """Write the shards this run changed; entries of them this run did not use are
        dropped, so files that changed do not pile up. Never raises for the disk's sake."""
        if not self._dirty:
            return
        try:
            fresh = not self.folder.is_dir()
            self.folder.mkdir(parents=True, exist_ok=True)
            if fresh:  # results of other versions or options will not be read again
                for other in self.root.iterdir():
                    if other != self.folder and other.is_dir():
                        shutil.rmtree(other, ignore_errors=True)
            for name in sorted(self._dirty):
                shard = self._shards[name]
                kept = {key: value for key, value in shard.items() if key in self._used}
                self._write(self.folder / f"{name}.pickle", kept)
        except OSError:
            pass  # a read-only or full disk: the next run validates again
        self._dirty.clear()

    def _shard(self, content_id: str) -> dict[tuple[str, str], T]:
        name = content_id[:2]
        shard = self._shards.get(name)
        if shard is None:
            shard = self._shards[name] = self._load(self.folder / f"{name}.pickle")
        return shard

    @staticmethod
    def _load(path: Path) -> dict[tuple[str, str], T]:
        try:
            with open(path, "rb") as stream:
                value = pickle.load(stream)
        except FileNotFoundError:
            return {}
        # A damaged pickle can raise nearly anything (UnpicklingError, EOFError, ValueError,
        # AttributeError for a class that moved...): every failure means "not cached".
        except Exception:
            return {}
        return value if isinstance(value, dict) else {}

    @staticmethod
    def _write(path: Path, shard: dict[tuple[str, str], T]) -> None:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                _Pickler(stream, protocol=PICKLE_PROTOCOL).dump(shard)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
