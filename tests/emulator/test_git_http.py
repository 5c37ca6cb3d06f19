"""Git's smart HTTP protocol at ``…/_git/{repo}``: the real git client against the emulator."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx

from bridge.emulator import EmulatorOptions, RunningEmulator, parse_estate
from bridge.emulator.app import GIT_ROUTE
from tests.emulator.conftest import (
    ADMIN,
    API,
    ESTATE_YAML,
    FABRIKAM_ONLY,
    REVOKED,
    auth,
    basic_header,
)

GIT_PATH = "/contoso/Payments/_git/payments-api"
ADVERTISEMENT = {"service": "git-upload-pack"}


def git(
    *args: str, token: str = ADMIN, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real git client with the PAT as a header, as Azure DevOps users do."""
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: {basic_header(token)}",
    }
    return subprocess.run(
        ["git", *args], check=False, env=env, cwd=cwd, capture_output=True, text=True
    )


def test_a_clone_holds_the_commits_the_rest_api_shows(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    clone = tmp_path / "clone.git"
    cloned = git("clone", "--bare", "--quiet", emulator.base_url + GIT_PATH, str(clone))
    assert cloned.returncode == 0, cloned.stderr
    rest = f"{emulator.base_url}/contoso/Payments/_apis/git/repositories/payments-api"
    with httpx.Client(auth=auth(ADMIN), timeout=10) as client:
        commits = client.get(f"{rest}/commits", params=API).json()["value"]
        refs = client.get(f"{rest}/refs", params=API).json()["value"]
        tip = client.get(f"{rest}/commits/{commits[0]['commitId']}", params=API).json()
    log = git("--git-dir", str(clone), "log", "--format=%H %T", "main").stdout.splitlines()
    assert [line.split(" ")[0] for line in log] == [c["commitId"] for c in commits]
    assert log[0].split(" ")[1] == tip["treeId"]
    served = git("--git-dir", str(clone), "for-each-ref", "--format=%(refname) %(objectname)")
    assert sorted(served.stdout.splitlines()) == sorted(
        f"{ref['name']} {ref['objectId']}" for ref in refs
    )
    # Byte-exact Git objects: fsck finds nothing wrong, even strictly.
    checked = git("--git-dir", str(clone), "fsck", "--strict", "--no-dangling")
    assert checked.returncode == 0, checked.stderr
    assert git("--git-dir", str(clone), "symbolic-ref", "HEAD").stdout.strip() == "refs/heads/main"
    assert emulator.stats.snapshot()["by_route_status"][GIT_ROUTE]["200"] >= 2


def test_tokens_follow_the_rest_rules(emulator: RunningEmulator) -> None:
    url = emulator.base_url + GIT_PATH + "/info/refs"
    unknown = httpx.get(
        url, params=ADVERTISEMENT, headers={"Authorization": basic_header("unknown-0123456789")}
    )
    assert unknown.status_code == 203
    assert "text/html" in unknown.headers["content-type"]
    for token in (REVOKED, FABRIKAM_ONLY):  # revoked; valid but for another organization
        refused = httpx.get(url, params=ADVERTISEMENT, auth=auth(token))
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Basic")
    anonymous = httpx.get(url, params=ADVERTISEMENT)  # challenged, so that git asks
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Basic")
    assert httpx.get(url, params=ADVERTISEMENT, auth=auth(ADMIN)).status_code == 200


def test_git_reports_a_revoked_token_as_an_authentication_failure(
    emulator: RunningEmulator,
) -> None:
    listed = git("ls-remote", emulator.base_url + GIT_PATH, token=REVOKED)
    assert listed.returncode != 0
    # git asks for credentials after a 401 with WWW-Authenticate, and may not prompt.
    assert "could not read Username" in listed.stderr


def test_pushing_over_git_and_unknown_repositories_are_refused(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    base = emulator.base_url
    receive = httpx.get(
        base + GIT_PATH + "/info/refs",
        params={"service": "git-receive-pack"},
        auth=auth(ADMIN),
    )
    assert receive.status_code == 403
    assert "TF401027" in receive.text
    for missing in ("/contoso/Payments/_git/nope", "/contoso/Payments/_git/legacy-billing"):
        answer = httpx.get(base + missing + "/info/refs", params=ADVERTISEMENT, auth=auth(ADMIN))
        assert answer.status_code == 404
        assert "TF401019" in answer.text
    cloned = git("clone", "--quiet", base + GIT_PATH, str(tmp_path / "work"))
    assert cloned.returncode == 0, cloned.stderr
    pushed = git("push", "origin", "HEAD:refs/heads/other", cwd=tmp_path / "work")
    assert pushed.returncode != 0
    assert "TF401027" in pushed.stderr


def test_on_premises_layout_and_the_project_named_like_its_repository(
    serve: Callable[..., RunningEmulator], tmp_path: Path
) -> None:
    estate = parse_estate(ESTATE_YAML, source="test-estate").estate
    emulator = serve(estate, options=EmulatorOptions(layout="onprem"))
    onprem = f"{emulator.base_url}/tfs/contoso/Payments/_git/payments-api"
    assert git("ls-remote", onprem).returncode == 0
    cloud_style = git("ls-remote", emulator.base_url + GIT_PATH)
    assert cloud_style.returncode != 0  # on premises, paths start with the virtual directory
    estate_yaml = (
        "tokens: [{name: admin, value: "
        + ADMIN
        + "}]\n"
        + (
            "organizations: [{name: contoso, projects: [{name: tools, repositories: "
            "[{name: tools, files: {a.txt: x}}]}]}]\n"
        )
    )
    shortcut = serve(parse_estate(estate_yaml, source="shortcut").estate)
    listed = git("ls-remote", shortcut.base_url + "/contoso/_git/tools")
    assert listed.returncode == 0, listed.stderr
    assert "refs/heads/main" in listed.stdout
