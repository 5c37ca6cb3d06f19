"""Run the processing oracle (``shared/oracle-catalog``: the real @backstage/plugin-catalog-backend
4.0.5 processing) and catalog-bridge's engine over one tree, in comparable form."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.catalog.processing.engine import process_catalog
from bridge.catalog.processing.model import ProcessingOptions
from bridge.catalog.processing.output import json_lines
from bridge.catalog.processing.rules import DEFAULT_RULES, parse_rules
from bridge.catalog.reader import FolderReader
from tests.support.node import install_folder, run_ndjson
from tests.support.shared import shared_path


@dataclass(frozen=True)
class Outcome:
    """What a fresh catalog holds, in a form both sides can be compared in."""

    entities: frozenset[tuple[str, bool]]  # (ref, ingested)
    errors: frozenset[tuple[str, str, str]]  # (file, entity ref, message)
    dropped: frozenset[tuple[str, str, str]]  # (ref, file, parent ref)
    conflicts: frozenset[tuple[str, frozenset[str]]]  # (ref, {both files}): order-free

    @property
    def ingested(self) -> frozenset[str]:
        """The refs a fresh catalog holds."""
        return frozenset(ref for ref, ingested in self.entities if ingested)


def _message(text: str) -> str:
    # npm yaml appends a code frame (":\n\n<line>\n  ^\n") to its syntax errors; catalog-bridge
    # reports the position, not the frame.
    return text.split(":\n\n", 1)[0]


def outcome(lines: list[dict[str, Any]], root: Path) -> Outcome:
    """An :class:`Outcome` from NDJSON lines (files absolute, or relative to ``root``)."""

    def path(file: str | None) -> str:
        if file is None:
            return ""
        return file if file.startswith("/") else str(root / file)

    by_type: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_type.setdefault(line["type"], []).append(line)
    return Outcome(
        frozenset((e["ref"], e["ingested"]) for e in by_type.get("entity", [])),
        frozenset(
            (path(e["file"]), e["entityRef"], _message(e["message"]))
            for e in by_type.get("error", [])
        ),
        frozenset((d["ref"], path(d["file"]), d["parentRef"]) for d in by_type.get("dropped", [])),
        frozenset(
            (c["ref"], frozenset((path(c["file"]), path(c["existingFile"]))))
            for c in by_type.get("conflict", [])
        ),
    )


@dataclass(frozen=True)
class CatalogOracle:
    """An installed copy of the processing oracle."""

    folder: Path

    def run(self, root_file: Path, rules: str | None = None) -> list[dict[str, Any]]:
        """The oracle's NDJSON lines for the tree registered at ``root_file``.

        Node runs in the root file's folder: targets without a leading ``.`` resolve there.
        """
        flags = ["--absolute-paths", *(["--rules", rules] if rules else [])]
        script = str(self.folder / "catalog-oracle.mjs")
        return run_ndjson([script, str(root_file), *flags], timeout=300, cwd=root_file.parent)


def install_catalog_oracle() -> CatalogOracle:
    """Install the oracle once (cached in .cache/); skips when shared/ or node is missing."""
    return CatalogOracle(install_folder(shared_path("oracle-catalog"), "oracle-catalog"))


def bridge_lines(root_file: Path, rules: str | None = None) -> list[dict[str, Any]]:
    """catalog-bridge's NDJSON lines for the same tree (read from the root file's folder)."""
    folder = root_file.parent.resolve()
    options = ProcessingOptions(
        rules=parse_rules(rules) if rules else DEFAULT_RULES, absolute_root=str(folder)
    )
    result = process_catalog(FolderReader(folder), root_file.name, options)
    return list(json_lines(result, strict=False))
