"""Finding catalog files and reading them safely (size limit, binary, encoding)."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from bridge.catalog.problems import ERROR, Problem
from bridge.errors import UsageError

DEFAULT_GLOBS = ("catalog-info.yaml", "catalog-info.yml")
# Folders never searched: version control, dependencies, caches.
SKIPPED_DIRS = frozenset(
    (".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".cache")
)
STDIN = "-"


@dataclass(frozen=True, slots=True)
class Source:
    """One catalog file to validate: where it is, how to name it, where placeholders may read."""

    display: str
    path: str | None  # None: standard input
    root: str | None  # placeholders may not read outside this folder


@lru_cache(maxsize=64)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """gitignore-like globs: ``*`` stays in one folder, ``**/`` spans folders."""
    out = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
            continue
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", index + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[index + 1 : end].replace("\\", "\\\\")
                out.append(f"[{'^' + body[1:] if body.startswith('!') else body}]")
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    return re.compile("".join(out))


def matches(relative: str, globs: Iterable[str]) -> bool:
    """Whether a path relative to a searched folder matches one of the globs.

    A glob without ``/`` is matched against the file name, in any folder.
    """
    name = relative.rsplit("/", 1)[-1]
    return any(
        _glob_regex(glob).fullmatch(relative if "/" in glob else name) is not None for glob in globs
    )


def _walk(folder: str, prefix: str = "") -> Iterator[str]:
    """Relative paths (with ``/``) of the files below ``folder``, sorted, skipping SKIPPED_DIRS.

    Symbolic links to folders are not followed (a link cycle cannot trap the search).
    """
    with os.scandir(folder) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            if entry.name not in SKIPPED_DIRS:
                yield from _walk(entry.path, f"{prefix}{entry.name}/")
        elif entry.is_file():
            yield prefix + entry.name


def discover(arguments: Iterable[str], globs: Iterable[str] = DEFAULT_GLOBS) -> Iterator[Source]:
    """Expand command-line paths: files as given, folders searched, ``-`` for stdin.

    Every path is checked before the search starts (a mistyped one is a usage error); the
    search itself is lazy, so validation can begin while folders are still being listed.
    """
    arguments = list(arguments)
    for argument in arguments:
        if argument != STDIN and not os.path.exists(argument):
            raise UsageError(f"{argument}: no such file or directory")
    return _sources(arguments, tuple(globs))


def _sources(arguments: list[str], globs: tuple[str, ...]) -> Iterator[Source]:
    # os.path rather than pathlib: pathlib's import is a noticeable part of a hook's start.
    cwd = os.path.realpath(os.getcwd())
    for argument in arguments:
        if argument == STDIN:
            yield Source("<stdin>", None, None)
        elif os.path.isdir(argument):
            for relative in _walk(argument):
                if matches(relative, globs):
                    file = os.path.join(argument, relative)
                    yield Source(file, file, argument)
        else:
            resolved = os.path.realpath(argument)
            inside = resolved != cwd and os.path.commonpath((cwd, resolved)) == cwd
            yield Source(argument, argument, cwd if inside else os.path.dirname(resolved))


def _position(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return line, column


def _file_problem(
    rule: str, message: str, line: int | None = None, column: int | None = None
) -> Problem:
    return Problem(ERROR, rule, message, line, column)


def _decode(data: bytes) -> str | Problem:
    """The text of a catalog file, or the problem that makes it unusable."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _file_problem(
            "file-encoding", "the file is UTF-16 text; catalog files must be UTF-8"
        )
    nul = data.find(b"\0")
    if nul != -1:
        line, column = _position(data, nul)
        return _file_problem(
            "file-binary", "the file holds binary content (a NUL byte), not YAML text", line, column
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = _position(data, error.start)
        return _file_problem(
            "file-encoding",
            f"the file is not valid UTF-8 (byte 0x{data[error.start]:02x}); save it as UTF-8",
            line,
            column,
        )


def _read_file(path: str, max_bytes: int) -> bytes | int:
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


def read(source: Source, max_bytes: int) -> str | Problem:
    """Read a source with the size limit applied before and while reading."""
    try:
        data: bytes | int
        if source.path is None:
            stdin = sys.stdin.buffer.read(max_bytes + 1)
            data = len(stdin) if len(stdin) > max_bytes else stdin
        else:
            data = _read_file(source.path, max_bytes)
    except OSError as error:
        return _file_problem("file-unreadable", f"cannot read the file: {error.strerror or error}")
    if isinstance(data, int):
        return _file_problem(
            "file-too-large",
            f"the file is {data} bytes, over the {max_bytes}-byte limit (see --max-bytes)",
        )
    return _decode(data)
