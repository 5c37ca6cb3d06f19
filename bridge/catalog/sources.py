"""Finding catalog files and reading them safely (size limit, binary, encoding)."""

from __future__ import annotations

import errno
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from bridge.catalog.problems import ERROR, Problem
from bridge.catalog.reader import SKIPPED_DIRS, read_file, walk
from bridge.errors import UsageError

DEFAULT_GLOBS = ("catalog-info.yaml", "catalog-info.yml")
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


def discover(arguments: Iterable[str], globs: Iterable[str] = DEFAULT_GLOBS) -> Iterator[Source]:
    """Expand command-line paths: files as given, folders searched, ``-`` for stdin.

    Every path is checked before the search starts (a mistyped one is a usage error); the
    search itself is lazy, so validation can begin while folders are still being listed.
    """
    arguments = list(arguments)
    for argument in arguments:
        # lexists: a symbolic link that loops or points nowhere is still a file to report on.
        if argument != STDIN and not os.path.lexists(argument):
            raise UsageError(f"{argument}: no such file or directory")
    return _sources(arguments, tuple(globs))


def _sources(arguments: list[str], globs: tuple[str, ...]) -> Iterator[Source]:
    # os.path rather than pathlib: pathlib's import is a noticeable part of a hook's start.
    cwd = os.path.realpath(os.getcwd())
    for argument in arguments:
        if argument == STDIN:
            yield Source("<stdin>", None, None)
        elif os.path.isdir(argument):
            for relative in walk(argument, skip=SKIPPED_DIRS):
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


def _why(source: Source, error: OSError) -> str:
    """Why a file could not be read, in words (symbolic links named as such)."""
    if error.errno == errno.ELOOP:
        return "symbolic link loop"
    if error.errno == errno.ENOENT and source.path is not None and os.path.islink(source.path):
        return f"dangling symbolic link (its target {os.readlink(source.path)} does not exist)"
    return error.strerror or str(error)


def read(source: Source, max_bytes: int) -> str | Problem:
    """Read a source with the size limit applied before and while reading."""
    try:
        data: bytes | int
        if source.path is None:
            stdin = sys.stdin.buffer.read(max_bytes + 1)
            data = len(stdin) if len(stdin) > max_bytes else stdin
        else:
            data = read_file(source.path, max_bytes)
    except OSError as error:
        return _file_problem("file-unreadable", f"cannot read the file: {_why(source, error)}")
    if isinstance(data, int):
        return _file_problem(
            "file-too-large",
            f"the file is {data} bytes, over the {max_bytes}-byte limit (see --max-bytes)",
        )
    return _decode(data)
