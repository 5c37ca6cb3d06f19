"""Field paths: parsing, rendering, walking an entity."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.fieldpath import MISSING, FieldPath, FieldPathError


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("spec.owner", ("spec", "owner")),
        ("metadata", ("metadata",)),
        (
            'metadata.annotations."dev.azure.com/project-repo"',
            ("metadata", "annotations", "dev.azure.com/project-repo"),
        ),
        ('"example.com".app', ("example.com", "app")),
        ('"a\\"b"', ('a"b',)),
        ('"back\\\\slash".x', ("back\\slash", "x")),
        ('"x y"', ("x y",)),
        ('" padded "', (" padded ",)),
        ("back\\slash", ("back\\slash",)),  # a backslash is only an escape inside quotes
        ("spec.my key", ("spec", "my key")),
        ("metadata.links.0.url", ("metadata", "links", "0", "url")),
        ("'single'.x", ("'single'", "x")),  # single quotes are ordinary characters
    ],
)
def test_valid_paths(text: str, segments: tuple[str, ...]) -> None:
    assert FieldPath.parse(text).segments == segments


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("", 1, "empty"),
        ("spec..owner", 6, "empty segment"),
        (".spec", 1, "empty segment"),
        ("spec.", 5, "ends with a dot"),
        ('""', 1, "empty quotes"),
        ('spec.""', 6, "empty quotes"),
        ('"example.com.app', 1, "unbalanced quote"),
        ('spec."owner', 6, "unbalanced quote"),
        ('"example.com"app', 14, "after a closing quote"),
        ('"a"b.c', 4, "after a closing quote"),
        ('spec.ow"ner"', 8, "quote may only open a segment"),
        ('"a\\nb"', 3, "escapes"),
        ('"a\\', 3, "escapes"),
        ("spec. owner", 6, "whitespace"),
        ("spec.owner ", 6, "whitespace"),
    ],
)
def test_invalid_paths(text: str, column: int, fragment: str) -> None:
    with pytest.raises(FieldPathError) as caught:
        FieldPath.parse(text)
    assert caught.value.column == column
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    ("segments", "text"),
    [
        (("spec", "owner"), "spec.owner"),
        (("metadata", "annotations", "dev.azure.com/x"), 'metadata.annotations."dev.azure.com/x"'),
        (('say "hi"',), '"say \\"hi\\""'),
        (("a\\b",), "a\\b"),
        ((" x",), '" x"'),
    ],
)
def test_rendering(segments: tuple[str, ...], text: str) -> None:
    assert str(FieldPath(segments)) == text


def test_a_path_needs_non_empty_segments() -> None:
    with pytest.raises(ValueError):
        FieldPath(())
    with pytest.raises(ValueError):
        FieldPath(("spec", ""))


@given(st.lists(st.text(min_size=1), min_size=1, max_size=6))
def test_render_then_parse_round_trips(segments: list[str]) -> None:
    path = FieldPath(tuple(segments))
    assert FieldPath.parse(str(path)).segments == tuple(segments)


ENTITY = {
    "metadata": {
        "name": "svc",
        "title": None,
        "annotations": {"dev.azure.com/project-repo": "proj/repo"},
        "links": [{"url": "https://a"}, {"url": "https://b"}],
    },
    "spec": {"owner": "team-a", "tags": ["x"], "01": "by key"},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("spec.owner", "team-a"),
        ('metadata.annotations."dev.azure.com/project-repo"', "proj/repo"),
        ("metadata.links.1.url", "https://b"),
        ("metadata.title", None),  # present, null: not MISSING
        ("spec.01", "by key"),  # a mapping is always walked by key
        ("spec.system", MISSING),
        ("spec.owner.name", MISSING),  # through a string
        ("metadata.links.2.url", MISSING),  # past the end
        ("metadata.links.01.url", MISSING),  # not a canonical index
        ("metadata.links.-1.url", MISSING),
        ("metadata.links.url", MISSING),
    ],
)
def test_get(text: str, expected: object) -> None:
    assert FieldPath.parse(text).get(ENTITY) == expected


def test_missing_is_distinct_from_none() -> None:
    assert FieldPath.parse("spec.nothing").get(ENTITY) is MISSING
    assert FieldPath.parse("metadata.title").get(ENTITY) is None
    assert repr(MISSING) == "MISSING"
