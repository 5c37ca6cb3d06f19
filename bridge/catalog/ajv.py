"""A JSON-Schema (draft-07 subset) validator that reports errors exactly as AJV v8 does.

Backstage validates entities with AJV and reports ``errors[0]``; to report the same first
error we must produce AJV's errors in AJV's order with AJV's messages. AJV generates code
that visits, for one schema object:

1. the type check first when it cannot be folded into a keyword group (several types, or a
   single type none of whose keywords are present);
2. the untyped keywords: ``const``, ``enum``, ``not``, ``anyOf``, ``oneOf``, ``allOf``;
3. string keywords (``maxLength``/``minLength``, ``pattern``), then array keywords
   (``items``), then object keywords (``required``, ``additionalProperties``,
   ``properties``, ``patternProperties``) — each group guarded by a type test whose ``else``
   reports the type error when the schema has that single type.

Schemas are compiled once into closures, like AJV does, so validating is cheap.
Only the keywords Backstage's schemas use are supported; anything else is a programming error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bridge.catalog.jsvalue import js_keys, js_string, json_pointer

PathT = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class SchemaError:
    """One AJV error: where (data path), which keyword, AJV's message and params."""

    path: PathT
    keyword: str
    message: str
    params: tuple[tuple[str, Any], ...]

    @property
    def instance_path(self) -> str:
        """AJV's ``instancePath`` (a JSON pointer; empty for the root)."""
        return json_pointer(self.path)

    def text(self, *, with_params: bool = True) -> str:
        """Backstage's rendering: ``<path or <root>> <message> - <param>: <value>``."""
        head = f"{self.instance_path or '<root>'} {self.message}"
        if not with_params:
            return head
        params = ", ".join(f"{key}: {js_string(value)}" for key, value in self.params)
        return f"{head} - {params}"


Errors = list[SchemaError]
Validator = Callable[[Any, PathT, Errors], None]

_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}
_GROUP_KEYWORDS = {
    "string": ("maxLength", "minLength", "pattern"),
    "array": ("items",),
    "object": ("required", "additionalProperties", "properties", "patternProperties"),
}
_IGNORED = frozenset(("$schema", "$id", "default", "deprecated", "description", "examples"))
_KNOWN = frozenset(
    ("type", "enum", "oneOf", "allOf", "$ref", "definitions", *_GROUP_KEYWORDS["string"])
    + _GROUP_KEYWORDS["array"]
    + _GROUP_KEYWORDS["object"]
)


@dataclass(frozen=True, slots=True)
class Pattern:
    """A schema pattern: the JavaScript source (for messages) and an equivalent Python regex."""

    source: str
    regex: re.Pattern[str]


