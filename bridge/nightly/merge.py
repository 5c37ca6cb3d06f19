"""``catalog-bridge merge``: the outputs of ``sync --shard I/N`` jobs joined into one.

Each shard records what it covered beside its output, in ``.NAME.shard.json`` (written after
the output is published): its ``I/N``, the organizations split by project, the profiles and
organization filter of its run, and its failures (with the stale entities it kept). The
merge refuses shards of different splits, a shard given twice or missing (a gap), and an
entity in two shards or in a shard that does not own it (an overlap). The merged entities
(stale ones as the shards kept them) go through the same sink as a single job's, in the same
stable order, so the merged output of N shards is byte for byte the output one job would
have written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from bridge.errors import InputError, UsageError
from bridge.nightly.previous import Entity, entity_key, read_entities
from bridge.nightly.publish import NightlyOptions, Publication
from bridge.nightly.report import FailedScope, place
from bridge.nightly.shard import Scope, Shard
from bridge.sync.output import open_sink, write_text_atomically


def manifest_path(output: str | Path) -> Path:
    """Where a shard's record lies: ``.NAME.shard.json`` beside its output."""
    path = Path(output)
    return path.with_name(f".{path.name}.shard.json")


def write_manifest(output: str, shard: Shard, scope: Scope, failed: Sequence[FailedScope]) -> None:
    """Record what the shard writing ``output`` covered (see the module docstring)."""
    record = {
        **shard.describe(),
        "profiles": sorted(scope.profiles),
        "organizations": sorted(scope.organizations),
        "failures": [
            {
                "profile": f.profile,
                "organization": f.organization,
                "project": f.project,
                "reason": f.reason,
                "stale": f.stale,
            }
            for f in failed
        ],
    }
    write_text_atomically(manifest_path(output), json.dumps(record, indent=2) + "\n")


def _manifest(output: str) -> dict[str, Any]:
    path = manifest_path(output)
    try:
        record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"{output}: no shard record ({path.name} beside it): only outputs of "
            "`sync --shard I/N` to a file can be merged"
        ) from None
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: unreadable shard record: {error}") from None
    return record


def _check_complete(outputs: Sequence[str], records: Sequence[Mapping[str, Any]]) -> Shard:
    """The shards form one whole: same N and split, each index once. Returns shard 1/1."""
    first = records[0]
    for output, record in zip(outputs, records, strict=True):
        for key in ("of", "split", "profiles", "organizations"):
            if record.get(key) != first.get(key):
                raise UsageError(
                    f"{output} is a shard of another split than {outputs[0]} "
                    f"({key}: {record.get(key)} vs {first.get(key)})"
                )
    count = int(first["of"])
    given: dict[int, str] = {}
    for output, record in zip(outputs, records, strict=True):
        index = int(record["shard"])
        if index in given:
            raise UsageError(
                f"overlap: shard {index}/{count} given twice ({given[index]}, {output})"
            )
        given[index] = output
    missing = [f"{index}/{count}" for index in range(1, count + 1) if index not in given]
    if missing:
        raise UsageError(f"gap: shard {', '.join(missing)} missing; every shard is needed")
    return Shard(1, count, frozenset(first["split"]))


def merge_command(
    outputs: Sequence[str],
    *,
    output: str,
    output_format: str,
    options: NightlyOptions,
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    """``catalog-bridge merge``: returns the exit code (1 when a ``--fail-on`` condition is
    met; a refused shrink raises :class:`~bridge.errors.ShrinkError`)."""
    if not outputs:
        raise UsageError("name the shard outputs to merge")
    records = [_manifest(path) for path in outputs]
    whole = _check_complete(outputs, records)
    scope = Scope(frozenset(records[0]["profiles"]), frozenset(records[0]["organizations"]))
    publication = Publication(options, scope, output, readable=output_format != "table")
    seen: dict[str, str] = {}
    failed: dict[str, FailedScope] = {}
    with open_sink(output_format, output, stdout=stdout) as sink:
        for path, record in zip(outputs, records, strict=True):
            shard = Shard(int(record["shard"]), whole.count, whole.split)
            for entity in read_entities(Path(path)):
                _check_owner(entity, shard, path, seen)
                sink.write(publication.keep(entity))
            for item in record["failures"]:
                scope_failed = FailedScope(
                    item["profile"],
                    item["organization"],
                    item["project"],
                    item["reason"],
                    int(item["stale"]),
                )
                # A split organization's failure is met by every shard: one line, the stale
                # entities each kept added up.
                known = failed.get(scope_failed.where)
                if known is not None:
                    scope_failed = replace(known, stale=known.stale + scope_failed.stale)
                failed[scope_failed.where] = scope_failed
        conclusion = publication.conclude(list(failed.values()), sink.write)
        if conclusion.refused is not None:
            sink.abort()
    publication.announce(
        conclusion, published=conclusion.refused is None, stdout=stdout, stderr=stderr
    )
    if conclusion.refused is not None:
        raise conclusion.refused
    return conclusion.exit_code


def _check_owner(entity: Entity, shard: Shard, path: str, seen: dict[str, str]) -> None:
    key = entity_key(entity)
    if key in seen:
        raise UsageError(f"overlap: {place(entity)} is in {seen[key]} and in {path}")
    if not shard.owns(entity["profile"], entity["organization"], entity["project"]):
        raise UsageError(
            f"overlap: {place(entity)} in {path} belongs to another shard than "
            f"{shard.index}/{shard.count}"
        )
    seen[key] = path
