"""The pull request state machine end to end against the emulator (real HTTP on 127.0.0.1):
run twice it opens each pull request once; it updates, rebases, leaves alone, reopens and
reports Azure DevOps refusals as outcomes."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from bridge.azure.client import AzureDevOpsClient
from bridge.emulator import RunningEmulator
from bridge.errors import AuthenticationError
from bridge.propose.plan import Inferred
from bridge.propose.pullrequests import Action, Budget, PullRequestOptions, propose_all
from tests.propose.conftest import (
    BRANCH,
    READER,
    catalog_text,
    estate_repository,
    make_client,
    proposal,
    pull_requests,
)

pytestmark = pytest.mark.anyio

APPLY = PullRequestOptions(branch=BRANCH, apply=True)
DRY = PullRequestOptions(branch=BRANCH)


async def _branch_text(client: AzureDevOpsClient, repository: str) -> str | None:
    content = await client.file_content("Shop", repository, "/catalog-info.yaml", branch=BRANCH)
    return None if content is None else content.text


async def test_apply_twice_opens_each_pull_request_exactly_once(
    client: AzureDevOpsClient, emulator: RunningEmulator
) -> None:
    described = replace(
        proposal("cart"),
        values=(Inferred("owner", "group:default/shop", "the project's default team"),),
        entity_ref="component:default/cart",
    )
    options = PullRequestOptions(
        branch=BRANCH, apply=True, draft=True, reviewers=("reviewer-1",), labels=("backstage",)
    )
    first = await propose_all(client, [described, proposal("checkout")], options)
    assert [o.action for o in first] == [Action.OPENED, Action.OPENED]
    second = await propose_all(client, [described, proposal("checkout")], options)
    assert [o.action for o in second] == [Action.UNCHANGED, Action.UNCHANGED]

    for name in ("cart", "checkout"):
        prs = pull_requests(emulator, "contoso", name)
        assert len(prs) == 1 and prs[0].status == "active"
        assert (
            prs[0].source_ref == f"refs/heads/{BRANCH}" and prs[0].target_ref == "refs/heads/main"
        )
        assert prs[0].is_draft and prs[0].reviewer_ids == ("reviewer-1",)
        assert prs[0].labels == ("backstage",)
        assert await _branch_text(client, name) == catalog_text(name)
    cart = pull_requests(emulator, "contoso", "cart")[0]
    assert "| owner | group:default/shop | the project's default team |" in cart.description
    assert "component:default/cart" in cart.description
    assert "https://backstage.io/docs/" in cart.description
    # The default branch is untouched until someone merges.
    assert await client.file_content("Shop", "cart", "/catalog-info.yaml") is None


async def test_a_pull_request_costs_four_requests_per_run(
    client: AzureDevOpsClient, emulator: RunningEmulator
) -> None:
    before = client.stats.requests
    await propose_all(client, [proposal("cart")], APPLY)
    # The tool's pull requests, the default branch's tip, the push, the pull request.
    assert client.stats.requests - before == 4
    before = client.stats.requests
    await propose_all(client, [proposal("cart")], APPLY)
    # The pull requests, the branch's two newest commits, the default tip, the file.
    assert client.stats.requests - before == 4


async def test_a_dry_run_reads_and_changes_nothing(
    client: AzureDevOpsClient, emulator: RunningEmulator
) -> None:
    [outcome] = await propose_all(client, [proposal("cart")], DRY)
    assert outcome.action == Action.OPENED and not outcome.applied
    assert "would push" in outcome.detail
    assert pull_requests(emulator, "contoso", "cart") == []
    assert f"refs/heads/{BRANCH}" not in estate_repository(emulator, "contoso", "cart").history.refs


async def test_changed_content_updates_the_branch_of_the_open_pull_request(
    client: AzureDevOpsClient, emulator: RunningEmulator
) -> None:
    await propose_all(client, [proposal("cart")], APPLY)
    changed = proposal("cart", catalog_text("cart", owner="group:default/payments"))
    [dry] = await propose_all(client, [changed], DRY)
    assert dry.action == Action.UPDATED and "would be updated" in dry.detail
    assert await _branch_text(client, "cart") == catalog_text("cart")
    [outcome] = await propose_all(client, [changed], APPLY)
    assert outcome.action == Action.UPDATED
    assert await _branch_text(client, "cart") == changed.text
    history = estate_repository(emulator, "contoso", "cart").history
    tip = history.commits[history.refs[f"refs/heads/{BRANCH}"]]
    assert tip.parents == (history.refs["refs/heads/main"],)  # still one commit on main
    assert len(pull_requests(emulator, "contoso", "cart")) == 1
    [again] = await propose_all(client, [changed], APPLY)
    assert again.action == Action.UNCHANGED


async def test_an_abandoned_pull_request_is_left_alone_unless_reopen(
    client: AzureDevOpsClient, emulator: RunningEmulator
) -> None:
    [opened] = await propose_all(client, [proposal("cart")], APPLY)
    assert opened.pull_request is not None
    await client.update_pull_request("Shop", "cart", opened.pull_request, status="abandoned")

    [left] = await propose_all(client, [proposal("cart")], APPLY)
    assert left.action == Action.ABANDONED and "--reopen" in left.detail
    assert [pr.status for pr in pull_requests(emulator, "contoso", "cart")] == ["abandoned"]

    reopen = PullRequestOptions(branch=BRANCH, apply=True, reopen=True)
    [reopened] = await propose_all(client, [proposal("cart")], reopen)
    assert reopened.action == Action.REOPENED and reopened.pull_request == opened.pull_request
    assert [pr.status for pr in pull_requests(emulator, "contoso", "cart")] == ["active"]


async def test_a_completed_pull_request_means_nothing_to_do(
    client: AzureDevOpsClient, emulator: RunningEmulator
) -> None:
    [opened] = await propose_all(client, [proposal("cart")], APPLY)
    # Merged in the web UI: the file reaches main and the pull request is completed.
    main = await anext(client.refs("Shop", "cart", filter="heads/main"))
    await client.push_file(
        "Shop", "cart", branch="main", base_commit_id=main.object_id,
        path="/catalog-info.yaml", content=catalog_text("cart"), comment="Merged PR",
    )  # fmt: skip
    pull_requests(emulator, "contoso", "cart")[0].status = "completed"

    [outcome] = await propose_all(client, [proposal("cart")], APPLY)
    assert outcome.action == Action.COMPLETED and outcome.pull_request == opened.pull_request
    assert len(pull_requests(emulator, "contoso", "cart")) == 1


async def test_a_moved_default_branch_gets_a_rebased_branch(
    client: AzureDevOpsClient, emulator: RunningEmulator
) -> None:
    await propose_all(client, [proposal("cart")], APPLY)
    history = estate_repository(emulator, "contoso", "cart").history
    old_tip = history.refs[f"refs/heads/{BRANCH}"]
    main = await anext(client.refs("Shop", "cart", filter="heads/main"))
    await client.push_file(
        "Shop", "cart", branch="main", base_commit_id=main.object_id,
        path="/src/app.py", content="print('moved on')\n", comment="Work goes on",
    )  # fmt: skip
    new_main = history.refs["refs/heads/main"]

    [dry] = await propose_all(client, [proposal("cart")], DRY)
    assert dry.action == Action.REBASED and history.refs[f"refs/heads/{BRANCH}"] == old_tip
    [outcome] = await propose_all(client, [proposal("cart")], APPLY)
    assert outcome.action == Action.REBASED and "the default branch moved" in outcome.detail
    new_tip = history.refs[f"refs/heads/{BRANCH}"]
    assert new_tip != old_tip
    assert history.commits[new_tip].parents == (new_main,)  # one commit on the new tip
    assert await _branch_text(client, "cart") == catalog_text("cart")
    assert len(pull_requests(emulator, "contoso", "cart")) == 1
    [again] = await propose_all(client, [proposal("cart")], APPLY)
    assert again.action == Action.UNCHANGED


async def test_a_branch_policy_refusal_is_the_repositorys_outcome(
    emulator: RunningEmulator,
) -> None:
    # The branch exists already and a policy protects it: TF401028 then TF402455.
    async with make_client(emulator, "fabrikam") as client:
        budget = Budget(1)
        [outcome] = await propose_all(
            client, [proposal("locked", organization="fabrikam")], APPLY, budget=budget
        )
    assert outcome.action == Action.POLICY
    assert "TF402455" in outcome.detail and BRANCH in outcome.detail
    assert pull_requests(emulator, "fabrikam", "locked") == []
    assert budget.take()  # the slot it did not use was given back


async def test_concurrent_runs_open_one_pull_request(emulator: RunningEmulator) -> None:
    # Two runs at once: one pushes and opens; the other meets TF401028 on its push, finds
    # the branch up to date, and meets TF401179 when it opens its own.
    async with make_client(emulator) as first, make_client(emulator) as second:
        outcomes = await asyncio.gather(
            propose_all(first, [proposal("cart")], APPLY),
            propose_all(second, [proposal("cart")], APPLY),
        )
    actions = sorted(outcome.action for [outcome] in outcomes)
    assert actions == [Action.ALREADY_OPEN, Action.OPENED]
    assert len(pull_requests(emulator, "contoso", "cart")) == 1


async def test_limit_caps_new_pull_requests_per_run(
    client: AzureDevOpsClient, emulator: RunningEmulator
) -> None:
    limited = PullRequestOptions(branch=BRANCH, apply=True, limit=1)
    both = [proposal("cart"), proposal("checkout")]
    first = sorted(o.action for o in await propose_all(client, both, limited))
    assert first == [Action.LIMITED, Action.OPENED]
    second = sorted(o.action for o in await propose_all(client, both, limited))
    assert second == [Action.OPENED, Action.UNCHANGED]
    assert all(len(pull_requests(emulator, "contoso", n)) == 1 for n in ("cart", "checkout"))


async def test_a_token_without_code_write_stops_the_run(emulator: RunningEmulator) -> None:
    async with make_client(emulator, token=READER) as client:
        with pytest.raises(AuthenticationError) as caught:
            await propose_all(client, [proposal("cart")], APPLY)
    assert "Code (Read & write)" in str(caught.value)
    assert pull_requests(emulator, "contoso", "cart") == []


async def test_a_merged_fix_does_not_stop_a_new_one(
    client: AzureDevOpsClient, emulator: RunningEmulator
) -> None:
    original = catalog_text("web")
    first = replace(proposal("web", original + "# fixed once\n"), original=original)
    [opened] = await propose_all(client, [first], APPLY)
    assert opened.action == Action.OPENED
    pull_requests(emulator, "contoso", "web")[0].status = "completed"
    second = replace(first, text=original + "# fixed twice\n")
    [again] = await propose_all(client, [second], APPLY)
    assert again.action == Action.OPENED and again.pull_request != opened.pull_request
    assert await _branch_text(client, "web") == second.text
    assert [pr.status for pr in pull_requests(emulator, "contoso", "web")] == [
        "completed",
        "active",
    ]
