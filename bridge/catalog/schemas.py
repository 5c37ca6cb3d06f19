"""Backstage's entity JSON schemas, as data for :mod:`bridge.catalog.ajv`.

Transcribed from ``@backstage/catalog-model`` 1.10.3 (``src/schema``, Apache-2.0, The Backstage
Authors) and ``@backstage/plugin-scaffolder-common`` 2.4.0 (``Template.v1beta3``). Key order
matters: AJV reports errors in schema order. Descriptions and examples are left out; patterns
carry both the JavaScript source (quoted in messages) and an equivalent Python regex (JS ``\\w``
is ASCII-only, JS ``.`` stops at line terminators, and ``$`` only matches at the very end).
"""

from __future__ import annotations

import re
from typing import Any

from bridge.catalog.ajv import Pattern

_STRING = {"type": "string"}
_NON_EMPTY = {"type": "string", "minLength": 1}
_NON_EMPTY_LIST = {"type": "array", "items": _NON_EMPTY}
_ANY_LINE = Pattern("^.+$", re.compile(r"\A[^\n\r\u2028\u2029]+\Z"))
_WORD = Pattern("^\\w+$", re.compile(r"\A[A-Za-z0-9_]+\Z"))
_BUILTIN_API_VERSIONS = ["backstage.io/v1alpha1", "backstage.io/v1beta1"]
_PROFILE = {
    "type": "object",
    "properties": {"displayName": _NON_EMPTY, "email": _NON_EMPTY, "picture": _NON_EMPTY},
}

ENTITY_ENVELOPE: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata"],
    "additionalProperties": True,
    "properties": {
        "apiVersion": _NON_EMPTY,
        "kind": _NON_EMPTY,
        "metadata": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": True,
            "properties": {"name": _NON_EMPTY, "namespace": _NON_EMPTY},
        },
    },
}

ENTITY_META: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": True,
    "properties": {
        "uid": _NON_EMPTY,
        "etag": _NON_EMPTY,
        "name": _NON_EMPTY,
        "namespace": _NON_EMPTY,
        "title": _NON_EMPTY,
        "description": _STRING,
        "labels": {
            "type": "object",
            "additionalProperties": True,
            "patternProperties": {_ANY_LINE: _STRING},
        },
        "annotations": {
            "type": "object",
            "additionalProperties": True,
            "patternProperties": {_ANY_LINE: _STRING},
        },
        "tags": {"type": "array", "items": _NON_EMPTY},
        "links": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["url"],
                "properties": {
                    "url": _NON_EMPTY,
                    "title": _NON_EMPTY,
                    "icon": _NON_EMPTY,
                    "type": _NON_EMPTY,
                },
            },
        },
    },
}

ENTITY: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": _NON_EMPTY,
        "kind": _NON_EMPTY,
        "metadata": {"$ref": "EntityMeta"},
        "spec": {"type": "object"},
        "relations": {"type": "array", "items": {"$ref": "common#relation"}},
        "status": {"$ref": "common#status"},
    },
}

_COMMON: dict[str, dict[str, Any]] = {
    "common#reference": {
        "type": "object",
        "required": ["kind", "namespace", "name"],
        "additionalProperties": False,
        "properties": {"kind": _NON_EMPTY, "namespace": _NON_EMPTY, "name": _NON_EMPTY},
    },
    "common#relation": {
        "type": "object",
        "required": ["type", "targetRef"],
        "additionalProperties": False,
        "properties": {
            "type": {"type": "string", "minLength": 1, "pattern": _WORD},
            "target": {"$ref": "common#reference"},
            "targetRef": _NON_EMPTY,
        },
    },
    "common#status": {
        "type": "object",
        "required": [],
        "additionalProperties": True,
        "properties": {"items": {"type": "array", "items": {"$ref": "common#statusItem"}}},
    },
    "common#statusItem": {
        "type": "object",
        "required": ["type", "level", "message"],
        "additionalProperties": True,
        "properties": {
            "type": _NON_EMPTY,
            "level": {"$ref": "common#statusLevel"},
            "message": _STRING,
            "error": {"$ref": "common#error"},
        },
    },
    "common#statusLevel": {"type": "string", "enum": ["info", "warning", "error"]},
    "common#error": {
        "type": "object",
        "required": ["name", "message"],
        "additionalProperties": True,
        "properties": {
            "name": _NON_EMPTY,
            "message": _STRING,
            "code": _STRING,
            "stack": _STRING,
        },
    },
}


