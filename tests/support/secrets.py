"""Leak checks shared by every suite that captures output: the forms a token could leak in."""

from __future__ import annotations

import base64
from urllib.parse import quote


def secret_forms(*tokens: str) -> list[str]:
    """Every spelling of ``tokens`` that would be a leak: raw, Basic-encoded, URL-encoded."""
    forms: list[str] = []
    for token in tokens:
        forms += [token, quote(token, safe="")]
        for user in ("", "PAT"):
            forms.append(base64.b64encode(f"{user}:{token}".encode()).decode())
    return list(dict.fromkeys(forms))


def assert_no_secrets(texts: list[str], secrets: list[str]) -> None:
    """Fail, naming the text, if any secret form appears in any text."""
    for index, text in enumerate(texts):
        for secret in secrets:
            assert secret not in text, f"text #{index} leaks a token: {text[:300]!r}"
