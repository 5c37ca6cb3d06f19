"""Sharding a sync across pipeline jobs: which organizations and projects a job takes.

``--shard I/N`` gives job I (1-based) of N a stable share: an organization belongs to the
shard its hashed ``profile/organization`` name falls into, so the split does not depend on
the order Azure DevOps lists things in, nor on what else exists. An organization too big for
one job is named in ``--split-org``: every shard lists its projects, and each project
belongs to the shard its hashed ``profile/organization/project`` falls into. Names are
compared case-insensitively, as Azure DevOps compares them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bridge.errors import UsageError

_SHARD = re.compile(r"(\d+)/(\d+)")


def _bucket(name: str, count: int) -> int:
    # sha256, not hash(): the same on every agent and every Python run.
    digest = hashlib.sha256(name.casefold().encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``; ``split``: organizations shared by project."""

    index: int = 1
    count: int = 1
    split: frozenset[str] = frozenset()  # case-folded organization names

    def takes_organization(self, profile: str, organization: str) -> bool:
        """Whether this shard syncs (some of) ``organization``."""
        if self.count == 1 or organization.casefold() in self.split:
            return True
        return _bucket(f"{profile}/{organization}", self.count) == self.index - 1

    def takes_project(self, profile: str, organization: str, project: str) -> bool:
        """Whether this shard syncs ``project`` of an organization it takes."""
        if self.count == 1 or organization.casefold() not in self.split:
            return True
        return _bucket(f"{profile}/{organization}/{project}", self.count) == self.index - 1

    def owns(self, profile: str, organization: str, project: str | None) -> bool:
        """Whether a repository there (``project`` None: anywhere in the organization) is
        this shard's."""
        if not self.takes_organization(profile, organization):
            return False
        return project is None or self.takes_project(profile, organization, project)

    def describe(self) -> dict[str, Any]:
        """The shard as recorded beside its output (see :mod:`bridge.nightly.merge`)."""
        return {"shard": self.index, "of": self.count, "split": sorted(self.split)}


def parse_shard(text: str, split: Iterable[str] = ()) -> Shard:
    """``I/N`` (1 ≤ I ≤ N) as a :class:`Shard`; a :class:`~bridge.errors.UsageError` else."""
    match = _SHARD.fullmatch(text.strip())
    if not match:
        raise UsageError(f"--shard {text!r}: expected I/N, e.g. 2/4")
    index, count = int(match[1]), int(match[2])
    if not 1 <= index <= count:
        raise UsageError(f"--shard {text!r}: I must be between 1 and N")
    return Shard(index, count, frozenset(name.casefold() for name in split))


@dataclass(frozen=True, slots=True)
class Scope:
    """What one run covers: its profiles, its organization filter and its shard. Previous
    entities outside the scope are neither compared, carried over nor counted."""

    profiles: frozenset[str]
    organizations: frozenset[str] = frozenset()  # lower-case; empty: all
    shard: Shard = Shard()

    def covers(self, entity: Mapping[str, Any]) -> bool:
        """Whether ``entity`` (current or previous) lies within this run."""
        profile, organization = str(entity["profile"]), str(entity["organization"])
        if profile not in self.profiles:
            return False
        if self.organizations and organization.lower() not in self.organizations:
            return False
        return self.shard.owns(profile, organization, entity.get("project"))
