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
from typing import Any, NamedTuple

from bridge.catalog.jsvalue import js_keys, js_string, json_pointer

PathT = tuple[str | int, ...]


class SchemaError(NamedTuple):
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


class Pattern(NamedTuple):
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
        names = [
            name for name in _GROUP_KEYWORDS if any(k in schema for k in _GROUP_KEYWORDS[name])
        ]
        # With one type whose keywords are present, AJV reports a wrong type inside that
        # keyword group (after the untyped keywords); otherwise it checks the type first.
        folded = type_list[0] if len(type_list) == 1 and type_list[0] in names else None
        groups = [self._group(name, schema, reports_type=name == folded) for name in names]
        untyped = self._untyped(schema)
        checks = [*untyped, *groups]
        if type_list and folded is None:
            checks.insert(0, _type_check(type_list))
        if len(checks) == 1:
            return checks[0]  # the usual case: a single closure, no loop

        def validate(data: Any, path: PathT, errors: Errors) -> None:
            for check in checks:
                check(data, path, errors)

        return validate

    def _ref(self, ref: str) -> Validator:
        # Resolved on first use so schemas may refer to each other (and to themselves).
        resolved: list[Validator] = []

        def validate(data: Any, path: PathT, errors: Errors) -> None:
            if not resolved:
                target = self._compiled.get(ref)
                if target is None:
                    target = self._compiled[ref] = self.compile(self._registry[ref])
                resolved.append(target)
            resolved[0](data, path, errors)

        return validate

    def _untyped(self, schema: Mapping[str, Any]) -> list[Validator]:
        checks: list[Validator] = []
        if "enum" in schema:
            allowed = list(schema["enum"])
            # Backstage's enums are strings: a string is then checked by one set lookup.
            strings = frozenset(allowed) if all(type(o) is str for o in allowed) else None

            def enum(data: Any, path: PathT, errors: Errors) -> None:
                if strings is not None and type(data) is str:
                    if data in strings:
                        return
                elif any(_js_equal(data, option) for option in allowed):
                    return
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

    def _group(self, name: str, schema: Mapping[str, Any], *, reports_type: bool) -> Validator:
        """The keywords of one type, applied when the data has that type."""
        if name == "string":
            return _string_group(schema, reports_type)
        if name == "array":
            return self._array_group(schema, reports_type)
        return self._object_group(schema, reports_type)

    def _array_group(self, schema: Mapping[str, Any], reports_type: bool) -> Validator:
        item = self.compile(schema["items"])
        minimum = _string_minimum(schema["items"])  # lists of names: checked inline

        def array(data: Any, path: PathT, errors: Errors) -> None:
            if type(data) is list:
                for index, value in enumerate(data):
                    if minimum is None or type(value) is not str or len(value) < minimum:
                        item(value, (*path, index), errors)
            elif reports_type:
                errors.append(_type_error(path, "array"))

        return array

    def _object_group(self, schema: Mapping[str, Any], reports_type: bool) -> Validator:
        required: list[str] = list(schema.get("required", ()))
        properties = {key: self.compile(sub) for key, sub in schema.get("properties", {}).items()}
        # Most properties are plain strings with a minimum length: a value that passes is
        # recognised inline, and only the others go through their validator.
        entries = [
            (key, check, _string_minimum(schema["properties"][key]))
            for key, check in properties.items()
        ]
        patterns = [
            (pattern.regex.search, self.compile(sub), _string_minimum(sub))
            for pattern, sub in schema.get("patternProperties", {}).items()
        ]
        additional = schema.get("additionalProperties", True)
        additional_check = self.compile(additional) if isinstance(additional, dict) else None
        check_additional = additional is False or additional_check is not None

        def obj(data: Any, path: PathT, errors: Errors) -> None:
            if type(data) is not dict:
                if reports_type:
                    errors.append(_type_error(path, "object"))
                return
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
            if check_additional:
                for key in js_keys(data):
                    if key in properties or (patterns and any(m(key) for m, _, _ in patterns)):
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
            for key, check, minimum in entries:
                if key in data:
                    value = data[key]
                    if minimum is None or type(value) is not str or len(value) < minimum:
                        check(value, (*path, key), errors)
            for matches, check, minimum in patterns:
                for key in js_keys(data):
                    value = data[key]
                    if minimum is not None and type(value) is str and len(value) >= minimum:
                        continue  # valid whether or not the key matches
                    if matches(key):
                        check(value, (*path, key), errors)

        return obj


def _string_minimum(schema: Mapping[str, Any]) -> int | None:
    """For a schema that only asks for a string of some minimum length, that length."""
    if schema.get("type") != "string" or set(schema) - {"type", "minLength"}:
        return None
    minimum: int = schema.get("minLength", 0)
    return minimum


def _type_error(path: PathT, type_text: str) -> SchemaError:
    return SchemaError(path, "type", f"must be {type_text}", (("type", type_text),))


def _type_check(type_list: tuple[str, ...]) -> Validator:
    tests = [_TYPE_TESTS[name] for name in type_list]
    type_text = ",".join(type_list)
    test = tests[0] if len(tests) == 1 else lambda value: any(t(value) for t in tests)

    def check_type(data: Any, path: PathT, errors: Errors) -> None:
        if not test(data):
            errors.append(_type_error(path, type_text))

    return check_type


def _string_group(schema: Mapping[str, Any], reports_type: bool) -> Validator:
    min_length = schema.get("minLength")
    pattern: Pattern | None = schema.get("pattern")

    def string(data: Any, path: PathT, errors: Errors) -> None:
        if type(data) is not str:
            if reports_type:
                errors.append(_type_error(path, "string"))
            return
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


def _js_equal(left: Any, right: Any) -> bool:
    # AJV's deep equality over JSON values: no number/boolean mixing.
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if type(left) is not type(right) and not (
        isinstance(left, int | float) and isinstance(right, int | float)
    ):
        return False
    return bool(left == right)
