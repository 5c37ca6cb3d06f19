"""The pull request state machine: one proposal, one branch, at most one pull request.

Every run reads the state first (the tool's pull requests from its branch, the branch and
the default branch) and then does the least that brings it in line, so running it again
changes nothing:

* no pull request yet: push the branch (one commit on the default branch) and open one;
* an active one: push only if the file differs, or rebase the branch when the default
  branch moved on since the branch was made (the new commit sits on the new tip and the
  ref is moved from the old tip, which guards against a concurrent update);
* an abandoned one: left alone, unless ``reopen`` (the branch is refreshed, then the pull
  request reactivated);
* a completed one: the file was merged; nothing to do (a fix may be proposed again).

Azure DevOps refusals become outcomes of the repository, not failures of the run:
``TF401179`` (an active pull request already exists), ``TF401028`` (the branch moved
meanwhile), ``TF402455`` (a branch policy refuses the push).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bridge.azure.client import AzureDevOpsClient
from bridge.azure.models import PullRequest
from bridge.errors import (
    AuthenticationError,
    AzureDevOpsError,
    BranchNotFoundError,
    BrokerError,
    ConflictError,
)
from bridge.propose import render
from bridge.propose.plan import ADD, Proposal

_STALE = "TF401028"
_DUPLICATE = "TF401179"
_POLICY = "TF402455"


class Action(StrEnum):
    """What happened to (or, in a dry run, would happen to) one repository."""

    OPENED = "opened"
    UPDATED = "updated"
    REBASED = "rebased"
    REOPENED = "reopened"
    UNCHANGED = "unchanged"
    ABANDONED = "abandoned"
    COMPLETED = "completed"
    ALREADY_OPEN = "already-open"
    STALE = "stale"
    POLICY = "policy"
    LIMITED = "limited"
    FAILED = "failed"


# Outcomes that leave the repository without what was asked: the run exits with 1.
PROBLEMS = frozenset({Action.STALE, Action.POLICY, Action.FAILED})


@dataclass(frozen=True, slots=True)
class PullRequestOptions:
    """How pull requests are made: ``branch`` (short name), ``apply`` (False: a dry run,
    reads only), ``reopen`` abandoned ones, ``limit`` new pull requests per run."""

    branch: str
    apply: bool = False
    reopen: bool = False
    draft: bool = False
    reviewers: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result for one repository: the action, the pull request if any, and a sentence."""

    proposal: Proposal
    action: Action
    detail: str
    pull_request: int | None = None
    applied: bool = False


class Budget:
    """New pull requests left in this run (``--limit``), shared by concurrent repositories.

    A slot is taken before the branch is pushed, so that no branch is left without its pull
    request when the limit is reached, and given back if opening fails.
    """

    def __init__(self, limit: int | None) -> None:
        self._left = limit

    def take(self) -> bool:
        """Take a slot; False when none is left."""
        if self._left is None:
            return True
        if self._left <= 0:
            return False
        self._left -= 1
        return True

    def give_back(self) -> None:
        """Return a slot taken for a pull request that was not opened."""
        if self._left is not None:
            self._left += 1


