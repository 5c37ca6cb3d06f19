"""The previous run's entities: what a nightly run compares with and falls back on.

Everything in :mod:`bridge.nightly` depends only on :func:`load_previous`: a mapping of
:func:`entity_key` to entity (:class:`Previous`, which keeps each entity as text). It reads
the previously published output file; a sync's state run (anything with
``previous_entities()``) takes its place when one is given.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import yaml

from bridge.errors import InputError

Entity = dict[str, Any]

# libyaml's loader when PyYAML was built with it, as the YAML output uses its emitter.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Previous(Mapping[str, "Entity"]):
    """The previous run's entities by :func:`entity_key`, each kept as its JSON text and
    decoded when read (a new dict on every read: change it freely).

    As text, 10,000 entities take about 10 MB; as dicts they took 60 MB, most of a nightly
    run's memory.
    """

    def __init__(self, texts: Mapping[str, str] | None = None) -> None:
        self._texts = dict(texts or {})

    @classmethod
    def of(cls, entities: Iterable[Entity]) -> Previous:
        """The entities, each by its key."""
        return cls({entity_key(e): json.dumps(e, ensure_ascii=False) for e in entities})

    def __getitem__(self, key: str) -> Entity:
        value: Entity = json.loads(self._texts[key])
        return value

    def __contains__(self, key: object) -> bool:
        return key in self._texts

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)

    def where(self, keep: Callable[[Entity], bool]) -> Previous:
        """The entities ``keep`` accepts (each decoded once to ask)."""
        return Previous({k: text for k, text in self._texts.items() if keep(json.loads(text))})


class PreviousEntities(Protocol):
    """A source of the previous run's entities (a sync's state run offers this)."""

    def previous_entities(self) -> Previous:
        """Every entity of the previous run, by :func:`entity_key`."""
        ...


def entity_key(entity: Mapping[str, Any]) -> str:
    """``profile/organization/repository id``: one repository across runs, whatever its name
    or project (the id survives renames and moves)."""
    return f"{entity['profile']}/{entity['organization']}/{entity['id']}"


def load_previous(
    state: PreviousEntities | None,
    output: str | Path | None,
    keep: Callable[[Entity], bool] | None = None,
) -> Previous:
    """The previous run's entities by :func:`entity_key`: from ``state`` when given, else
    from the published ``output`` file (NDJSON, JSON or YAML, as ``sync`` writes them); empty
    when there is neither (a first run). ``keep``: only the entities it accepts (asked as
    each is read)."""
    if state is not None:
        found = state.previous_entities()
        return found if keep is None else found.where(keep)
    if output is None:
        return Previous()
    path = Path(output)
    if not path.is_file():
        return Previous()
    return Previous({entity_key(e): text for e, text in _read(path) if keep is None or keep(e)})


def read_entities(path: Path) -> list[Entity]:
    """The entities of an output file ``sync`` wrote (NDJSON, a JSON array or a YAML
    sequence); an :class:`~bridge.errors.InputError` naming the file and line otherwise."""
    return [entity for entity, _ in _read(path)]


def _read(path: Path) -> Iterator[tuple[Entity, str]]:
    """Each entity of an output file with its JSON text, checked (see :func:`read_entities`).

    NDJSON is read a line at a time, so no more than one entity is decoded at once; a JSON
    array or a YAML sequence is decoded whole."""
    try:
        with path.open(encoding="utf-8") as stream:
            first = ""
            for first in stream:
                if first.strip():
                    break
            if not first.strip():
                return
            if first.lstrip().startswith("{"):
                stream.seek(0)
                for number, line in enumerate(stream, 1):
                    if line.strip():
                        item = _json(path, line, number)
                        yield _checked(item, f"{path}:{number}: the line"), line.strip()
                return
            stream.seek(0)
            text = stream.read()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read {path}: {error}") from None
    items: Any
    if text.lstrip().startswith("["):
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
    for index, item in enumerate(items, 1):
        entity = _checked(item, f"{path}: entity {index}")
        yield entity, json.dumps(entity, ensure_ascii=False)


def _checked(item: Any, where: str) -> Entity:
    """``item`` when it is a repository entity, else an error saying ``where`` it is."""
    if not isinstance(item, dict) or not all(
        isinstance(item.get(key), str) for key in ("profile", "organization", "id")
    ):
        raise InputError(
            f"{where} is not a repository entity (profile, organization and id are required)"
        )
    return item


def _json(path: Path, text: str, line: int | None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        where = line if line is not None else error.lineno
        raise InputError(f"{path}:{where}: not a catalog-bridge output: {error.msg}") from None
