"""Backstage's field formats (``FieldFormatEntityPolicy`` with ``makeValidator()``).

JavaScript regexes are tested with ``.test()``, where ``$`` only matches at the very end of
the string, so every pattern here is used with ``fullmatch``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bridge.catalog.jsvalue import js_trim
from bridge.catalog.whatwg_url import is_valid_url

_OBJECT_NAME = re.compile(r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS_LABEL = re.compile(r"[a-z0-9]+(?:-+[a-z0-9]+)*")
_KIND = re.compile(r"[a-zA-Z][a-z0-9A-Z]*")
_VERSION = re.compile(r"[a-z0-9A-Z]+")
_TAG = re.compile(r"[a-z0-9:+#]+(?:-[a-z0-9:+#]+)*")


def is_valid_object_name(value: Any) -> bool:
    """``metadata.name``, and the name part of label and annotation keys."""
    return isinstance(value, str) and 1 <= len(value) <= 63 and bool(_OBJECT_NAME.fullmatch(value))


def is_valid_dns_label(value: Any) -> bool:
    """``metadata.namespace`` and each part of a DNS subdomain."""
    return isinstance(value, str) and 1 <= len(value) <= 63 and bool(_DNS_LABEL.fullmatch(value))


def is_valid_dns_subdomain(value: Any) -> bool:
    """The optional prefix of label keys, annotation keys and apiVersion."""
    return (
        isinstance(value, str)
        and 1 <= len(value) <= 253
        and all(is_valid_dns_label(part) for part in value.split("."))
    )


def _prefix_and_or_suffix(value: Any, suffix: Callable[[Any], bool]) -> bool:
    if not isinstance(value, str):
        return False
    parts = value.split("/")
    if len(parts) == 1:
        return suffix(parts[0])
    return len(parts) == 2 and is_valid_dns_subdomain(parts[0]) and suffix(parts[1])


def is_valid_api_version(value: Any) -> bool:
    """``apiVersion``: ``[<dns subdomain>/]<alphanumerics>``."""
    return _prefix_and_or_suffix(
        value, lambda part: 1 <= len(part) <= 63 and bool(_VERSION.fullmatch(part))
    )


def is_valid_kind(value: Any) -> bool:
    """``kind``: a letter followed by letters and digits, at most 63."""
    return isinstance(value, str) and 1 <= len(value) <= 63 and bool(_KIND.fullmatch(value))


def is_valid_label_key(value: Any) -> bool:
    """Label and annotation keys: ``[<dns subdomain>/]<object name>``."""
    return _prefix_and_or_suffix(value, is_valid_object_name)


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
