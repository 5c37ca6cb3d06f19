"""Format-preserving round trip: byte-identical when unchanged, minimal diffs when edited."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bridge.catalog.roundtrip import RoundTripError, dump, load
from bridge.errors import InputError
from tests.support.shared import find_shared, shared_path

# Corpus files that are not YAML at all, with why. Every other file must round-trip exactly.
NOT_YAML = {
    # Line 57 indents `tags:` by 3 spaces inside a 2-space mapping whose `description:` holds a
    # plain scalar: a syntax error for every YAML parser (Backstage rejects the file as well).
    "navdeep12-backstage-custom/create-app-examples/entities.yaml": (
        "mapping values are not allowed here.*line 57"
    ),
}


def _corpus_names() -> list[str]:
    """The corpus files, listed at collection time (the test itself skips if absent)."""
    shared = find_shared()
    root = shared / "catalog-corpus" / "public" if shared else None
    if root is None or not root.is_dir():
        return ["(corpus not available)"]
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


def _read(path: Path) -> str:
    # Bytes, not read_text(): universal newlines would hide CRLF and the BOM must survive.
    return path.read_bytes().decode("utf-8")


def _round_trip(text: str) -> str:
    return dump(load(text))


def test_corpus_is_complete() -> None:
    root = shared_path("catalog-corpus", "public")
    assert len([path for path in root.rglob("*") if path.is_file()]) == 200


@pytest.mark.parametrize("name", _corpus_names())
def test_corpus_file_round_trips_byte_identical(name: str) -> None:
    text = _read(shared_path("catalog-corpus", "public") / name)
    if name in NOT_YAML:
        with pytest.raises(RoundTripError, match=NOT_YAML[name]):
            load(text)
        # Not a round-trip limitation: libyaml (the validator's loader) refuses it too.
        from ruamel.yaml import YAML
        from ruamel.yaml.error import YAMLError

        with pytest.raises(YAMLError):
            list(YAML(typ="safe").load_all(text))
        return
    assert _round_trip(text) == text


# One case per feature; each must come back byte for byte.
CASES = {
    "bom": "\ufeffapiVersion: v1\nkind: Component\n",
    "crlf": "a: 1\r\nb:\r\n  - x # c\r\n",
    "crlf-no-final-newline": "a: 1\r\nb: 2",
    "mixed-line-endings": "a: 1\r\nb: 2\nc: 3\r\n",
    "four-space-indent": "a:\n    b:\n        - x\n        - y\n    c: 1\n",
    "dash-at-offset-0": "a:\n  b:\n  - x\n  - y\n",
    "dash-at-offset-2": "a:\n  b:\n    - x\n    - y\n",
    "dash-at-offset-4-of-6": "a:\n      b:\n          - x\n",
    "wide-dash": "a:\n-   b: 1\n    c: 2\n",
    "sequence-of-mappings": "spec:\n  items:\n    - name: a\n      value: 1\n    - name: b\n",
    "top-level-sequence": "- a\n- b: 1\n  c: 2\n",
    "comments-odd-places": (
        "# head\n\n"
        "a: 1 # eol\n"
        "# between\n"
        "b:\n"
        "    # inside, before the first key\n"
        "  c: 2     # aligned far right\n"
        "  d:\n"
        "  # before an item\n"
        "  - x  #   spaced\n"
        "\n"
        "# tail\n"
    ),
    "quoted-keys": "'a': 1\n\"b c\": 2\n'it''s': \"x\"\n",
    "quote-styles": "a: 'single'\nb: \"double\"\nc: plain\nd: 'it''s'\ne: \"esc \\\" q\"\n",
    "long-line": "description: " + " ".join(["word"] * 60) + "\nb: '" + "x " * 80 + "'\n",
    "only-dashes": "---\n",
    "two-empty-documents": "---\n---\n",
    "empty-document-with-comment": "---\n# nothing here\n---\na: 1\n",
    "dashes-then-comment": "--- # first\na: 1\n---\n\nb: 2\n",
    "explicit-end": "---\na: 1\n...\n---\nb: 2\n...\n",
    "comment-before-end": "a: 1\n# closing\n...\n",
    "comment-before-first-dashes": "# generated file\n---\na: 1\n",
    "directives": "%YAML 1.2\n---\na: 1\n",
    "tag-directive": "%TAG !e! tag:example.com,2000:\n---\na: !e!thing 1\n",
    "nulls": "a: ~\nb: null\nc:\nd: Null\ne: NULL\nf: [~, null]\ng:\n  - ~\n  -\n",
    "root-null": "~\n",
    "booleans": "a: True\nb: FALSE\nc: true\nd: yes\ne: [True, false]\n",
    "yaml-1.1-booleans": "%YAML 1.1\n---\na: yes\nb: Off\nc: [y, n]\n",
    "numbers": "a: 0o17\nb: 017\nc: 1e3\nd: 0x1F\ne: 1_000\nf: .5\ng: 2023-01-01\n",
    "block-scalars": (
        "a: |\n  x\n  y\n"
        "b: >-\n  folded\n  text\n\n  para\n"
        "c: |2\n    indented\n   less\n"
        "d: |+\n  keep\n\n"
        "e: >\n  end\n"
    ),
    "flow-collections": "a: {x: 1, y: [2, 3]}\nb: []\nc: {}\n",
    "flow-padded": "a: { x: 1, y: 2 }\nb: [ 1, 2 ]\n",
    "flow-compact": "allowedHosts: ['github.com','dev.azure.com']\n",
    "anchors-aliases": "base: &b\n  x: 1\nuse:\n  <<: *b\n  y: 2\nlist: &l [1, 2]\nref: *l\n",
    "multi-line-plain": "a: this is\n  continued\n\n  new paragraph\nb: x\n",
    "multi-line-single-quoted": "a: 'one, two,\n    three'\nb:\n  - 'x\n    y'\n",
    "multi-line-double-quoted": 'a: "one\n  two"\n',
    "trailing-whitespace": "a: 1   \nb:  \n  - x \n   \nc: 'q'  \n",
    "no-final-newline": "a: 1",
    "extra-final-newlines": "a: 1\n\n\n",
    "empty-file": "",
    "only-a-comment": "# nothing\n",
    "only-blank-lines": "\n\n",
    "unicode": "a: héllo — ✓ 😀\n",
    "json-style": '{"a": 1, "b": [1, 2]}\n',
}


@pytest.mark.parametrize("text", CASES.values(), ids=CASES.keys())
def test_feature_round_trips_byte_identical(text: str) -> None:
    assert _round_trip(text) == text


def test_dump_comes_from_the_tree() -> None:
    stream = load("a: 1 # keep\nb: 'q'\n")
    stream.documents[0].data["a"] = 2
    stream.documents[0].data["b"] = "r"
    # ruamel.yaml gives a replaced string the quoting of the value it replaces.
    assert dump(stream) == "a: 2 # keep\nb: 'r'\n"


def test_loaded_values_are_ordinary_data() -> None:
    stream = load("a: ~\nb: True\nc: 'x\n  y'\nd: [1, 2]\n")
    data = stream.documents[0].data
    assert data["a"] is None
    assert data["b"] is True
    assert data["c"] == "x y"
    assert data["d"] == [1, 2]


def test_changed_values_drop_their_old_spelling() -> None:
    stream = load("a: ~\nb: True\nc: 'x\n  y'\n")
    data = stream.documents[0].data
    data["a"], data["b"], data["c"] = "set", False, "x z"
    assert dump(stream) == "a: set\nb: false\nc: 'x z'\n"


def _changes(before: str, after: str) -> list[str]:
    """The diff as "-line"/"+line" entries, without context."""
    diff = difflib.ndiff(before.splitlines(keepends=True), after.splitlines(keepends=True))
    return [line for line in diff if line[:1] in "+-"]


ENTITY = (
    "# A component\r\n"
    "apiVersion: backstage.io/v1alpha1\r\n"
    "kind: Component\r\n"
    "metadata:\r\n"
    "    name: petstore   \r\n"
    "    annotations:\r\n"
    "        github.com/project-slug: 'acme/petstore'  # where it lives\r\n"
    "    tags: [ java, data ]\r\n"
    "spec:\r\n"
    "    type: service\r\n"
    "    owner: team-a\r\n"
)


def test_edit_changes_only_its_lines() -> None:
    stream = load(ENTITY)
    metadata = stream.documents[0].data["metadata"]
    metadata["name"] = "pets"
    metadata["annotations"]["dev.azure.com/project-repo"] = "acme/pets"
    assert _changes(ENTITY, dump(stream)) == [
        "-     name: petstore   \r\n",
        "+     name: pets\r\n",
        "+         dev.azure.com/project-repo: acme/pets\r\n",
    ]


def _first_annotated(stream: Any) -> Any:
    for document in stream.documents:
        data = document.data
        metadata: Any = data.get("metadata") if hasattr(data, "get") else None
        annotations: Any = metadata.get("annotations") if hasattr(metadata, "get") else None
        if (
            hasattr(annotations, "fa")
            and annotations
            and not annotations.fa.flow_style()
            and isinstance(metadata.get("name"), str)
        ):
            return metadata
    return None


def test_corpus_edits_change_only_their_lines() -> None:
    """Rename the entity and add an annotation in every corpus entity that has both."""
    root = shared_path("catalog-corpus", "public")
    edited, wrong = 0, {}
    for name in _corpus_names():
        if name in NOT_YAML:
            continue
        text = _read(root / name)
        stream = load(text)
        metadata = _first_annotated(stream)
        if metadata is None:
            continue
        old_name = metadata["name"]
        metadata["name"] = "renamed-by-bridge"
        metadata["annotations"]["bridge.example.com/added"] = "yes"
        changes = _changes(text, dump(stream))
        removed = [line for line in changes if line.startswith("-")]
        added = sorted(line[1:].strip() for line in changes if line.startswith("+"))
        edited += 1
        if not (len(removed) == 1 and old_name in removed[0]) or added != [
            "bridge.example.com/added: yes",
            "name: renamed-by-bridge",
        ]:
            wrong[name] = changes
    assert not wrong
    assert edited >= 40  # most corpus entities carry annotations


def test_new_document_can_be_appended() -> None:
    stream = load("a: 1\n")
    extra = load("---\nb: 2\n").documents[0]
    stream.documents.append(extra)
    assert dump(stream) == "a: 1\n---\nb: 2\n"


def test_not_yaml_raises_input_error_with_position() -> None:
    with pytest.raises(RoundTripError, match="line 2") as caught:
        load("a: 1\n b: 2\n c\n")
    assert isinstance(caught.value, InputError)


def test_import_does_not_load_ruamel() -> None:
    code = (
        "import sys, bridge.catalog.roundtrip\n"
        "assert not [m for m in sys.modules if m.startswith('ruamel')], 'ruamel imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
