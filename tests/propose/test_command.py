"""``propose`` as the CLI runs it: sync, plan, dry run with diffs, apply twice, ``--fix``,
against the emulator on 127.0.0.1. Generation is replaced by hand-made files at its one
seam (``_generated_files``) until the generation library is part of the build."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from bridge.azure.stats import RequestStats
from bridge.config import Profile, load_config
from bridge.emulator import RunningEmulator
from bridge.errors import EXIT_OK, ConfigError, UsageError
from bridge.generate import GeneratedFile
from bridge.propose import command
from bridge.propose.command import ProposeRequest
from bridge.propose.plan import Skipped
from tests.propose.conftest import (
    BRANCH,
    PAT_ENV,
    WEB_CATALOG,
    WRITER,
    estate_repository,
    generated,
    make_client,
    pull_requests,
    run_propose,
    write_config,
)
from tests.support.secrets import assert_no_secrets, secret_forms


@pytest.fixture(autouse=True)
def hand_made_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    async def files(
        entities: Sequence[Mapping[str, Any]], profile: Profile, stats: RequestStats
    ) -> tuple[list[GeneratedFile], list[Skipped]]:
        return list(generated(list(entities))), []

    monkeypatch.setattr(command, "_generated_files", files)


def test_dry_run_then_apply_twice(tmp_path: Path, emulator: RunningEmulator) -> None:
    config = write_config(tmp_path, emulator, "{enabled: true, labels: [backstage]}")
    code, out, err = run_propose(config, ProposeRequest())
    assert code == EXIT_OK
    assert "contoso/Shop/cart: opened: would push catalog-bridge/catalog-info" in out
    assert "--- /dev/null\n+++ b/catalog-info.yaml\n" in out
    assert "+  name: cart\n" in out
    assert "dry run" in err and "2 opened" in err
    assert pull_requests(emulator, "contoso", "cart") == []

    code, out, err = run_propose(config, ProposeRequest(apply=True))
    assert code == EXIT_OK
    assert "contoso/Shop/cart: opened: opened pull request #" in out
    assert "+++" not in out  # the diff is the dry run's
    code, out, err = run_propose(config, ProposeRequest(apply=True))
    assert code == EXIT_OK
    assert "contoso/Shop/cart: unchanged:" in out and "2 unchanged" in err
    for name in ("cart", "checkout"):
        [pr] = pull_requests(emulator, "contoso", name)
        assert pr.labels == ("backstage",)
    assert pull_requests(emulator, "contoso", "web") == []  # it has its file


def test_fix_proposes_only_the_fixed_lines(tmp_path: Path, emulator: RunningEmulator) -> None:
    config = write_config(tmp_path, emulator, "{enabled: true, branch: bridge/fixes}")
    code, out, _ = run_propose(config, ProposeRequest(fix=True))
    assert code == EXIT_OK
    assert "contoso/Shop/web (fix): opened: would push bridge/fixes" in out
    diff = out[out.index("--- a/catalog-info.yaml") :]
    changed = [
        line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    assert changed == [
        "-    backstage.io/source-location: https://dev.azure.com/contoso/Shop/_git/web",
        "+    backstage.io/source-location: url:https://dev.azure.com/contoso/Shop/_git/web",
        "+    dev.azure.com/project-repo: Shop/web",
    ]
    code, out, _ = run_propose(config, ProposeRequest(fix=True, apply=True))
    assert code == EXIT_OK
    [pr] = pull_requests(emulator, "contoso", "web")
    assert pr.source_ref == "refs/heads/bridge/fixes"
    assert "every other line of the file is left as it was" in pr.description
    history = estate_repository(emulator, "contoso", "web").history
    proposed = history.commits[history.refs["refs/heads/bridge/fixes"]].tree["/catalog-info.yaml"]
    expected = WEB_CATALOG.replace("location: https://", "location: url:https://").replace(
        "_git/web\n", "_git/web\n    dev.azure.com/project-repo: Shop/web\n"
    )
    assert proposed.decode() == expected


def test_a_profile_must_enable_propose(tmp_path: Path, emulator: RunningEmulator) -> None:
    config = write_config(tmp_path, emulator, "{enabled: false}")
    with pytest.raises(UsageError, match=re.escape("propose: {enabled: true}")):
        run_propose(config, ProposeRequest())


def test_the_propose_block_is_checked(tmp_path: Path, emulator: RunningEmulator) -> None:
    config = write_config(tmp_path, emulator, "{branch: 'bad..name', reviewers: [1], colour: red}")
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ={PAT_ENV: WRITER})
    text = str(caught.value)
    assert "profiles[0].propose.branch" in text and "not a valid git branch name" in text
    assert "profiles[0].propose.reviewers[0]" in text
    assert "profiles[0].propose.colour" in text
    config = write_config(tmp_path, emulator, "{reviewers: [id-1], draft: true}")
    settings = load_config(config, environ={PAT_ENV: WRITER}).profiles[0].propose
    assert settings.enabled and settings.branch == BRANCH
    assert settings.reviewers == ("id-1",) and settings.draft


def test_command_line_options_over_the_profile(tmp_path: Path, emulator: RunningEmulator) -> None:
    config = write_config(tmp_path, emulator, "{enabled: true, labels: [backstage]}")
    request = ProposeRequest(
        apply=True, limit=1, branch="x/catalog", draft=True, reviewers=("r-1",), labels=("new",)
    )
    code, out, err = run_propose(config, request)
    assert code == EXIT_OK
    assert "limited: not proposed: the --limit of this run is reached" in out
    assert "1 limited, 1 opened" in err
    [pr] = [pr for name in ("cart", "checkout") for pr in pull_requests(emulator, "contoso", name)]
    assert pr.source_ref == "refs/heads/x/catalog" and pr.is_draft
    assert pr.labels == ("backstage", "new") and pr.reviewer_ids == ("r-1",)
    assert_no_secrets([out, err], secret_forms(WRITER))


@pytest.mark.anyio
async def test_a_catalog_file_that_cannot_be_read_again_is_skipped(
    emulator: RunningEmulator,
) -> None:
    # The entity is from a sync; the repository is gone when its file is read again.
    entity = {
        "organization": "contoso",
        "project": "Shop",
        "name": "vanished",
        "id": "0",
        "default_branch": "main",
        "catalog": {"path": "/catalog-info.yaml"},
    }
    async with make_client(emulator) as client:
        fixes, skipped = await command._fixes(client, [entity], 4)
    assert fixes == []
    [skip] = skipped
    assert skip.where == "contoso/Shop/vanished"
    assert "could not be read" in skip.reason and "TF401019" in skip.reason
