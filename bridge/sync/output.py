"""Writing the entities of ``catalog-bridge sync``: NDJSON, JSON, YAML, or a table for people.

:func:`open_sink` returns an :class:`EntitySink`. The engine hands it each entity as soon as
its repository is done (:meth:`~EntitySink.write`), then :meth:`~EntitySink.close` finishes
and publishes the output, or :meth:`~EntitySink.abort` discards it. Used as a context
manager, the sink aborts when the block raises (including ``KeyboardInterrupt`` and task
cancellation) and closes otherwise.

Every format streams: ``write`` serialises one entity and passes it on, so memory stays flat
however many repositories there are (the table keeps one short row per repository, since
its column widths are known only at the end).

Where the text goes:

* **Standard output** (destination ``None`` or ``-``): as it comes, NDJSON flushed line by
  line. Nothing written can be taken back, but an aborted JSON array is left without its
  closing ``]``, so no parser mistakes it for a complete result.
* **A file, for json, yaml and table**: into a temporary file in the destination's folder,
  which takes the destination's name at close (``os.replace``, atomic on one file system).
  Readers see the previous file or the complete new one, never a part; abort removes the
  temporary file and leaves the previous file as it was.
* **A file, for ndjson**: in place, one whole line at a time, so the file can be followed
  (``tail -f``) or salvaged while a long run goes on; that is the point of NDJSON. A write
  that fails half-way is cut back, so the file holds only whole lines. The previous content
  is dropped at the first entity, not at open, so a run that fails before producing anything
  leaves it alone; an aborted run leaves the entities finished so far (the exit code tells
  that the run did not complete).
* **A path that is not a regular file** (``/dev/stdout``, a named pipe, ``>(jq ...)``): in
  place, since a device or a pipe cannot be replaced.

Everything is UTF-8 with ``\\n`` line ends, also on standard output (through its binary
buffer when it has one): JSON is UTF-8 by definition, and a console or pipe whose locale
encoding lacks a character would otherwise fail the run. No format may leak a token:
entities hold none, and every piece of text still passes through
:func:`bridge.secrets.redact` on its way out.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Protocol, Self, TextIO

import yaml

from bridge.errors import InputError, UsageError
from bridge.secrets import redact

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
    def item(self, entity: Mapping[str, Any], index: int) -> str:
        """The text for one entity (``index`` counts from 0)."""

    def end(self, count: int) -> str:
        """The text that completes the output after ``count`` entities."""


class _Ndjson:
    def item(self, entity: Mapping[str, Any], index: int) -> str:
        return _json(entity) + "\n"

    def end(self, count: int) -> str:
        return ""


class _JsonArray:
    """``[``, one compact entity per line joined by ``,``, ``]``: valid JSON, yet diffable."""

    def item(self, entity: Mapping[str, Any], index: int) -> str:
        return ("[\n" if index == 0 else ",\n") + _json(entity)

    def end(self, count: int) -> str:
        return "\n]\n" if count else "[]\n"


class _YamlSequence:
    """One block sequence: each entity dumped as a one-item list, so the items concatenate."""

    def item(self, entity: Mapping[str, Any], index: int) -> str:
        text: str = yaml.dump(
            [entity],
            Dumper=_YAML_DUMPER,
            sort_keys=False,
            allow_unicode=True,
            default_flow_style=False,
            width=_YAML_WIDTH,
        )
        return text

    def end(self, count: int) -> str:
        return "" if count else "[]\n"


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


class _Table:
    """Rows collected as entities arrive, aligned at the end."""

    def __init__(self, columns: Sequence[_Column]) -> None:
        self._columns = tuple(columns)
        self._rows: list[tuple[str, ...]] = []

    def item(self, entity: Mapping[str, Any], index: int) -> str:
        self._rows.append(tuple(_cell(c.value(entity), c.limit) for c in self._columns))
        return ""

    def end(self, count: int) -> str:
        header = tuple(column.header for column in self._columns)
        rows = [header, *self._rows]
        widths = [max(_width(row[i]) for row in rows) for i in range(len(header))]
        return "".join(self._line(row, widths) for row in rows)

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
        # What was written cannot be taken back; an unfinished JSON array stays unparseable.
        pass


class _AtomicFile:
    """A temporary file beside the destination that takes the destination's name at publish."""

    def __init__(self, path: Path) -> None:
        self._path = path
        with _writing(path):
            if path.exists():
                # Replacing needs only the folder's permission, but a read-only file says "do
                # not overwrite", as it does to a shell redirection or to NDJSON output.
                if not os.access(path, os.W_OK):
                    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
                self._mode = stat.S_IMODE(path.stat().st_mode)
            else:
                self._mode = _NEW_FILE_MODE
            # The same folder, so that os.replace is a rename within one file system.
            descriptor, self._temporary = tempfile.mkstemp(
                prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
            )
        self._file = os.fdopen(descriptor, "wb")

    def write(self, text: str) -> None:
        with _writing(self._path):
            self._file.write(text.encode("utf-8"))

    def flush(self) -> None:
        with _writing(self._path):
            self._file.flush()

    def publish(self) -> None:
        with _writing(self._path):
            self._file.flush()
            # On disk before it takes the name: a crash must not leave an empty destination.
            os.fsync(self._file.fileno())
            self._file.close()
            os.chmod(self._temporary, self._mode)
            os.replace(self._temporary, self._path)

    def discard(self) -> None:
        with suppress(OSError):  # closing flushes, which fails again on a full disk
            self._file.close()
        with suppress(FileNotFoundError):
            os.unlink(self._temporary)


