"""Remote catalog repositories: fetch_into_cache with the real git client against the emulator."""

from __future__ import annotations

import os
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bridge.catalog.gitreader import GitTreeReader
from bridge.emulator import EmulatorOptions, Estate, FaultOptions, RunningEmulator
from bridge.emulator.app import GIT_ROUTE
from bridge.errors import (
    AuthenticationError,
    ConfigError,
    EmptyRepositoryError,
    NotFoundError,
    ServiceError,
    UsageError,
)
from bridge.gitrepo import GitRepository, fetch_into_cache, local_or_fetched
from bridge.secrets import Secret
from tests.emulator.conftest import ADMIN, API, REVOKED, auth, estate_file
from tests.support.emulator import CATALOG, serving
from tests.support.git import git
from tests.support.secrets import assert_no_secrets, secret_forms

GIT_PATH = "/contoso/Payments/_git/payments-api"
REST_PATH = "/contoso/Payments/_apis/git/repositories/payments-api"
UNKNOWN = "unknown-token-0123456789"


@pytest.fixture
def estate() -> Estate:
    return estate_file().estate


@pytest.fixture
def emulator(estate: Estate) -> Iterator[RunningEmulator]:
    with serving(lambda: estate) as start:
        yield start()


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def _rest_commits(emulator: RunningEmulator) -> list[str]:
    answer = httpx.get(
        f"{emulator.base_url}{REST_PATH}/commits", params=API, auth=auth(ADMIN), timeout=10
    )
    return [commit["commitId"] for commit in answer.json()["value"]]


def _read(path: Path, ref: str | None, file: str) -> bytes | int:
    with GitRepository(path) as repository:
        return GitTreeReader(repository, ref).read(file, 1 << 20)


def test_a_fetched_repository_reads_at_the_default_branch_a_tag_and_a_commit(
    emulator: RunningEmulator, estate: Estate, cache: Path
) -> None:
    organization = estate.organization("contoso")
    project = organization.project("Payments") if organization else None
    repo = project.repository("payments-api") if project else None
    assert repo is not None
    oldest = _rest_commits(emulator)[-1]
    repo.writable_history().refs["refs/tags/v1"] = oldest  # the estate declares no tags
    path = fetch_into_cache(emulator.base_url + GIT_PATH, Secret(ADMIN), cache)
    assert path.parent == cache
    with GitRepository(path) as repository:
        reader = GitTreeReader(repository)
        assert reader.ref == "main"
        assert reader.commit == _rest_commits(emulator)[0]
        assert reader.read("catalog-info.yaml", 1 << 20) == CATALOG.encode()
        assert GitTreeReader(repository, "v1").commit == oldest
        assert GitTreeReader(repository, oldest).read("README.md", 1 << 20) == b"# Payments API"


def test_the_default_ref_is_the_remotes_default_branch(
    emulator: RunningEmulator, cache: Path
) -> None:
    path = fetch_into_cache(
        emulator.base_url + "/contoso/Identity/_git/identity-service", ADMIN, cache
    )
    with GitRepository(path) as repository:
        assert repository.default_ref() == "trunk"
        assert _read(path, None, "docs/catalog-info.yaml") == b"nested: true"


def test_a_second_fetch_picks_up_a_push_through_the_rest_api(
    emulator: RunningEmulator, cache: Path
) -> None:
    url = emulator.base_url + GIT_PATH
    first = fetch_into_cache(url, ADMIN, cache)
    tip = _rest_commits(emulator)[0]
    pushed = httpx.post(
        f"{emulator.base_url}{REST_PATH}/pushes",
        params=API,
        auth=auth(ADMIN),
        json={
            "refUpdates": [{"name": "refs/heads/develop", "oldObjectId": tip}],
            "commits": [
                {
                    "comment": "Add a system",
                    "changes": [
                        {
                            "changeType": "add",
                            "item": {"path": "/systems/payments.yaml"},
                            "newContent": {"content": "kind: System\n", "contentType": "rawtext"},
                        }
                    ],
                }
            ],
        },
    )
    assert pushed.status_code == 201
    second = fetch_into_cache(f"http://contoso@{url.removeprefix('http://')}/", ADMIN, cache)
    assert second == first  # user-info and a trailing slash name the same cache
    with GitRepository(second) as repository:
        reader = GitTreeReader(repository, "develop")  # main is protected in this estate
        assert reader.commit == pushed.json()["commits"][0]["commitId"]
        assert reader.read("systems/payments.yaml", 1 << 20) == b"kind: System\n"


@pytest.mark.parametrize(
    ("token", "reason", "status"), [(REVOKED, "rejected", 401), (UNKNOWN, "unknown-token", 203)]
)
def test_a_refused_token_is_a_clean_authentication_error_without_the_token(
    emulator: RunningEmulator, cache: Path, token: str, reason: str, status: int
) -> None:
    url = emulator.base_url + GIT_PATH
    with pytest.raises(AuthenticationError) as caught:
        fetch_into_cache(url, Secret(token), cache)
    error = caught.value
    assert (error.reason, error.status) == (reason, status)
    assert url in str(error)
    assert_no_secrets([str(error), repr(error)], secret_forms(token))
    assert_no_secrets(_everything_in(cache), secret_forms(token))


def test_a_missing_repository_is_not_found(emulator: RunningEmulator, cache: Path) -> None:
    url = emulator.base_url + "/contoso/Payments/_git/nope"
    with pytest.raises(NotFoundError, match="TF401019") as caught:
        fetch_into_cache(url, ADMIN, cache)
    assert url in str(caught.value)