class SchemaCompiler:
    """Compiles schemas; ``$ref`` targets are looked up by id in ``registry``."""

    def __init__(self, registry: Mapping[str, Mapping[str, Any]]) -> None:
        self._registry = registry
        self._compiled: dict[str, Validator] = {}

    def compile(self, schema: Mapping[str, Any]) -> Validator:
        """A function ``validate(data, path, errors)`` that appends AJV's errors in order."""
        unknown = set(schema) - _KNOWN - _IGNORED
        if unknown:
            raise ValueError(f"unsupported schema keywords: {sorted(unknown)}")
        if "$ref" in schema:
            return self._ref(schema["$ref"])
        types = schema.get("type")
        type_list: tuple[str, ...] = (
            () if types is None else (types,) if isinstance(types, str) else tuple(types)
        )
        type_text = ",".join(type_list)
        groups = {
            name: self._group(name, schema)
            for name in _GROUP_KEYWORDS
            if any(k in schema for k in _GROUP_KEYWORDS[name])
        }
        folded = len(type_list) == 1 and type_list[0] in groups
        up_front: Callable[[Any], bool] | None = None
        if type_list and not folded:
            tests = [_TYPE_TESTS[name] for name in type_list]
            up_front = tests[0] if len(tests) == 1 else lambda v: any(t(v) for t in tests)
        untyped = self._untyped(schema)
        guarded = [
            (name, _TYPE_TESTS[name], check, folded and type_list[0] == name)
            for name, check in groups.items()
        ]

        if up_front is None and not untyped and len(guarded) == 1:
            # The most common shape ({type: X, ...keywords of X}): one test, no loops.
            _, only_test, only_check, reports_type = guarded[0]
            only_type = type_list[0] if reports_type else ""

            def validate_single(data: Any, path: PathT, errors: Errors) -> None:
                if only_test(data):
                    only_check(data, path, errors)
                elif reports_type:
                    errors.append(
                        SchemaError(path, "type", f"must be {only_type}", (("type", only_type),))
                    )

            return validate_single

        def validate(data: Any, path: PathT, errors: Errors) -> None:
            if up_front is not None and not up_front(data):
                errors.append(
                    SchemaError(path, "type", f"must be {type_text}", (("type", type_text),))
                )
            for check in untyped:
                check(data, path, errors)
            for name, test, check, reports_type in guarded:
                if test(data):
                    check(data, path, errors)
                elif reports_type:
                    errors.append(SchemaError(path, "type", f"must be {name}", (("type", name),)))

        return validate

    def _ref(self, ref: str) -> Validator:
        # Resolved lazily so schemas may refer to each other (and to themselves).
        def validate(data: Any, path: PathT, errors: Errors) -> None:
            target = self._compiled.get(ref)
            if target is None:
                target = self._compiled[ref] = self.compile(self._registry[ref])
            target(data, path, errors)

        return validate

    def _untyped(self, schema: Mapping[str, Any]) -> list[Validator]:
        checks: list[Validator] = []
        if "enum" in schema:
            allowed = list(schema["enum"])

            def enum(data: Any, path: PathT, errors: Errors) -> None:
                if not any(_js_equal(data, option) for option in allowed):
                    errors.append(
                        SchemaError(
                            path,
                            "enum",
                            "must be equal to one of the allowed values",
                            (("allowedValues", allowed),),
                        )
                    )

            checks.append(enum)
        if "oneOf" in schema:
            branches = [self.compile(branch) for branch in schema["oneOf"]]

            def one_of(data: Any, path: PathT, errors: Errors) -> None:
                before = len(errors)
                passing = []
                for index, branch in enumerate(branches):
                    mark = len(errors)
                    branch(data, path, errors)
                    if len(errors) == mark:
                        passing.append(index)
                if len(passing) == 1:
                    del errors[before:]
                    return
                errors.append(
                    SchemaError(
                        path,
                        "oneOf",
                        "must match exactly one schema in oneOf",
                        (("passingSchemas", passing or None),),
                    )
                )

            checks.append(one_of)
        if "allOf" in schema:
            parts = [self.compile(part) for part in schema["allOf"]]

            def all_of(data: Any, path: PathT, errors: Errors) -> None:
                for part in parts:
                    part(data, path, errors)

            checks.append(all_of)
        return checks

    def _group(self, name: str, schema: Mapping[str, Any]) -> Validator:
        if name == "string":
            return self._string_group(schema)
        if name == "array":
            item = self.compile(schema["items"])

            def items(data: list[Any], path: PathT, errors: Errors) -> None:
                for index, value in enumerate(data):
                    item(value, (*path, index), errors)

            return items
        return self._object_group(schema)

    @staticmethod
    def _string_group(schema: Mapping[str, Any]) -> Validator:
        min_length = schema.get("minLength")
        pattern: Pattern | None = schema.get("pattern")

        def string(data: str, path: PathT, errors: Errors) -> None:
            # AJV counts code points (ucs2length), as Python's len does.
            if min_length is not None and len(data) < min_length:
                errors.append(
                    SchemaError(
                        path,
                        "minLength",
                        f"must NOT have fewer than {min_length} characters",
                        (("limit", min_length),),
                    )
                )
            if pattern is not None and not pattern.regex.search(data):
                errors.append(
                    SchemaError(
                        path,
                        "pattern",
                        f'must match pattern "{pattern.source}"',
                        (("pattern", pattern.source),),
                    )
                )

        return string

    def _object_group(self, schema: Mapping[str, Any]) -> Validator:
        required: list[str] = list(schema.get("required", ()))
        properties = {key: self.compile(sub) for key, sub in schema.get("properties", {}).items()}
        patterns = [
            (pattern, self.compile(sub))
            for pattern, sub in schema.get("patternProperties", {}).items()
        ]
        additional = schema.get("additionalProperties", True)
        additional_check = self.compile(additional) if isinstance(additional, dict) else None
        forbid_additional = additional is False

        def obj(data: dict[str, Any], path: PathT, errors: Errors) -> None:
            for key in required:
                if key not in data:
                    errors.append(
                        SchemaError(
                            path,
                            "required",
                            f"must have required property '{key}'",
                            (("missingProperty", key),),
                        )
                    )
            if forbid_additional or additional_check is not None:
                for key in js_keys(data):
                    if key in properties or (
                        patterns and any(p.regex.search(key) for p, _ in patterns)
                    ):
                        continue
                    if additional_check is not None:
                        additional_check(data[key], (*path, key), errors)
                    else:
                        errors.append(
                            SchemaError(
                                path,
                                "additionalProperties",
                                "must NOT have additional properties",
                                (("additionalProperty", key),),
                            )
                        )
            for key, check in properties.items():
                if key in data:
                    check(data[key], (*path, key), errors)
            for pattern, check in patterns:
                for key in js_keys(data):
                    if pattern.regex.search(key):
                        check(data[key], (*path, key), errors)

        return obj


def _js_equal(left: Any, right: Any) -> bool:
    # AJV's deep equality over JSON values: no number/boolean mixing.
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if type(left) is not type(right) and not (
        isinstance(left, int | float) and isinstance(right, int | float)
    ):
        return False
    return bool(left == right)
