"""Benchmark: validating 10,000 catalog documents, catalog-bridge against the Node oracle.

Builds a tree of at least 10,000 YAML documents by copying the public corpus
(``shared/catalog-corpus/public``) into a temporary folder, then times whole processes:

* ``catalog-bridge validate --format json`` over the tree and the reference oracle
  (``node validate.mjs``, the real @backstage/catalog-model) over the same tree, taking turns
  so that a busy machine slows both alike (``--runs``, default 5 each);
* ``catalog-bridge validate`` on one file, as a pre-commit hook runs it (the console script;
  ``--hook-runs``, default 20).

It checks that both give the same verdict for every document, prints wall times (best and
median) and CPU times (user + system), and each figure against its goal (issue 7): the large
run at least 4x faster than the oracle, the hook at most 0.15 s. Exits 1 when a goal is missed.
Run from the project root: ``python -m benchmarks.validate``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import compile_project
from bridge.catalog.yamlload import parse_documents
from tests.support.oracle import install_oracle
from tests.support.shared import PROJECT_ROOT, shared_path

TARGET_DOCUMENTS = 10_000
SPEED_UP_GOAL = 4.0  # catalog-bridge at least this many times faster than the oracle
HOOK_GOAL = 0.15  # seconds for the hook on one file, whole process


@dataclass
class Runs:
    """Wall and CPU seconds of repeated runs of one command."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def line(self, label: str) -> str:
        return (
            f"{label:<25} wall best {min(self.wall):.3f} s, median "
            f"{statistics.median(self.wall):.3f} s; CPU best {min(self.cpu):.3f} s, median "
            f"{statistics.median(self.cpu):.3f} s ({len(self.wall)} runs, whole process)"
        )


def build_tree(folder: Path) -> tuple[int, int]:
    """Copy the corpus into ``folder`` until it holds TARGET_DOCUMENTS documents."""
    corpus = shared_path("catalog-corpus", "public")
    files = sorted(p for p in corpus.rglob("*") if p.suffix in (".yaml", ".yml"))
    per_copy = sum(len(parse_documents(p.read_text(encoding="utf-8"))) or 1 for p in files)
    copies = -(-TARGET_DOCUMENTS // per_copy)
    for number in range(copies):
        shutil.copytree(corpus, folder / f"copy-{number:03d}")
    return copies * len(files), copies * per_copy


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(command: list[str], runs: Runs, output: Path | None = None) -> None:
    """Run ``command`` once, adding its times to ``runs``; stdout goes to ``output``.

    A file rather than a pipe: the oracle ends with process.exit(), which can cut off
    output still queued for a pipe.
    """
    with open(output or os.devnull, "w", encoding="utf-8") as stdout:
        cpu = _children_cpu()
        start = time.perf_counter()
        result = subprocess.run(
            command, stdout=stdout, stderr=subprocess.PIPE, text=True, check=False
        )
        runs.wall.append(time.perf_counter() - start)
        runs.cpu.append(_children_cpu() - cpu)
    if result.returncode not in (0, 1):
        raise SystemExit(f"{command[0]} failed ({result.returncode}): {result.stderr[-2000:]}")


def verdicts(output: Path) -> dict[tuple[str, int], bool]:
    """Document verdicts of a JSON-lines report: (file, index) -> ok."""
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines() if line]
    return {(row["file"], row["index"]): row["ok"] for row in rows if row["index"] is not None}


def hook_command() -> list[str]:
    """The command pre-commit runs: the installed console script (else ``python -m bridge``)."""
    script = Path(sys.executable).with_name("catalog-bridge")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bridge"]


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description="catalog-bridge validate against the oracle")
    parser.add_argument("--runs", type=int, default=5, help="runs of each large validation")
    parser.add_argument("--hook-runs", type=int, default=20, help="runs of the hook")
    args = parser.parse_args()
    compile_project()
    oracle = install_oracle()
    ours, theirs, hook = Runs(), Runs(), Runs()
    with tempfile.TemporaryDirectory() as temp:
        tree = Path(temp) / "tree"
        files, documents = build_tree(tree)
        ours_out, theirs_out = Path(temp) / "ours.jsonl", Path(temp) / "theirs.jsonl"
        ours_command = [
            *hook_command(),
            "validate",
            "--format",
            "json",
            "--glob",
            "*.yaml",
            "--glob",
            "*.yml",
            str(tree),
        ]
        for _ in range(args.runs):
            run_once(ours_command, ours, ours_out)
            run_once(["node", str(oracle.folder / "validate.mjs"), str(tree)], theirs, theirs_out)
        mine, reference = verdicts(ours_out), verdicts(theirs_out)
        agree = sum(mine.get(key) == ok for key, ok in reference.items())
    hook_file = PROJECT_ROOT / "templates" / "service" / "catalog-info.yaml"
    for _ in range(args.hook_runs):
        run_once([*hook_command(), "validate", str(hook_file)], hook)
    best = min(theirs.wall) / min(ours.wall)
    typical = statistics.median(theirs.wall) / statistics.median(ours.wall)
    hook_median = statistics.median(hook.wall)
    same = agree == len(reference) == len(mine)
    print(f"documents: {documents} in {files} files")
    print(ours.line("catalog-bridge validate:"))
    print(theirs.line("Node oracle:"))
    print(
        f"speed-up:                 {best:.2f}x best against best, {typical:.2f}x median against "
        f"median; goal >= {SPEED_UP_GOAL:g}x: {verdict(min(best, typical) >= SPEED_UP_GOAL)}"
    )
    print(
        f"same verdict:             {agree} of {len(reference)} documents "
        f"({len(mine)} reported by catalog-bridge): {verdict(same)}"
    )
    print(hook.line("hook, one file:"))
    print(
        f"hook goal:                median {hook_median:.3f} s; goal <= {HOOK_GOAL:g} s: "
        f"{verdict(hook_median <= HOOK_GOAL)}"
    )
    if not (same and min(best, typical) >= SPEED_UP_GOAL and hook_median <= HOOK_GOAL):
        sys.exit(1)


if __name__ == "__main__":
    main()
