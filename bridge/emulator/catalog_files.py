"""Realistic Backstage ``catalog-info.yaml`` texts for generated repositories.

Four kinds: a valid Component; an invalid file with a mistake people really make (missing
``spec.owner``, a malformed ``metadata.name``, a YAML syntax error, a duplicate key); and a
multi-entity file of two or three documents including a non-Component kind.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from enum import Enum


class CatalogKind(Enum):
    """What a generated repository holds at ``/catalog-info.yaml``."""

    VALID = "valid"
    INVALID = "invalid"
    MULTI_ENTITY = "multi_entity"
    MISSING = "missing"


class Mistake(Enum):
    """The mistake planted in an invalid catalog file."""

    MISSING_OWNER = "missing_owner"
    BAD_NAME = "bad_name"
    SYNTAX_ERROR = "syntax_error"
    DUPLICATE_KEY = "duplicate_key"


_TYPES = ("service", "service", "service", "website", "library")
_LIFECYCLES = ("production", "production", "experimental", "deprecated")
_ACRONYMS = frozenset({"api", "ui", "db", "sdk", "etl", "iam"})
_TAGS = ("python", "dotnet", "java", "typescript", "go", "payments", "internal", "api", "batch")


def slug(name: str) -> str:
    """A valid entity name for a repository name (lower case, ``-`` separated, ≤ 63 chars)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63].rstrip("-") or "component"


@dataclass(frozen=True, slots=True)
class Facts:
    """What a catalog file says about its repository."""

    name: str
    title: str
    project: str
    repository: str
    owner: str
    system: str
    type: str
    lifecycle: str
    tag: str

    @classmethod
    def draw(cls, rng: random.Random, project: str, repository: str) -> Facts:
        """Plausible facts for ``project/repository``."""
        words = [word for word in re.split(r"[-_ .]+", repository) if word]
        title = " ".join(w.upper() if w.lower() in _ACRONYMS else w.capitalize() for w in words)
        return cls(
            name=slug(repository),
            title=title,
            project=project,
            repository=repository,
            owner=f"group:default/{slug(project)}-team",
            system=slug(project),
            type=rng.choice(_TYPES),
            lifecycle=rng.choice(_LIFECYCLES),
            tag=rng.choice(_TAGS),
        )


def _component(
    facts: Facts, *, name: str | None = None, owner: bool = True, extra_spec: str = ""
) -> str:
    owner_line = f"  owner: {facts.owner}\n" if owner else ""
    return (
        "apiVersion: backstage.io/v1alpha1\n"
        "kind: Component\n"
        "metadata:\n"
        f"  name: {name or facts.name}\n"
        f"  title: {facts.title}\n"
        f"  description: {facts.title} of the {facts.project} domain.\n"
        "  annotations:\n"
        f"    dev.azure.com/project-repo: {facts.project}/{facts.repository}\n"
        "  tags:\n"
        f"    - {facts.tag}\n"
        "spec:\n"
        f"  type: {facts.type}\n"
        f"  lifecycle: {facts.lifecycle}\n"
        f"{owner_line}"
        f"  system: {facts.system}\n"
        f"{extra_spec}"
    )


def valid_file(facts: Facts) -> str:
    """One valid Component."""
    return _component(facts)


def invalid_file(facts: Facts, mistake: Mistake) -> str:
    """A Component with ``mistake`` in it."""
    if mistake is Mistake.MISSING_OWNER:
        return _component(facts, owner=False)
    if mistake is Mistake.BAD_NAME:
        # Spaces and "!" are outside [A-Za-z0-9] separated by [-_.]
        return _component(facts, name=f"{facts.title}!")
    if mistake is Mistake.SYNTAX_ERROR:
        # A description with an unclosed quote runs to the end of the file.
        text = _component(facts)
        return text.replace(f"  description: {facts.title}", f'  description: "{facts.title}', 1)
    text = _component(facts)  # DUPLICATE_KEY: "owner" twice in one mapping
    return text.replace(
        f"  owner: {facts.owner}\n",
        f"  owner: {facts.owner}\n  owner: group:default/platform-team\n",
        1,
    )


def multi_entity_file(facts: Facts, rng: random.Random) -> str:
    """A Component plus an API and, sometimes, the Resource it depends on."""
    with_resource = rng.random() < 0.5
    api = f"{facts.name}-api"
    relations = f"  providesApis:\n    - {api}\n"
    if with_resource:
        relations += f"  dependsOn:\n    - resource:{facts.name}-db\n"
    documents = [
        _component(facts, extra_spec=relations),
        "apiVersion: backstage.io/v1alpha1\n"
        "kind: API\n"
        "metadata:\n"
        f"  name: {api}\n"
        f"  description: HTTP API of {facts.title}.\n"
        "spec:\n"
        "  type: openapi\n"
        f"  lifecycle: {facts.lifecycle}\n"
        f"  owner: {facts.owner}\n"
        f"  system: {facts.system}\n"
        "  definition: |\n"
        "    openapi: 3.0.0\n"
        "    info:\n"
        f"      title: {facts.title}\n"
        "      version: 1.0.0\n"
        "    paths: {}\n",
    ]
    if with_resource:
        documents.append(
            "apiVersion: backstage.io/v1alpha1\n"
            "kind: Resource\n"
            "metadata:\n"
            f"  name: {facts.name}-db\n"
            f"  description: Database of {facts.title}.\n"
            "spec:\n"
            "  type: database\n"
            f"  owner: {facts.owner}\n"
            f"  system: {facts.system}\n"
        )
    return "---\n".join(documents)
