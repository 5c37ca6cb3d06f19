"""Differential tests: our verdicts against the live Backstage oracle.

1. Every document of the public corpus (``shared/catalog-corpus/public``).
2. Property-based: hypothesis mutates real and minimal entities (values of the wrong type,
   invalid formats, missing fields, broken references, foreign kinds, edited YAML text) and
   every generated document must get the oracle's verdict and first error. Each example is
   one batch of documents validated by one oracle process, so failures shrink to a small batch.

``CATALOG_BRIDGE_FUZZ_EXAMPLES`` raises the number of batches for a deeper local run.
"""

from __future__ import annotations

import copy
import csv
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from bridge.catalog.batch import validate_source
from bridge.catalog.sources import Source
from bridge.catalog.validation import ValidationOptions
from bridge.catalog.yamlload import parse_documents
from tests.support.compare import mismatch
from tests.support.oracle import Oracle
from tests.support.shared import find_shared, shared_path

pytestmark = pytest.mark.oracle


def _compare(files: list[Path], root: Path, oracle: Oracle) -> tuple[list[str], int]:
    """The documents whose verdict or first error differs from the oracle's, and how many
    documents were compared."""
    problems = []
    compared = 0
    rows = oracle.run(files)
    by_file: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_file.setdefault(row["file"], []).append(row)
    assert set(by_file) == {str(f) for f in files}
    for file in files:
        report = validate_source(Source(str(file), str(file), str(root)), ValidationOptions())
        ours = {document.index: document for document in report.documents}
        for row in by_file[str(file)]:
            if row["index"] is None:  # the whole file (empty)
                assert all(d.ok for d in report.documents), file
                continue
            compared += 1
            why = mismatch(ours.get(row["index"]), row)
            if why:
                problems.append(f"{file} #{row['index']}: {why}")
    return problems, compared


def _catalog_files(corpus: Path) -> list[Path]:
    """The YAML files of a corpus folder, less those its SOURCES.tsv marks as support files."""
    support: set[str] = set()
    sources = corpus / "SOURCES.tsv"
    if sources.exists():
        with sources.open(encoding="utf-8", newline="") as table:
            rows = csv.DictReader(table, delimiter="\t")
            support = {row["file"] for row in rows if row["role"] != "entity"}
    return sorted(
        p
        for p in corpus.rglob("*")
        if p.suffix in (".yaml", ".yml") and p.relative_to(corpus).as_posix() not in support
    )


def test_public_corpus_matches_oracle(oracle: Oracle) -> None:
    corpus = shared_path("catalog-corpus", "public")
    files = _catalog_files(corpus)
    assert len(files) >= 150
    problems, compared = _compare(files, corpus, oracle)
    assert not problems, "\n".join(problems)
    assert (len(files), compared) == (200, 249)  # the README's figures


def test_wild_corpus_matches_oracle(oracle: Oracle) -> None:
    # 381 more files from 38 repositories: plugin monorepos, vendors, scaffolder skeletons
    # (Jinja and ${{ }} templates), users' own catalogs with their mistakes.
    corpus = shared_path("catalog-corpus", "wild")
    files = _catalog_files(corpus)
    assert len(files) >= 380
    problems, compared = _compare(files, corpus, oracle)
    assert not problems, f"{len(problems)} mismatches:\n" + "\n".join(problems)
    assert (len(files), compared) == (381, 818)  # the README's figures


# -- generated documents -------------------------------------------------------------------

_MINIMAL: list[dict[str, Any]] = [
    {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "svc", "annotations": {"dev.azure.com/project-repo": "p/r"}},
        "spec": {"type": "service", "lifecycle": "production", "owner": "team-a", "system": "s"},
    },
    {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "API",
        "metadata": {"name": "api", "tags": ["rest"]},
        "spec": {"type": "openapi", "lifecycle": "beta", "owner": "team-a", "definition": "x"},
    },
    {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Group",
        "metadata": {"name": "team-a", "namespace": "org"},
        "spec": {"type": "team", "children": [], "members": ["alice"]},
    },
    {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "User",
        "metadata": {"name": "alice", "links": [{"url": "https://example.com", "title": "Home"}]},
        "spec": {"memberOf": ["team-a"], "profile": {"email": "a@example.com"}},
    },
    {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Location",
        "metadata": {"name": "loc"},
        "spec": {"type": "url", "targets": ["./a.yaml"], "presence": "optional"},
    },
    {
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "tpl"},
        "spec": {"type": "service", "owner": "team-a", "steps": [{"action": "fetch:plain"}]},
    },
]


