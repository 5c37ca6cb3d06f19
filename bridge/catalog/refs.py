"""Entity references (``[<kind>:][<namespace>/]<name>``), parsed as Backstage parses them."""

from __future__ import annotations

from typing import Any, NamedTuple

from bridge.catalog.jsvalue import js_json, js_truthy

DEFAULT_NAMESPACE = "default"


class EntityRefError(ValueError):
    """A reference Backstage cannot parse; the message is Backstage's."""


class EntityRef(NamedTuple):
    """A parsed reference (parts keep their case).

    A named tuple: validation parses every relation of every entity, and a tuple is the
    cheapest immutable record to make.
    """

    kind: str
    namespace: str
    name: str


def _split(ref: str) -> tuple[str | None, str | None, str]:
    colon = ref.find(":")
    slash = ref.find("/")
    if slash != -1 and slash < colon:
        colon = -1  # a colon after the first slash belongs to the name
    kind = None if colon == -1 else ref[:colon]
    namespace = None if slash == -1 else ref[colon + 1 : slash]
    name = ref[max(colon + 1, slash + 1) :]
    if kind == "" or namespace == "" or name == "":
        raise EntityRefError(
            f'Entity reference "{ref}" was not on the form [<kind>:][<namespace>/]<name>'
        )
    return kind, namespace, name


def parse_entity_ref(
    ref: Any, *, default_kind: str | None = None, default_namespace: str | None = None
) -> EntityRef:
    """Parse ``ref`` like ``parseEntityRef`` (a string, or an object with kind/namespace/name)."""
    if not js_truthy(ref):
        raise EntityRefError("Entity reference must not be empty")
    namespace_default = default_namespace or DEFAULT_NAMESPACE
    kind: Any
    namespace: Any
    name: Any
    if isinstance(ref, str):
        kind, namespace, name = _split(ref)
        kind = kind if kind is not None else default_kind
        namespace = namespace if namespace is not None else namespace_default
    else:
        fields = ref if isinstance(ref, dict) else {}
        kind = fields.get("kind", default_kind)
        kind = default_kind if kind is None else kind
        namespace = fields.get("namespace")
        namespace = namespace_default if namespace is None else namespace
        name = fields.get("name")
    if not js_truthy(kind):
        raise EntityRefError(
            f"Entity reference {js_json(ref)} had missing or empty kind "
            '(e.g. did not start with "component:" or similar)'
        )
    if not js_truthy(namespace):
        raise EntityRefError(f"Entity reference {js_json(ref)} had missing or empty namespace")
    if not js_truthy(name):
        raise EntityRefError(f"Entity reference {js_json(ref)} had missing or empty name")
    return EntityRef(str(kind), str(namespace), str(name))
