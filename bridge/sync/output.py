"""Writing the entities of ``catalog-bridge sync``: NDJSON, JSON, YAML, or a table for people.

:func:`open_sink` returns an :class:`EntitySink`. The engine hands it each entity as soon as
its repository is done (:meth:`~EntitySink.write`), then :meth:`~EntitySink.close` finishes
and publishes the output, or :meth:`~EntitySink.abort` discards it. Used as a context
manager, the sink aborts when the block raises (including ``KeyboardInterrupt``, SIGTERM and
task cancellation) and closes otherwise.

**Order.** Entities arrive in whatever order their repositories finish. Every output but
NDJSON on a stream is written at close in a stable order, by organization, project and
repository name (case-insensitively; then profile and repository id), so two runs of an
unchanged estate give the same bytes and a committed output diffs cleanly. Until then each
entity waits serialised in an unnamed temporary file (gone with the process, however it
ends), and memory holds one short sort key per entity. NDJSON to standard output or to a
pipe streams instead: each line is written and flushed as its repository completes.

Where the text goes:

* **Standard output** (destination ``None`` or ``-``): NDJSON line by line as it comes; the
  other formats at close. An aborted run writes nothing more (an NDJSON stream keeps the
  whole lines already sent).
* **A file, in every format**: into a temporary file ``.NAME.XXXXXXXX.tmp`` in the
  destination's folder, which takes the destination's name at close (``os.replace``, atomic
  on one file system). Readers see the previous file or the complete new one, never a part;
  abort (Ctrl-C, SIGTERM, a failure) removes the temporary file and leaves the previous file
  as it was, and after SIGKILL the previous file is intact too. Temporary files left by
  killed runs are removed by the next run that publishes the file. While a run writes a file
  it holds an advisory lock (:mod:`bridge.sync.lock`): a second run writing the same file
  fails at once with :class:`~bridge.errors.LockedError` instead of interleaving with it.
* **A path that is not a regular file** (``/dev/stdout``, a named pipe, ``>(jq ...)``): in
  place like standard output, since a device or a pipe cannot be replaced.

A reader that closes a stream early (``sync | head``) ends the run with
:class:`~bridge.errors.OutputClosedError`. Everything is UTF-8 with ``\\n`` line ends, also
on standard output (through its binary buffer when it has one): JSON is UTF-8 by definition,
and a console or pipe whose locale encoding lacks a character would otherwise fail the run.
No format may leak a token: entities hold none, and every piece of text still passes through
:func:`bridge.secrets.redact` on its way out.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import struct
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Protocol, Self, TextIO

import yaml

from bridge.errors import InputError, OutputClosedError, UsageError
from bridge.secrets import redact
from bridge.sync.lock import FileLock, lock_file

FORMATS = ("ndjson", "json", "yaml", "table")
"""The output formats of ``catalog-bridge sync``."""

STDOUT = "-"
"""The destination meaning standard output (as does ``None``)."""

SCHEMA_FILE = "repository-entity.schema.json"
"""The entity's JSON Schema, shipped inside this package."""

_ELLIPSIS = "…"

# libyaml's emitter when PyYAML was built with it: several times faster, and just as safe.
_YAML_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
# Never fold a long string over several lines: each value stays greppable, and a secret
# cannot be split where redact() would not recognise it.
_YAML_WIDTH = 1 << 30
# A new output file is readable by teammates and CI users, as `catalog-bridge init` does:
# entities hold no secret. A replaced file keeps its mode.
_NEW_FILE_MODE = 0o644
# Windows opens low-level files in text mode (newline translation) unless told otherwise.
_O_BINARY: int = getattr(os, "O_BINARY", 0)


