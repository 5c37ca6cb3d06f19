"""Pull request texts: the description fits Azure DevOps' 4000 characters; the diff."""

from __future__ import annotations

from dataclasses import replace

from bridge.propose import render
from bridge.propose.plan import Inferred
from tests.propose.conftest import proposal


def test_a_long_description_keeps_its_head_and_tail_within_the_limit() -> None:
    values = tuple(Inferred(f"field-{n}", "x" * 60, "a | piped source") for n in range(200))
    text = render.description(replace(proposal("cart"), values=values, template="service"))
    assert len(text) <= render.DESCRIPTION_LIMIT
    assert text.startswith("This pull request adds `catalog-info.yaml`")
    assert "| field-0 | " + "x" * 60 + " | a \\| piped source |" in text
    assert "more (see the file)" in text
    assert text.rstrip().endswith("of catalog-bridge's README.")
    assert render.DOCS_URL in text


def test_the_diff_of_a_new_file_and_of_a_fix() -> None:
    added = render.diff(proposal("cart", "kind: Component\nname: x"))
    assert added.startswith("--- /dev/null\n+++ b/catalog-info.yaml\n")
    assert added.endswith("+name: x\n\\ No newline at end of file\n")
    fixed = render.diff(replace(proposal("cart", "a: 1\nb: 3\n"), original="a: 1\nb: 2\n"))
    assert "--- a/catalog-info.yaml\n+++ b/catalog-info.yaml\n" in fixed
    assert "-b: 2\n+b: 3\n" in fixed
