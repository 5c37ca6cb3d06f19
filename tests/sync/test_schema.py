"""The repository entity's JSON Schema: valid draft 2020-12, documented, accepting every
shape the sync produces and refusing the wrong ones."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from importlib import resources
from typing import Any

import jsonschema
import pytest

from bridge.sync.output import SCHEMA_FILE, entity_schema

Entity = dict[str, Any]

ERROR = {
    "document": 0,
    "line": 4,
    "column": 9,
    "severity": "error",
    "rule": "field-format",
    "message": '"metadata.name" is not valid',
}
WARNING = {
    "document": 1,
    "line": None,
    "column": None,
    "severity": "warning",
    "rule": "unresolved-placeholder",
    "message": "$text placeholder not resolved",
}
DEVELOPER = {
    "name": "Ada",
    "email": "ada@contoso.example",
    "commits": 12,
    "last_commit_at": "2026-11-01T10:00:00Z",
}


def example_entity(**changes: Any) -> Entity:
    """A complete entity with a valid catalog file; ``changes`` replace top-level keys
    (``catalog`` is merged into the default catalog)."""
    entity: Entity = {
        "id": "5f0d6a9e-0c1b-4d3e-8f2a-9b8c7d6e5f4a",
        "name": "payments-api",
        "organization": "contoso",
        "project": "Payments",
        "profile": "contoso",
        "url": "https://dev.azure.com/contoso/Payments/_git/payments-api",
        "default_branch": "main",
        "size": 123456,
        "is_fork": False,
        "is_disabled": False,
        "is_empty": False,
        "visibility": "private",
        "last_commit_at": "2026-11-01T10:00:00Z",
        "freshness": "active",
        "languages": {"Python": 120000, "Shell": 300},
        "unavailable": [],
        "catalog": {
            "status": "found",
            "path": "/catalog-info.yaml",
            "commit": "0123456789abcdef0123456789abcdef01234567",
            "last_changed_commit": "fedcba9876543210fedcba9876543210fedcba98",
            "reason": None,
            "documents": 2,
            "problems": [WARNING],
        },
        "context": [
            {
                "catalog_name": "payments-api",
                "title": "Payments API",
                "category": "service",
                "lifecycle": "production",
                "owner": "group:default/payments",
                "application": "payments",
                "source": "Backstage",
            }
        ],
        "stale": False,
        "synced_at": "2026-12-07T02:00:00Z",
    }
    catalog = changes.pop("catalog", {})
    entity.update(changes)
    entity["catalog"].update(catalog)
    return entity


def _not_read(status: str, reason: str, **changes: Any) -> Entity:
    catalog: Entity = {
        "status": status,
        "commit": None,
        "last_changed_commit": None,
        "reason": reason,
        "documents": 0,
        "problems": [],
    }
    return example_entity(catalog=catalog, context=[], **changes)


EXAMPLES: dict[str, Entity] = {
    "found": example_entity(),
    "stale, kept from the previous run": example_entity(stale=True),
    "stale, from an output without synced_at": example_entity(stale=True, synced_at=None),
    "found, clean, without developers or languages": example_entity(
        catalog={"problems": [], "documents": 1},
        languages=None,
        visibility=None,
        unavailable=[{"field": "languages", "reason": "Access denied. (HTTP 401)"}],
    ),
    "fields that could not be read": example_entity(
        last_commit_at=None,
        freshness="n/a",
        languages=None,
        developers=None,
        unavailable=[
            {"field": "developers", "reason": "Service Unavailable (HTTP 503)"},
            {"field": "languages", "reason": "An Internal Error Occurred. (TF400898, HTTP 500)"},
            {"field": "last_commit_at", "reason": "the connection was reset"},
        ],
    ),
    "found, with developers": example_entity(
        developers=[
            DEVELOPER,
            {"name": None, "email": "bot@contoso.example", "commits": 1, "last_commit_at": None},
            {
                "name": "Grace",
                "email": None,
                "commits": 3,
                "last_commit_at": "2026-10-30T08:01:02Z",
            },
        ]
    ),
    "found, several components, some attributes": example_entity(
        context=[
            {"catalog_name": "payments-api", "source": "Backstage"},
            {"owner": "user:ada", "application": "payments", "source": "Backstage"},
        ]
    ),
    "invalid, with problems": example_entity(
        catalog={"status": "invalid", "problems": [ERROR, WARNING]}, context=[]
    ),
    "invalid, not YAML": example_entity(
        catalog={
            "status": "invalid",
            "documents": 0,
            "problems": [{**ERROR, "document": None, "rule": "yaml-syntax"}],
        },
        context=[],
    ),
    "missing": _not_read("missing", "no /catalog-info.yaml on the default branch"),
    "unreadable": _not_read("unreadable", "the service failed (HTTP 503)", freshness="inactive"),
    "skipped, Backstage not enabled": _not_read(
        "skipped", "the Backstage catalog is not enabled for this profile", developers=[]
    ),
    "disabled": _not_read(
        "skipped",
        "the repository is disabled",
        is_disabled=True,
        last_commit_at=None,
        freshness="n/a",
        languages={},
    ),
    "empty": _not_read(
        "skipped",
        "the repository is empty (no branch)",
        is_empty=True,
        default_branch=None,
        size=0,
        last_commit_at=None,
        freshness="n/a",
        developers=[],
    ),
    "fork, public, dormant": example_entity(
        is_fork=True,
        visibility="public",
        freshness="dormant",
        last_commit_at="2024-01-31T23:59:59.123Z",
        url="http://ado.example.com/tfs/DefaultCollection/Payments/_git/payments-api",
    ),
}


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = entity_schema()
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = entity_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_the_schema_ships_inside_the_package() -> None:
    resource = resources.files("bridge.sync").joinpath(SCHEMA_FILE)
    assert resource.is_file()
    assert json.loads(resource.read_text(encoding="utf-8")) == entity_schema()


def test_each_load_is_a_fresh_copy() -> None:
    entity_schema()["properties"].clear()
    assert "catalog" in entity_schema()["properties"]


def test_every_field_has_a_description() -> None:
    schema = entity_schema()
    definitions = schema["$defs"]
    objects = {"entity": schema, **definitions}
    undocumented = [name for name, subschema in objects.items() if not subschema.get("description")]
    for where, subschema in objects.items():
        for name, field in subschema.get("properties", {}).items():
            ref = field.get("$ref", "").removeprefix("#/$defs/")
            if not (definitions[ref] if ref else field).get("description"):
                undocumented.append(f"{where}.{name}")
    assert undocumented == []


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_examples_validate(validator: jsonschema.Draft202012Validator, name: str) -> None:
    errors = [error.message for error in validator.iter_errors(EXAMPLES[name])]
    assert errors == []


def _locate(entity: Entity, path: str) -> tuple[Any, Any]:
    """The container and key of a dotted path (numbers index lists)."""
    *parents, last = (int(part) if part.isdigit() else part for part in path.split("."))
    node: Any = entity
    for part in parents:
        node = node[part]
    return node, last


def _set(path: str, value: Any) -> Callable[[Entity], None]:
    def change(entity: Entity) -> None:
        node, key = _locate(entity, path)
        node[key] = value

    return change


def _drop(path: str) -> Callable[[Entity], None]:
    def change(entity: Entity) -> None:
        node, key = _locate(entity, path)
        del node[key]

    return change


WRONG: dict[str, tuple[str, Callable[[Entity], None]]] = {
    "unknown catalog status": ("found", _set("catalog.status", "absent")),
    "unknown freshness": ("found", _set("freshness", "stale")),
    "stale not a boolean": ("found", _set("stale", "yes")),
    "synced_at not a timestamp": ("found", _set("synced_at", "yesterday")),
    "synced_at null, not stale": ("found", _set("synced_at", None)),
    "unknown visibility": ("found", _set("visibility", "internal")),
    "unknown severity": ("invalid, with problems", _set("catalog.problems.0.severity", "info")),
    "extra key in the entity": ("found", _set("owner", "group:default/payments")),
    "extra key in the catalog": ("found", _set("catalog.valid", True)),
    "extra key in a problem": ("found", _set("catalog.problems.0.stage", "policy")),
    "extra key in a context entry": ("found", _set("context.0.system", "payments")),
    "extra key in a developer": ("found, with developers", _set("developers.0.login", "ada")),
    "missing catalog key": ("found", _drop("catalog.documents")),
    "missing problem key": ("found", _drop("catalog.problems.0.line")),
    "context without source": ("found", _drop("context.0.source")),
    "context from elsewhere": ("found", _set("context.0.source", "Snyk")),
    "context value not a string": ("found", _set("context.0.lifecycle", 3)),
    "developer without name or e-mail": (
        "found, with developers",
        _set("developers.0", {**DEVELOPER, "name": None, "email": None}),
    ),
    "developer without commits": ("found, with developers", _set("developers.0.commits", 0)),
    "developers not a list": ("found", _set("developers", "ada")),
    "developers null, not unavailable": ("found", _set("developers", None)),
    "languages null, not unavailable": ("found", _set("languages", None)),
    "unavailable languages not null": (
        "found",
        _set("unavailable", [{"field": "languages", "reason": "HTTP 503"}]),
    ),
    "unavailable commit date not null": (
        "found",
        _set("unavailable", [{"field": "last_commit_at", "reason": "HTTP 503"}]),
    ),
    "unavailable developers absent": (
        "found, clean, without developers or languages",
        _set(
            "unavailable",
            [
                {"field": "developers", "reason": "HTTP 503"},
                {"field": "languages", "reason": "Access denied. (HTTP 401)"},
            ],
        ),
    ),
    "unavailable developers not null": (
        "found, with developers",
        _set("unavailable", [{"field": "developers", "reason": "HTTP 503"}]),
    ),
    "unavailable field unknown": (
        "found",
        _set("unavailable", [{"field": "catalog", "reason": "HTTP 503"}]),
    ),
    "unavailable without a reason": (
        "fields that could not be read",
        _set("unavailable.0.reason", ""),
    ),
    "unavailable twice": (
        "fields that could not be read",
        _set("unavailable.1", {"field": "developers", "reason": "Service Unavailable (HTTP 503)"}),
    ),
    "timestamp not in UTC": ("found", _set("last_commit_at", "2026-11-01T11:00:00+01:00")),
    "timestamp without a time": ("found", _set("last_commit_at", "2026-11-01")),
    "n/a freshness with a commit date": ("found", _set("freshness", "n/a")),
    "a commit date without freshness": ("disabled", _set("freshness", "active")),
    "id not a GUID": ("found", _set("id", "payments-api")),
    "url not http": ("found", _set("url", "git@ssh.dev.azure.com:v3/contoso/Payments/x")),
    "url missing": ("found", _set("url", None)),
    "full ref as default branch": ("found", _set("default_branch", "refs/heads/main")),
    "negative size": ("found", _set("size", -1)),
    "size not a number": ("found", _set("size", "12 kB")),
    "languages with a fraction": ("found", _set("languages.Python", 0.5)),
    "short commit": ("found", _set("catalog.commit", "0123456")),
    "short last-changed commit": ("found", _set("catalog.last_changed_commit", "fedcba9")),
    "line 0": ("invalid, with problems", _set("catalog.problems.0.line", 0)),
    "found with an error": ("found", _set("catalog.problems", [ERROR])),
    "found with a reason": ("found", _set("catalog.reason", "because")),
    "invalid with warnings only": ("invalid, with problems", _set("catalog.problems", [WARNING])),
    "missing without a reason": ("missing", _set("catalog.reason", None)),
    "missing with documents": ("missing", _set("catalog.documents", 1)),
    "unreadable with a commit": ("unreadable", _set("catalog.commit", "0" * 40)),
    "missing with a last change": ("missing", _set("catalog.last_changed_commit", "0" * 40)),
    "skipped with context": (
        "skipped, Backstage not enabled",
        _set("context", [{"source": "Backstage"}]),
    ),
    "disabled but read": ("disabled", _set("catalog", EXAMPLES["found"]["catalog"])),
    "empty but read": ("empty", _set("catalog", EXAMPLES["found"]["catalog"])),
}


@pytest.mark.parametrize("name", list(WRONG))
def test_wrong_shapes_fail(validator: jsonschema.Draft202012Validator, name: str) -> None:
    example, change = WRONG[name]
    entity = copy.deepcopy(EXAMPLES[example])
    assert validator.is_valid(entity)  # the change alone makes it wrong
    change(entity)
    assert not validator.is_valid(entity)


@pytest.mark.parametrize("key", entity_schema()["required"])
def test_every_required_key_is_required(
    validator: jsonschema.Draft202012Validator, key: str
) -> None:
    entity = copy.deepcopy(EXAMPLES["found"])
    _drop(key)(entity)
    assert not validator.is_valid(entity)
