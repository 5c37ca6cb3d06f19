"""The conformance fixtures and their recorded oracle verdicts.

``tests/fixtures/conformance`` holds catalog files with valid and invalid documents for every
rule; ``oracle-verdicts.json`` records what the oracle said about each document. Regenerate it
after changing a fixture with ``python -m tests.support.conformance``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.oracle import first_error, install_oracle

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "conformance"
VERDICTS = FIXTURES / "oracle-verdicts.json"
# Files the placeholder fixtures read; they are not entities.
SUPPORT_FILES = frozenset(("openapi.yaml", "data.yaml", "two-docs.yaml"))


def fixture_files() -> list[Path]:
    """The entity files of the suite, in a stable order."""
    return sorted(p for p in FIXTURES.rglob("*.yaml") if p.name not in SUPPORT_FILES)


def relative(path: Path) -> str:
    """A fixture's name in the verdict file."""
    return path.relative_to(FIXTURES).as_posix()


def summarize(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Oracle rows reduced to what the suite compares: verdict and first error per document."""
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        name = relative(Path(row["file"]))
        error = first_error(row)
        if error is not None:  # parse errors quote the path the oracle was given
            error = error.replace(f"file:{FIXTURES}/", "file:")
        out.setdefault(name, []).append(
            {"index": row["index"], "ok": row["ok"], "first_error": error}
        )
    return out


def recorded() -> dict[str, list[dict[str, Any]]]:
    """The verdicts recorded from the oracle."""
    data: dict[str, list[dict[str, Any]]] = json.loads(VERDICTS.read_text(encoding="utf-8"))
    return data


def record() -> None:
    """Run the oracle over the fixtures and write the verdict file."""
    oracle = install_oracle()
    verdicts = summarize(oracle.run(fixture_files()))
    VERDICTS.write_text(json.dumps(verdicts, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    record()
