"""Query-string enums, read strictly as the service reads them.

ASP.NET binds an enum parameter from its name in any case or from its number (the Node SDK
sends numbers: ``recursionLevel=120``, ``searchCriteria.status=1``, ``versionType=0``); any
other value is refused with a 400 rather than silently read as the default.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.emulator import api_errors


@dataclass(frozen=True, slots=True)
class QueryEnum:
    """A .NET enum: its type name and its members as ``(name, number)``."""

    type_name: str
    members: tuple[tuple[str, int], ...]

    def parse(self, parameter: str, raw: str) -> str:
        """The member ``raw`` names (lower-cased), by name in any case or by number."""
        text = raw.strip()
        for name, number in self.members:
            if text.lower() == name.lower() or (text.isdigit() and int(text) == number):
                return name.lower()
        names = ", ".join(name for name, _ in self.members)
        raise api_errors.invalid_argument(
            f"The value '{raw}' is not valid for parameter '{parameter}' of type "
            f"{self.type_name}. Valid values are: {names}."
        )


RECURSION = QueryEnum(
    "VersionControlRecursionType",
    (("none", 0), ("oneLevel", 1), ("oneLevelPlusNestedEmptyFolders", 4), ("full", 120)),
)
VERSION_TYPE = QueryEnum("GitVersionType", (("branch", 0), ("tag", 1), ("commit", 2)))
VERSION_OPTIONS = QueryEnum(
    "GitVersionOptions", (("none", 0), ("previousChange", 1), ("firstParent", 2))
)
PULL_REQUEST_STATUS = QueryEnum(
    "PullRequestStatus",
    (("notSet", 0), ("active", 1), ("abandoned", 2), ("completed", 3), ("all", 4)),
)
