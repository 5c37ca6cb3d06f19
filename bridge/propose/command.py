"""The ``propose`` flow: sync the profiles that enable it, plan, and bring each repository's
pull request in line (or, without ``apply``, show what that would do)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TextIO

from bridge.azure.client import AzureDevOpsClient
from bridge.azure.stats import RequestStats
from bridge.config import BackstageSettings, Profile, load_config
from bridge.errors import (
    EXIT_OK,
    EXIT_PROBLEMS,
    AzureDevOpsError,
    UsageError,
)
from bridge.propose import render
from bridge.propose.fixes import fix_catalog
from bridge.propose.plan import (
    ADD,
    Proposal,
    Skipped,
    additions,
    fixable,
)
from bridge.propose.pullrequests import (
    PROBLEMS,
    Action,
    Budget,
    Outcome,
    PullRequestOptions,
    propose_all,
    stops_the_run,
)
from bridge.sync.engine import SyncOptions, synchronize
from bridge.sync.entity import MISSING_FILE
from bridge.terminal import request_log, write_notes

if TYPE_CHECKING:
    from bridge.generate.plan import GeneratedFile


@dataclass(frozen=True, slots=True)
class ProposeRequest:
    """What the command line asks for, on top of each profile's ``propose`` block.

    ``branch`` and ``draft`` override the profile's; ``reviewers`` and ``labels`` add to
    them. ``fix`` also proposes safe fixes of existing files.
    """

    apply: bool = False
    fix: bool = False
    reopen: bool = False
    limit: int | None = None
    branch: str | None = None
    draft: bool | None = None
    reviewers: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    organizations: frozenset[str] = frozenset()


@dataclass(slots=True)
class ProposeReport:
    """What a run did (or would do): one outcome per repository, the skipped ones, the
    sync's exit code and the requests of the pull request step (the sync's not counted)."""

    outcomes: list[Outcome] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    sync_exit_code: int = EXIT_OK
    stats: RequestStats = field(default_factory=RequestStats)

    @property
    def exit_code(self) -> int:
        """1 when a repository did not get what it needed or the sync had failures."""
        if self.sync_exit_code != EXIT_OK:
            return self.sync_exit_code
        if any(outcome.action in PROBLEMS for outcome in self.outcomes):
            return EXIT_PROBLEMS
        return EXIT_OK


def pull_request_options(profile: Profile, request: ProposeRequest) -> PullRequestOptions:
    """The profile's ``propose`` settings with the command line's on top."""
    settings = profile.propose
    return PullRequestOptions(
        branch=request.branch or settings.branch,
        apply=request.apply,
        reopen=request.reopen,
        draft=settings.draft if request.draft is None else request.draft,
        reviewers=tuple(dict.fromkeys(settings.reviewers + request.reviewers)),
        labels=tuple(dict.fromkeys(settings.labels + request.labels)),
        limit=request.limit,
    )


async def _generated_files(
    entities: Sequence[Mapping[str, Any]], profile: Profile, stats: RequestStats
) -> tuple[Sequence[GeneratedFile], list[Skipped]]:
    """The catalog files generated for the repositories of ``entities`` that have none, and
    the repositories that get none, with the reason (no owner could be inferred, a template
    gives an invalid entity, the project's teams could not be read).

    The one seam to the generation library: it reads the teams it needs (one request per
    project) through the profile's client.
    """
    if not any(entity["catalog"]["status"] == MISSING_FILE for entity in entities):
        return [], []
    from bridge.generate.command import plan_for_profile

    plan, team_failures = await plan_for_profile(profile, entities, SyncOptions(), stats)
    skipped = [
        Skipped(f"{item.organization}/{item.project}/{item.repository}", item.reason)
        for item in plan.skipped
    ]
    skipped += [Skipped(failure.where, failure.reason) for failure in team_failures]
    return plan.files, skipped


async def propose(profiles: Sequence[Profile], request: ProposeRequest) -> ProposeReport:
    """Sync ``profiles``, plan their proposals and run the pull request state machine.

    One ``--limit`` budget is shared by every profile and organization of the run.
    """
    report = ProposeReport()
    budget = Budget(request.limit)
    for chosen in profiles:
        # Which repositories lack a catalog file is the point: read the files whatever the
        # profile's sync output asks for.
        profile = chosen if chosen.backstage else replace(chosen, backstage=BackstageSettings())
        entities: list[dict[str, Any]] = []
        result = await synchronize(
            [profile], SyncOptions(organizations=request.organizations), entities.append
        )
        if report.sync_exit_code == EXIT_OK:
            report.sync_exit_code = result.exit_code
        generated, unplanned = await _generated_files(entities, profile, report.stats)
        proposals, skipped = additions(generated, entities)
        report.skipped += unplanned + skipped
        options = pull_request_options(profile, request)
        by_org: dict[str, list[Proposal]] = {}
        for proposal in proposals:
            by_org.setdefault(proposal.organization, []).append(proposal)
        fixing: dict[str, list[Mapping[str, Any]]] = {}
        if request.fix:
            for entity in fixable(entities):
                fixing.setdefault(entity["organization"], []).append(entity)
        for organization in sorted(set(by_org) | set(fixing), key=str.lower):
            async with profile.client(organization, stats=report.stats) as client:
                found = by_org.get(organization, [])
                fixes, unread = await _fixes(
                    client, fixing.get(organization, []), profile.concurrency
                )
                found += fixes
                report.skipped += unread
                report.outcomes += await propose_all(
                    client, found, options, budget=budget, concurrency=profile.concurrency
                )
    report.outcomes.sort(key=lambda outcome: outcome.proposal.where.lower())
    return report


async def _fixes(
    client: AzureDevOpsClient, entities: Sequence[Mapping[str, Any]], concurrency: int
) -> tuple[list[Proposal], list[Skipped]]:
    """A fix proposal for each entity whose catalog file has a safe automatic fix; the
    files that could not be read again are skipped, with the reason."""
    gate = asyncio.Semaphore(concurrency)

    async def one(entity: Mapping[str, Any]) -> Proposal | Skipped | None:
        path = "/" + str(entity["catalog"]["path"]).lstrip("/")
        try:
            async with gate:
                content = await client.file_content(entity["project"], entity["name"], path)
        except AzureDevOpsError as error:
            if stops_the_run(error):
                raise
            where = f"{entity['organization']}/{entity['project']}/{entity['name']}"
            return Skipped(where, f"the catalog file could not be read: {error.detail()}")
        if content is None:
            return None
        fixed = fix_catalog(content.text, project=entity["project"], repository=entity["name"])
        if fixed is None:
            return None
        return Proposal(
            organization=entity["organization"],
            project=entity["project"],
            repository=entity["name"],
            repository_id=entity["id"],
            target=entity["default_branch"],
            path=path,
            text=fixed.text,
            original=content.text,
            fixes=fixed.fixes,
        )

    found = await asyncio.gather(*(one(entity) for entity in entities))
    return (
        [item for item in found if isinstance(item, Proposal)],
        [item for item in found if isinstance(item, Skipped)],
    )


def render_report(report: ProposeReport, out: TextIO, *, apply: bool) -> None:
    """Per repository, what was done (or would be) and, in a dry run, the diff; then skips."""
    for outcome in report.outcomes:
        proposal = outcome.proposal
        what = "" if proposal.kind == ADD else " (fix)"
        out.write(f"{proposal.where}{what}: {outcome.action.value}: {outcome.detail}\n")
        if not apply and outcome.action in _CHANGES:
            out.write(render.diff(proposal))
    for skipped in report.skipped:
        out.write(f"{skipped.where}: skipped: {skipped.reason}\n")


_CHANGES = frozenset({Action.OPENED, Action.UPDATED, Action.REBASED, Action.REOPENED})


def summary(report: ProposeReport, *, apply: bool) -> str:
    """One line: counts per action, and the requests the pull request step made."""
    counts = Counter(outcome.action.value for outcome in report.outcomes)
    if report.skipped:
        counts["skipped"] = len(report.skipped)
    mode = "" if apply else " (dry run: nothing was changed; --apply does it)"
    line = render.summary_line(sorted(counts.items()))
    return f"propose{mode}: {line}; {report.stats.requests} requests\n"


def propose_command(
    *,
    config_file: str | None,
    profiles: Sequence[str],
    request: ProposeRequest,
    environ: Mapping[str, str],
    stdout: TextIO,
    stderr: TextIO,
    verbose: bool = False,
) -> int:
    """``catalog-bridge propose``: returns the exit code."""
    config = load_config(config_file, environ=environ, profiles=profiles)
    chosen = [profile for profile in config.profiles if profile.propose.enabled]
    if not chosen:
        raise UsageError(
            "no selected profile enables propose; add `propose: {enabled: true}` to a profile"
        )
    request = replace(request, organizations=config.organization_filter(request.organizations))
    write_notes(config.notes, stderr)
    with request_log(stderr if verbose else None):
        report = asyncio.run(propose(chosen, request))
    render_report(report, stdout, apply=request.apply)
    stderr.write(summary(report, apply=request.apply))
    return report.exit_code
