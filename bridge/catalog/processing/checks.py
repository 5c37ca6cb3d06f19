"""Lints over the whole catalog that Backstage does not do: dangling references, catalog files
no Location reaches, and references that differ from their target only in case."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from bridge.catalog.problems import WARNING
from bridge.catalog.processing.model import CatalogProblem, CatalogResult, ProcessingOptions
from bridge.catalog.reader import CatalogReader
from bridge.catalog.yamlload import YamlDocument, parse_documents


class _Positions:
    """Line and column of a path in a document, parsing a file again only when asked."""

    def __init__(self, reader: CatalogReader, max_bytes: int) -> None:
        self.reader = reader
        self.max_bytes = max_bytes
        self.cache: dict[str, list[YamlDocument]] = {}

    def find(self, file: str, index: int | None, path: tuple[str | int, ...]) -> tuple[int, int]:
        documents = self.cache.get(file)
        if documents is None:
            data = self.reader.read(file, self.max_bytes)
            text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else ""
            documents = self.cache[file] = parse_documents(text)
        if index is None or index >= len(documents):
            return 1, 1
        document = documents[index]
        while True:
            position = document.position(path)
            if position is not None or not path:
                break
            path = path[:-1]
        return (position.line, position.column) if position is not None else (1, 1)


def lint_catalog(
    reader: CatalogReader,
    files: Sequence[str],
    result: CatalogResult,
    options: ProcessingOptions,
) -> Iterator[CatalogProblem]:
    """Dangling and case-only references of the ingested entities (``result.sources``), then
    orphan files among ``files`` (the tree's YAML files)."""
    positions = _Positions(reader, options.validation.max_bytes)
    defined = {entity.ref: entity for entity in result.entities}
    dropped = {entry.ref: entry for entry in result.dropped}
    for source in result.sources:
        file = source.file
        for field, path, key, namespace, name in source.references:
            target = defined.get(key)
            if target is not None and target.ingested:
                if (namespace, name) != (target.namespace, target.name):
                    line, column = positions.find(file, source.index, path)
                    yield CatalogProblem(
                        WARNING,
                        "ref-case",
                        file,
                        line,
                        column,
                        f'spec.{field}: {key} is written "{namespace}/{name}" but defined as '
                        f'"{target.namespace}/{target.name}" in {target.file}; Backstage ignores '
                        "case, tools comparing names exactly do not",
                    )
                continue
            line, column = positions.find(file, source.index, path)
            if target is not None:
                where = f"; {target.file} defines it but it is not in the catalog (see its errors)"
            elif key in dropped:
                where = (
                    f"; {dropped[key].file} defines it but it is dropped "
                    f"(its parent {dropped[key].parent_ref} failed)"
                )
            else:
                where = "; Backstage accepts this silently and the relation leads nowhere"
            yield CatalogProblem(
                WARNING,
                "dangling-ref",
                file,
                line,
                column,
                f"spec.{field}: no entity {key} in the catalog{where}",
            )
    yield from _orphans(reader, files, result.files_read, options)


def _orphans(
    reader: CatalogReader, files: Sequence[str], reached: set[str], options: ProcessingOptions
) -> Iterator[CatalogProblem]:
    """Catalog files (YAML holding a Backstage entity) that no Location reads."""
    for file in files:
        if file in reached:
            continue
        try:
            data = reader.read(file, options.validation.max_bytes)
        except OSError:
            continue
        if isinstance(data, int) or b"backstage.io" not in data:
            continue
        for document in parse_documents(data.decode("utf-8", errors="replace")):
            value = document.value
            if (
                document.problem is None
                and isinstance(value, dict)
                and "backstage.io" in str(value.get("apiVersion", ""))
                and "kind" in value
            ):
                yield CatalogProblem(
                    WARNING,
                    "orphan-file",
                    file,
                    document.line,
                    1,
                    f"{value.get('kind')} entities in this file are not reached by any Location "
                    "from the root, so Backstage never reads them",
                )
                break
