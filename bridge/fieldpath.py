"""Field paths into a catalog entity: ``spec.owner``, ``metadata.annotations."dev.azure.com/x"``.

The syntax is the one Snyk Essentials documents for its Backstage field overrides:

* segments are separated by ``.``;
* a segment written in double quotes is one key, so dots inside the quotes are literal
  (``"example.com".app`` is the key ``example.com``, then ``app``); inside quotes ``\\"``
  stands for ``"`` and ``\\\\`` for ``\\`` (Snyk leaves this open; this is the usual choice);
* an unquoted segment is taken as written, except that it may not contain ``"`` and may not
  start or end with whitespace (almost always a typo such as ``spec. owner``; quote the
  segment when the key really has such spaces);
* empty segments (``spec..owner``, a leading or trailing dot, ``""``) are refused: no catalog
  entity has an empty key, so they can only be mistakes.

:meth:`FieldPath.get` walks mappings by key and, where the value reached is a list, a
segment written as a decimal index (``0``, ``1``, ... without leading zeros) selects that
item, so ``metadata.links.0.url`` works. It returns :data:`MISSING` when the path leads
nowhere, which is different from a field that is present with a null value.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

_INDEX = re.compile(r"0|[1-9][0-9]*")


class _Missing(enum.Enum):
    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing.MISSING
"""What :meth:`FieldPath.get` returns when the path does not lead to a value."""


class FieldPathError(ValueError):
    """A field path that cannot be parsed. ``column`` is the 1-based offending position."""

    def __init__(self, message: str, column: int) -> None:
        self.message = message
        self.column = column
        super().__init__(f"{message} (column {column})")


def quote_segment(segment: str) -> str:
    """One segment as written in a path: bare when that reads back the same, else quoted."""
    if segment and "." not in segment and '"' not in segment and segment == segment.strip():
        return segment
    escaped = segment.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


@dataclass(frozen=True, slots=True)
class FieldPath:
    """A path of keys into an entity, e.g. ``("metadata", "annotations", "a.b/c")``."""

    segments: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.segments or not all(self.segments):
            raise ValueError("a field path needs at least one segment and no empty segment")

    @classmethod
    def parse(cls, text: str) -> FieldPath:
        """Parse ``text``; :class:`FieldPathError` says what is wrong and where."""
        return cls(tuple(_parse(text)))

    def get(self, entity: Any) -> Any:
        """The value at this path in ``entity``, or :data:`MISSING`."""
        value = entity
        for segment in self.segments:
            if isinstance(value, Mapping):
                if segment not in value:
                    return MISSING
                value = value[segment]
            elif isinstance(value, list) and _INDEX.fullmatch(segment):
                index = int(segment)
                if index >= len(value):
                    return MISSING
                value = value[index]
            else:
                return MISSING
        return value

    def __str__(self) -> str:
        return ".".join(quote_segment(segment) for segment in self.segments)

    def __repr__(self) -> str:
        return f"FieldPath({str(self)!r})"


def _parse(text: str) -> list[str]:
    segments: list[str] = []
    position = 0  # index of the first character of the current segment
    while True:
        if position < len(text) and text[position] == '"':
            segment, position = _quoted(text, position)
        else:
            segment, position = _bare(text, position)
        segments.append(segment)
        if position == len(text):
            return segments
        # _quoted and _bare stop only at a dot or at the end.
        position += 1
        if position == len(text):
            raise FieldPathError("the path ends with a dot", position)


def _bare(text: str, start: int) -> tuple[str, int]:
    end = text.find(".", start)
    end = len(text) if end < 0 else end
    segment = text[start:end]
    if not segment:
        what = "the path is empty" if not text else "empty segment (two dots, or a leading dot)"
        raise FieldPathError(what, start + 1)
    quote = segment.find('"')
    if quote >= 0:
        raise FieldPathError(
            'a quote may only open a segment (write the whole key in quotes: "a.b")',
            start + quote + 1,
        )
    if segment != segment.strip():
        raise FieldPathError(
            "segment starts or ends with whitespace (quote it if the key really has spaces)",
            start + 1,
        )
    return segment, end


def _quoted(text: str, start: int) -> tuple[str, int]:
    chars: list[str] = []
    position = start + 1
    while position < len(text):
        char = text[position]
        if char == "\\":
            escaped = text[position + 1 : position + 2]
            if escaped not in ('"', "\\"):
                raise FieldPathError('inside quotes only \\" and \\\\ are escapes', position + 1)
            chars.append(escaped)
            position += 2
        elif char == '"':
            position += 1
            if position < len(text) and text[position] != ".":
                raise FieldPathError(
                    "unexpected character after a closing quote (expected a dot)", position + 1
                )
            if not chars:
                raise FieldPathError("empty segment (empty quotes)", start + 1)
            return "".join(chars), position
        else:
            chars.append(char)
            position += 1
    raise FieldPathError("unbalanced quote: the quoted segment is never closed", start + 1)
