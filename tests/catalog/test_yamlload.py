"""The YAML loader: Backstage's parsing semantics, positions, and hostile input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bridge.catalog.yamlload import MAX_ALIAS_COUNT, parse_documents
from tests.support.oracle import Oracle


def values(text: str) -> list[object]:
    return [
        d.value if d.problem is None else f"ERROR {d.problem.rule}" for d in parse_documents(text)
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: yes\nb: on\nc: no\n", {"a": "yes", "b": "on", "c": "no"}),
        ("d: 2024-01-31\nt: 12:30\n", {"d": "2024-01-31", "t": "12:30"}),
        ("a: 0755\nb: 0o755\nc: 0x1F\nd: -0\n", {"a": 755, "b": 493, "c": 31, "d": 0}),
        ("a: 1.0\nb: .5\nc: 1e3\nd: 5.\n", {"a": 1.0, "b": 0.5, "c": 1000.0, "d": 5.0}),
        ("a: ~\nb: null\nc:\nd: Null\n", {"a": None, "b": None, "c": None, "d": None}),
        ("a: True\nb: FALSE\nc: tRue\n", {"a": True, "b": False, "c": "tRue"}),
        ("a: 1_000\nb: 0b11\nc: +5\n", {"a": "1_000", "b": "0b11", "c": 5}),
        ("1: a\ntrue: b\n~: c\n1.5: d\n", {"1": "a", "true": "b", "": "c", "1.5": "d"}),
        ("<<: {a: 1}\nb: 2\n", {"<<": {"a": 1}, "b": 2}),
        (
            "a: !!str 5\nb: !!int '7'\nc: !custom x\nd: !!float 1\n",
            {"a": "5", "b": 7, "c": "x", "d": "1"},
        ),
        ("a: 12345678901234567890\n", {"a": 12345678901234567000.0}),
        ("a: [resource:db, api:x/y]\n", {"a": ["resource:db", "api:x/y"]}),
        ("a: 'x\u2028y'\nb: x\u0085y\n", {"a": "x\u2028y", "b": "x\u0085y"}),
    ],
)
def test_yaml_12_core_schema(text: str, expected: object) -> None:
    assert values(text) == [expected]


def test_yaml_11_directive_switches_schema() -> None:
    assert values("%YAML 1.1\n---\na: yes\nb: 0755\nc: off\n") == [
        {"a": True, "b": 493, "c": False}
    ]


@pytest.mark.parametrize(
    ("text", "count"),
    [("", 0), ("# only a comment\n", 0), ("---\n", 1), ("a: 1\n---\n", 2), ("a: 1\n...\n", 1)],
)
def test_document_counting(text: str, count: int) -> None:
    documents = parse_documents(text)
    assert len(documents) == count
    assert all(d.problem is None for d in documents)


def test_duplicate_keys_compare_as_javascript_values() -> None:
    assert values("a: 1\na: 2\n") == ["ERROR yaml-duplicate-key"]
    assert values("1: a\n01: b\n") == ["ERROR yaml-duplicate-key"]  # both the number 1
    assert values("1: a\n'1': b\n") == [{"1": "b"}]  # number and string: both kept, last wins
    assert values("true: a\n1: b\n") == [{"true": "a", "1": "b"}]


def test_duplicate_key_position() -> None:
    (document,) = parse_documents("a: 1\nb:\n  c: 1\n  c: 2\n")
    assert document.problem is not None
    assert (document.problem.line, document.problem.column) == (4, 3)


def test_a_syntax_error_spoils_only_its_document() -> None:
    text = "a: 1\n---\nb: [unclosed\n---\nc: 3\n"
    documents = parse_documents(text)
    assert [d.value for d in documents] == [{"a": 1}, None, {"c": 3}]
    problem = documents[1].problem
    assert problem is not None and problem.rule == "yaml-syntax" and problem.line >= 3
    assert documents[2].line == 4


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("a: [\n1\n]\n", False),
        ("a: [\n 1\n]\n", True),
        ("b:\n  a: [\n  1]\n", False),
        ("b:\n  a: [\n   1\n  ]\n", True),
        ("- - [\n 1]\n", False),
        ("[\n1\n]\n", True),
    ],
)
def test_flow_collections_must_be_indented_like_npm_yaml(text: str, ok: bool) -> None:
    (document,) = parse_documents(text)
    assert (document.problem is None) is ok


def test_positions_of_values_and_keys() -> None:
    text = "kind: Component\nmetadata:\n  name: x\n  tags:\n    - a\n    - b\n"
    (document,) = parse_documents(text)
    kind = document.position(("kind",))
    assert kind is not None and (kind.line, kind.column) == (1, 7)
    name = document.position(("metadata", "name"))
    assert name is not None
    assert (name.line, name.column, name.key_line, name.key_column) == (3, 9, 3, 3)
    tag = document.position(("metadata", "tags", 1))
    assert tag is not None and (tag.line, tag.column, tag.key_line) == (6, 7, 0)
    assert document.position(("metadata", "missing")) is None
    assert document.position(("metadata", "tags", 2)) is None


def test_positions_in_a_later_document_and_after_a_syntax_error() -> None:
    documents = parse_documents("a: [broken\n---\nb:\n  c: 2\n")
    assert documents[0].problem is not None
    position = documents[1].position(("b", "c"))
    assert position is not None and (position.line, position.key_line) == (4, 4)


def test_positions_survive_characters_libyaml_refuses() -> None:
    (document,) = parse_documents("a: \x07x\nb:\n  c: \u2028\n")
    assert document.value == {"a": "\x07x", "b": {"c": "\u2028"}}
    position = document.position(("b", "c"))
    assert position is not None and (position.line, position.column) == (3, 6)


def test_alias_bomb_is_stopped() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [" + ",".join([f"*{previous}"] * 9) + "]")
    (document,) = parse_documents("\n".join(lines) + "\n")
    assert document.problem is not None and document.problem.rule == "yaml-alias"


def test_alias_to_an_unknown_or_enclosing_anchor() -> None:
    assert values("a: *nothing\n") == ["ERROR yaml-alias"]
    assert values("- &a [*a]\n") == ["ERROR yaml-alias"]


def test_deep_nesting_is_refused_without_recursion_error() -> None:
    text = "[" * 600 + "]" * 600 + "\n"
    (document,) = parse_documents(text, max_depth=256)
    assert document.problem is not None and document.problem.rule == "yaml-depth"


def _alias_text(anchor: str, aliases: int) -> str:
    return f"anchor: &a {anchor}\n" + "".join(f"k{i}: *a\n" for i in range(aliases))


@pytest.mark.parametrize("anchor", ["x", "[x, y]", "{a: [1, 2]}"])
def test_alias_budget_boundary(anchor: str) -> None:
    assert parse_documents(_alias_text(anchor, MAX_ALIAS_COUNT - 1))[0].problem is None
    problem = parse_documents(_alias_text(anchor, MAX_ALIAS_COUNT))[0].problem
    assert problem is not None and problem.rule == "yaml-alias"


@pytest.mark.oracle
def test_alias_budget_matches_npm_yaml(oracle: Oracle, tmp_path: Path) -> None:
    texts = [_alias_text(a, n) for a in ("x", "[x, y]") for n in (98, 99, 100, 101)]
    nested = "a: &a [x, x]\nb: &b [*a, *a, *a]\n" + "".join(f"c{i}: *b\n" for i in range(40))
    texts.append(nested)
    script = (
        f"const yaml = require({json.dumps(str(oracle.folder / 'node_modules' / 'yaml'))});"
        "const texts = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(texts.map(t => { try {"
        " yaml.parseAllDocuments(t, {merge: false})[0].toJSON(); return true; }"
        " catch (e) { return false; } })));"
    )
    result = subprocess.run(
        ["node", "-e", script], input=json.dumps(texts), capture_output=True, text=True, check=True
    )
    node_ok = json.loads(result.stdout)
    ours_ok = [parse_documents(t)[0].problem is None for t in texts]
    assert ours_ok == node_ok
    assert False in ours_ok and True in ours_ok


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("%\n", []),  # a directive and no document: nothing, as for npm yaml
        ("%YAML 1.2\n# only a comment\n", []),
        ("%FOO bar\n---\na: 1\n---\nb: 2\n", [{"a": 1}, {"b": 2}]),
        ("a: 1\n...\n%FOO\n---\nb: 1\n", [{"a": 1}, {"b": 1}]),
        ("%FOO\na: 1\n", ["ERROR yaml-syntax"]),  # no '---' after a directive
        ("a: 1\n%YAML 1.2\n---\nb: 1\n", ["ERROR yaml-syntax", {"b": 1}]),  # '%' as content
        ("%YAML 1.1\n---\na: yes\n---\nb: [\n", [{"a": True}, "ERROR yaml-syntax"]),
        ('"50\n% done"\n', ["50 % done"]),  # inside a quoted string: text
        ('["a\n%b"]\n', [["a %b"]]),
    ],
)
def test_lines_starting_with_percent_read_as_npm_yaml_does(text: str, expected: object) -> None:
    assert values(text) == expected


def test_an_unknown_directive_is_a_warning_on_the_next_document() -> None:
    first, second = parse_documents("a: 1\n...\n%FOO bar\n---\nb: 1\n")
    assert first.warnings == ()
    assert [(w.rule, w.message, w.line, w.column) for w in second.warnings] == [
        ("yaml-directive", "Unknown directive %FOO", 3, 1)
    ]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("{x}: 1\n", "{ x }"),
        ("{x: }: 1\n", "{ x: }"),
        ("{x: ~, y: Null, z: True}: 1\n", "{ x: ~, y: Null, z: True }"),
        ("[{x}, {a: b}, \"q\", 's']: 1\n", "[ { x }, { a: b }, \"q\", 's' ]"),
    ],
)
def test_collection_keys_are_printed_as_npm_yaml_prints_them(text: str, key: str) -> None:
    assert values(text) == [{key: 1}]


# libyaml's errors that real catalogs hit, and what npm yaml (Backstage) says about them.
NPM_SYNTAX_ERRORS = [
    "a: {% if x %}\n",
    "spec:\n  dependsOn:\n{%- if x %}\n    - a\n{%- endif %}\n",
    "a: @x\n",
    "a: `x`\n",
    "metadata:\n  name: x\n description: y\n",
    "a:\n  b:\n    c: 1\n   d: 2\n",
    "a:\n  - x\n - y\n",
    "metadata:\n  name\n  title: y\n",
    "- a\n  b: c\n",
    "a:\n  - b\n    c: d\n",
    "a: {{ x }} bounded\n",
    'a: "x" y\n',
    "a: 'x' y\n",
    'a: "x" [y]\n',
    'a: "x" {y}\n',
    "[a]\nb: c\n",
    "{a: 1}\n}\n",
    "a:\n  b: 1\n  ]\n",
    "metadata:\n  name: x\n  description: some text\n   tags:\n    - a\n",
    "a: b: c\n",
    "- name: a: b\n",
    "a: b\n  c: d\n",
    "a:\n  b: 1\n  [x]\n",
    "a:\n  b: 1\n  [x]: 1\n",
    "- b: 1\n  {x: 1}: 1\n",
    "a:\n\tb: 1\n",
    "a: 1\n\t\nb: 2\n",  # a line of blanks starting with a tab is empty for npm yaml
    "a:\n  b: x\n  \t# c\n  c: y\n",
    "a:\n  b: 1\n  \tc: 2\n",
    "a:\na: 1\n",  # after an entry without a value: where npm yaml's key begins
    "a: 1\nb:   \na: 2\n",
    "a: # c\na: 1\n",
    "x:\n  a:\n\n  a: 1\n",
    "%YAML 1.2\na: 1\n",
    "%FOO\n\n# c\na: 1\n---\nb: 1\n",
    "a: 1\n%FOO bar\n---\nb: 1\n",
]


@pytest.mark.parametrize("text", ["{a: 1,\n b: 2} x\nc: d\n", 'a: "q" x\n  c: d\n'])
def test_unrecognised_situations_keep_libyamls_words(text: str) -> None:
    # Text after a node, then more indented lines: npm yaml may read them as one multi-line
    # key, and its first error is then another one. libyaml's words say it is not npm's.
    (document,) = parse_documents(text)
    assert document.problem is not None and document.problem.message.startswith("did not find")


def test_a_tab_line_inside_a_block_scalar_stays_an_error() -> None:
    (document,) = parse_documents("a: |\n  x\n\t\n  y\n")
    assert document.problem is not None and document.problem.rule == "yaml-syntax"


@pytest.mark.oracle
def test_syntax_errors_have_npm_yamls_message_and_position(oracle: Oracle) -> None:
    script = (
        f"const yaml = require({json.dumps(str(oracle.folder / 'node_modules' / 'yaml'))});"
        "const texts = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(texts.map(t => yaml.parseAllDocuments(t, {merge: false})"
        ".map(d => d.errors.length ? d.errors[0].message.split(':\\n')[0] : null))));"
    )
    result = subprocess.run(
        ["node", "-e", script],
        input=json.dumps(NPM_SYNTAX_ERRORS),
        capture_output=True,
        text=True,
        check=True,
    )
    theirs = json.loads(result.stdout)
    ours = [
        [
            f"{d.problem.message} at line {d.problem.line}, column {d.problem.column}"
            if d.problem
            else None
            for d in parse_documents(text)
        ]
        for text in NPM_SYNTAX_ERRORS
    ]
    differences = [
        f"{text!r}\n  ours:   {mine}\n  theirs: {npm}"
        for text, mine, npm in zip(NPM_SYNTAX_ERRORS, ours, theirs, strict=True)
        if mine != npm
    ]
    assert not differences, "\n".join(differences)
