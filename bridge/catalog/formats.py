"""Backstage's field formats (``FieldFormatEntityPolicy`` with ``makeValidator()``).

JavaScript regexes are tested with ``.test()``, where ``$`` only matches at the very end of
the string, so every pattern here is used with ``fullmatch``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bridge.catalog.jsvalue import js_trim

# Backstage checks these with a length limit plus a pattern, and splits prefixed keys on
# "/" and "." before checking each part. Each is written here as one equivalent regex (the
# length bounded inside it), which is one C call instead of a Python loop over parts:
# "[a-z0-9]+(-+[a-z0-9]+)*, at most 63" is "alphanumeric at both ends, hyphens inside".
_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
_SUBDOMAIN = rf"{_LABEL}(?:\.{_LABEL})*"  # at most 253 characters: checked separately
_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_OBJECT_NAME = re.compile(_NAME)
_DNS_LABEL = re.compile(_LABEL)
_PREFIXED_NAME = re.compile(rf"(?:({_SUBDOMAIN})/)?{_NAME}")
_API_VERSION = re.compile(rf"(?:({_SUBDOMAIN})/)?[a-z0-9A-Z]{{1,63}}")
_KIND = re.compile(r"[a-zA-Z][a-z0-9A-Z]{0,62}")
_TAG = re.compile(r"[a-z0-9:+#]+(?:-[a-z0-9:+#]+)*")


def is_valid_object_name(value: Any) -> bool:
    """``metadata.name``, and the name part of label and annotation keys."""
    return isinstance(value, str) and _OBJECT_NAME.fullmatch(value) is not None


def is_valid_dns_label(value: Any) -> bool:
    """``metadata.namespace`` and each part of a DNS subdomain."""
    return isinstance(value, str) and _DNS_LABEL.fullmatch(value) is not None


def _prefixed(pattern: re.Pattern[str], value: Any) -> bool:
    """``[<dns subdomain>/]<suffix>``, with the subdomain's 253-character limit."""
    if not isinstance(value, str):
        return False
    match = pattern.fullmatch(value)
    return match is not None and (match.group(1) is None or len(match.group(1)) <= 253)


def is_valid_api_version(value: Any) -> bool:
    """``apiVersion``: ``[<dns subdomain>/]<alphanumerics>``."""
    return _prefixed(_API_VERSION, value)


def is_valid_kind(value: Any) -> bool:
    """``kind``: a letter followed by letters and digits, at most 63."""
    return isinstance(value, str) and _KIND.fullmatch(value) is not None


def is_valid_label_key(value: Any) -> bool:
    """Label and annotation keys: ``[<dns subdomain>/]<object name>``."""
    return _prefixed(_PREFIXED_NAME, value)


def is_valid_label_value(value: Any) -> bool:
    """Label values: empty or an object name."""
    return value == "" or is_valid_object_name(value)


def is_valid_annotation_value(value: Any) -> bool:
    """Annotation values: any string."""
    return isinstance(value, str)


def is_valid_tag(value: Any) -> bool:
    """Tags: lower-case groups of ``[a-z0-9:+#]`` joined by single hyphens, at most 63."""
    return isinstance(value, str) and 1 <= len(value) <= 63 and bool(_TAG.fullmatch(value))


def is_valid_link_url(value: Any) -> bool:
    """``links[].url``: JavaScript's ``new URL(value)`` must succeed."""
    # Imported on first use: most catalog files have no links.
    from bridge.catalog.whatwg_url import is_valid_url

    return isinstance(value, str) and is_valid_url(value)


def is_non_empty_string(value: Any) -> bool:
    """Link titles and icons: a string that is not blank after JavaScript's trim."""
    return isinstance(value, str) and len(js_trim(value)) >= 1


_NAME_TEXT = (
    "a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], "
    "at most 63 characters in total"
)
_PREFIX_TEXT = "a valid prefix and/or suffix"

#: What Backstage says it expected, per validator (FieldFormatEntityPolicy's texts).
EXPECTATIONS: dict[Callable[[Any], bool], str] = {
    is_valid_api_version: _PREFIX_TEXT,
    is_valid_kind: (
        "a string that is a sequence of [a-zA-Z][a-z0-9A-Z], at most 63 characters in total"
    ),
    is_valid_object_name: _NAME_TEXT,
    is_valid_dns_label: (
        "a string that is sequences of [a-z0-9] separated by [-], at most 63 characters in total"
    ),
    is_valid_label_key: _PREFIX_TEXT,
    is_valid_label_value: _NAME_TEXT,
    is_valid_annotation_value: "a string",
    is_valid_tag: (
        "a string that is sequences of [a-z0-9+#] separated by [-], at most 63 characters in total"
    ),
    is_valid_link_url: "a string that is a valid url",
    is_non_empty_string: "a non empty string",
}