def entity_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a repository entity, loaded from the package.

    A fresh copy on each call, so callers may change it.
    """
    text = resources.files("bridge.sync").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


# --- Serialisation -------------------------------------------------------------------------


def _json(entity: Mapping[str, Any]) -> str:
    # allow_nan=False: NaN and Infinity are not JSON; better to fail than to write a file
    # that parsers refuse.
    return json.dumps(entity, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class _Encoder(Protocol):
    def item(self, entity: Mapping[str, Any]) -> str:
        """The text for one entity, on its own."""

    def whole(self, items: Callable[[], Iterator[str]], count: int) -> Iterator[str]:
        """The complete output around the ``count`` texts of ``items()``, which may be called
        more than once (each call iterates them again, in order)."""


class _Ndjson:
    def item(self, entity: Mapping[str, Any]) -> str:
        return _json(entity) + "\n"

    def whole(self, items: Callable[[], Iterator[str]], count: int) -> Iterator[str]:
        return items()


class _JsonArray:
    """``[``, one compact entity per line joined by ``,``, ``]``: valid JSON, yet diffable."""

    def item(self, entity: Mapping[str, Any]) -> str:
        return _json(entity)

    def whole(self, items: Callable[[], Iterator[str]], count: int) -> Iterator[str]:
        if not count:
            yield "[]\n"
            return
        for index, text in enumerate(items()):
            yield ("[\n" if index == 0 else ",\n") + text
        yield "\n]\n"


class _YamlSequence:
    """One block sequence: each entity dumped as a one-item list, so the items concatenate."""

    def item(self, entity: Mapping[str, Any]) -> str:
        text: str = yaml.dump(
            [entity],
            Dumper=_YAML_DUMPER,
            sort_keys=False,
            allow_unicode=True,
            default_flow_style=False,
            width=_YAML_WIDTH,
        )
        return text

    def whole(self, items: Callable[[], Iterator[str]], count: int) -> Iterator[str]:
        return items() if count else iter(("[]\n",))


# --- The table -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Column:
    header: str
    limit: int  # the widest cell, in terminal columns; longer text ends with an ellipsis
    value: Callable[[Mapping[str, Any]], object]
    numeric: bool = False  # right-aligned


def _first_context(attribute: str) -> Callable[[Mapping[str, Any]], object]:
    def value(entity: Mapping[str, Any]) -> object:
        entries = entity["context"]
        return entries[0].get(attribute) if entries else None

    return value


_COLUMNS: dict[str, _Column] = {
    "repository": _Column(
        "REPOSITORY", 60, lambda e: f"{e['organization']}/{e['project']}/{e['name']}"
    ),
    "catalog": _Column("CATALOG", 12, lambda e: e["catalog"]["status"]),
    "freshness": _Column("FRESHNESS", 12, lambda e: e["freshness"]),
    "owner": _Column("OWNER", 40, _first_context("owner")),
    "application": _Column("APPLICATION", 30, _first_context("application")),
    "problems": _Column("PROBLEMS", 8, lambda e: len(e["catalog"]["problems"]), numeric=True),
}

TABLE_COLUMNS = tuple(_COLUMNS)
"""The columns of the table format, in their default order."""


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    # East Asian wide and full-width characters take two terminal columns.
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _width(text: str) -> int:
    return sum(_char_width(char) for char in text)


def _truncate(text: str, limit: int) -> str:
    if _width(text) <= limit:
        return text
    kept: list[str] = []
    used = 0
    for char in text:
        used += _char_width(char)
        if used > limit - 1:  # room for the ellipsis
            break
        kept.append(char)
    return "".join(kept) + _ELLIPSIS


def _cell(value: object, limit: int) -> str:
    # Redact before cutting: a cut token would no longer be recognised.
    text = redact(str(value)) if value is not None else ""
    # A title read from someone's catalog file may hold line breaks or terminal escape
    # sequences: a cell is one line of printable text.
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return _truncate(text or "-", limit)


# Between the cells of a row while it waits for the others: cells are printable text only.
_CELL_SEPARATOR = "\x1f"


class _Table:
    """One row per entity, aligned once every row is known."""

    def __init__(self, columns: Sequence[_Column]) -> None:
        self._columns = tuple(columns)

    def item(self, entity: Mapping[str, Any]) -> str:
        return _CELL_SEPARATOR.join(_cell(c.value(entity), c.limit) for c in self._columns)

    def whole(self, items: Callable[[], Iterator[str]], count: int) -> Iterator[str]:
        header = tuple(column.header for column in self._columns)
        widths = [_width(cell) for cell in header]
        for row in items():
            for index, cell in enumerate(row.split(_CELL_SEPARATOR)):
                widths[index] = max(widths[index], _width(cell))
        yield self._line(header, widths)
        for row in items():
            yield self._line(row.split(_CELL_SEPARATOR), widths)

    def _line(self, cells: Sequence[str], widths: Sequence[int]) -> str:
        parts = []
        for cell, width, column in zip(cells, widths, self._columns, strict=True):
            padding = " " * (width - _width(cell))
            parts.append(padding + cell if column.numeric else cell + padding)
        return "  ".join(parts).rstrip() + "\n"


def _table_columns(names: Sequence[str] | None) -> list[_Column]:
    if names is None:
        return list(_COLUMNS.values())
    if not names:
        raise UsageError(f"choose at least one table column of: {', '.join(TABLE_COLUMNS)}")
    unknown = [name for name in names if name not in _COLUMNS]
    if unknown:
        raise UsageError(
            f"unknown table column {', '.join(map(repr, unknown))}; "
            f"choose from: {', '.join(TABLE_COLUMNS)}"
        )
    return [_COLUMNS[name] for name in names]


# --- Destinations --------------------------------------------------------------------------


class _Target(Protocol):
    def write(self, text: str) -> None:
        """Pass on one piece of text, whole."""

    def flush(self) -> None:
        """Hand what was written to the operating system."""

    def publish(self) -> None:
        """Make the output final (the sink discards the target if this raises)."""

    def discard(self) -> None:
        """Give up: leave no partial output behind where that is possible. Never raises."""


@contextmanager
def _writing(path: Path | None) -> Iterator[None]:
    """Turn an operating-system failure into an error naming the destination (``None``:
    standard output), without the traceback."""
    try:
        yield
    except BrokenPipeError:
        where = "standard output" if path is None else str(path)
        raise OutputClosedError(f"{where} was closed by its reader") from None
    except OSError as error:
        if path is None:
            where, reason = "standard output", error.strerror or str(error)
        elif isinstance(error, FileNotFoundError):
            where, reason = str(path), f"the folder {path.parent} does not exist"
        else:
            where, reason = str(path), error.strerror or str(error)
        raise InputError(f"cannot write {where}: {reason}") from None


class _Stdout:
    """Standard output: written as it comes."""

    def __init__(self, stream: TextIO) -> None:
        stream.flush()  # what was printed before comes first
        self._stream = stream
        # A test's StringIO has no binary buffer; text is then written as is.
        self._binary: BinaryIO | None = getattr(stream, "buffer", None)

    def write(self, text: str) -> None:
        # Failures: a closed pipe (`| head`), a full disk behind a redirection.
        with _writing(None):
            if self._binary is None:
                self._stream.write(text)
            else:
                self._binary.write(text.encode("utf-8"))

    def flush(self) -> None:
        with _writing(None):
            (self._binary or self._stream).flush()

    def publish(self) -> None:
        self.flush()

    def discard(self) -> None:
        # What was written cannot be taken back.
        pass


def _temporary_name(path: Path) -> re.Pattern[str]:
    """The names of ``path``'s temporary files, as :class:`_AtomicFile` makes them."""
    return re.compile(rf"\.{re.escape(path.name)}\.[A-Za-z0-9_]+\.tmp")


