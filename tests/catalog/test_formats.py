"""Field formats: the compact regexes equal Backstage's rules written out literally.

``bridge.catalog.formats`` folds Backstage's "length limit + pattern + split on / and ."
checks into single regexes for speed. These tests keep a literal transcription of the
Backstage validators (KubernetesValidatorFunctions / CommonValidatorFunctions) and compare.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.catalog import formats


def _name(value: Any) -> bool:
    return (
        isinstance(value, str)
        and 1 <= len(value) <= 63
        and re.fullmatch(r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]", value) is not None
    )


def _dns_label(value: Any) -> bool:
    return (
        isinstance(value, str)
        and 1 <= len(value) <= 63
        and re.fullmatch(r"[a-z0-9]+(?:-+[a-z0-9]+)*", value) is not None
    )


def _dns_subdomain(value: Any) -> bool:
    return (
        isinstance(value, str)
        and 1 <= len(value) <= 253
        and all(_dns_label(part) for part in value.split("."))
    )


def _prefix_and_or_suffix(value: Any, suffix: Callable[[Any], bool]) -> bool:
    if not isinstance(value, str):
        return False
    parts = value.split("/")
    if len(parts) == 1:
        return suffix(parts[0])
    return len(parts) == 2 and _dns_subdomain(parts[0]) and suffix(parts[1])


def _api_version(value: Any) -> bool:
    return _prefix_and_or_suffix(
        value, lambda part: 1 <= len(part) <= 63 and re.fullmatch(r"[a-z0-9A-Z]+", part) is not None
    )


def _label_key(value: Any) -> bool:
    return _prefix_and_or_suffix(value, _name)


def _kind(value: Any) -> bool:
    return (
        isinstance(value, str)
        and 1 <= len(value) <= 63
        and re.fullmatch(r"[a-zA-Z][a-z0-9A-Z]*", value) is not None
    )


PAIRS = [
    (formats.is_valid_object_name, _name),
    (formats.is_valid_dns_label, _dns_label),
    (formats.is_valid_api_version, _api_version),
    (formats.is_valid_label_key, _label_key),
    (formats.is_valid_kind, _kind),
]
EDGES = [
    "",
    "a",
    "-",
    "a-",
    "-a",
    "a--b",
    "a_.b",
    "a.b/c",
    "a..b/c",
    ".a/b",
    "a/",
    "/a",
    "a/b/c",
    "x" * 63,
    "x" * 64,
    "B.io/x",
    "b.io/X_y",
    "backstage.io/v1alpha1",
    "dev.azure.com/project-repo",
    ("a" * 63 + ".") * 3 + "a" * 61 + "/x",
    ("a" * 63 + ".") * 4 + "a/x",
    "a" * 64 + ".b/x",
    7,
    None,
]


@pytest.mark.parametrize("value", EDGES, ids=repr)
def test_edges(value: Any) -> None:
    for fast, literal in PAIRS:
        assert fast(value) == literal(value), (fast.__name__, value)


@settings(max_examples=3000, derandomize=True)
@given(st.text(alphabet="aZ09-._/:\n #", max_size=80))
def test_generated_strings(value: str) -> None:
    for fast, literal in PAIRS:
        assert fast(value) == literal(value), (fast.__name__, value)
