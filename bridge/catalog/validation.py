"""Validate catalog documents exactly as the Backstage catalog does, then report everything.

Backstage processes each document through fixed stages and stops at the first failure:
``parse`` → ``envelope`` → ``placeholder`` → ``policy`` (schema, default namespace, no foreign
root fields, field formats) → ``validate`` (kind validators) → ``relations`` (entity refs).
The verdict and the first error here are Backstage's. To spare users fix-one-rerun loops, the
later checks still run (where the entity is sound enough for them) and add their findings
after the first error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import lru_cache
from typing import Any, NamedTuple

from bridge.catalog.ajv import SchemaCompiler, SchemaError, Validator
from bridge.catalog.formats import (
    EXPECTATIONS,
    is_non_empty_string,
    is_valid_annotation_value,
    is_valid_api_version,
    is_valid_dns_label,
    is_valid_kind,
    is_valid_label_key,
    is_valid_label_value,
    is_valid_link_url,
    is_valid_object_name,
    is_valid_tag,
)
from bridge.catalog.jsvalue import js_keys, js_string, js_truthy, js_typeof
from bridge.catalog.lint import (
    MANAGED_BY,
    duplicate_entities,
    empty_document,
    empty_file,
    lint_entity,
)
from bridge.catalog.placeholders import PlaceholderContext, resolve_placeholders
from bridge.catalog.problems import ERROR, WARNING, DocumentReport, Problem
from bridge.catalog.refs import EntityRefError, parse_entity_ref
from bridge.catalog.schemas import ENTITY, ENTITY_ENVELOPE, KINDS, PROCESSORS, REGISTRY
from bridge.catalog.yamlload import DEFAULT_MAX_DEPTH, YamlDocument, parse_documents

DEFAULT_MAX_BYTES = 1 << 20

DOCS_URL = (
    "https://github.com/backstage/backstage/blob/master/docs/architecture-decisions/"
    "adr002-default-catalog-file-format.md"
)
_ROOT_FIELDS = frozenset(("apiVersion", "kind", "metadata", "spec"))

_compiler = SchemaCompiler(REGISTRY)
_check_envelope = _compiler.compile(ENTITY_ENVELOPE)
_check_entity = _compiler.compile(ENTITY)
_check_kind: dict[str, Validator] = {}  # compiled on first use: a hook run meets one or two


def _kind_validator(kind: str) -> Validator:
    check = _check_kind.get(kind)
    if check is None:
        check = _check_kind[kind] = _compiler.compile(KINDS[kind])
    return check


#: Relation fields per kind (as its validator names it) and the kind a bare name defaults to
#: (None: a kind is required).
RELATION_FIELDS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "Component": (
        ("owner", "Group"),
        ("subcomponentOf", "Component"),
        ("providesApis", "API"),
        ("consumesApis", "API"),
        ("dependsOn", None),
        ("dependencyOf", None),
        ("system", "System"),
    ),
    "API": (("owner", "Group"), ("system", "System")),
    "Resource": (
        ("owner", "Group"),
        ("dependsOn", None),
        ("dependencyOf", None),
        ("system", "System"),
    ),
    "User": (("memberOf", "Group"),),
    "Group": (("parent", "Group"), ("children", "Group"), ("members", "User")),
    "System": (("owner", "Group"), ("domain", "Domain")),
    "Domain": (("owner", "Group"), ("subdomainOf", "Domain")),
    "Template": (("owner", "Group"),),
}


class ValidationOptions(NamedTuple):
    """Switches matching the reference oracle's options, plus the lint layer's."""

    # Records on the validate path are NamedTuples: a hook run creates each class at import,
    # and a NamedTuple costs a fraction of a frozen dataclass (~0.1 ms against ~0.7 ms).

    relations: bool = True  # parse entity references (Backstage always does)
    template_kind: bool = True  # the scaffolder's Template kind is installed
    strict_placeholders: bool = False  # unresolvable placeholders are errors
    catalog_rules: bool = False  # lint: kinds the default catalog.rules refuse
    strict: bool = False  # lint findings are errors
    max_bytes: int = DEFAULT_MAX_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH


def _error(
    stage: str,
    rule: str,
    message: str,
    backstage: str,
    path: tuple[str | int, ...] = (),
    *,
    at_key: bool = False,
) -> Problem:
    return Problem(ERROR, rule, message, stage=stage, backstage=backstage, path=path, at_key=at_key)


def _schema_problem(error: SchemaError, stage: str, rule: str, backstage: str) -> Problem:
    path = error.path
    # Point at the offending key, or at the key of an object that lacks a required one.
    at_key = error.keyword in ("additionalProperties", "required")
    if error.keyword == "additionalProperties":
        path = (*path, dict(error.params)["additionalProperty"])
    return _error(stage, rule, error.text(), backstage, path, at_key=at_key)


class _Entity(NamedTuple):
    """Facts about an entity that passed the envelope."""

    ref: str
    kind: str
    namespace: str


class _DocumentCheck:
    """The stages for one document; collects problems in Backstage's order."""

    def __init__(
        self,
        options: ValidationOptions,
        location: str,
        placeholders: PlaceholderContext | None,
    ) -> None:
        self.options = options
        self.location = location
        self.placeholders = placeholders  # None: the text cannot hold a placeholder key
        self.problems: list[Problem] = []

    def run(self, value: Any, report: DocumentReport) -> None:
        if not isinstance(value, dict):
            self.problems.append(
                _error(
                    "parse",
                    "yaml-root",
                    f"Expected object at root, got {js_typeof(value)}",
                    f"Expected object at root, got {js_typeof(value)}",
                )
            )
            return
        info = self._envelope(value)
        if info is None:
            return
        report.api_version = value["apiVersion"]
        report.kind = info.kind
        report.name = value["metadata"]["name"]
        report.namespace = info.namespace
        report.entity = value
        entity = self._with_managed_by(value)
        if self.placeholders is not None:
            entity, placeholder_problems = resolve_placeholders(entity, self.placeholders)
            self.problems.extend(placeholder_problems)
            if any(p.is_error for p in placeholder_problems):
                return
        schema_paths = self._policies(entity, info)
        validator = self._kinds(entity, info, schema_paths)
        if validator is not None and self.options.relations:
            self._relations(entity, *validator)
        self.problems.extend(lint_entity(value, info.ref, self.location, self.options))

    # -- envelope ---------------------------------------------------------------------------
    def _envelope(self, value: dict[str, Any]) -> _Entity | None:
        errors: list[SchemaError] = []
        _check_envelope(value, (), errors)
        if errors:
            self.problems.extend(
                _schema_problem(error, "envelope", "envelope", error.text()) for error in errors
            )
            return None
        metadata = value["metadata"]
        annotations = metadata.get("annotations")
        if js_truthy(annotations) and not isinstance(annotations, dict):
            message = "metadata.annotations must be a valid object"
            self.problems.append(
                _error("envelope", "envelope", message, message, ("metadata", "annotations"))
            )
            return None
        namespace = metadata.get("namespace")
        namespace = "default" if namespace is None else namespace
        kind = value["kind"]
        ref = f"{kind.lower()}:{namespace.lower()}/{metadata['name'].lower()}"
        return _Entity(ref, kind, namespace)

    def _with_managed_by(self, value: dict[str, Any]) -> dict[str, Any]:
        # The catalog overwrites these two annotations with the location it read the file from.
        metadata = value["metadata"]
        annotations = dict(metadata.get("annotations") or {})
        for key in MANAGED_BY:
            annotations[key] = self.location
        return {**value, "metadata": {**metadata, "annotations": annotations}}

    # -- policies ----------------------------------------------------------------------------
    def _policies(self, entity: dict[str, Any], info: _Entity) -> set[tuple[str | int, ...]]:
        def wrap(cause: str) -> str:
            return f"Policy check failed for {info.ref}; caused by {cause}"

        errors: list[SchemaError] = []
        _check_entity(entity, (), errors)
        for error in errors:
            cause = "Malformed envelope, " + error.text(with_params=False)
            self.problems.append(_schema_problem(error, "policy", "entity-schema", wrap(cause)))
        if not _ROOT_FIELDS.issuperset(entity):
            for field in js_keys(entity):
                if field not in _ROOT_FIELDS:
                    cause = f"Unknown field {field}"
                    self.problems.append(
                        _error(
                            "policy",
                            "unknown-root-field",
                            cause,
                            wrap(cause),
                            (field,),
                            at_key=True,
                        )
                    )
        # Paths the schema already flagged: the field-format check would only repeat them.
        flagged = {p.path for p in self.problems if p.rule == "entity-schema"} if errors else set()
        for name, value, check, path, at_key in _field_formats(entity):
            if (value is not None and check(value)) or path in flagged:
                continue
            field = name if isinstance(name, str) else ".".join(name)
            if value is None:
                cause = f"{field} must have a value"
                message = cause
            else:
                message = (
                    f'"{field}" is not valid; expected {EXPECTATIONS[check]} but found '
                    f'"{js_string(value)}".'
                )
                cause = f"{message} To learn more about catalog file format, visit: {DOCS_URL}"
            self.problems.append(
                _error("policy", "field-format", message, wrap(cause), path, at_key=at_key)
            )
        return flagged

    # -- kinds ------------------------------------------------------------------------------
    def _kinds(
        self, entity: dict[str, Any], info: _Entity, reported: set[tuple[str | int, ...]]
    ) -> tuple[str, str] | None:
        """Run the kind validator; (processor, kind) of the one that recognised the entity.

        Backstage tries every validator and skips those whose only complaints about ``kind``
        and ``apiVersion`` are enum mismatches. As those two are strings by now, that means:
        the validator whose enums contain both values is the one that decides, if any.
        """
        chosen = _validator_for(entity["kind"], entity["apiVersion"], self.options.template_kind)
        if chosen is None:
            message = (
                f"No processor recognized the entity {info.ref} as valid, possibly caused by a "
                "foreign kind or apiVersion"
            )
            self.problems.append(_error("validate", "unknown-kind", message, message, ("kind",)))
            return None
        processor, kind = chosen
        errors: list[SchemaError] = []
        _kind_validator(kind)(entity, (), errors)
        prefix = (
            f"Processor {processor} threw an error while validating the entity {info.ref}; "
            "caused by "
        )
        seen = {(p.path, p.message) for p in self.problems} if errors else set()
        for error in errors:
            if error.path in reported and error.keyword != "required":
                continue  # the entity schema check already said so
            problem = _schema_problem(error, "validate", "kind-schema", prefix + error.text())
            if (problem.path, problem.message) not in seen:
                self.problems.append(problem)
        return chosen

    # -- relations --------------------------------------------------------------------------
    def _relations(self, entity: dict[str, Any], processor: str, kind: str) -> None:
        """Parse the references of the kind the validator recognised, as its processor does."""
        spec = entity.get("spec")
        if not isinstance(spec, dict):
            return
        namespace = entity["metadata"].get("namespace") or "default"
        for field, default_kind in RELATION_FIELDS.get(kind, ()):
            targets = spec.get(field)
            if not js_truthy(targets):
                continue
            items = list(enumerate(targets)) if isinstance(targets, list) else [(None, targets)]
            for index, target in items:
                try:
                    parse_entity_ref(target, default_kind=default_kind, default_namespace=namespace)
                except EntityRefError as error:
                    message = f"spec.{field}: {error}"
                    backstage = (
                        f"Processor {processor} threw an error while postprocessing; "
                        f"caused by {message}"
                    )
                    path: tuple[str | int, ...] = (
                        ("spec", field) if index is None else ("spec", field, index)
                    )
                    self.problems.append(
                        _error("relations", "entity-ref", message, backstage, path)
                    )


