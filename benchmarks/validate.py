"""Benchmark: validating 10,000 catalog documents, catalog-bridge against the Node oracle.

Builds a tree of at least 10,000 YAML documents by copying the public corpus
(``shared/catalog-corpus/public``) into a temporary folder, then times whole processes:

* ``catalog-bridge validate --format json`` over the tree (best of 3);
* the reference oracle (``node validate.mjs``, the real @backstage/catalog-model) over the
  same tree (best of 3);
* ``catalog-bridge validate`` on one file, as a pre-commit hook runs it (median of 20).

It checks that both give the same verdict for every document and prints the figures.
Run from the project root: ``python -m benchmarks.validate``.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bridge.catalog.yamlload import parse_documents
from tests.support.oracle import install_oracle
from tests.support.shared import PROJECT_ROOT, shared_path

TARGET_DOCUMENTS = 10_000


def build_tree(folder: Path) -> tuple[int, int]:
    """Copy the corpus into ``folder`` until it holds TARGET_DOCUMENTS documents."""
    corpus = shared_path("catalog-corpus", "public")
    files = sorted(p for p in corpus.rglob("*") if p.suffix in (".yaml", ".yml"))
    per_copy = sum(len(parse_documents(p.read_text(encoding="utf-8"))) or 1 for p in files)
    copies = -(-TARGET_DOCUMENTS // per_copy)
    for number in range(copies):
        shutil.copytree(corpus, folder / f"copy-{number:03d}")
    return copies * len(files), copies * per_copy


def timed(command: list[str], runs: int) -> tuple[float, str]:
    """Best wall time of ``runs`` runs, and the output of the last one."""
    best = float("inf")
    output = ""
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        best = min(best, time.perf_counter() - start)
        if result.returncode not in (0, 1):
            raise SystemExit(f"{command[0]} failed: {result.stderr[-2000:]}")
        output = result.stdout
    return best, output


def verdicts(output: str) -> dict[tuple[str, int | None], bool]:
    rows = [json.loads(line) for line in output.splitlines() if line.strip()]
    return {(row["file"], row["index"]): row["ok"] for row in rows}


def main() -> None:
    oracle = install_oracle()
    cli = [sys.executable, "-m", "bridge", "validate"]
    with tempfile.TemporaryDirectory() as temp:
        tree = Path(temp)
        files, documents = build_tree(tree)
        ours_time, ours_out = timed(
            [*cli, "--format", "json", "--glob", "*.yaml", "--glob", "*.yml", str(tree)], 3
        )
        oracle_time, oracle_out = timed(["node", str(oracle.folder / "validate.mjs"), str(tree)], 3)
        ours, theirs = verdicts(ours_out), verdicts(oracle_out)
        compared = [key for key in theirs if key[1] is not None]
        agree = sum(ours.get(key) == theirs[key] for key in compared)
    hook_file = PROJECT_ROOT / "templates" / "catalog-info.yaml"
    hook_runs = []
    for _ in range(20):
        start = time.perf_counter()
        subprocess.run([*cli, str(hook_file)], capture_output=True, check=True)
        hook_runs.append(time.perf_counter() - start)
    print(f"documents: {documents} in {files} files")
    print(f"catalog-bridge validate: {ours_time:.2f} s (best of 3, whole process)")
    print(f"Node oracle:             {oracle_time:.2f} s (best of 3, whole process)")
    print(f"speed-up:                {oracle_time / ours_time:.1f}x")
    print(f"same verdict:            {agree} of {len(compared)} documents")
    print(f"hook, one file:          {statistics.median(hook_runs):.3f} s median of 20 runs")


if __name__ == "__main__":
    main()