class _AtomicFile:
    """A temporary file beside the destination that takes the destination's name at publish,
    written under the destination's lock."""

    def __init__(self, path: Path) -> None:
        self._path = path
        with _writing(path):
            if path.exists():
                # Replacing needs only the folder's permission, but a read-only file says "do
                # not overwrite", as it does to a shell redirection.
                if not os.access(path, os.W_OK):
                    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
                self._mode = stat.S_IMODE(path.stat().st_mode)
            else:
                self._mode = _NEW_FILE_MODE
            self._lock: FileLock = lock_file(path)
            try:
                # The same folder, so that os.replace is a rename within one file system.
                descriptor, self._temporary = tempfile.mkstemp(
                    prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
                )
            except BaseException:
                self._lock.release()
                raise
        self._file = os.fdopen(descriptor, "wb")

    def write(self, text: str) -> None:
        with _writing(self._path):
            self._file.write(text.encode("utf-8"))

    def flush(self) -> None:
        with _writing(self._path):
            self._file.flush()

    def publish(self) -> None:
        try:
            with _writing(self._path):
                self._file.flush()
                # On disk before it takes the name: a crash must not leave an empty destination.
                os.fsync(self._file.fileno())
                self._file.close()
                os.chmod(self._temporary, self._mode)
                os.replace(self._temporary, self._path)
            self._remove_leftovers()
        finally:
            self._lock.release()

    def discard(self) -> None:
        with suppress(OSError):  # closing flushes, which fails again on a full disk
            self._file.close()
        with suppress(FileNotFoundError):
            os.unlink(self._temporary)
        self._lock.release()

    def _remove_leftovers(self) -> None:
        """Remove the temporary files of earlier runs that were killed before they could.

        Safe under the lock: a run still writing this destination would hold it.
        """
        pattern = _temporary_name(self._path)
        with suppress(OSError), os.scandir(self._path.parent) as entries:
            for entry in entries:
                if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                    with suppress(OSError):
                        os.unlink(entry.path)


