"""Emulators on loopback for the test suites: starting them, and what their estates hold."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator
from typing import Any

from bridge.emulator import EmulatorApp, Estate, RunningEmulator, run_in_thread
from bridge.emulator.estate import Repository

# The catalog file of ``payments-api`` in the hand-written test estates.
CATALOG = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments-api
spec:
  type: service
  lifecycle: production
  owner: group:default/payments
"""


def find_repository(estate: Estate, organization: str, project: str, name: str) -> Repository:
    """A repository of ``estate``, by the names of its organization, project and itself."""
    found = estate.organization(organization)
    assert found is not None, organization
    holder = found.project(project)
    assert holder is not None, project
    repository = holder.repository(name)
    assert repository is not None, name
    return repository


def indented(text: str, spaces: int) -> str:
    """``text`` with every line indented, to embed it as a YAML block scalar."""
    return "".join(" " * spaces + line + "\n" for line in text.splitlines())


@contextlib.contextmanager
def serving(default: Callable[[], Estate]) -> Iterator[Callable[..., RunningEmulator]]:
    """A starter of loopback emulators, ``start(target=None, **options)``, for a ``serve``
    fixture: it serves ``target`` (an estate or an app), else ``default()``, with the options
    of ``run_in_thread``; every emulator it started stops when the block ends."""
    with contextlib.ExitStack() as stack:

        def start(target: Estate | EmulatorApp | None = None, **options: Any) -> RunningEmulator:
            return stack.enter_context(run_in_thread(target or default(), **options))

        yield start


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
