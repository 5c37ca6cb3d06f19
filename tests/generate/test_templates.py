"""Templates: Backstage's skeleton syntax, sandboxed, strict, values as YAML-safe strings."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from jinja2.exceptions import SecurityError

from bridge.catalog.validation import ValidationOptions, validate_text
from bridge.catalog.yamlload import parse_documents
from bridge.generate.templates import TemplateError, TemplateSet, environment

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
TRICKY = [
    "a: b #c",
    "yes",
    "0123",
    "null",
    '"quoted" \\ back',
    "tab\there",
    "line\nbreak",
    "next\x85line",
    "sep\u2028arator",
    "{{ not a template }}",
    "${{ values.name }}",
    "- dash",
    "ü ☃ 😀",
]


@pytest.mark.parametrize("value", TRICKY)
def test_a_value_in_double_quotes_reads_back_as_the_same_string(value: str) -> None:
    env = environment()
    text = env.from_string('a: "${{ values.x }}"\nb: ${{ values.x | dump }}\n').render(
        values={"x": value}
    )
    document = parse_documents(text)[0]
    assert document.problem is None, text
    assert document.value == {"a": value, "b": value}


def test_undefined_values_and_unsafe_access_are_errors() -> None:
    env = environment()
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("${{ values.missing }}").render(values={})
    with pytest.raises(SecurityError):
        env.from_string("${{ values.x.__class__.__mro__ }}").render(values={"x": ""})


@pytest.mark.parametrize("name", ["service", "library", "website"])
def test_shipped_templates_are_valid_entities_and_valid_templates(name: str) -> None:
    path = TEMPLATES / name / "catalog-info.yaml"
    reports = validate_text(
        path.read_text(encoding="utf-8"),
        location=f"file:{path}",
        options=ValidationOptions(strict=True),
    )
    assert [report.ok for report in reports] == [True]
    assert TemplateSet(TEMPLATES).get(name).name == name


def test_a_template_that_is_not_valid_jinja_names_its_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "catalog-info.yaml").write_text(
        "kind: Component\n#% if values.x\nname: a\n", encoding="utf-8"
    )
    with pytest.raises(TemplateError, match=r"broken/catalog-info.yaml:\d+: not a valid template"):
        TemplateSet(tmp_path).get("broken")
    with pytest.raises(TemplateError, match="no template 'nope'"):
        TemplateSet(tmp_path).get("nope")