class _Device:
    """A path that cannot be replaced (a device, a named pipe), written in place one whole
    piece at a time."""

    def __init__(self, path: Path) -> None:
        self._path = path
        with _writing(path):
            self._descriptor = os.open(path, os.O_WRONLY | _O_BINARY)

    def write(self, text: str) -> None:
        rest = memoryview(text.encode("utf-8"))
        with _writing(self._path):
            while rest:  # os.write may write part of it (a signal, a pipe's capacity)
                rest = rest[os.write(self._descriptor, rest) :]

    def flush(self) -> None:
        """Nothing to do: each piece went straight to the operating system."""

    def publish(self) -> None:
        self._close()

    def discard(self) -> None:
        with suppress(OSError):
            self._close()

    def _close(self) -> None:
        # Once only: a second close could hit a descriptor number reused meanwhile.
        if self._descriptor >= 0:
            descriptor, self._descriptor = self._descriptor, -1
            os.close(descriptor)


def _target(destination: str | os.PathLike[str] | None, *, stdout: TextIO) -> _Target:
    if destination is None or destination == STDOUT:
        return _Stdout(stdout)
    path = Path(destination)
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder")
    if path.is_file() or not path.exists():
        # Through a symbolic link: replace the file it points to and keep the link (and lock
        # that file, whichever link a run names it by).
        return _AtomicFile(Path(os.path.realpath(path)) if path.is_symlink() else path)
    return _Device(path)


