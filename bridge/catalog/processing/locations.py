"""Location targets as Backstage's ``file`` locations resolve them.

A target that starts with ``.`` is joined to the Location file's folder; any other target is
used as written, so a relative one resolves against the backend's working directory. Targets
are globs (node-glob: ``*``, ``?``, ``[...]``, ``{a,b}``, ``**``; dot files only when the
pattern names the dot), and a glob may match folders, which then cannot be read.
"""

from __future__ import annotations

import bisect
import hashlib
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from bridge.catalog.reader import folders

_MAGIC = re.compile(r"[*?[{]|[+@!]\(")
# Extended globs: +(a|b) one or more, *(a|b) any number, ?(a|b) at most one, @(a|b) exactly
# one (and !(a|b), anything but these, in _translate).
_EXTGLOB = {
    "+": "(?:{})+",
    "*": "(?:{})*",
    "?": "(?:{})?",
    "@": "(?:{})",
}


def generated_name(absolute_root_file: str) -> str:
    """The name Backstage gives the Location it generates for a configured ``file`` location."""
    digest = hashlib.sha1(f"file:{absolute_root_file}".encode(), usedforsecurity=False)
    return f"generated-{digest.hexdigest()}"


def resolve_target(own_file: str, target: str, cwd: str) -> str:
    """The absolute target of a Location in ``own_file`` (absolute paths, ``/``-separated)."""
    if target.startswith("."):
        return posixpath.normpath(posixpath.join(posixpath.dirname(own_file), target))
    if target.startswith("/"):
        return target
    return posixpath.normpath(posixpath.join(cwd, target))


@dataclass(frozen=True, slots=True)
class Match:
    """One path a target matched, relative to the tree's root."""

    path: str
    is_dir: bool


class TreeIndex:
    """The files and folders of a tree, sorted, for globbing targets against."""

    def __init__(self, files: Iterable[str]) -> None:
        self.files = sorted(files)
        self._file_set = set(self.files)
        dirs = folders(self.files)
        self.dirs = sorted(dirs)
        self._dir_set = dirs

    def is_file(self, path: str) -> bool:
        """Whether ``path`` is a file of the tree."""
        return path in self._file_set

    def is_dir(self, path: str) -> bool:
        """Whether ``path`` is a folder of the tree (``""``: the root)."""
        return path == "" or path in self._dir_set

    def glob(self, pattern: str) -> list[Match]:
        """What a pattern relative to the root matches: files and folders, sorted."""
        if _MAGIC.search(pattern) is None:
            if self.is_file(pattern):
                return [Match(pattern, False)]
            return [Match(pattern, True)] if pattern and self.is_dir(pattern) else []
        # Only paths below the pattern's fixed leading folders can match.
        # (A part with an escape is not a plain name: it stays in the glob.)
        fixed = []
        for part in pattern.split("/")[:-1]:
            if _MAGIC.search(part) or "\\" in part:
                break
            fixed.append(part)
        prefix = "/".join(fixed) + "/" if fixed else ""
        # The rest is matched after the prefix: it is the same for many Locations (each team's
        # ./components/*.yaml), so it is compiled once rather than once per folder.
        rest = pattern[len(prefix) :]
        regex = _glob_regex(rest)
        start = len(prefix)
        files = _below(self.files, prefix)
        matches = [Match(p, False) for p in files if regex.fullmatch(p, start)]
        matches += [Match(p, True) for p in _below(self.dirs, prefix) if regex.fullmatch(p, start)]
        if prefix and rest == "**":  # "a/**" matches the folder a itself too
            matches.append(Match(prefix[:-1], True))
        return sorted(matches, key=lambda match: match.path)


def _below(paths: list[str], prefix: str) -> list[str]:
    if not prefix:
        return paths
    start = bisect.bisect_left(paths, prefix)
    end = bisect.bisect_left(paths, prefix[:-1] + "0")  # "0" sorts right after "/"
    return paths[start:end]


@lru_cache(maxsize=1024)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A node-glob pattern (relative, ``/``-separated) as a regular expression."""
    parts = pattern.split("/")
    out: list[str] = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**" and not last:
            out.append(r"(?:(?!\.)[^/]+/)*")  # any number of folders, none a dot folder
        elif part == "**":
            # At the end: the folder itself and everything below it.
            if out:
                out[-1] = out[-1].removesuffix("/")
                out.append(r"(?:/(?!\.)[^/]+)*")
            else:
                out.append(r"(?!\.)[^/]+(?:/(?!\.)[^/]+)*")
        else:
            segment = _segment(part)
            out.append(segment if last else segment + "/")
    return re.compile("".join(out), re.DOTALL)


def _segment(part: str) -> str:
    """One path segment of a glob; a leading wildcard never matches a dot file."""
    body = _translate(part)
    return body if part.startswith(".") else r"(?!\.)" + body


def _translate(text: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char in "+*?@!" and text[index + 1 : index + 2] == "(":
            end = _closing(text, index + 1, "(", ")")
            if end != -1:
                options = "|".join(_translate(o) for o in _split(text[index + 2 : end], "|"))
                if char != "!":
                    out.append(_EXTGLOB[char].format(options))
                    index = end + 1
                    continue
                # Anything but the options, followed by the rest of the segment.
                rest = _translate(text[end + 1 :])
                out.append(f"(?!(?:{options}){rest}(?=/|$))[^/]*?{rest}")
                return "".join(out)
        if char == "\\" and index + 1 < len(text):
            out.append(re.escape(text[index + 1]))
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = text.find("]", index + 2)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = text[index + 1 : end]
                negate = body[:1] in ("!", "^")
                body = body[1:] if negate else body
                out.append(f"[{'^' if negate else ''}{body.replace(chr(92), chr(92) * 2)}]")
                index = end
        elif char == "{":
            end = _closing(text, index, "{", "}")
            if end == -1:
                out.append(re.escape(char))
            else:
                choices = _split(text[index + 1 : end], ",")
                out.append("(?:" + "|".join(_translate(choice) for choice in choices) + ")")
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


def _closing(text: str, start: int, opening: str, closing: str) -> int:
    """The index of the bracket closing the one at ``start`` (-1: none)."""
    depth = 0
    for index in range(start, len(text)):
        if text[index] == opening:
            depth += 1
        elif text[index] == closing:
            depth -= 1
            if depth == 0:
                return index
    return -1


def _split(body: str, separator: str) -> list[str]:
    """``body`` split at ``separator`` outside nested braces and parentheses."""
    options: list[str] = []
    current: list[str] = []
    depth = 0
    for char in body:
        if char == separator and depth == 0:
            options.append("".join(current))
            current = []
            continue
        depth += {"{": 1, "(": 1, "}": -1, ")": -1}.get(char, 0)
        current.append(char)
    options.append("".join(current))
    return options
