"""Secrets (personal access tokens, broker tokens) and their redaction.

A token is held in a :class:`Secret`, whose ``str``/``repr`` never show the value. Every
value wrapped in a Secret is also registered, so :func:`redact` can scrub it from any text
that is about to leave the process (error messages, logs, URLs that carry a broker token).
"""

from __future__ import annotations

import threading

MASK = "***"

_lock = threading.Lock()
_registered: set[str] = set()


class Secret:
    """A secret string that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register(value)

    def reveal(self) -> str:
        """The secret value, for the one place that needs it (an HTTP header, a URL)."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    __str__ = __repr__


def register(value: str) -> None:
    """Remember ``value`` so that :func:`redact` removes it from any text."""
    # Very short values would redact ordinary words; real tokens are long.
    if len(value) >= 8:
        with _lock:
            _registered.add(value)


def redact(text: str) -> str:
    """Return ``text`` with every registered secret replaced by ``***``."""
    if not _registered:
        return text
    with _lock:
        secrets = sorted(_registered, key=len, reverse=True)
    for value in secrets:
        if value in text:
            text = text.replace(value, MASK)
    return text