class _InPlaceFile:
    """The destination itself, written one whole piece at a time."""

    def __init__(self, path: Path) -> None:
        self._path = path
        with _writing(path):
            try:
                descriptor = os.open(
                    path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, _NEW_FILE_MODE
                )
                self._created = True
            except FileExistsError:
                # Not truncated yet: the previous content stays until there is new content.
                descriptor = os.open(path, os.O_WRONLY | _O_BINARY)
                self._created = False
        self._regular = stat.S_ISREG(os.fstat(descriptor).st_mode)
        self._descriptor = descriptor
        self._started = False
        self._end = 0  # the length of the whole pieces written so far

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        with _writing(self._path):
            try:
                if not self._started and self._regular:
                    os.ftruncate(self._descriptor, 0)
                self._started = True
                rest = memoryview(data)
                while rest:  # os.write may write part of it (a signal, a pipe's capacity)
                    rest = rest[os.write(self._descriptor, rest) :]
            except OSError:
                self._cut_back()
                raise
        self._end += len(data)

    def flush(self) -> None:
        """Nothing to do: each piece went straight to the operating system."""

    def publish(self) -> None:
        with _writing(self._path):
            if self._regular:
                if not self._started:  # a run without entities: the output is empty
                    os.ftruncate(self._descriptor, 0)
                os.fsync(self._descriptor)
            self._close()

    def discard(self) -> None:
        # Interrupted inside write(), the last piece may be partly written.
        self._cut_back()
        with suppress(OSError):
            self._close()
        if self._created and not self._started:
            with suppress(FileNotFoundError):
                os.unlink(self._path)

    def _close(self) -> None:
        # Once only: a second close could hit a descriptor number reused meanwhile.
        if self._descriptor >= 0:
            descriptor, self._descriptor = self._descriptor, -1
            os.close(descriptor)

    def _cut_back(self) -> None:
        """Truncate the file to the whole pieces written, so no line is ever left cut."""
        if self._regular and self._started:  # before the first piece: the previous content
            with suppress(OSError):
                os.ftruncate(self._descriptor, self._end)
                os.lseek(self._descriptor, self._end, os.SEEK_SET)


def _target(destination: str | os.PathLike[str] | None, *, atomic: bool, stdout: TextIO) -> _Target:
    if destination is None or destination == STDOUT:
        return _Stdout(stdout)
    path = Path(destination)
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder")
    # A device or a pipe cannot be replaced: it is written in place, whatever the format.
    if atomic and (path.is_file() or not path.exists()):
        return _AtomicFile(path)
    return _InPlaceFile(path)


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

    def __init__(self, encoder: _Encoder, target: _Target, *, flush_each: bool) -> None:
        self._encoder = encoder
        self._target = target
        self._flush_each = flush_each
        self._lock = threading.Lock()
        self._open = True
        self._count = 0

    def write(self, entity: Mapping[str, Any]) -> None:
        """Add one entity (a plain dict of JSON values) to the output."""
        with self._lock:
            if not self._open:
                raise ValueError("write to a closed entity sink")
            self._emit(self._encoder.item(entity, self._count))
            self._count += 1
            if self._flush_each:
                self._target.flush()

    def close(self) -> None:
        """Finish the output and publish it (a file takes its final name now)."""
        with self._lock:
            if not self._open:
                return
            self._open = False
            try:
                self._emit(self._encoder.end(self._count))
                self._target.publish()
            except BaseException:
                self._target.discard()
                raise

    def abort(self) -> None:
        """Discard the output: a file destination keeps its previous content (NDJSON keeps the
        whole lines written so far); standard output gets nothing more."""
        with self._lock:
            if not self._open:
                return
            self._open = False
            self._target.discard()

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

    def _emit(self, text: str) -> None:
        if text:  # the table writes only at the end; an in-place file starts at the first text
            self._target.write(redact(text))


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
    any work is done; a bad format or column is a :class:`~bridge.errors.UsageError`.
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
    target = _target(
        destination,
        # NDJSON to a file is written in place: see the module documentation.
        atomic=output_format != "ndjson",
        stdout=sys.stdout if stdout is None else stdout,
    )
    return EntitySink(encoder, target, flush_each=output_format == "ndjson")