@lru_cache(maxsize=256)  # documents repeat a handful of (kind, apiVersion) pairs
def _validator_for(kind: str, api_version: str, template_kind: bool) -> tuple[str, str] | None:
    """(processor, kind) of the validator whose kind and apiVersion enums match, if any."""
    for processor, kinds in PROCESSORS:
        for candidate in kinds:
            if candidate == "Template" and not template_kind:
                continue
            properties = KINDS[candidate]["properties"]
            if (
                kind in properties["kind"]["enum"]
                and api_version in properties["apiVersion"]["enum"]
            ):
                return processor, candidate
    return None


def _field_formats(
    entity: dict[str, Any],
) -> Iterable[
    tuple[str | tuple[str, str], Any, Callable[[Any], bool], tuple[str | int, ...], bool]
]:
    """FieldFormatEntityPolicy's checks in its order: (field, value, check, path, at_key).

    A label's or annotation's field name comes as (section, key), joined only when reported;
    labels and annotations that pass are left out.
    """
    metadata = entity["metadata"]
    yield "apiVersion", entity.get("apiVersion"), is_valid_api_version, ("apiVersion",), False
    yield "kind", entity.get("kind"), is_valid_kind, ("kind",), False
    yield "metadata.name", metadata.get("name"), is_valid_object_name, ("metadata", "name"), False
    # DefaultNamespaceEntityPolicy runs first and sets a falsy namespace to "default" (valid).
    if js_truthy(metadata.get("namespace")):
        yield (
            "metadata.namespace",
            metadata["namespace"],
            is_valid_dns_label,
            ("metadata", "namespace"),
            False,
        )
    for section, key_check, value_check in (
        ("labels", is_valid_label_key, is_valid_label_value),
        ("annotations", is_valid_label_key, is_valid_annotation_value),
    ):
        entries = metadata.get(section)
        if not isinstance(entries, dict):
            continue
        for key in js_keys(entries):
            value = entries[key]
            key_ok = key_check(key)
            value_ok = value is not None and value_check(value)
            if key_ok and value_ok:
                continue  # the usual case, decided here for the many annotations
            path = ("metadata", section, key)
            if not key_ok:
                yield (section, key), key, key_check, path, True
            if not value_ok:
                yield (section, key), value, value_check, path, False
    tags = metadata.get("tags")
    if isinstance(tags, list):
        for index, tag in enumerate(tags):
            yield f"tags.{index}", tag, is_valid_tag, ("metadata", "tags", index), False
    links = metadata.get("links")
    if isinstance(links, list):
        for index, link in enumerate(links):
            fields = link if isinstance(link, dict) else {}
            base = ("metadata", "links", index)
            yield (
                f"links.{index}.url",
                fields.get("url"),
                is_valid_link_url,
                (*base, "url") if "url" in fields else base,
                False,
            )
            for name in ("title", "icon"):
                if name in fields:
                    yield (
                        f"links.{index}.{name}",
                        fields[name],
                        is_non_empty_string,
                        (*base, name),
                        False,
                    )


