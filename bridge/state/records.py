"""What the state keeps of an entity's reads, and how they are made whole again.

Only what an entity is made from is kept: of the latest commit its id and dates; of the
commits in the developers window their authors and dates; the languages are the entity's
own (an amount per language).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bridge.azure.models import Commit, LanguageShare, Signature


def _iso_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _time_or_none(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def commit_record(commit: Commit) -> dict[str, Any]:
    """What the state keeps of the latest commit."""
    return {
        "id": commit.id,
        "author_date": _iso_or_none(commit.author.date),
        "committer_date": _iso_or_none(commit.committer.date),
    }


def commit_from(record: dict[str, Any] | None) -> Commit | None:
    """The latest commit again, as much of it as the entity needs (None: there was none)."""
    if record is None:
        return None
    author = Signature(None, None, _time_or_none(record["author_date"]))
    committer = Signature(None, None, _time_or_none(record["committer_date"]))
    return Commit(record["id"], author, committer, "", False)


def author_record(commit: Commit) -> dict[str, Any]:
    """What the state keeps of a commit in the developers window: its author."""
    author = commit.author
    return {
        "id": commit.id,
        "name": author.name,
        "email": author.email,
        "date": _iso_or_none(author.date),
    }


def author_commit(record: dict[str, Any]) -> Commit:
    """A commit of the developers window again, as much of it as the developers list needs."""
    author = Signature(record["name"], record["email"], _time_or_none(record["date"]))
    return Commit(record["id"], author, author, "", False)


def stored_shares(stored: dict[str, int] | None) -> tuple[LanguageShare, ...] | None:
    """The previous entity's languages as shares (bytes, or files where it had no bytes:
    either way the amount the entity shows)."""
    if stored is None:
        return None
    return tuple(LanguageShare(name, amount, None, None) for name, amount in stored.items())
