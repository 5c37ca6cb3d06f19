"""The previous run's entities: what a nightly run compares with and falls back on.

Everything in :mod:`bridge.nightly` depends only on :func:`load_previous`: a mapping of
:func:`entity_key` to entity. Today it reads the previously published output file; a state
store (anything with ``previous_entities()``) takes its place when one is given.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import yaml

from bridge.errors import InputError

Entity = dict[str, Any]

# libyaml's loader when PyYAML was built with it, as the YAML output uses its emitter.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class PreviousEntities(Protocol):
    """A source of the previous run's entities (the state store offers this)."""

    def previous_entities(self) -> dict[str, dict[str, Any]]:
        """Every entity of the previous run, by :func:`entity_key`."""
        ...


def entity_key(entity: Mapping[str, Any]) -> str:
    """``profile/organization/repository id``: one repository across runs, whatever its name
    or project (the id survives renames and moves)."""
    return f"{entity['profile']}/{entity['organization']}/{entity['id']}"


def load_previous(store: PreviousEntities | None, output: str | Path | None) -> dict[str, Entity]:
    """The previous run's entities by :func:`entity_key`: from ``store`` when given, else
    from the published ``output`` file (NDJSON, JSON or YAML, as ``sync`` writes them); empty
    when there is neither (a first run)."""
    if store is not None:
        return dict(store.previous_entities())
    if output is None:
        return {}
    path = Path(output)
    if not path.is_file():
        return {}
    return {entity_key(entity): entity for entity in read_entities(path)}


def read_entities(path: Path) -> list[Entity]:
    """The entities of an output file ``sync`` wrote (NDJSON, a JSON array or a YAML
    sequence); an :class:`~bridge.errors.InputError` naming the file and line otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read {path}: {error}") from None
    start = text.lstrip()
    if not start:
        return []
    items: Any
    if start.startswith("{"):
        items = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                items.append(_json(path, line, number))
    elif start.startswith("["):
        items = _json(path, text, None)
    else:
        try:
            items = yaml.load(text, Loader=_YAML_LOADER)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            raise InputError(f"{path}{line}: not a catalog-bridge output (YAML error)") from None
    if not isinstance(items, list):
        raise InputError(f"{path}: not a catalog-bridge output (ndjson, json or yaml entities)")
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not all(
            isinstance(item.get(key), str) for key in ("profile", "organization", "id")
        ):
            raise InputError(
                f"{path}: entity {index + 1} is not a repository entity "
                "(profile, organization and id are required)"
            )
    return items


def _json(path: Path, text: str, line: int | None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        where = line if line is not None else error.lineno
        raise InputError(f"{path}:{where}: not a catalog-bridge output: {error.msg}") from None
