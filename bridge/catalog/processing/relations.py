"""The relations Backstage's processors derive from an entity's spec fields, both directions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from bridge.catalog.jsvalue import js_truthy
from bridge.catalog.refs import EntityRef, EntityRefError, parse_entity_ref
from bridge.catalog.validation import RELATION_FIELDS

# (relation from the entity, the inverse relation from the target) per spec field.
RELATION_TYPES: dict[str, tuple[str, str]] = {
    "owner": ("ownedBy", "ownerOf"),
    "system": ("partOf", "hasPart"),
    "subcomponentOf": ("partOf", "hasPart"),
    "domain": ("partOf", "hasPart"),
    "subdomainOf": ("partOf", "hasPart"),
    "providesApis": ("providesApi", "apiProvidedBy"),
    "consumesApis": ("consumesApi", "apiConsumedBy"),
    "dependsOn": ("dependsOn", "dependencyOf"),
    "dependencyOf": ("dependencyOf", "dependsOn"),
    "memberOf": ("memberOf", "hasMember"),
    "parent": ("childOf", "parentOf"),
    "children": ("parentOf", "childOf"),
    "members": ("hasMember", "memberOf"),
}


Reference = tuple[str, tuple[str | int, ...], str, str, str]
"""One entity reference written in a relation field: ``(field, path, key, namespace, name)``,
the path it is written at (for line and column), the target's ref as Backstage compares it
(lower-cased), and the target's namespace and name as written.

A plain tuple, not a named one: every reference of every entity is made in a worker and loaded
again in the main process or from the cache, and only plain tuples are pickled and loaded
without a Python call each (a third of the time a worker spends sending its results)."""


def ref_key(ref: EntityRef) -> str:
    """``kind:namespace/name``, lower-cased."""
    return f"{ref.kind}:{ref.namespace}/{ref.name}".lower()


def references(entity: dict[str, Any], kind: str) -> Iterator[Reference]:
    """The references of ``entity`` (a valid entity of validator kind ``kind``)."""
    spec = entity.get("spec")
    if not isinstance(spec, dict):
        return
    namespace = entity["metadata"].get("namespace") or "default"
    for field, default_kind in RELATION_FIELDS.get(kind, ()):
        values = spec.get(field)
        if not js_truthy(values):
            continue
        items = list(enumerate(values)) if isinstance(values, list) else [(None, values)]
        for index, value in items:
            try:
                target = parse_entity_ref(
                    value, default_kind=default_kind, default_namespace=namespace
                )
            except EntityRefError:
                continue  # validation reported it
            path: tuple[str | int, ...] = (
                ("spec", field) if index is None else ("spec", field, index)
            )
            yield field, path, ref_key(target), target.namespace, target.name


def relation_pairs(source: str, references: Iterable[Reference]) -> Iterator[tuple[str, str, str]]:
    """(source, type, target) of both relations each of ``source``'s references produces."""
    for field, _path, key, _namespace, _name in references:
        forward, inverse = RELATION_TYPES[field]
        yield source, forward, key
        yield key, inverse, source
