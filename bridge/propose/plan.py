"""What each repository is offered: a new catalog file, or a fixed version of its own."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bridge.sync.entity import FOUND, INVALID

if TYPE_CHECKING:
    from bridge.generate.plan import GeneratedFile

ADD = "add"
FIX = "fix"


@dataclass(frozen=True, slots=True)
class Inferred:
    """One value the pull request description lists: what, which value, from where."""

    name: str
    value: str | None
    source: str


@dataclass(frozen=True, slots=True)
class Proposal:
    """The change one repository is offered.

    ``original`` is the file on the default branch (None: the file is added). ``values`` are
    the generated file's inferred values; ``fixes`` say what a fix changes. ``target`` is the
    default branch (short name) the pull request goes to.
    """

    organization: str
    project: str
    repository: str
    repository_id: str
    target: str
    path: str
    text: str
    original: str | None = None
    entity_ref: str = ""
    template: str = ""
    values: tuple[Inferred, ...] = ()
    fixes: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """``add`` for a new file, ``fix`` for a change to an existing one."""
        return ADD if self.original is None else FIX

    @property
    def where(self) -> str:
        """``organization/project/repository``."""
        return f"{self.organization}/{self.project}/{self.repository}"


@dataclass(frozen=True, slots=True)
class Skipped:
    """A repository that cannot be offered a pull request, and why."""

    where: str
    reason: str


def _key(organization: str, repository_id: str) -> tuple[str, str]:
    return organization.lower(), repository_id.lower()


def additions(
    files: Iterable[GeneratedFile], entities: Sequence[Mapping[str, Any]]
) -> tuple[list[Proposal], list[Skipped]]:
    """One proposal per generated file, aimed at its repository's default branch.

    Repositories that cannot take a pull request (empty: no branch to aim at; disabled) are
    returned as skipped, with the reason.
    """
    by_id = {_key(e["organization"], e["id"]): e for e in entities}
    proposals: list[Proposal] = []
    skipped: list[Skipped] = []
    for file in files:
        where = f"{file.organization}/{file.project}/{file.repository}"
        entity = by_id.get(_key(file.organization, file.repository_id))
        reason = _unfit(entity)
        if reason is not None or entity is None:
            skipped.append(Skipped(where, reason or "not among the synced repositories"))
            continue
        proposals.append(
            Proposal(
                organization=file.organization,
                project=file.project,
                repository=file.repository,
                repository_id=file.repository_id,
                target=str(entity["default_branch"]),
                path=file.path,
                text=file.text,
                entity_ref=file.entity_ref,
                template=file.template,
                values=tuple(
                    Inferred(name, provenance.value, provenance.source)
                    for name, provenance in file.values.items()
                ),
            )
        )
    return sorted(proposals, key=lambda p: p.where.lower()), skipped


def _unfit(entity: Mapping[str, Any] | None) -> str | None:
    if entity is None:
        return "not among the synced repositories"
    if entity.get("is_disabled"):
        return "the repository is disabled"
    if not entity.get("default_branch"):
        return "the repository is empty: there is no branch to propose a file to"
    return None


def fixable(entities: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The entities whose catalog file exists and may hold something to fix."""
    return [
        entity
        for entity in entities
        if entity["catalog"]["status"] in (FOUND, INVALID) and _unfit(entity) is None
    ]
