"""``catalog.rules``: which kinds a registered location may bring into the catalog."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bridge.errors import UsageError


@dataclass(frozen=True, slots=True)
class KindRule:
    """One allowed kind of ``catalog.rules`` (with an optional ``spec.type``)."""

    kind: str
    spec_type: str | None = None

    def allows(self, kind: str, entity: Callable[[], Mapping[str, Any]]) -> bool:
        """Whether this rule lets an entity of ``kind`` in (kinds and types compare
        case-insensitively); ``entity`` is called for the spec type only when this rule names
        one."""
        if kind.lower() != self.kind.lower():
            return False
        if self.spec_type is None:
            return True
        spec = entity().get("spec")
        value = spec.get("type") if isinstance(spec, dict) else None
        return isinstance(value, str) and value.lower() == self.spec_type.lower()


DEFAULT_RULES = (KindRule("Component"), KindRule("API"), KindRule("Location"))
"""Backstage's default ``catalog.rules``."""


def parse_rules(text: str) -> tuple[KindRule, ...]:
    """``Component,API,Resource=database`` as rules (``Kind=type`` also matches ``spec.type``)."""
    rules = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        kind, _, spec_type = item.partition("=")
        if not kind.strip():
            raise UsageError(f"--rules: {item!r} names no kind")
        rules.append(KindRule(kind.strip(), spec_type.strip() or None))
    if not rules:
        raise UsageError("--rules: name at least one kind (e.g. Component,API,Location)")
    return tuple(rules)


def allowed(
    kind: str, entity: Callable[[], Mapping[str, Any]], rules: tuple[KindRule, ...]
) -> bool:
    """Whether any rule allows an entity of ``kind`` (``entity``: see :meth:`KindRule.allows`)."""
    return any(rule.allows(kind, entity) for rule in rules)