def _corpus_entities() -> list[dict[str, Any]]:
    shared = find_shared()
    if shared is None:
        return []
    entities = []
    for path in sorted((shared / "catalog-corpus" / "public").rglob("*.yaml")):
        for document in parse_documents(path.read_text(encoding="utf-8")):
            value = document.value
            # Placeholders refer to files next to the original: leave those entities out.
            usable = isinstance(value, dict) and "metadata" in value and document.problem is None
            if usable and "$" not in json.dumps(value):
                entities.append(value)
    return entities


_BASES = _MINIMAL + _corpus_entities()

_STRINGS = [
    "valid-name",
    "Valid.Name_1",
    "a--b",
    "-x",
    "x-",
    "UPPER",
    "",
    " ",
    "\u00a0",
    "a b",
    "x" * 63,
    "y" * 64,
    "group:",
    ":x",
    "api:/x",
    "a/b/c",
    "component:default/x",
    "db",
    "resource:db",
    "user:default/alice",
    "mailto:x@example.com",
    "https://example.com/a",
    "dev.azure.com/x",
    "http://",
    "localhost:8080",
    "c++",
    "c#",
    "lang:go",
    "Java",
    "a--b-c",
    "backstage.io/v1alpha1",
    "backstage.io/v1beta1",
    "v1",
    "a/b/c",
    "Component",
    "API",
    "component",
    "Widget",
    "1abc",
    "required",
    "optional",
    "maybe",
    "yes",
    "0755",
    "true",
    "2024-01-31",
    "ünïcode",
    "line\nbreak",
    "$text",
    "default",
    "Team A",
]
_VALUES = st.one_of(
    st.sampled_from(_STRINGS),
    st.sampled_from([0, 1, 755, -1, 1.5, 1e21, True, False, None]),
    st.lists(st.sampled_from(_STRINGS[:20]), max_size=3),
    st.sampled_from([[], [1], [None], {}, {"a": "b"}, {"kind": "Group", "name": "x"}, [[]]]),
)
_KEYS = st.sampled_from(
    [
        ("apiVersion",),
        ("kind",),
        ("metadata",),
        ("spec",),
        ("status",),
        ("relations",),
        ("owner",),
        ("metadata", "name"),
        ("metadata", "namespace"),
        ("metadata", "title"),
        ("metadata", "description"),
        ("metadata", "labels"),
        ("metadata", "labels", "team"),
        ("metadata", "labels", "a/b/c"),
        ("metadata", "labels", "Dev.io/x"),
        ("metadata", "annotations"),
        ("metadata", "annotations", "backstage.io/x"),
        ("metadata", "annotations", "x_y.com/z"),
        ("metadata", "annotations", "backstage.io/"),
        ("metadata", "tags"),
        ("metadata", "tags", 0),
        ("metadata", "links"),
        ("metadata", "links", 0),
        ("metadata", "links", 0, "url"),
        ("metadata", "links", 0, "title"),
        ("metadata", "links", 0, "icon"),
        ("metadata", "uid"),
        ("spec", "type"),
        ("spec", "lifecycle"),
        ("spec", "owner"),
        ("spec", "system"),
        ("spec", "domain"),
        ("spec", "dependsOn"),
        ("spec", "dependencyOf"),
        ("spec", "providesApis"),
        ("spec", "consumesApis"),
        ("spec", "subcomponentOf"),
        ("spec", "memberOf"),
        ("spec", "children"),
        ("spec", "members"),
        ("spec", "parent"),
        ("spec", "presence"),
        ("spec", "target"),
        ("spec", "definition"),
        ("spec", "steps"),
        ("spec", "steps", 0),
        ("spec", "steps", 0, "action"),
        ("spec", "parameters"),
        ("spec", "output"),
        ("spec", "profile"),
        ("spec", "profile", "email"),
    ]
)


