"""``$text`` / ``$json`` / ``$yaml`` placeholders, resolved from local files only.

Semantics follow Backstage's PlaceholderProcessor as the reference oracle applies it: an
object with exactly one key that starts with ``$`` and names a resolver is replaced by the
content of the file it names, relative to the catalog file. Remote URLs are never fetched:
they are reported and replaced by a dummy value (an error with ``strict``).

Files are read from the disk, or through a :class:`~bridge.catalog.reader.CatalogReader`
(``reader``: a git tree at a ref) with ``base_dir`` relative to the reader's root.

With ``file_location`` set, placeholders behave as in a Backstage ``file`` location, where the
catalog cannot resolve a relative value (its URL resolver is given a plain path as base): the
entity fails with Backstage's message instead of the file being read.

Unlike Backstage, a placeholder may not read outside the directory tree being validated
(``root``): a catalog file under review must not be able to pull in arbitrary local files.
"""

from __future__ import annotations

import json
import os
import re
from typing import TYPE_CHECKING, Any, NamedTuple

from bridge.catalog.jsvalue import js_json
from bridge.catalog.problems import ERROR, WARNING, Problem
from bridge.catalog.reader import join
from bridge.catalog.whatwg_url import is_valid_url
from bridge.catalog.yamlload import parse_documents

if TYPE_CHECKING:
    from pathlib import Path

    from bridge.catalog.reader import CatalogReader

_RESOLVERS = ("text", "json", "yaml")
_PLUGIN_RESOLVERS = ("openapi", "asyncapi")  # the OpenAPI module's; read as text here
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:", re.IGNORECASE)


class PlaceholderContext(NamedTuple):
    """Where placeholders may be read from."""

    base_dir: str | None  # the catalog file's folder; None when it has none (stdin, remote)
    root: str | None  # nothing outside this tree is read
    strict: bool  # an unresolvable placeholder is an error, not a warning
    max_bytes: int  # larger files are not read
    reader: CatalogReader | None = None  # read through this (base_dir relative to its root)
    file_location: str | None = None  # a Backstage `file` location: this absolute path


def _reject(value: Any) -> ValueError:
    # JSON.parse rejects NaN/Infinity, which Python's json accepts.
    return ValueError(f"Unexpected token {value} in JSON")