class _Flow:
    def __init__(
        self, client: AzureDevOpsClient, proposal: Proposal, options: PullRequestOptions
    ) -> None:
        self.client = client
        self.p = proposal
        self.o = options

    def outcome(self, action: Action, detail: str, pr: int | None = None) -> Outcome:
        return Outcome(self.p, action, detail, pr, applied=self.o.apply)

    async def run(self, budget: Budget) -> Outcome:
        newest = await self._pull_requests()
        active = next((pr for pr in newest if pr.status == "active"), None)
        if active is not None:
            return await self._refresh(active)
        # A merged file that is missing again was removed on purpose: leave it be. A merged
        # fix does not stop a new one (the file has new problems).
        if newest and newest[0].status == "completed" and self.p.kind == ADD:
            return self.outcome(
                Action.COMPLETED,
                f"pull request #{newest[0].id} was completed: the file is on the default branch",
                newest[0].id,
            )
        if newest and newest[0].status == "abandoned" and not self.o.reopen:
            return self.outcome(
                Action.ABANDONED,
                f"pull request #{newest[0].id} was abandoned; left alone (--reopen reactivates it)",
                newest[0].id,
            )
        if not budget.take():
            return self.outcome(Action.LIMITED, "not proposed: the --limit of this run is reached")
        try:
            if newest and newest[0].status == "abandoned":  # and --reopen
                return await self._reopen(newest[0])
            return await self._open()
        except BaseException:
            budget.give_back()
            raise

    async def _pull_requests(self) -> list[PullRequest]:
        """The tool's pull requests from its branch to the default branch, newest first."""
        found = [
            pr
            async for pr in self.client.pull_requests(
                self.p.project,
                self.p.repository,
                status="all",
                source_ref=self.o.branch,
                target_ref=self.p.target,
            )
        ]
        return sorted(found, key=lambda pr: -pr.id)

    async def _default_tip(self) -> str:
        name = f"refs/heads/{self.p.target}"
        async for ref in self.client.refs(self.p.project, self.p.repository, filter=name):
            if ref.name == name:
                return ref.object_id
        raise BranchNotFoundError(
            f"the default branch {self.p.target} is gone",
            organization=self.p.organization,
            project=self.p.project,
            repository=self.p.repository,
        )

    async def _push(self, old: str, *, parent: str | None, change: str) -> None:
        await self.client.push_file(
            self.p.project,
            self.p.repository,
            branch=self.o.branch,
            base_commit_id=old,
            parent=parent,
            path=self.p.path,
            content=self.p.text,
            comment=render.commit_message(self.p),
            change_type=change,
        )

    def _change_from_default(self) -> str:
        """The change type of a commit made on the default branch's tip."""
        return "add" if self.p.kind == ADD else "edit"

    async def _open(self) -> Outcome:
        tip = await self._default_tip()
        if not self.o.apply:
            return self.outcome(
                Action.OPENED,
                f"would push {self.o.branch} and open a pull request to {self.p.target}",
            )
        try:
            # A branch that does not exist yet starts at the default branch's tip.
            await self._push(tip, parent=None, change=self._change_from_default())
        except ConflictError as error:
            if error.code != _STALE:
                raise
            # The branch is there already (an earlier run stopped before opening the pull
            # request, or someone made it): bring it up to date first.
            await self._update_branch()
        created = await self._create()
        return self.outcome(
            Action.OPENED, f"opened pull request #{created.id} from {self.o.branch}", created.id
        )

    async def _create(self) -> PullRequest:
        return await self.client.create_pull_request(
            self.p.project,
            self.p.repository,
            source_ref=self.o.branch,
            target_ref=self.p.target,
            title=render.title(self.p),
            description=render.description(self.p),
            draft=self.o.draft,
            reviewers=self.o.reviewers,
            labels=self.o.labels,
        )

    async def _refresh(self, active: PullRequest) -> Outcome:
        action = await self._update_branch()
        if action is None:
            return self.outcome(
                Action.UNCHANGED, f"pull request #{active.id} is up to date", active.id
            )
        verb = {Action.UPDATED: "updated", Action.REBASED: "rebased"}[action]
        if not self.o.apply:
            verb = f"would be {verb}"
        reason = "the file changed" if action == Action.UPDATED else "the default branch moved"
        return self.outcome(action, f"pull request #{active.id} {verb} ({reason})", active.id)

    async def _reopen(self, abandoned: PullRequest) -> Outcome:
        try:
            await self._update_branch()
        except BranchNotFoundError:
            # Abandoning may have deleted the branch: make it again.
            if self.o.apply:
                tip = await self._default_tip()
                await self._push(tip, parent=None, change=self._change_from_default())
        if not self.o.apply:
            return self.outcome(
                Action.REOPENED, f"would reactivate pull request #{abandoned.id}", abandoned.id
            )
        await self.client.update_pull_request(
            self.p.project, self.p.repository, abandoned.id, status="active"
        )
        return self.outcome(
            Action.REOPENED, f"reactivated pull request #{abandoned.id}", abandoned.id
        )

    async def _update_branch(self) -> Action | None:
        """Bring the existing branch in line: None if it already is; else the action taken
        (or, in a dry run, that would be).

        The branch is always one commit on the default branch: its second newest commit is
        the one it was made on. An update replaces that commit by one on the default
        branch's current tip (a rebase when the tip moved); the ref moves from the old
        commit, so a concurrent update is refused (``TF401028``) rather than lost.
        """
        project, repository = self.p.project, self.p.repository
        commits = await self.client.latest_commits(
            project, repository, branch=self.o.branch, count=2
        )
        tip = await self._default_tip()
        current = await self.client.file_content(
            project, repository, self.p.path, branch=self.o.branch
        )
        moved = len(commits) < 2 or commits[1].id != tip
        if not moved and current is not None and current.text == self.p.text:
            return None
        if self.o.apply:
            await self._push(commits[0].id, parent=tip, change=self._change_from_default())
        return Action.REBASED if moved else Action.UPDATED


async def propose_one(
    client: AzureDevOpsClient, proposal: Proposal, options: PullRequestOptions, budget: Budget
) -> Outcome:
    """Bring one repository's pull request in line with ``proposal`` (see the module doc).

    Azure DevOps errors become the repository's outcome; only a run-wide error (the token
    refused or lacking the scope, a broker refusing the call) is raised.
    """
    flow = _Flow(client, proposal, options)
    try:
        return await flow.run(budget)
    except AzureDevOpsError as error:
        return _refused(flow, error)


def stops_the_run(error: AzureDevOpsError) -> bool:
    """Whether ``error`` would be the same for every repository (a token refused or lacking
    the scope, a broker refusing the call): the run then stops with its exit code."""
    return isinstance(error, AuthenticationError | BrokerError)


def _refused(flow: _Flow, error: AzureDevOpsError) -> Outcome:
    branch = flow.o.branch
    if error.code == _DUPLICATE:
        return flow.outcome(
            Action.ALREADY_OPEN,
            f"an active pull request from {branch} already exists (TF401179): it was opened "
            "meanwhile; the next run keeps it up to date",
        )
    if error.code == _STALE:
        return flow.outcome(
            Action.STALE,
            f"{branch} was updated by someone else while this run updated it (TF401028); run again",
        )
    if error.code == _POLICY:
        return flow.outcome(
            Action.POLICY,
            f"a branch policy refuses pushes to {branch} (TF402455); choose another "
            "propose.branch or exempt it from the policy",
        )
    if stops_the_run(error):
        raise error
    return flow.outcome(Action.FAILED, error.detail())


async def propose_all(
    client: AzureDevOpsClient,
    proposals: Sequence[Proposal],
    options: PullRequestOptions,
    *,
    budget: Budget | None = None,
    concurrency: int = 8,
) -> list[Outcome]:
    """:func:`propose_one` for every proposal of one organization, ``concurrency`` at once,
    outcomes in the proposals' order. With a ``limit``, the repositories that reach the
    opening step first take the slots."""
    budget = budget or Budget(options.limit)
    gate = asyncio.Semaphore(concurrency)

    async def one(proposal: Proposal) -> Outcome:
        async with gate:
            return await propose_one(client, proposal, options, budget)

    return list(await asyncio.gather(*(one(p) for p in proposals)))