def _kind(api_versions: list[str], kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The kind-specific half of a kind schema.

    Backstage's kind schemas are ``allOf: [{$ref: Entity}, <this>]``; the Entity half is the
    schema the policy stage has already checked, so only this half is kept.
    """
    return {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"enum": api_versions},
            "kind": {"enum": [kind]},
            "spec": spec,
        },
    }


def _spec(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


_PERMISSIONS = {
    "type": "object",
    "properties": {"tags": {"type": "array", "items": _STRING}},
}
_STRING_OR_BOOL = {"type": ["string", "boolean"]}
_FORM_DECORATORS = {
    "type": "array",
    "items": {"type": "object", "properties": {"id": _STRING, "input": {"type": "object"}}},
}

#: The kind-specific halves of the kind schemas (see :func:`_kind`).
KINDS: dict[str, dict[str, Any]] = {
    "API": _kind(
        _BUILTIN_API_VERSIONS,
        "API",
        _spec(
            ["type", "lifecycle", "owner", "definition"],
            type=_NON_EMPTY,
            lifecycle=_NON_EMPTY,
            owner=_NON_EMPTY,
            system=_NON_EMPTY,
            definition=_NON_EMPTY,
        ),
    ),
    "Component": _kind(
        _BUILTIN_API_VERSIONS,
        "Component",
        _spec(
            ["type", "lifecycle", "owner"],
            type=_NON_EMPTY,
            lifecycle=_NON_EMPTY,
            owner=_NON_EMPTY,
            system=_NON_EMPTY,
            subcomponentOf=_NON_EMPTY,
            providesApis=_NON_EMPTY_LIST,
            consumesApis=_NON_EMPTY_LIST,
            dependsOn=_NON_EMPTY_LIST,
        ),
    ),
    "Resource": _kind(
        _BUILTIN_API_VERSIONS,
        "Resource",
        _spec(
            ["type", "owner"],
            type=_NON_EMPTY,
            owner=_NON_EMPTY,
            dependsOn=_NON_EMPTY_LIST,
            system=_NON_EMPTY,
        ),
    ),
    "Group": _kind(
        _BUILTIN_API_VERSIONS,
        "Group",
        _spec(
            ["type", "children"],
            type=_NON_EMPTY,
            profile=_PROFILE,
            parent=_NON_EMPTY,
            children=_NON_EMPTY_LIST,
            members=_NON_EMPTY_LIST,
        ),
    ),
    "Location": _kind(
        _BUILTIN_API_VERSIONS,
        "Location",
        _spec(
            [],
            type=_NON_EMPTY,
            target=_NON_EMPTY,
            targets=_NON_EMPTY_LIST,
            presence={"type": "string", "default": "required", "enum": ["required", "optional"]},
        ),
    ),
    "User": _kind(
        _BUILTIN_API_VERSIONS,
        "User",
        _spec(["memberOf"], profile=_PROFILE, memberOf=_NON_EMPTY_LIST),
    ),
    "System": _kind(
        _BUILTIN_API_VERSIONS,
        "System",
        _spec(["owner"], owner=_NON_EMPTY, domain=_NON_EMPTY, type=_NON_EMPTY),
    ),
    "Domain": _kind(
        _BUILTIN_API_VERSIONS,
        "Domain",
        _spec(["owner"], owner=_NON_EMPTY, subdomainOf=_NON_EMPTY, type=_NON_EMPTY),
    ),
    "Template": _kind(
        ["scaffolder.backstage.io/v1beta3"],
        "Template",
        _spec(
            ["type", "steps"],
            type=_NON_EMPTY,
            owner=_NON_EMPTY,
            lifecycle=_NON_EMPTY,
            parameters={
                "oneOf": [
                    {"type": "object", "properties": {"backstage:permissions": _PERMISSIONS}},
                    {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "when": _STRING_OR_BOOL,
                                "backstage:permissions": _PERMISSIONS,
                            },
                        },
                    },
                ]
            },
            secrets={"type": "object", "properties": {"schema": {"type": "object"}}},
            presentation={
                "type": "object",
                "properties": {
                    "buttonLabels": {
                        "type": "object",
                        "properties": {
                            "backButtonText": _STRING,
                            "createButtonText": _STRING,
                            "reviewButtonText": _STRING,
                        },
                    }
                },
            },
            EXPERIMENTAL_recovery={
                "type": "object",
                "properties": {"EXPERIMENTAL_strategy": _STRING},
            },
            formDecorators=_FORM_DECORATORS,
            EXPERIMENTAL_formDecorators=_FORM_DECORATORS,
            steps={
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["action"],
                    "properties": {
                        "id": _STRING,
                        "name": _STRING,
                        "action": _STRING,
                        "input": {"type": "object"},
                        "if": _STRING_OR_BOOL,
                        "backstage:permissions": _PERMISSIONS,
                    },
                },
            },
            output={
                "type": "object",
                "properties": {
                    "links": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": [],
                            "properties": {
                                "if": _STRING_OR_BOOL,
                                "url": _NON_EMPTY,
                                "entityRef": _NON_EMPTY,
                                "title": _NON_EMPTY,
                                "icon": _NON_EMPTY,
                            },
                        },
                    },
                    "text": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": [],
                            "properties": {
                                "if": _STRING_OR_BOOL,
                                "title": _NON_EMPTY,
                                "icon": _NON_EMPTY,
                                "content": _STRING,
                            },
                        },
                    },
                },
                "additionalProperties": _STRING,
            },
        ),
    ),
}

#: Processors and the kinds they validate, in Backstage's order.
PROCESSORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "BuiltinKindsEntityProcessor",
        ("API", "Component", "Resource", "Group", "Location", "User", "System", "Domain"),
    ),
    ("ScaffolderEntitiesProcessor", ("Template",)),
)

REGISTRY: dict[str, dict[str, Any]] = {"Entity": ENTITY, "EntityMeta": ENTITY_META, **_COMMON}
