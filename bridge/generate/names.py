"""Backstage names for repositories: valid, lower-case, and unique in the namespace.

A Backstage ``metadata.name`` is 1 to 63 characters of ``[A-Za-z0-9-_.]`` that starts and
ends with a letter or digit. Generated names are lower-case too, because Backstage compares
entity references case-insensitively: ``Billing`` and ``billing`` would be the same entity.

Uniqueness is decided over the whole estate at once, never first come first served, so the
name a repository gets does not depend on the order repositories were listed in: a name
wanted by one repository only is used as it is; a name wanted by several (or already taken
by an existing catalog file) becomes ``<project>-<name>`` for each of them; a name still
shared then gets a short hash of the organization, project and repository id.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

MAX_LENGTH = 63
_NOT_ALLOWED = re.compile(r"[^a-z0-9_.]+")
_SEPARATOR_RUN = re.compile(r"[-_.]*-[-_.]*")
_HASH_LENGTH = 6


def backstage_name(text: str, *, limit: int = MAX_LENGTH) -> str:
    """``text`` as a lower-case Backstage name, or ``""`` when nothing of it is usable.

    Accents are dropped (``Café`` → ``cafe``), anything else not allowed becomes ``-`` (one
    for a run), separators are trimmed from both ends, and the result is cut to ``limit``
    characters (trimmed again so it still ends with a letter or digit).
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    name = _NOT_ALLOWED.sub("-", ascii_text.lower())
    name = _SEPARATOR_RUN.sub("-", name).strip("-_.")
    return name[:limit].rstrip("-_.")


@dataclass(frozen=True, slots=True)
class NameRequest:
    """One repository that needs a name."""

    key: str  # unique per repository (organization, project and repository id)
    organization: str
    project: str
    repository: str


def short_hash(key: str) -> str:
    """A short, stable hash of ``key`` (hex)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:_HASH_LENGTH]


def _joined(*parts: str) -> str:
    """Parts joined by ``-``, the last one kept whole: the earlier ones are cut to fit."""
    *heads, last = [part for part in parts if part]
    room = MAX_LENGTH - len(last) - len(heads)
    kept: list[str] = []
    for head in heads:
        cut = head[: max(room, 0)].rstrip("-_.")
        room -= len(cut)
        if cut:
            kept.append(cut)
    return "-".join([*kept, last])


def _with_hash(name: str, key: str) -> str:
    digest = short_hash(key)
    return f"{name[: MAX_LENGTH - _HASH_LENGTH - 1].rstrip('-_.')}-{digest}".lstrip("-")


@dataclass(frozen=True, slots=True)
class AssignedName:
    """The name given to a repository and why it is that one."""

    name: str
    reason: str


def assign_names(
    requests: Sequence[NameRequest], taken: Collection[str] = ()
) -> Mapping[str, AssignedName]:
    """A valid name for each request (by key), unique among them and apart from ``taken``
    (names existing catalog files already use, compared case-insensitively)."""
    existing = {name.lower() for name in taken}
    base = {r.key: backstage_name(r.repository) for r in requests}
    wanted = Counter(base.values())
    assigned: dict[str, AssignedName] = {}
    contested: list[NameRequest] = []
    for request in requests:
        name = base[request.key]
        if not name:
            assigned[request.key] = AssignedName(
                f"repository-{short_hash(request.key)}",
                "no character of the repository name is allowed: a hash of the organization, "
                "project and id",
            )
        elif wanted[name] == 1 and name not in existing and name == request.repository:
            assigned[request.key] = AssignedName(name, "the repository name")
        elif wanted[name] == 1 and name not in existing:
            assigned[request.key] = AssignedName(
                name, "the repository name under Backstage's name rules"
            )
        else:
            contested.append(request)
    prefixed = {r.key: _joined(backstage_name(r.project), base[r.key]) for r in contested}
    wanted_prefixed = Counter(prefixed.values())
    used = existing | {entry.name for entry in assigned.values()}
    for request in contested:
        name = prefixed[request.key]
        if wanted_prefixed[name] == 1 and name not in used:
            reason = f"{base[request.key]!r} is wanted by several repositories or taken: "
            assigned[request.key] = AssignedName(name, reason + "the project name put first")
        else:
            hashed = _with_hash(name, request.key)
            reason = f"{name!r} is still shared: a hash of the organization, project and id"
            assigned[request.key] = AssignedName(hashed, reason)
    return assigned
