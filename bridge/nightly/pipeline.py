"""The Azure Pipelines template of the nightly job, as ``catalog-bridge init --pipeline``
writes it."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from bridge.errors import UsageError
from bridge.sync.output import write_text_atomically

TEMPLATE = "templates/azure-pipelines/nightly.yml"
"""Where the template lies in the source tree (and, in a wheel, inside the package)."""


def pipeline_template() -> str:
    """The template's text."""
    # A wheel carries it inside the package (pyproject.toml: force-include); a source
    # checkout (an editable install) has it at the root of the tree.
    packaged = resources.files("bridge").joinpath(TEMPLATE)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parents[2] / TEMPLATE).read_text(encoding="utf-8")


def write_pipeline(path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Write the template to ``path`` (atomically; an existing file only with ``force``)."""
    target = Path(path)
    if target.exists() and not force:
        raise UsageError(f"{target} already exists; use --force to replace it")
    write_text_atomically(target, pipeline_template())
    return target