def _apply(entity: Any, path: tuple[Any, ...], value: Any, delete: bool) -> None:
    node = entity
    for part in path[:-1]:
        if isinstance(node, dict) and isinstance(part, str):
            node = node.setdefault(part, {} if not isinstance(part, int) else [])
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return
    last = path[-1]
    if isinstance(node, dict) and isinstance(last, str):
        if delete:
            node.pop(last, None)
        else:
            node[last] = value
    elif isinstance(node, list) and isinstance(last, int):
        if last < len(node):
            if delete:
                node.pop(last)
            else:
                node[last] = value
        elif not delete:
            node.append(value)


def _colon_first(value: Any) -> bool:
    """Whether some string (key or value) starts with ':'."""
    if isinstance(value, str):
        return value.startswith(":")
    if isinstance(value, list):
        return any(_colon_first(item) for item in value)
    if isinstance(value, dict):
        return any(_colon_first(k) or _colon_first(v) for k, v in value.items())
    return False


@st.composite
def _documents(draw: st.DrawFn) -> str:
    entity = copy.deepcopy(draw(st.sampled_from(_BASES)))
    for _ in range(draw(st.integers(0, 3))):
        _apply(entity, draw(_KEYS), draw(_VALUES), draw(st.booleans()))
    style = draw(st.sampled_from(["block", "block", "flow", "json"]))
    if style == "flow" and _colon_first(entity):
        # A plain scalar starting with ':' inside a flow collection is valid YAML 1.2 but
        # refused by both libyaml and ruamel (a documented divergence): keep it in block style.
        style = "block"
    if style == "json":
        text = json.dumps(entity, ensure_ascii=False, indent=1)
    else:
        yaml = YAML(typ="safe", pure=True)
        yaml.default_flow_style = style == "flow"
        from io import StringIO

        buffer = StringIO()
        yaml.dump(entity, buffer)
        text = buffer.getvalue()
    lines = text.splitlines(keepends=True)
    edit = draw(
        st.sampled_from(["none", "none", "none", "duplicate-line", "tab", "merge", "alias"])
    )
    if lines and edit != "none":
        at = draw(st.integers(0, len(lines) - 1))
        if edit == "duplicate-line":
            lines.insert(at, lines[at])
        elif edit == "tab" and lines[at].startswith("  "):
            lines[at] = "\t" + lines[at][2:]
        elif edit == "merge" and style == "block":
            lines.append("<<: {spec: {}}\n")
        elif edit == "alias" and style == "block":
            lines.insert(0, "x-anchor: &anchor team-a\n")
            lines.append("x-alias: *anchor\n")
    return "".join(lines)


_EXAMPLES = int(os.environ.get("CATALOG_BRIDGE_FUZZ_EXAMPLES", "4"))


@settings(
    max_examples=_EXAMPLES,
    # Shrinking would rerun the oracle hundreds of times; the failure message already
    # shows the offending documents.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    derandomize="CATALOG_BRIDGE_FUZZ_EXAMPLES" not in os.environ,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(batch=st.lists(_documents(), min_size=150, max_size=150))
def test_mutated_documents_match_oracle(
    batch: list[str], oracle: Oracle, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("mutants")
    files = []
    for number, text in enumerate(batch):
        file = folder / f"doc-{number:03d}.yaml"
        file.write_text(text, encoding="utf-8")
        files.append(file)
    problems, _ = _compare(files, folder, oracle)
    shown = [f"{p}\n--- document ---\n{Path(p.split(' #')[0]).read_text()}" for p in problems[:5]]
    assert not problems, f"{len(problems)} mismatches, first ones:\n" + "\n".join(shown)
