"""Benchmark: fetching a catalog repository of many files from the emulator over Git.

An emulated repository holds ``--files`` small catalog files (default 5,000) in folders of
100. The script times :func:`bridge.gitrepo.fetch_into_cache` three times against the
emulator's Git endpoint on 127.0.0.1: the first fetch (the emulator builds its mirror, the
cache is cloned), a second one with nothing new, and a third after a push through the REST
API; and then reading every file at the default branch through ``GitTreeReader``.

Run from the project root: ``python -m benchmarks.git_fetch [--files N]``.
"""

from __future__ import annotations

import argparse
import base64
import json
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from bridge.catalog.gitreader import GitTreeReader
from bridge.emulator import parse_estate, run_in_thread
from bridge.gitrepo import GitRepository, fetch_into_cache

TOKEN = "benchmark-token-0123456789"
REPOSITORY = "/bench/catalogs/_git/catalog"
REST = "/bench/catalogs/_apis/git/repositories/catalog"


def _estate_yaml(files: int) -> str:
    lines = [f"group-{i // 100}/component-{i}.yaml: 'kind: Component'" for i in range(files)]
    return (
        f"tokens: [{{name: bench, value: {TOKEN}}}]\n"
        "organizations:\n"
        "  - name: bench\n"
        "    projects:\n"
        "      - name: catalogs\n"
        "        repositories:\n"
        "          - name: catalog\n"
        "            files:\n" + "\n".join(f"              {line}" for line in lines) + "\n"
    )


def _call(base_url: str, path: str, body: object | None = None) -> object:
    request = urllib.request.Request(
        f"{base_url}{path}?api-version=7.1",
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Authorization": "Basic " + base64.b64encode(f":{TOKEN}".encode()).decode(),
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.load(answer)


def _push(base_url: str) -> None:
    refs = _call(base_url, f"{REST}/refs")
    assert isinstance(refs, dict)
    tip = refs["value"][0]["objectId"]
    change = {
        "changeType": "add",
        "item": {"path": "/added.yaml"},
        "newContent": {"content": "kind: System\n", "contentType": "rawtext"},
    }
    _call(
        base_url,
        f"{REST}/pushes",
        {
            "refUpdates": [{"name": "refs/heads/main", "oldObjectId": tip}],
            "commits": [{"comment": "One more", "changes": [change]}],
        },
    )


def _timed(label: str, action: Callable[[], None]) -> None:
    start = time.perf_counter()
    action()
    print(f"{label:<46} {time.perf_counter() - start:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    files = parser.parse_args().files
    estate = parse_estate(_estate_yaml(files), source="benchmark").estate
    with run_in_thread(estate) as emulator, tempfile.TemporaryDirectory() as scratch:
        url, cache = emulator.base_url + REPOSITORY, Path(scratch)

        def fetch() -> None:
            fetch_into_cache(url, TOKEN, cache)

        def read_all() -> None:
            with GitRepository(fetch_into_cache(url, TOKEN, cache)) as repository:
                reader = GitTreeReader(repository)
                for path in reader.files():
                    reader.read(path, 1 << 20)

        print(f"catalog repository of {files} files, emulator on 127.0.0.1")
        _timed("first fetch (mirror built, cache cloned)", fetch)
        _timed("second fetch (nothing new)", fetch)
        _push(emulator.base_url)
        _timed("fetch after a push through the REST API", fetch)
        _timed("fetch + read every file at the default branch", read_all)


if __name__ == "__main__":
    main()
