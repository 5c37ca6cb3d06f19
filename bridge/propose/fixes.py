"""Safe automatic fixes of an existing catalog file, through the round-trip writer.

Only changes whose intent is certain are made, and only the lines holding them change
(:mod:`bridge.catalog.roundtrip` keeps every other byte): a Component or API without the
``dev.azure.com/project-repo`` annotation gets it (the repository is known), and a location
annotation holding a plain ``http(s)`` URL gets the ``url:`` prefix Backstage requires.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.catalog import roundtrip
from bridge.catalog.lint import LOCATION_REF_ANNOTATIONS, PROJECT_REPO

# Kinds that describe the repository itself, so that naming it is right.
_REPOSITORY_KINDS = ("component", "api")


@dataclass(frozen=True, slots=True)
class Fixed:
    """The fixed text and one line per fix, for the pull request description."""

    text: str
    fixes: tuple[str, ...]


def fix_catalog(text: str, *, project: str, repository: str) -> Fixed | None:
    """``text`` with its safe fixes applied; None when there is nothing (safe) to fix.

    A file the round-trip reader cannot load is left alone (None): its problems need a
    person.
    """
    try:
        stream = roundtrip.load(text)
    except roundtrip.RoundTripError:
        return None
    fixes: list[str] = []
    several = len(stream.documents) > 1
    for number, document in enumerate(stream.documents, start=1):
        where = f"document {number}" if several else "the entity"
        fixes.extend(_fix_document(document.data, where, f"{project}/{repository}"))
    if not fixes:
        return None
    return Fixed(roundtrip.dump(stream), tuple(fixes))


def _fix_document(data: Any, where: str, project_repo: str) -> list[str]:
    if not isinstance(data, dict) or not isinstance(data.get("metadata"), dict):
        return []
    metadata = data["metadata"]
    annotations = metadata.get("annotations")
    if annotations is not None and not isinstance(annotations, dict):
        return []  # not a mapping: Backstage reports it, and no fix is certain
    fixes = []
    for key in LOCATION_REF_ANNOTATIONS:
        value = (annotations or {}).get(key)
        if isinstance(value, str) and value.split(":", 1)[0] in ("http", "https"):
            annotations[key] = f"url:{value}"  # type: ignore[index]  # not None: it held value
            fixes.append(f"{key} of {where}: added the `url:` prefix Backstage requires")
    kind = data.get("kind")
    if (
        isinstance(kind, str)
        and kind.lower() in _REPOSITORY_KINDS
        and PROJECT_REPO not in (annotations or {})
    ):
        if annotations is None:
            annotations = metadata["annotations"] = _new_mapping()
        annotations[PROJECT_REPO] = project_repo
        fixes.append(
            f"{PROJECT_REPO} of {where}: added `{project_repo}`, the repository it lives in"
        )
    return fixes


def _new_mapping() -> Any:
    from ruamel.yaml.comments import CommentedMap

    return CommentedMap()