def _place(problems: list[Problem], document: YamlDocument) -> list[Problem]:
    """Give each problem the line and column of its path (or of the nearest enclosing one)."""
    placed = []
    for problem in problems:
        path = problem.path
        position = None if problem.line is not None else document.position(path)
        while position is None and path and problem.line is None:
            path = path[:-1]  # e.g. inside a resolved placeholder: point at the placeholder
            position = document.position(path)
        if position is None:
            placed.append(problem)
            continue
        if problem.at_key and path == problem.path and position.key_line:
            line, column = position.key_line, position.key_column
        else:
            line, column = position.line, position.column
        placed.append(replace(problem, line=line, column=column))
    return placed


def _errors_first(problems: list[Problem]) -> list[Problem]:
    # Stable: errors keep Backstage's order, so the head is the error Backstage reports.
    return [p for p in problems if p.is_error] + [p for p in problems if not p.is_error]


def validate_text(
    text: str,
    *,
    location: str,
    placeholders: PlaceholderContext | None = None,
    options: ValidationOptions | None = None,
) -> list[DocumentReport]:
    """Validate every document of a catalog file's text.

    ``location`` names the file in messages (Backstage's ``file:<path>`` location);
    ``placeholders`` says where ``$text``/``$json``/``$yaml`` may read from.
    """
    options = options or ValidationOptions()
    context = placeholders or PlaceholderContext(
        None, None, options.strict_placeholders, options.max_bytes
    )
    documents = parse_documents(text, max_depth=options.max_depth)
    # A placeholder key starts with '$' (or an escape that spells one): most files have
    # neither, and need no walk through every value looking for one.
    may_have_placeholders = "$" in text or "\\" in text
    if not documents:
        report = DocumentReport(None, 1, empty=True)
        report.problems.append(empty_file(options))
        return [report]
    reports: list[DocumentReport] = []
    for document in documents:
        report = DocumentReport(document.index, document.line, empty=document.empty)
        reports.append(report)
        if document.problem is not None:
            problem = document.problem
            report.problems.append(
                Problem(
                    ERROR,
                    problem.rule,
                    problem.message,
                    problem.line,
                    problem.column,
                    stage="parse",
                    backstage=f"YAML error at {location}, YAMLParseError: {problem.message}"
                    f" at line {problem.line}, column {problem.column}",
                )
            )
        elif document.empty:
            report.problems.append(empty_document(document.line, options))
        else:
            check = _DocumentCheck(options, location, context if may_have_placeholders else None)
            check.run(document.value, report)
            report.problems = check.problems
        for warning in document.warnings:
            report.problems.append(
                Problem(WARNING, warning.rule, warning.message, warning.line, warning.column)
            )
    duplicate_entities(reports, options)
    for report, document in zip(reports, documents, strict=True):
        report.problems = _errors_first(_place(report.problems, document))
    return reports
