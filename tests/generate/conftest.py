"""Runs of ``generate`` against the emulator on loopback (real HTTP), in this process."""

from __future__ import annotations

import io
import os
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bridge.emulator import (
    Estate,
    EstateFile,
    RunningEmulator,
    load_estate,
    parse_estate,
    run_in_thread,
    sample_estate_path,
)
from bridge.generate.command import generate_command
from bridge.sync.engine import SyncOptions

TOKEN_ENV = "GENERATE_TEST_PAT"


@dataclass
class Run:
    """One ``generate`` run: exit code, report (standard output) and standard error."""

    code: int
    stdout: str
    stderr: str


@dataclass
class Served:
    """An emulator serving an estate, and the full-access token's value."""

    emulator: RunningEmulator
    token: str
    estate: Estate

    def config(self, folder: Path, generate: str = "") -> Path:
        """A configuration file reading every organization, with ``generate`` (YAML lines
        of the profile's ``generate:`` section)."""
        section = ""
        if generate:
            section = "    generate:\n" + textwrap.indent(textwrap.dedent(generate), " " * 6)
        folder.mkdir(parents=True, exist_ok=True)
        file = folder / "catalog-bridge.yaml"
        file.write_text(
            "profiles:\n"
            "  - name: test\n"
            '    organizations: ["*"]\n'
            f"    api_url: {self.emulator.base_url}/\n"
            "    allow_http: true\n"
            f"    token_env: {TOKEN_ENV}\n"
            "    backstage: {}\n" + section,
            encoding="utf-8",
        )
        return file

    def generate(
        self,
        folder: Path,
        *,
        output: Path | None = None,
        into: Path | None = None,
        commit_branch: str | None = None,
        report_format: str = "text",
        generate: str = "",
    ) -> Run:
        """``catalog-bridge generate`` through its library entry point."""
        stdout, stderr = io.StringIO(), io.StringIO()
        code = generate_command(
            config_file=str(self.config(folder, generate)),
            profiles=(),
            options=SyncOptions(),
            output=output,
            into=into,
            location="catalog-info.yaml",
            commit_branch=commit_branch,
            report_format=report_format,
            environ={**os.environ, TOKEN_ENV: self.token},
            stdout=stdout,
            stderr=stderr,
        )
        return Run(code, stdout.getvalue(), stderr.getvalue())


def _full_token(loaded: EstateFile) -> str:
    return next(
        token.value
        for token in loaded.estate.tokens.values()
        if not token.revoked and token.organizations is None
    )


def serve_estate(loaded: EstateFile) -> Iterator[Served]:
    """Serve ``loaded`` until the generator is closed."""
    with run_in_thread(loaded.estate, options=loaded.options) as emulator:
        yield Served(emulator, _full_token(loaded), loaded.estate)


# Hostile repository names: spaces, dots, unicode, YAML look-alikes, 100 characters, the same
# name in two projects and two organizations, and names differing only in case.
LONG_NAME = "a-really-long-repository-name-" * 3 + "x" * 10
HOSTILE_NAMES = (
    "a: b #c",
    "yes",
    "0123",
    "Payments API",
    "payments.api",
    "my.repo.v2",
    "Zürich Ünïcode ☃",
    "日本語",
    "--edge__case..",
    LONG_NAME,
)
HOSTILE_ESTATE = f"""
tokens:
  - {{name: admin, value: hostile-token-0123456789}}
organizations:
  - name: contoso
    projects:
      - name: Payments Platform
        repositories:
{
    "".join(
        f"          - name: {name!r}{chr(10)}            files: {{README.md: x}}{chr(10)}"
        for name in HOSTILE_NAMES
    )
}
      - name: Payments
        repositories:
          - name: payments api
            files: {{README.md: x}}
          - name: billing
            files: {{README.md: x}}
  - name: fabrikam
    projects:
      - name: Payments
        repositories:
          - name: Billing
            files: {{README.md: x}}
          - name: "a: b #c"
            files: {{README.md: x}}
"""


@pytest.fixture(scope="module")
def sample() -> Iterator[Served]:
    """The emulator serving the bundled sample estate."""
    yield from serve_estate(load_estate(sample_estate_path()))


@pytest.fixture
def hostile() -> Iterator[Served]:
    """The emulator serving an estate of hostile repository names (none has a catalog)."""
    yield from serve_estate(parse_estate(HOSTILE_ESTATE, source="hostile"))
