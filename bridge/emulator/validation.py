"""Typed reading of an untrusted YAML document, with errors that name the key path.

Every error is an :class:`~bridge.errors.EmulatorError` such as
``estate.yaml: organizations[0].projects[2].name: expected a string, got 12``.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime
from typing import Any, NoReturn

from bridge.errors import EmulatorError

_MISSING: Any = object()


class Node:
    """A value of the document together with the path that leads to it."""

    def __init__(self, value: object, path: str, source: str) -> None:
        self.value = value
        self.path = path
        self.source = source

    def fail(self, message: str) -> NoReturn:
        """Raise an error about this value."""
        where = ": ".join(part for part in (self.source, self.path or "<root>") if part)
        raise EmulatorError(f"{where}: {message}")

    def mapping(self, allowed: Collection[str], required: Collection[str] = ()) -> Table:
        """This value as a mapping whose keys are all in ``allowed``."""
        if not isinstance(self.value, dict):
            self.fail(f"expected a mapping, got {_kind(self.value)}")
        for key in self.value:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                self.child(key).fail(f"unknown key (expected one of: {known})")
        for key in required:
            if key not in self.value:
                self.fail(f"missing required key '{key}'")
        return Table(self.value, self.path, self.source)

    def sequence(self) -> list[Node]:
        """This value as a list of nodes."""
        if not isinstance(self.value, list):
            self.fail(f"expected a list, got {_kind(self.value)}")
        return [
            Node(item, f"{self.path}[{index}]", self.source)
            for index, item in enumerate(self.value)
        ]

    def text(self) -> str:
        """This value as a non-empty string."""
        if not isinstance(self.value, str) or not self.value:
            self.fail(f"expected a non-empty string, got {_kind(self.value)}")
        return self.value

    def child(self, key: object) -> Node:
        """The value at ``key`` of this mapping (a node holding None when absent)."""
        path = f"{self.path}.{key}" if self.path else str(key)
        return Node(
            self.value.get(key) if isinstance(self.value, dict) else None, path, self.source
        )


class Table(Node):
    """A mapping node with typed getters; a getter without default makes the key required."""

    value: dict[Any, Any]

    def node(self, key: str) -> Node | None:
        """The child at ``key``, or None when absent."""
        return self.child(key) if key in self.value else None

    def text_at(self, key: str, default: str = _MISSING) -> str:
        """A string (any string when a default is given, else a non-empty one)."""
        child = self._require(key, default)
        if child is None:
            return default
        if default is not _MISSING and isinstance(child.value, str):
            return child.value
        return child.text()

    def flag(self, key: str, default: bool) -> bool:
        """A boolean."""
        child = self.node(key)
        if child is None:
            return default
        if not isinstance(child.value, bool):
            child.fail(f"expected true or false, got {_kind(child.value)}")
        return child.value

    def integer(self, key: str, default: int = _MISSING, *, minimum: int = 0) -> int:
        """An integer not below ``minimum``."""
        child = self._require(key, default)
        if child is None:
            return default
        if not isinstance(child.value, int) or isinstance(child.value, bool):
            child.fail(f"expected an integer, got {_kind(child.value)}")
        if child.value < minimum:
            child.fail(f"must be at least {minimum}, got {child.value}")
        return child.value

    def number(self, key: str, default: float, *, maximum: float | None = None) -> float:
        """A non-negative number, at most ``maximum`` when given."""
        child = self.node(key)
        if child is None:
            return default
        if not isinstance(child.value, int | float) or isinstance(child.value, bool):
            child.fail(f"expected a number, got {_kind(child.value)}")
        if child.value < 0 or (maximum is not None and child.value > maximum):
            upper = f" and {maximum}" if maximum is not None else ""
            child.fail(f"must be between 0{upper}, got {child.value}")
        return float(child.value)

    def moment(self, key: str, default: datetime) -> datetime:
        """A timestamp (YAML timestamp or ISO 8601 string), in UTC."""
        child = self.node(key)
        if child is None:
            return default
        value = child.value
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                child.fail(f"expected an ISO 8601 timestamp, got {value!r}")
        elif isinstance(value, date) and not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day)
        if not isinstance(value, datetime):
            child.fail(f"expected a timestamp, got {_kind(value)}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def sequence_at(self, key: str) -> list[Node]:
        """A list, as nodes (empty when absent)."""
        child = self.node(key)
        return child.sequence() if child else []

    def texts(self, key: str) -> list[str]:
        """A list of non-empty strings (empty when absent)."""
        return [item.text() for item in self.sequence_at(key)]

    def _require(self, key: str, default: object) -> Node | None:
        if key in self.value:
            return self.child(key)
        if default is _MISSING:
            self.fail(f"missing required key '{key}'")
        return None


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"the string {value!r}" if value else "an empty string"
    if isinstance(value, bool | int | float):
        return repr(value).lower() if isinstance(value, bool) else repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