def write_text_atomically(destination: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to the file ``destination`` as entity files are written: under
    its lock, through a temporary file that takes its name at the end (a report beside the
    entities is never seen half-written either)."""
    path = Path(destination)
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder")
    target = _AtomicFile(path)
    try:
        target.write(text)
        target.publish()
    except BaseException:
        target.discard()
        raise


# --- Ordering ------------------------------------------------------------------------------

# A spooled entity's place in its spool file, after its sort key: offset and length.
_PLACE = struct.Struct(">QQ")


def _sort_key(entity: Mapping[str, Any]) -> bytes:
    """Organization, project, repository (case-insensitively), then profile and id: unique
    for every entity, as Azure DevOps names are unique case-insensitively where they live.

    One bytes value, not a tuple, to keep memory to a few dozen bytes per entity; NUL ends
    each part, so a name sorts before its own extensions as in a tuple.
    """
    names = (entity.get(key) for key in ("organization", "project", "name"))
    parts = [str(name or "").casefold() for name in names]
    parts += [str(entity.get("profile") or ""), str(entity.get("id") or "")]
    return b"".join(part.replace("\0", "").encode("utf-8") + b"\0" for part in parts)


class _Spool:
    """Serialised entities waiting for their place in the output: an unnamed temporary file
    and one sort key per entity."""

    def __init__(self) -> None:
        # Failures name the folder: the entities wait there, whatever the destination.
        self._where = Path(tempfile.gettempdir())
        with _writing(self._where):
            self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._index: list[bytes] = []
        self._end = 0

    def __len__(self) -> int:
        return len(self._index)

    def add(self, key: bytes, text: str) -> None:
        # Appended through the file's buffer (a seek before each write would flush it every
        # time): the texts are read back only once every entity is in.
        data = text.encode("utf-8")
        with _writing(self._where):
            self._file.write(data)
        self._index.append(key + _PLACE.pack(self._end, len(data)))
        self._end += len(data)

    def ordered(self) -> Iterator[str]:
        """The texts in key order (the first call sorts)."""
        self._index.sort()
        for entry in self._index:
            offset, length = _PLACE.unpack(entry[-_PLACE.size :])
            with _writing(self._where):
                self._file.seek(offset)
                data = self._file.read(length)
            yield data.decode("utf-8")

    def close(self) -> None:
        self._file.close()


# --- The sink ------------------------------------------------------------------------------


class EntitySink:
    """Where the entities of a sync go; made by :func:`open_sink`.

    :meth:`write` each entity, then :meth:`close` to finish and publish the output, or
    :meth:`abort` to give up. Both are idempotent and whichever comes first decides. As a
    context manager the sink aborts when the block raises and closes otherwise.

    Each call does a bounded amount of work (one entity) and never waits on other writers
    beyond a short lock, so the engine may call it from its event loop, or from worker
    threads. A failure to write is an :class:`~bridge.errors.InputError` naming the
    destination; after one, abort the sink.
    """

    def __init__(self, encoder: _Encoder, target: _Target, *, streaming: bool) -> None:
        self._encoder = encoder
        self._target = target
        # Streaming: each entity's text goes out as it comes, flushed; else it is spooled.
        try:
            self._spool = None if streaming else _Spool()
        except BaseException:
            target.discard()  # it may hold a lock
            raise
        self._lock = threading.Lock()
        self._open = True

    def write(self, entity: Mapping[str, Any]) -> None:
        """Add one entity (a plain dict of JSON values) to the output."""
        with self._lock:
            if not self._open:
                raise ValueError("write to a closed entity sink")
            text = redact(self._encoder.item(entity))
            if self._spool is None:
                self._target.write(text)
                self._target.flush()
            else:
                self._spool.add(_sort_key(entity), text)

    def close(self) -> None:
        """Finish the output and publish it (a file takes its final name now)."""
        with self._lock:
            if not self._open:
                return
            self._open = False
            try:
                if self._spool is not None:
                    self._write_all(self._spool.ordered, len(self._spool))
                self._target.publish()
            except BaseException:
                self._target.discard()
                raise
            finally:
                self._close_spool()

    def abort(self) -> None:
        """Discard the output: a file destination keeps its previous content; a stream gets
        nothing more."""
        with self._lock:
            if not self._open:
                return
            self._open = False
            self._target.discard()
            self._close_spool()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _write_all(self, items: Callable[[], Iterator[str]], count: int) -> None:
        for text in _batched(self._encoder.whole(items, count)):
            self._target.write(text)

    def _close_spool(self) -> None:
        if self._spool is not None:
            self._spool.close()


def _batched(texts: Iterable[str], size: int = 1 << 16) -> Iterator[str]:
    """``texts`` joined into pieces of about ``size`` characters: fewer system calls."""
    batch: list[str] = []
    length = 0
    for text in texts:
        batch.append(text)
        length += len(text)
        if length >= size:
            yield "".join(batch)
            batch, length = [], 0
    if batch:
        yield "".join(batch)


_ENCODERS: dict[str, Callable[[], _Encoder]] = {
    "ndjson": _Ndjson,
    "json": _JsonArray,
    "yaml": _YamlSequence,
}


def open_sink(
    output_format: str,
    destination: str | os.PathLike[str] | None = None,
    *,
    columns: Sequence[str] | None = None,
    stdout: TextIO | None = None,
) -> EntitySink:
    """Open the output of a sync: ``output_format`` (one of :data:`FORMATS`) to a file path,
    or to standard output when ``destination`` is ``None`` or ``-``.

    ``columns`` picks and orders the table's columns (names from :data:`TABLE_COLUMNS`);
    ``stdout`` replaces ``sys.stdout``. A destination that cannot be written (a missing
    folder, no permission, a folder) is an :class:`~bridge.errors.InputError` now, before
    any work is done, as is a file another run is writing (:class:`~bridge.errors.LockedError`);
    a bad format or column is a :class:`~bridge.errors.UsageError`.
    """
    if output_format not in FORMATS:
        raise UsageError(
            f"unknown output format {output_format!r}; choose from: {', '.join(FORMATS)}"
        )
    encoder: _Encoder
    if output_format == "table":
        encoder = _Table(_table_columns(columns))
    elif columns is not None:
        raise UsageError("columns apply to the table format only")
    else:
        encoder = _ENCODERS[output_format]()
    target = _target(destination, stdout=sys.stdout if stdout is None else stdout)
    # NDJSON on a stream is followed as it comes (`| jq`); everything else is ordered.
    streaming = output_format == "ndjson" and not isinstance(target, _AtomicFile)
    return EntitySink(encoder, target, streaming=streaming)
