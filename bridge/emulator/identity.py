"""People in the emulated estate: identities (token owners, pushers, users) and signatures."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

# Fixed namespace so that the same e-mail address always yields the same identity id.
_IDENTITY_NAMESPACE = uuid.UUID("5b0f6a43-5f1e-4d8c-9c52-0d2f8a3e7b11")


@dataclass(frozen=True, slots=True)
class Identity:
    """An Azure DevOps identity (a user); ``id`` is stable for an e-mail address."""

    id: str
    display_name: str
    email: str

    @classmethod
    def of(cls, display_name: str, email: str) -> Identity:
        """The identity of ``email``, with an id derived from it."""
        return cls(str(uuid.uuid5(_IDENTITY_NAMESPACE, email.lower())), display_name, email)

    @property
    def descriptor(self) -> str:
        """The graph subject descriptor (``aad.`` + base64 of the id, as Azure shapes it)."""
        return "aad." + base64.b64encode(self.id.encode()).decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class Signature:
    """Author or committer of a commit."""

    name: str
    email: str
    date: datetime


def format_timestamp(moment: datetime, *, fraction: bool = True) -> str:
    """ISO 8601 in UTC: seven fractional digits like most Azure DevOps dates, or none (commits)."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{moment.microsecond:06d}0Z" if fraction else f"{text}Z"