def _everything_in(folder: Path) -> list[str]:
    """Every file under ``folder``, decoded leniently (objects are zlib: tokens would be in
    config, refs, logs or hooks, which are text)."""
    return [
        file.read_bytes().decode("latin-1") for file in sorted(folder.rglob("*")) if file.is_file()
    ]


def test_the_token_is_never_on_disk_in_argv_or_in_the_repository_config(
    emulator: RunningEmulator, cache: Path, tmp_path: Path
) -> None:
    # A git on PATH that records its command line, then runs the real git.
    real_git = subprocess.run(["which", "git"], capture_output=True, text=True, check=True)
    shim = tmp_path / "bin" / "git"
    shim.parent.mkdir()
    argv_log = tmp_path / "argv.log"
    shim.write_text(f'#!/bin/sh\necho "$@" >> {argv_log}\nexec {real_git.stdout.strip()} "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", f"{shim.parent}{os.pathsep}{os.environ['PATH']}")
        path = fetch_into_cache(emulator.base_url + GIT_PATH, Secret(ADMIN), cache)
    logged = argv_log.read_text()
    assert "fetch" in logged and "ls-remote" in logged
    forms = secret_forms(ADMIN)
    assert_no_secrets([logged, *_everything_in(cache)], forms)
    config = subprocess.run(
        ["git", "--git-dir", str(path), "config", "--list", "--local"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "extraheader" not in config.lower()
    assert "remote." not in config  # the URL is not remembered either


def test_concurrent_fetches_of_one_cache_take_turns(emulator: RunningEmulator, cache: Path) -> None:
    url = emulator.base_url + GIT_PATH
    results: list[Path | BaseException] = []

    def fetch() -> None:
        try:
            results.append(fetch_into_cache(url, ADMIN, cache))
        except BaseException as error:  # reported by the assertion below
            results.append(error)

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and isinstance(results[0], Path), results
    checked = subprocess.run(
        ["git", "--git-dir", str(results[0]), "fsck", "--no-dangling"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_plain_http_to_another_host_is_refused_before_any_request(cache: Path) -> None:
    with pytest.raises(ConfigError, match="plain http"):
        fetch_into_cache("http://dev.example.com/org/project/_git/catalog", ADMIN, cache)
    assert not cache.exists()


def test_a_local_path_is_read_in_place_without_network(tmp_path: Path, cache: Path) -> None:
    folder = tmp_path / "catalog"
    folder.mkdir()
    git(folder, "init", "-q", "-b", "trunk")
    git(folder, "commit", "-q", "--allow-empty", "-m", "x")
    (folder / "catalog-info.yaml").write_text("kind: Location\n")
    git(folder, "add", ".")
    git(folder, "commit", "-qm", "y")
    # No proxy or server exists for these settings: any network use would fail.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
        patch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
        path = local_or_fetched(str(folder), Secret(ADMIN), cache)
    assert path == folder
    assert not cache.exists()
    assert _read(path, None, "catalog-info.yaml") == b"kind: Location\n"


def test_an_on_premises_url_is_fetched_like_a_cloud_one(cache: Path) -> None:
    with serving(lambda: estate_file().estate) as start:
        emulator = start(options=EmulatorOptions(layout="onprem"))
        url = f"{emulator.base_url}/tfs/contoso/Payments/_git/payments-api"
        path = fetch_into_cache(url, ADMIN, cache)
    assert _read(path, None, "catalog-info.yaml") == CATALOG.encode()


def test_https_with_the_profiles_certificate_authority(cache: Path) -> None:
    pytest.importorskip("trustme")
    with serving(lambda: estate_file().estate) as start:
        emulator = start(tls=True)
        assert emulator.ca_pem_path is not None
        url = emulator.base_url + GIT_PATH
        path = fetch_into_cache(url, ADMIN, cache, ca_file=emulator.ca_pem_path)
        # A refusal is read over the same trusted connection.
        with pytest.raises(AuthenticationError) as caught:
            fetch_into_cache(url, REVOKED, cache, ca_file=emulator.ca_pem_path)
    assert _read(path, None, "catalog-info.yaml") == CATALOG.encode()
    assert caught.value.reason == "rejected"


def test_a_repository_without_branches_says_so(emulator: RunningEmulator, cache: Path) -> None:
    url = emulator.base_url + "/contoso/Payments/_git/payments-sandbox"
    with pytest.raises(EmptyRepositoryError, match="no branches yet") as caught:
        fetch_into_cache(url, ADMIN, cache)
    assert url in str(caught.value)


def test_a_server_that_stalls_ends_in_a_clean_timeout(cache: Path) -> None:
    stalling = EmulatorOptions(
        faults=FaultOptions(stall_rate=1.0, stall_seconds=600, routes=(GIT_ROUTE,))
    )
    with serving(lambda: estate_file().estate) as start:
        emulator = start(options=stalling)
        with pytest.raises(ServiceError, match=r"did not finish within 0\.5 seconds"):
            fetch_into_cache(emulator.base_url + GIT_PATH, ADMIN, cache, timeout=0.5)


def test_an_unusable_cache_folder_is_a_clean_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(UsageError, match="cannot use the git cache"):
        fetch_into_cache("https://dev.azure.com/org/project/_git/catalog", ADMIN, blocker)
