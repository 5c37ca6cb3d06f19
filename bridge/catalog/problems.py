"""What validation finds: problems, and reports per document and per file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding, pointing at a line and column (1-based) when it has a place.

    ``stage`` and ``backstage`` are set for errors Backstage itself raises: ``backstage`` is the
    exact text Backstage reports (``<stage>: <backstage>`` is what its catalog shows), while
    ``message`` is the short form printed to people. Lint findings have neither.
    """

    severity: str
    rule: str
    message: str
    line: int | None = None
    column: int | None = None
    stage: str | None = None
    backstage: str | None = None
    # Where in the document the problem is (keys and indices), and whether it is about the key
    # itself; used to find the line and column, not reported.
    path: tuple[str | int, ...] = field(default=(), compare=False)
    at_key: bool = field(default=False, compare=False)

    @property
    def is_error(self) -> bool:
        """Whether this problem makes the document invalid."""
        return self.severity == ERROR


@dataclass(slots=True)
class DocumentReport:
    """The verdict on one YAML document (``index`` is 0-based; ``None`` for the whole file)."""

    index: int | None
    line: int
    problems: list[Problem] = field(default_factory=list)
    empty: bool = False
    api_version: str | None = None
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    # The parsed entity (placeholders not resolved), for callers that read fields from it.
    entity: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """True when no problem is an error."""
        return not any(p.is_error for p in self.problems)

    @property
    def errors(self) -> list[Problem]:
        """The errors, the one Backstage reports first at the head."""
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        """The warnings."""
        return [p for p in self.problems if not p.is_error]

    @property
    def ref(self) -> str | None:
        """The entity reference ``kind:namespace/name``, lower-cased as Backstage does."""
        if self.kind is None or self.name is None:
            return None
        return f"{self.kind}:{self.namespace or 'default'}/{self.name}".lower()


@dataclass(slots=True)
class FileReport:
    """Every document of one file, plus problems about the file as a whole."""

    path: str
    documents: list[DocumentReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every document is valid."""
        return all(document.ok for document in self.documents)