def _has_dollar_key(data: Any) -> bool:
    """Whether a mapping anywhere in ``data`` has a key starting with ``$``."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key[:1] == "$" or (isinstance(value, dict | list) and _has_dollar_key(value)):
                return True
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, dict | list) and _has_dollar_key(item):
                return True
    return False


class _Resolver:
    def __init__(self, context: PlaceholderContext) -> None:
        self.context = context
        self.problems: list[Problem] = []

    def walk(self, data: Any, path: tuple[str | int, ...]) -> Any:
        if isinstance(data, list):
            items = [self.walk(item, (*path, index)) for index, item in enumerate(data)]
            return data if all(a is b for a, b in zip(items, data, strict=True)) else items
        if not isinstance(data, dict):
            return data
        if not any(key.startswith("$") for key in data):
            changed = {key: self.walk(value, (*path, key)) for key, value in data.items()}
            return data if all(changed[k] is data[k] for k in data) else changed
        if len(data) != 1:
            return data  # Backstage leaves such objects untouched
        ((key, value),) = data.items()
        resolver = key[1:]
        if resolver not in _RESOLVERS and resolver not in _PLUGIN_RESOLVERS:
            return data
        return self._resolve(resolver, value, data, path)

    def _problem(self, severity: str, rule: str, message: str, path: tuple[str | int, ...]) -> None:
        stage = "placeholder" if severity == ERROR else None
        self.problems.append(
            Problem(
                severity,
                rule,
                message,
                stage=stage,
                backstage=message if stage else None,
                path=path,
            )
        )

    def _resolve(self, resolver: str, value: Any, data: Any, path: tuple[str | int, ...]) -> Any:
        note = f"placeholder ${resolver}: {js_json(value)}"
        if self.context.file_location is not None:
            if resolver in _PLUGIN_RESOLVERS:
                return data  # the catalog's default processors leave these untouched
            refused = self._file_location_error(resolver, value)
            if refused is not None:
                self._problem(ERROR, "placeholder", refused, path)
                return data
        raw = self._read(value) if self.context.reader is not None else self._read_disk(value)
        if isinstance(raw, str):  # refused
            self._problem(ERROR, "placeholder", f"{note}{raw}", path)
            return data
        return self._resolve_content(resolver, value, data, path, raw)

    def _read_disk(self, value: Any) -> bytes | str | None:
        """The placeholder's file from the disk; None when there is none; why when refused."""
        local = self._local_file(value)
        if local is None or isinstance(local, str):
            return None if local is None else f" {local}"
        size = local.stat().st_size
        if size > self.context.max_bytes:
            return f": {value} is {size} bytes, over the {self.context.max_bytes}-byte limit"
        return local.read_bytes()

    def _file_location_error(self, resolver: str, value: Any) -> str | None:
        """Backstage's error for a placeholder in a ``file`` location (None: an absolute URL,
        which Backstage would fetch)."""
        if not isinstance(value, str):
            return (
                f"Placeholder ${resolver} expected a string value parameter, in the form of an "
                "absolute URL or a relative path"
            )
        if is_valid_url(value):
            return None
        # new URL(value, base) with a plain path as base; a rooted value goes through the git
        # URL parser first, which words its failure differently.
        cause = "Error: URL parsing failed." if value.startswith("/") else "TypeError: Invalid URL"
        return (
            f"Placeholder ${resolver} could not form a URL out of {self.context.file_location} "
            f"and {value}, {cause}"
        )

    def _read(self, value: Any) -> bytes | str | None:
        """The placeholder's file through the reader; None when there is none; why when refused."""
        reader = self.context.reader
        base = self.context.base_dir
        if reader is None or base is None or not isinstance(value, str) or _SCHEME.match(value):
            return None
        target = join(f"{base}/x" if base else "x", value)
        if target is None:
            return " points outside the tree; not read"
        if not reader.is_file(target):
            return None
        try:
            data = reader.read(target, self.context.max_bytes)
        except OSError as error:
            return f": cannot read {value}: {error.strerror or error}"
        if isinstance(data, int):
            return f": {value} is {data} bytes, over the {self.context.max_bytes}-byte limit"
        return data

    def _resolve_content(
        self,
        resolver: str,
        value: Any,
        data: Any,
        path: tuple[str | int, ...],
        raw: bytes | None,
    ) -> Any:
        """The value a placeholder stands for, given its file's bytes (None: unresolved)."""
        note = f"placeholder ${resolver}: {js_json(value)}"
        if raw is None:
            if self.context.strict:
                self._problem(
                    ERROR,
                    "placeholder",
                    f"{note} not resolvable locally (remote URL or missing file)",
                    path,
                )
                return data
            self._problem(
                WARNING,
                "placeholder-unresolved",
                f"{note} not resolvable locally (remote URL or missing file); "
                "validated with a dummy value",
                path,
            )
            return {} if resolver in ("json", "yaml") else f"<unresolved {note}>"
        # Node reads with 'utf8', which turns invalid bytes into U+FFFD rather than failing.
        content = raw.decode("utf-8", errors="replace")
        if resolver == "json":
            try:
                return json.loads(content, parse_constant=_reject)
            except ValueError as error:
                self._problem(
                    ERROR,
                    "placeholder",
                    f"Placeholder $json failed to parse JSON data at {value}, SyntaxError: {error}",
                    path,
                )
                return data
        if resolver == "yaml":
            documents = parse_documents(content)
            if len(documents) != 1:
                self._problem(
                    ERROR,
                    "placeholder",
                    f"Placeholder $yaml expected to find exactly one document of data at {value}, "
                    f"found {len(documents)}",
                    path,
                )
                return data
            problem = documents[0].problem
            if problem is not None:
                self._problem(
                    ERROR,
                    "placeholder",
                    f"Placeholder $yaml found an error in the data at {value}, "
                    f"YAMLParseError: {problem.message} at line {problem.line}, "
                    f"column {problem.column}",
                    path,
                )
                return data
            return documents[0].value
        if resolver in _PLUGIN_RESOLVERS:
            self._problem(
                WARNING,
                "placeholder-plugin",
                f"{note} needs @backstage/plugin-catalog-backend-module-openapi; read as text",
                path,
            )
        return content

    def _local_file(self, value: Any) -> Path | str | None:
        """The file to read; None when there is none; a reason (str) when refused."""
        from pathlib import Path  # here: most catalog files hold no placeholder

        base = self.context.base_dir
        if base is None or not isinstance(value, str) or _SCHEME.match(value):
            return None
        target = Path(os.path.normpath(os.path.join(base, value)))
        if not target.is_file():
            return None
        root = self.context.root
        if root is not None:
            real_root = Path(root).resolve()
            real = target.resolve()
            if real != real_root and real_root not in real.parents:
                return f"points outside the validated directory tree ({root}); not read"
        return target


def resolve_placeholders(
    entity: dict[str, Any], context: PlaceholderContext
) -> tuple[dict[str, Any], list[Problem]]:
    """The entity with placeholders replaced (unchanged parts shared), and what happened."""
    if not _has_dollar_key(entity):
        return entity, []  # the usual case, found without rebuilding anything
    resolver = _Resolver(context)
    resolved = resolver.walk(entity, ())
    return resolved, resolver.problems
