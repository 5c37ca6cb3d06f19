"""The profile's ``generate`` section: the starter file's example loads; mistakes are named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bridge.config import (
    DEFAULT_LIFECYCLE,
    InvalidConfigError,
    TemplateRule,
    TypeRule,
    load_config,
    starter_config,
)

ENVIRON = {"AZURE_DEVOPS_EXT_PAT": "env-token-value-0001"}


def _uncommented_generate(text: str) -> str:
    """The starter file with its commented ``generate:`` example turned on."""
    lines = text.splitlines()
    start = lines.index("    # generate:")
    out = lines[:start]
    index = start
    while index < len(lines) and lines[index].startswith("    # "):
        line = lines[index].replace("    # ", "    ", 1)
        if not line.strip().startswith("#"):
            out.append(line)
        index += 1
    return "\n".join([*out, *lines[index:]]) + "\n"


def test_the_starter_files_generate_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "catalog-bridge.yaml"
    path.write_text(_uncommented_generate(starter_config()), encoding="utf-8")
    (profile,) = load_config(path, environ=ENVIRON).profiles
    settings = profile.generate
    assert settings.templates == tmp_path / "catalog-templates"
    assert settings.rules == (
        TemplateRule("website", name="*-web"),
        TemplateRule("library", project="Platform", language="Go"),
    )
    assert settings.type_rules == (TypeRule("documentation", name="*-docs"),)
    assert dict(settings.owners) == {"payments": "group:default/payments"}
    assert dict(settings.systems) == {"payments": "payments-platform"}
    assert settings.fallback_owner == "group:default/platform"
    assert dict(settings.lifecycle) == dict(DEFAULT_LIFECYCLE)


def test_mistakes_in_the_generate_section_name_their_key(tmp_path: Path) -> None:
    path = tmp_path / "catalog-bridge.yaml"
    path.write_text(
        "profiles:\n"
        "  - name: p\n"
        "    organizations: [o]\n"
        "    token_env: AZURE_DEVOPS_EXT_PAT\n"
        "    generate:\n"
        "      owner: x\n"
        "      rules: [{name: '*-web'}]\n"
        "      type_rules: [{type: docs, languages: Go}]\n"
        "      lifecycle: {stale: retired}\n"
        "      owners: {Payments: 3}\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidConfigError) as caught:
        load_config(path, environ=ENVIRON)
    text = str(caught.value)
    for key in (
        "profiles[0].generate.owner",
        "profiles[0].generate.rules[0]: needs template",
        "profiles[0].generate.type_rules[0].languages",
        "profiles[0].generate.lifecycle.stale",
        "profiles[0].generate.owners.Payments",
    ):
        assert re.search(re.escape(key), text), (key, text)
